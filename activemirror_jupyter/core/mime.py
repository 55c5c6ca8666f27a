"""Mime types as Python's :mod:`mimetypes` and HTTP write them (``image/png``,
``Text/HTML; Charset=UTF-8``), kept in one normal form: all lower case, one space after
each ``;`` (``text/html; charset=utf-8``). The bare type (``text/html``) decides how an
attachment is shown and searched; its parameters are kept as they were given."""

from __future__ import annotations

import re

#: The longest mime type taken, parameters included.
MAX_MIME_CHARS = 255

_NAME = r"[a-z0-9][a-z0-9!#$&^_.+-]"
_BARE = re.compile(rf"{_NAME}{{0,63}}/{_NAME}{{0,126}}")
# A parameter: a token name, "=", a token or a quoted string (RFC 9110), no space around "=".
_TOKEN = r"[a-z0-9!#$%&'*+.^_`|~-]+"
_PARAMETER = re.compile(rf'({_TOKEN})=({_TOKEN}|"[ !#-\[\]-~]*")')


def check_mime_type(mime_type: object) -> str:
    """``mime_type`` in its normal form (``Text/Plain;charset=UTF-8`` →
    ``text/plain; charset=utf-8``); anything that is not ``type/subtype[; name=value…]``
    is a ValueError."""
    if (
        not isinstance(mime_type, str)
        or len(mime_type) > MAX_MIME_CHARS
        or not mime_type.isascii()
        or mime_type != mime_type.strip()
    ):
        raise _invalid(mime_type)
    bare, *parameters = mime_type.lower().split(";")
    bare = bare.rstrip(" \t")  # HTTP allows spaces before a ";"
    if not _BARE.fullmatch(bare):
        raise _invalid(mime_type)
    names: set[str] = set()
    kept = [bare]
    for parameter in parameters:
        found = _PARAMETER.fullmatch(parameter.strip(" \t"))
        if found is None or found.group(1) in names:  # a name given twice is ambiguous
            raise _invalid(mime_type)
        names.add(found.group(1))
        kept.append(found.group(0))
    return "; ".join(kept)


def _invalid(mime_type: object) -> ValueError:
    return ValueError(
        f"invalid mime type {mime_type!r}: use type/subtype with optional parameters, "
        "e.g. image/png or text/plain; charset=utf-8"
    )


def bare_type(mime_type: str) -> str:
    """The type without its parameters: ``text/html; charset=utf-8`` → ``text/html``
    (of a mime type in normal form, as every attachment's is)."""
    return mime_type.partition(";")[0]


def parameter(mime_type: str, name: str) -> str | None:
    """The value of parameter ``name`` (lower case, unquoted) of a normal mime type."""
    for item in mime_type.split("; ")[1:]:
        key, _, value = item.partition("=")
        if key == name:
            return value[1:-1] if value.startswith('"') else value
    return None


def is_text(mime_type: str) -> bool:
    """Whether an attachment of this type is text (shown as text, searched by its words)."""
    return bare_type(mime_type).startswith("text/")
