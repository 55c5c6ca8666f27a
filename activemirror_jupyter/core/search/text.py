"""The text of an attachment, as every store indexes it and every snippet shows it.

:func:`attachment_text` is the one place that turns an attachment's bytes into its
searchable text, by its bare mime type: text is decoded (by its ``charset`` parameter when
Python knows it, else as UTF-8, bad bytes replaced), and HTML (a DataFrame's rich output)
is read for its text, never its markup — ``<td>Oslo</td>`` is ``Oslo``; scripts, styles
and comments are dropped, entities unescaped, whitespace folded. Other types have none.

The stores' indexes hold the words of this text (SQLite's contentless FTS5 table is also
told them again to remove a row), so a change to what it returns for a stored type needs
a migration that indexes those attachments again (SQLite m011, PostgreSQL m014 did so for
HTML).
"""

from __future__ import annotations

from html.parser import HTMLParser

from ..mime import bare_type, is_text, parameter

#: Elements whose content is not text a reader sees.
_HIDDEN = frozenset({"script", "style", "template"})
#: Elements that separate words (a cell, a line, a block): their tags become spaces, so
#: ``<td>Oslo</td><td>Bergen</td>`` is two words, while ``<b>Os</b>lo`` stays one.
_BREAKS = frozenset(
    "address article aside blockquote br caption dd details dialog div dl dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr img input li main nav ol "
    "option p pre section summary table tbody td tfoot th thead title tr ul".split()
)


def attachment_text(mime_type: str, data: bytes) -> str | None:
    """The searchable text of an attachment of type ``mime_type`` (in normal form) holding
    ``data``: its text, HTML's without markup; None for a type that is not text."""
    if not is_text(mime_type):
        return None
    text = decode_text(mime_type, data)
    if bare_type(mime_type) == "text/html":
        return html_text(text)
    return text


def decode_text(mime_type: str, data: bytes) -> str:
    """``data`` as text: by the ``charset`` parameter of ``mime_type`` when Python knows
    it as a text encoding, else as UTF-8; bytes that do not decode are replaced."""
    charset = parameter(mime_type, "charset")
    if charset is not None and charset not in ("utf-8", "utf8"):
        try:
            return data.decode(charset, "replace")
        except (LookupError, UnicodeError, ValueError):
            pass  # not an encoding Python has (or not a text one): read as UTF-8
    return data.decode("utf-8", "replace")


def html_text(markup: str) -> str:
    """The text a reader sees in HTML ``markup``, whitespace folded."""
    reader = _TextReader()
    reader.feed(markup)
    reader.close()
    return " ".join("".join(reader.parts).split())


class _TextReader(HTMLParser):
    """Collects the text of a document (entities unescaped by ``convert_charrefs``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        if tag in _HIDDEN:
            self._hidden += 1
        elif tag in _BREAKS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: object) -> None:
        if tag in _BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)
