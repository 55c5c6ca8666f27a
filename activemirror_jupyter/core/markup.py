"""User text inside the markup we emit, made inert: :func:`escape` for HTML, and
:func:`safe_markdown` for Markdown (exports, replies, notes), which still renders
(headings, lists, emphasis, code) but whose HTML is inert.

Outside code, HTML is escaped and links to ``javascript:``, ``vbscript:`` or ``data:`` URLs
are broken. Code blocks and code spans are left as they are, since Markdown shows them
literally (escaping there would show ``&lt;``). What counts as code follows CommonMark, so
a string that only *looks* like code to us is escaped too: a backtick run opens a span
only when a run of the same length closes it, and a backtick fence's info string holds no
backtick. Anything not recognised as code is escaped, which is always safe.
"""

from __future__ import annotations

import html
import re

_FENCE = re.compile(r" {0,3}(?:(`{3,})[^`\n]*|(~{3,}).*)$")
_CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_UNSAFE_LINK = re.compile(r"\]\(\s*<?\s*(?=(?:javascript|vbscript|data)\s*:)", re.IGNORECASE)


def escape(text: object) -> str:
    """``text`` safe inside HTML (element content or a quoted attribute)."""
    return html.escape("" if text is None else str(text), quote=True)


def safe_markdown(text: str) -> str:
    """``text`` as Markdown whose HTML is inert (see the module docstring)."""
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines(keepends=True):
        opening = _FENCE.match(line.rstrip("\r\n"))
        marker = opening and (opening.group(1) or opening.group(2))
        if fence is not None:
            out.append(line)
            closes = (
                marker
                and marker[0] == fence[0]
                and len(marker) >= len(fence)
                and not line.strip().strip(marker[0])
            )
            if closes:
                fence = None
        elif marker:
            fence = marker
            out.append(line)
        else:
            out.append(_inline(line))
    return "".join(out)


def safe_markdown_line(text: object) -> str:
    """One line of Markdown (a title, a table cell): whitespace folded, HTML inert."""
    return safe_markdown(" ".join(str(text).split()))


def _inline(line: str) -> str:
    parts: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(line):
        parts.append(_prose(line[last : span.start()]))
        parts.append(span.group(0))
        last = span.end()
    parts.append(_prose(line[last:]))
    return "".join(parts)


def _prose(text: str) -> str:
    # Quotes stay: with < escaped no tag (and so no attribute) can open, and &quot; would
    # litter the Markdown source.
    return _UNSAFE_LINK.sub(lambda _: "]\\(", html.escape(text, quote=False))
