"""``GET /activemirror/api/sessions/{id}/export?format=…[&children=1]``: a session as a
document of its own type, in every format :data:`~..core.transfer.exports.EXPORT_FORMATS` lists.

Markdown, JSON and text are served inline. HTML and notebooks are downloads
(``Content-Disposition: attachment``), and the HTML carries a Content-Security-Policy that
allows no script at all, should a browser open it from here anyway.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import tornado.web

from ..core.reports.files import visible
from ..core.transfer import exports
from .base import MirrorHandler, bad_request, shown

# format -> (content type, file extension, served as a download)
EXPORT_TYPES = {
    "markdown": ("text/markdown; charset=UTF-8", "md", False),
    "json": ("application/json; charset=UTF-8", "json", False),
    "txt": ("text/plain; charset=UTF-8", "txt", False),
    "html": ("text/html; charset=UTF-8", "html", True),
    "ipynb": ("application/x-ipynb+json; charset=UTF-8", "ipynb", True),
}
#: What a document served from here may load: its own inline styles and data: images.
DOCUMENT_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; sandbox"
_UNSAFE_IN_NAME = re.compile(r"[^A-Za-z0-9 ._-]+")


def export_formats() -> tuple[str, ...]:
    """The formats the core exports now (the reports add ``html`` and ``ipynb``)."""
    return tuple(exports.EXPORT_FORMATS)


def file_name(title: str, session_id: str, extension: str) -> str:
    """``Content-Disposition`` parameters naming the file after the session's title as
    :func:`~..core.reports.files.visible` shows it: an ASCII ``filename`` (the id when the
    title has nothing usable) and the full title as ``filename*`` (RFC 6266)."""
    # Without bidi controls: U+202E shows "gnp.exe.html" as "lmth.exe.png".
    shown_title = visible(title)
    ascii_name = _UNSAFE_IN_NAME.sub("_", shown_title).strip(" ._")[:80] or session_id
    full = re.sub(r"[/\\]+", "_", shown_title).strip(" .")[:120] or session_id
    return (
        f'filename="{ascii_name}.{extension}"; '
        f"filename*=UTF-8''{quote(full, safe='')}.{extension}"
    )


class ExportHandler(MirrorHandler):
    """The export of one session (Markdown by default); ``children=1`` appends its
    descendant sessions."""

    @tornado.web.authenticated
    async def get(self, session_id: str) -> None:
        session_id = self.valid_id(session_id)
        fmt = self.get_query_argument("format", "markdown")
        formats = export_formats()
        if fmt not in formats:
            raise bad_request(f"format must be one of {', '.join(formats)}, not {shown(fmt, 20)}")
        children = self.flag_argument("children")

        def render(session) -> tuple[str, str]:
            text = session.export(fmt, include_children=True) if children else session.export(fmt)
            return text, session.title

        text, title = await self.load(session_id, render)
        content_type, extension, download = EXPORT_TYPES.get(
            fmt, ("application/octet-stream", fmt, True)
        )
        disposition = "attachment" if download else "inline"
        self.set_header(
            "Content-Disposition", f"{disposition}; {file_name(title, session_id, extension)}"
        )
        self.set_header("X-Content-Type-Options", "nosniff")
        if fmt == "html":
            self.set_header("Content-Security-Policy", DOCUMENT_CSP)
        self.finish(text, set_content_type=content_type)  # APIHandler would say JSON
