"""Autolog: each executed cell becomes a ``system`` message of the current session.

The message's content is the cell's source (``%vault`` arguments removed) and its metadata
follows the convention the exports and panels read::

    {"kind": "cell", "execution_count": 7, "duration_s": 0.012, "status": "ok" | "error",
     "error": "ZeroDivisionError: division by zero",          # only on error
     "notebook": "/home/me/study.ipynb" | None,
     "outputs": [{"attachment": "out-1", "output_type": "stream", "stream": "stdout"},
                 {"attachment": "out-2", "output_type": "display_data"},
                 {"attachment": "out-3", "output_type": "execute_result",
                  "truncated": True}, …]}                     # absent with --no-outputs

with each output kept as the attachment it names. A cell with a ``%vault`` call keeps no
outputs (a secret shown with ``--show`` stays out of the log) and no error text.

:class:`CellCapture` follows one cell from ``pre_run_cell`` to ``post_run_cell``; the magics
send what :meth:`CellCapture.finish` returns. Nothing here raises into the cell: problems
are collected as :attr:`CellRecord.problems` for one warning line.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from ..core.models import Attachment
from .outputs import MAX_OUTPUTS, OutputRecorder

# A %vault line keeps the magic's name and loses its arguments.
_VAULT_LINE = re.compile(r"(%vault\b|run_line_magic\(\s*['\"]vault['\"]).*$", re.MULTILINE)
_SEND_CELL = re.compile(r"\A\s*%%mirror_send\b")
_MAX_ERROR = 200


def redact(source: str) -> str:
    """``source`` with the arguments of every ``%vault`` call removed."""
    return _VAULT_LINE.sub(r"\1 [arguments not logged]", source)


def is_magic_only(source: str) -> bool:
    """A cell that is an IPython command rather than code: a cell magic (``%%…``), or only
    line magics and shell commands (``%…``, ``!…``), blank lines and comments."""
    if source.lstrip().startswith("%%"):
        return True
    lines = [line.strip() for line in source.splitlines()]
    code = [line for line in lines if line and not line.startswith("#")]
    return bool(code) and all(line.startswith(("%", "!")) for line in code)


@dataclass(frozen=True)
class AutologOptions:
    """What autolog keeps: ``outputs`` (attachments), and which cells it skips."""

    outputs: bool = True
    skip_errors: bool = False
    skip_magics: bool = False

    def describe(self) -> str:
        parts = ["with outputs" if self.outputs else "without outputs"]
        if self.skip_errors:
            parts.append("skipping cells that fail")
        if self.skip_magics:
            parts.append("skipping magic-only cells")
        return ", ".join(parts)


@dataclass
class CellRecord:
    """What to send for one cell (``content`` None: nothing), and what went wrong."""

    content: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class CellCapture:
    """One cell, from its start to its end (see the module docstring)."""

    def __init__(self, shell: Any, options: AutologOptions, limit: int) -> None:
        self.options = options
        self.limit = limit
        self.started = time.perf_counter()
        self.recorder: OutputRecorder | None = None
        self.problems: list[str] = []
        if options.outputs:
            recorder = OutputRecorder(shell, limit)
            try:
                recorder.start()
            except Exception as exc:  # the cell is still logged, without its outputs
                recorder.stop()
                self.problems.append(f"{type(exc).__name__}: {exc}")
            else:
                self.recorder = recorder

    def stop(self) -> None:
        """Stop recording outputs (the cell has ended)."""
        if self.recorder is not None:
            self.recorder.stop()

    def finish(self, result: Any, execution_count: int, notebook: str | None) -> CellRecord:
        """The message for the finished cell ``result`` (IPython's ExecutionResult)."""
        duration = time.perf_counter() - self.started
        self.stop()
        recorded = self.recorder.problems if self.recorder is not None else []
        record = CellRecord(problems=[*self.problems, *recorded])
        source = getattr(getattr(result, "info", None), "raw_cell", None)
        if not isinstance(source, str) or not source.strip() or _SEND_CELL.match(source):
            return record
        error = getattr(result, "error_before_exec", None) or getattr(result, "error_in_exec", None)
        if error is not None and self.options.skip_errors:
            return record
        if self.options.skip_magics and is_magic_only(source):
            return record
        logged = redact(source)
        secret = logged != source
        metadata: dict[str, Any] = {
            "kind": "cell",
            "execution_count": execution_count,
            "duration_s": round(duration, 6),
            "status": "ok" if error is None else "error",
        }
        if error is not None:
            text = type(error).__name__
            if not secret:  # the message of a %vault error stays out of the log
                text = f"{text}: {' '.join(str(error).split())}"[:_MAX_ERROR]
            metadata["error"] = text
        metadata["notebook"] = notebook
        if self.recorder is not None:
            outputs, attachments = ([], []) if secret else self._outputs()
            metadata["outputs"] = outputs
            if self.recorder.dropped and not secret:
                metadata["outputs_not_kept"] = self.recorder.dropped
            record.attachments = attachments
        record.content = logged.rstrip("\n")
        record.metadata = metadata
        return record

    def _outputs(self) -> tuple[list[dict[str, Any]], list[Attachment]]:
        assert self.recorder is not None
        entries: list[dict[str, Any]] = []
        attachments: list[Attachment] = []
        for number, output in enumerate(self.recorder.outputs[:MAX_OUTPUTS], start=1):
            name = f"out-{number}"
            attachments.append(
                Attachment.from_bytes(name, output.mime_type, output.data(self.limit))
            )
            entry: dict[str, Any] = {"attachment": name, "output_type": output.output_type}
            if output.stream is not None:
                entry["stream"] = output.stream
            if output.truncated:
                entry["truncated"] = True
            entries.append(entry)
        return entries, attachments
