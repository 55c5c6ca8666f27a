"""What a running cell shows, recorded as it is shown: :class:`OutputRecorder`.

While a cell runs, the recorder sits beside IPython's own output paths and keeps a copy:

- ``sys.stdout``/``sys.stderr``: their ``write`` is wrapped on the stream object itself (as
  IPython 9 records streams for its history), so the stream keeps its class — ipykernel
  checks for it — and every write still goes where it went;
- ``shell.display_pub``: ``publish`` (``display()``, inline figures) and ``clear_output``;
- ``shell.displayhook``: ``write_format_data`` (the cell's result, ``Out[n]``).

The original is always called first and its result or error passes through untouched; the
copy is best effort — a failure to record is noted in :attr:`OutputRecorder.problems`,
never raised. Everything is unwrapped when the cell ends. Output that the user does not
see is not recorded either: ``%%capture`` swaps the publisher out, and ``clear_output``
drops what was recorded so far, as the front end drops it.

Each output keeps one representation (see :func:`~.values.best_representation`), at most
``limit`` bytes: a longer text is cut and ends with a note, and a representation that
cannot be cut (an image) gives way to the next one that fits, or to a note. A widget is
kept as a line naming it (``[SessionBrowser widget]``): its text is the repr of its whole
state, and what it shows lives in the front end.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from .values import representations

#: More outputs than this in one cell are counted, not kept.
MAX_OUTPUTS = 100
#: The mime type of an ipywidgets view: kept as a line naming the widget.
WIDGET = "application/vnd.jupyter.widget-view+json"
_MISSING = object()


@dataclass
class Output:
    """One recorded output: a stream's text, a display, or the cell's result."""

    output_type: str  # "stream", "display_data" or "execute_result"
    mime_type: str
    chunks: list[bytes] = field(default_factory=list)
    size: int = 0  # bytes kept
    seen: int = 0  # bytes produced
    stream: str | None = None
    display_id: str | None = None
    truncated: bool = False  # less than was shown is kept (cut, or a lesser representation)
    cut: bool = False  # the text was cut: a note at its end says how much was kept
    note: str = ""  # what stands in for a representation too big to keep

    def data(self, limit: int) -> bytes:
        """The bytes kept, and the note, at most ``limit`` bytes."""
        note = truncation_note(self.seen, self.size) if self.cut else self.note
        return (b"".join(self.chunks) + note.encode())[:limit]


def truncation_note(seen: int, kept: int) -> str:
    return f"\n[output truncated: {seen:,} bytes in all, the first {kept:,} kept]\n"


#: Room kept free for the note at the end of a cut text.
NOTE_ROOM = len(truncation_note(10**15, 10**15).encode())


class OutputRecorder:
    """Records one cell's outputs (see the module docstring). ``limit``: the most bytes one
    output keeps (the store's attachment limit)."""

    def __init__(self, shell: Any, limit: int) -> None:
        self.shell = shell
        self.limit = limit
        self.outputs: list[Output] = []
        self.dropped = 0  # outputs past MAX_OUTPUTS
        self.problems: list[str] = []
        self.active = False
        self._lock = threading.RLock()
        self._clear_pending = False  # clear_output(wait=True): clear at the next output
        self._dropped_stream: str | None = None  # a stream past MAX_OUTPUTS, counted once
        self._quiet = 0  # > 0 while IPython itself writes a display or a result to a stream
        self._patches: list[tuple[Any, str, Any]] = []  # (object, attribute, saved value)

    # -- wrapping and unwrapping ---------------------------------------------------------------

    def start(self) -> None:
        """Wrap the output paths (what cannot be wrapped is noted, and left alone)."""
        self.active = True
        for name in ("stdout", "stderr"):
            self._wrap(getattr(sys, name), "write", self._stream_write(name))
        display_pub = getattr(self.shell, "display_pub", None)
        self._wrap(display_pub, "publish", self._publish)
        self._wrap(display_pub, "clear_output", self._clear_output)
        hook = getattr(self.shell, "displayhook", None)
        self._wrap(hook, "start_displayhook", self._quietly("start"))
        self._wrap(hook, "finish_displayhook", self._quietly("finish"))
        self._wrap(hook, "write_format_data", self._write_format_data)
        # The shell's own report of the cell's error (printed to a stream by IPython 8, to
        # stderr by IPython 9; sent as an error message by ipykernel) is not an output of
        # the cell: the error is recorded in the cell's metadata.
        self._wrap(self.shell, "_showtraceback", self._silently)

    def stop(self) -> None:
        """Unwrap, newest first. A wrapper that someone wrapped again meanwhile is left to
        them; once stopped it only passes calls on."""
        self.active = False
        while self._patches:
            target, attribute, (wrapper, saved) = self._patches.pop()
            try:
                if target.__dict__.get(attribute) is not wrapper:
                    continue
                if saved is _MISSING:
                    delattr(target, attribute)
                else:
                    setattr(target, attribute, saved)
            except (AttributeError, TypeError) as exc:
                self.problems.append(f"could not unwrap {attribute}: {exc}")

    def _wrap(self, target: Any, attribute: str, make: Any) -> None:
        if target is None:
            return
        original = getattr(target, attribute, None)
        if not callable(original):
            return
        wrapper = make(original)
        try:
            saved = target.__dict__.get(attribute, _MISSING)
            setattr(target, attribute, wrapper)
        except (AttributeError, TypeError):
            self.problems.append(
                f"{type(target).__name__}.{attribute} cannot be followed; its output is not kept"
            )
            return
        self._patches.append((target, attribute, (wrapper, saved)))

    # -- the wrappers ----------------------------------------------------------------------------

    def _stream_write(self, name: str) -> Any:
        def make(original: Any) -> Any:
            def write(data: Any, *args: Any, **kwargs: Any) -> Any:
                result = original(data, *args, **kwargs)
                if isinstance(data, str) and data and not self._quiet:
                    self._guard(self._add_text, name, data)
                return result

            return write

        return make

    def _publish(self, original: Any) -> Any:
        def publish(data: Any, *args: Any, **kwargs: Any) -> Any:
            self._quiet += 1
            try:
                result = original(data, *args, **kwargs)
            finally:
                self._quiet -= 1
            transient = kwargs.get("transient") or {}
            display_id = transient.get("display_id") if isinstance(transient, dict) else None
            self._guard(self._add_display, data, display_id, bool(kwargs.get("update")))
            return result

        return publish

    def _clear_output(self, original: Any) -> Any:
        def clear_output(wait: bool = False, *args: Any, **kwargs: Any) -> Any:
            result = original(wait, *args, **kwargs)
            # What the front end no longer shows is not kept; with wait=True it clears when
            # the next output arrives.
            self._guard(self._clear, bool(wait))
            return result

        return clear_output

    def _clear(self, wait: bool) -> None:
        with self._lock:
            if wait:
                self._clear_pending = True
                return
            self.outputs.clear()
            self.dropped = 0
            self._clear_pending = False
            self._dropped_stream = None

    def _quietly(self, phase: str) -> Any:
        """Around the displayhook: its own writes (``Out[1]:`` in a terminal) are not a
        stream output; the result is recorded by :meth:`_write_format_data`."""

        def make(original: Any) -> Any:
            def call(*args: Any, **kwargs: Any) -> Any:
                if phase == "start":
                    self._quiet += 1
                    return original(*args, **kwargs)
                try:
                    return original(*args, **kwargs)
                finally:
                    self._quiet = max(0, self._quiet - 1)

            return call

        return make

    def _silently(self, original: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self._quiet += 1
            try:
                return original(*args, **kwargs)
            finally:
                self._quiet -= 1

        return call

    def _write_format_data(self, original: Any) -> Any:
        def write_format_data(format_dict: Any, *args: Any, **kwargs: Any) -> Any:
            result = original(format_dict, *args, **kwargs)
            self._guard(self._add_bundle, "execute_result", format_dict, None)
            return result

        return write_format_data

    def _guard(self, record: Any, *args: Any) -> None:
        if not self.active:
            return
        try:
            record(*args)
        except Exception as exc:  # recording must never disturb the cell
            self.problems.append(f"{type(exc).__name__}: {exc}")

    # -- recording ---------------------------------------------------------------------------

    def _add_text(self, stream: str, text: str) -> None:
        data = text.encode("utf-8", "replace")
        with self._lock:
            if self._clear_pending:
                self._clear(wait=False)
            last = self.outputs[-1] if self.outputs else None
            if last is None or last.output_type != "stream" or last.stream != stream:
                if self._dropped_stream == stream:
                    return
                last = self._new(Output("stream", "text/plain", stream=stream))
                if last is None:
                    self._dropped_stream = stream
                    return
            self._append_text(last, data)

    def _append_text(self, output: Output, data: bytes) -> None:
        """Keep ``data`` while the text fits in ``limit``; past that, cut it to leave room
        for the note and keep counting."""
        output.seen += len(data)
        if output.cut:
            return
        if output.size + len(data) <= self.limit:
            output.chunks.append(data)
            output.size += len(data)
            return
        kept = _utf8_prefix(b"".join([*output.chunks, data]), max(0, self.limit - NOTE_ROOM))
        output.chunks, output.size = [kept], len(kept)
        output.cut = output.truncated = True

    def _add_display(self, bundle: Any, display_id: Any, update: bool) -> None:
        display_id = display_id if isinstance(display_id, str) else None
        if update:
            with self._lock:  # update_display: the shown output changes in place
                for i, output in enumerate(self.outputs):
                    if display_id is not None and output.display_id == display_id:
                        replaced = self._encode("display_data", bundle, display_id)
                        if replaced is not None:
                            self.outputs[i] = replaced
            return
        self._add_bundle("display_data", bundle, display_id)

    def _add_bundle(self, output_type: str, bundle: Any, display_id: str | None) -> None:
        output = self._encode(output_type, bundle, display_id)
        if output is not None:
            with self._lock:
                if self._clear_pending:
                    self._clear(wait=False)
                self._dropped_stream = None
                self._new(output)

    def _new(self, output: Output) -> Output | None:
        if len(self.outputs) >= MAX_OUTPUTS:
            self.dropped += 1
            return None
        self.outputs.append(output)
        return output

    def _encode(self, output_type: str, bundle: Any, display_id: str | None) -> Output | None:
        """The output's best representation that fits in ``limit`` (see the module
        docstring); None for a bundle with nothing to keep."""
        if not isinstance(bundle, dict):
            return None
        if WIDGET in bundle:  # its text/plain is the repr of its whole state, not what shows
            note = f"[{_widget_name(bundle.get('text/plain'))} widget]".encode()
            return Output(
                output_type, "text/plain", [note], len(note), len(note), display_id=display_id
            )
        found = representations(bundle)
        if not found:
            return None
        for mime_type, data in found:
            if len(data) <= self.limit:
                output = Output(output_type, mime_type, [data], len(data), len(data))
                output.display_id = display_id
                output.truncated = (mime_type, data) != found[0]
                return output
        # Nothing fits: the plain text is cut, or a note says what was not kept.
        mime_type, data = found[-1] if found[-1][0] == "text/plain" else found[0]
        output = Output(output_type, "text/plain", display_id=display_id, truncated=True)
        if mime_type == "text/plain":
            self._append_text(output, data)
        else:
            output.seen = len(data)
            output.note = (
                f"[{mime_type} output of {len(data):,} bytes not kept: over the attachment "
                f"limit of {self.limit:,} bytes]\n"
            )
        return output


def _widget_name(plain: Any) -> str:
    """``SessionBrowser`` from a widget's repr ``SessionBrowser(children=(…))``."""
    name = plain.split("(", 1)[0].strip() if isinstance(plain, str) else ""
    return name if name.isidentifier() else "an interactive"


def _utf8_prefix(data: bytes, size: int) -> bytes:
    """The first ``size`` bytes of UTF-8 ``data``, not ending inside a character."""
    if size >= len(data):
        return data
    end = size
    while end > 0 and (data[end] & 0xC0) == 0x80:
        end -= 1
    return data[:end]
