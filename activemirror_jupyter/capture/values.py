"""Python values as attachments: :func:`attachment_from`, and :func:`best_representation`,
the one choice of which of an output's representations is kept (autolog uses it too).

The order of preference is :data:`MIME_ORDER`; each representation is checked before it
is kept (a PNG must start with the PNG signature, JSON must be JSON), so what a message
holds under a mime type is what that type says. Nothing here imports matplotlib or pandas:
a value is a figure or a DataFrame only if those libraries are already loaded.
"""

from __future__ import annotations

import base64
import binascii
import json
import sys
from collections.abc import Callable, Mapping
from io import BytesIO
from typing import Any

from ..core.models import Attachment, check_attachment_name

#: Representations in order of preference: the first one an output has is the one kept.
MIME_ORDER = (
    "image/png",
    "image/svg+xml",
    "text/markdown",
    "application/json",
    "text/html",
    "text/plain",
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# The rich-repr method IPython calls for each representation (text/plain: repr).
_REPR_METHODS = {
    "image/png": "_repr_png_",
    "image/svg+xml": "_repr_svg_",
    "text/markdown": "_repr_markdown_",
    "application/json": "_repr_json_",
    "text/html": "_repr_html_",
}


def attachment_from(value: Any, name: str) -> Attachment:
    """``value`` as an attachment called ``name`` (which follows the id rule):

    - a matplotlib figure: ``image/png``, saved as the inline backend shows it
      (``bbox_inches="tight"``); a figure that cannot be saved is a ``ValueError`` naming
      the attachment and the cause — a figure is never silently replaced by text;
    - a pandas DataFrame: ``text/csv`` of the whole frame, index kept (``DataFrame.to_csv()``);
    - a ``str``: ``text/plain`` of the text itself;
    - an :class:`Attachment`: the same bytes and type under ``name``;
    - ``bytes``: a ``TypeError`` — their type is unknown: use
      ``Attachment.from_bytes(name, mime_type, data)``;
    - anything else: its best IPython rich representation, in the order of
      :data:`MIME_ORDER` (``_repr_mimebundle_`` first, then ``_repr_png_``, ``_repr_svg_``,
      ``_repr_markdown_``, ``_repr_json_``, ``_repr_html_``), else ``text/plain``: its
      pretty repr. A rich repr that raises, or returns data that is not of its type, is
      skipped and the next one is used, as Jupyter does; if even the repr raises, the text
      is ``<TypeName object (repr failed: ErrorName)>``.

    An attachment over the store's limit is refused when the message is sent."""
    check_attachment_name(name)
    if isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(
            f"attachment {name!r}: attachment_from cannot tell what {type(value).__name__} "
            "holds; make the attachment with Attachment.from_bytes(name, mime_type, data)"
        )
    if isinstance(value, Attachment):
        return Attachment.from_bytes(name, value.mime_type, value.read())
    if _is_instance(value, "matplotlib.figure", "Figure"):
        return Attachment.from_bytes(name, "image/png", _figure_png(value, name))
    if _is_instance(value, "pandas", "DataFrame"):
        return Attachment.from_bytes(name, "text/csv", _frame_csv(value, name))
    if isinstance(value, str):
        return Attachment.from_bytes(name, "text/plain", _utf8(value))
    mime_type, data = _rich_representation(value)
    return Attachment.from_bytes(name, mime_type, data)


def best_representation(bundle: Mapping[str, Any]) -> tuple[str, bytes] | None:
    """The first representation of a mime bundle (``{"text/plain": …, "image/png": …}``, as
    IPython publishes outputs) in :data:`MIME_ORDER` whose data is valid, as
    ``(mime_type, bytes)``; None if it has none."""
    for mime_type in MIME_ORDER:
        if mime_type in bundle:
            data = encode(mime_type, bundle[mime_type])
            if data is not None:
                return mime_type, data
    return None


def representations(bundle: Mapping[str, Any]) -> list[tuple[str, bytes]]:
    """Every valid representation of a bundle, best first (for choosing one that fits)."""
    found = []
    for mime_type in MIME_ORDER:
        if mime_type in bundle:
            data = encode(mime_type, bundle[mime_type])
            if data is not None:
                found.append((mime_type, data))
    return found


def encode(mime_type: str, data: Any) -> bytes | None:
    """The bytes of one representation, or None when ``data`` is not valid for its type:
    a PNG (bytes, or base64 text as the kernel sends it) must carry the PNG signature, JSON
    must serialise, text must be text."""
    if isinstance(data, tuple) and len(data) == 2:  # (data, metadata), as reprs may return
        data = data[0]
    if data is None:  # a repr returns None for "not this one"
        return None
    if mime_type == "image/png":
        return _png(data)
    if mime_type == "application/json":
        return _json(data)
    if isinstance(data, str):
        return _utf8(data)
    if isinstance(data, list) and all(isinstance(part, str) for part in data):
        return _utf8("".join(data))  # nbformat keeps multi-line text as a list of lines
    return None


# -- the kinds of values -----------------------------------------------------------------------


def _is_instance(value: Any, module: str, cls: str) -> bool:
    loaded = sys.modules.get(module)
    kind = getattr(loaded, cls, None) if loaded is not None else None
    return isinstance(kind, type) and isinstance(value, kind)


def _figure_png(figure: Any, name: str) -> bytes:
    buffer = BytesIO()
    try:
        figure.savefig(buffer, format="png", bbox_inches="tight")
    except Exception as exc:  # any failure of the figure's own drawing code
        raise ValueError(
            f"attachment {name!r}: the figure could not be saved as PNG "
            f"({type(exc).__name__}: {exc})"
        ) from exc
    return buffer.getvalue()


def _frame_csv(frame: Any, name: str) -> bytes:
    try:
        return _utf8(frame.to_csv())
    except Exception as exc:
        raise ValueError(
            f"attachment {name!r}: the DataFrame could not be written as CSV "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def _rich_representation(value: Any) -> tuple[str, bytes]:
    bundle = _call(value, "_repr_mimebundle_", include=None, exclude=None)
    if isinstance(bundle, tuple) and len(bundle) == 2:
        bundle = bundle[0]
    bundle = bundle if isinstance(bundle, Mapping) else {}
    for mime_type in MIME_ORDER[:-1]:
        data = encode(mime_type, bundle[mime_type]) if mime_type in bundle else None
        if data is None:
            data = encode(mime_type, _call(value, _REPR_METHODS[mime_type]))
        if data is not None:
            return mime_type, data
    plain = encode("text/plain", bundle["text/plain"]) if "text/plain" in bundle else None
    return "text/plain", plain if plain is not None else _utf8(plain_text(value))


def _call(value: Any, method: str, **kwargs: Any) -> Any:
    """``value.method(**kwargs)``, or None if it has no such method or the method fails
    (a broken repr is the value's problem: the next representation is used)."""
    function: Callable[..., Any] | None = getattr(type(value), method, None)
    if not callable(function):
        return None
    try:
        return function(value, **kwargs)
    except Exception:
        return None


def plain_text(value: Any) -> str:
    """The text IPython shows for ``value`` (its pretty repr), never an error."""
    from IPython.lib.pretty import pretty

    try:
        return pretty(value)
    except Exception:
        pass
    try:
        return repr(value)
    except Exception as exc:
        kind = type(value)
        return f"<{kind.__module__}.{kind.__qualname__} object (repr failed: {type(exc).__name__})>"


# -- checking one representation ---------------------------------------------------------------


def _png(data: Any) -> bytes | None:
    if isinstance(data, str):
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            return None
    if isinstance(data, (bytes, bytearray, memoryview)):
        data = bytes(data)
        return data if data.startswith(PNG_SIGNATURE) else None
    return None


def _json(data: Any) -> bytes | None:
    if isinstance(data, (str, bytes)):
        try:
            json.loads(data)
        except (ValueError, UnicodeDecodeError):
            return None
        return data.encode("utf-8", "replace") if isinstance(data, str) else data
    try:
        return _utf8(json.dumps(data, ensure_ascii=False, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        return None


def _utf8(text: str) -> bytes:
    # A lone surrogate (rare, but str allows it) becomes U+FFFD instead of an error.
    return text.encode("utf-8", "replace")
