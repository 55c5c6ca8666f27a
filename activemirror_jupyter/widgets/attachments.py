"""Attachments (and 0.1 variable snapshots) as inert HTML for the panels' message tables.

What an attachment is comes from :func:`~..core.reports.attachments.show`, as in the
reports (an image only when its bytes are one, a CSV read as CSV); how it looks in a panel
is decided here, more sparingly than a report, since a panel's HTML goes straight into the
live notebook page:

- images: an ``<img>`` whose ``src`` is a ``data:`` URI of the checked bytes — an SVG is
  never put inline, so script in it cannot run;
- ``text/csv``: a table of the first rows, with the number of rows;
- text (``text/plain`` — printed output and results —, ``text/markdown``,
  ``application/json``): the start of the text, escaped, preformatted;
- ``text/html``: never rendered; if it holds a table (a DataFrame's result), the text of its
  first rows is rebuilt as our own escaped table;
- anything else, anything too big to preview here, and bytes that are not what their type
  says: the name and size line only (with why, when something is wrong).

Every attachment has that name line (name, type, size; "truncated" for an output autolog
cut). Every piece of text and every name is escaped; bytes reach the page only as base64 in
a ``data:`` URI, never as markup.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from html.parser import HTMLParser
from typing import Any

from ..core.markup import escape
from ..core.models import Attachment
from ..core.reports.attachments import IMAGE_TYPES, Shown, show, size_text
from ..core.search.text import html_text

#: Images up to this size are shown; bigger ones get their name line only.
MAX_IMAGE_BYTES = 2 * 2**20
#: Text previews: at most this many characters of at most this many bytes of text.
MAX_TEXT_CHARS = 4000
MAX_TEXT_BYTES = 4 * 2**20
#: CSV previews: the first rows and columns.
CSV_ROWS = 10
CSV_COLUMNS = 20
MAX_CELL = 80


def attachment_html(attachment: Attachment, *, truncated: bool = False) -> str:
    """One attachment: its name line and, where its type has one, a preview."""
    facts = [attachment.mime_type, size_text(attachment.size)]
    if truncated:
        facts.append("truncated")
    limit = MAX_IMAGE_BYTES if attachment.bare_type in IMAGE_TYPES else MAX_TEXT_BYTES
    if attachment.size > limit:
        facts.append("too big to preview here")
        preview = ""
    else:
        shown = show(attachment)
        if shown.problem:
            facts.append(shown.problem)
        preview = _preview(shown)
    name = (
        f'<div class="am-muted am-attachment-name"><b>{escape(attachment.name)}</b> · '
        f"{escape(' · '.join(facts))}</div>"
    )
    return f'<div class="am-attachment">{name}{preview}</div>'


def missing_html(name: str) -> str:
    """An output whose attachment the message does not have."""
    return (
        f'<div class="am-attachment"><div class="am-error"><b>{escape(name)}</b> · '
        "this output's attachment is missing</div></div>"
    )


def _preview(shown: Shown) -> str:
    if shown.kind == "image":
        encoded = base64.b64encode(shown.data).decode("ascii")
        return (
            f'<img class="am-image" alt="{escape(shown.name)}" '
            f'src="data:{escape(shown.bare_type)};base64,{encoded}">'
        )
    if shown.kind == "csv" and shown.table is not None:
        table = shown.table
        rows = table.rows[:CSV_ROWS]
        noun = "row" if table.total == 1 else "rows"
        caption = f"{table.total:,} {noun}" + (
            f", the first {len(rows)} shown" if table.total > len(rows) else ""
        )
        return _table(table.header, rows) + f'<div class="am-muted">{escape(caption)}</div>'
    if shown.kind in ("text", "markdown", "json"):
        return text_html(shown.text)
    if shown.kind == "html":  # a table rebuilt from its cells, else the text a reader sees
        return html_table_html(shown.text) or text_html(html_text(shown.text))
    return ""


def text_html(text: str) -> str:
    """The start of ``text``, escaped and preformatted, saying how much more there is."""
    shown = text[:MAX_TEXT_CHARS]
    more = len(text) - len(shown)
    tail = f'<div class="am-muted">… {more:,} more characters</div>' if more else ""
    return f'<pre class="am-output">{escape(shown)}</pre>{tail}'


def html_table_html(markup: str) -> str:
    """The first table of an HTML output (a DataFrame's result) rebuilt as our own table of
    its first rows: only the cells' text is taken, escaped; the markup itself is never
    shown. Empty when there is no table."""
    if "<table" not in markup.lower():
        return ""
    reader = _TableText()
    try:
        reader.feed(markup)
        reader.close()
    except Exception:  # HTMLParser is lenient; anything it still chokes on is just not shown
        return ""
    if not reader.rows:
        return ""
    header, *rows = reader.rows
    shown = rows[:CSV_ROWS]
    noun = "row" if len(rows) == 1 else "rows"
    caption = (
        f"the first {len(shown)} of the output's {len(rows):,} table rows"
        if len(rows) > len(shown)
        else f"{len(rows):,} {noun}"
    )
    after = " ".join("".join(reader.after).split())[:MAX_CELL]  # pandas: "1000 rows × 2 columns"
    if after:
        caption += f" · {after}"
    return _table(header, shown) + f'<div class="am-muted">{escape(caption)}</div>'


class _TableText(HTMLParser):
    """The text of each cell of each row of the first ``<table>`` (nested tables ignored)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.after: list[str] = []  # text after the table
        self._depth = 0
        self._done = False
        self._cell: list[str] | None = None
        self._hidden = 0  # inside <script> or <style>: not text anyone reads

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        if self._done:
            return
        if tag == "table":
            self._depth += 1
        elif self._depth == 1 and tag == "tr":
            self.rows.append([])
        elif self._depth == 1 and tag in ("td", "th") and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden = max(0, self._hidden - 1)
        if self._done:
            return
        if tag == "table":
            self._depth -= 1
            self._done = self._depth <= 0
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        if self._cell is not None and self._depth == 1:
            self._cell.append(data)
        elif self._done and sum(map(len, self.after)) < MAX_CELL:
            self.after.append(data)


def _table(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        text = text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"
        return escape(text)

    head = "".join(f"<th>{cell(c)}</th>" for c in list(header)[:CSV_COLUMNS])
    body = "".join(
        "<tr>" + "".join(f"<td>{cell(c)}</td>" for c in list(row)[:CSV_COLUMNS]) + "</tr>"
        for row in rows
    )
    return (
        f'<table class="am-table am-preview"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )


def snapshot_html(item: Mapping[str, Any]) -> str:
    """A 0.1 variable snapshot (``metadata["attachments"]`` of ``%%mirror_send --attach``):
    a DataFrame's first rows as a table, anything else as its repr."""
    facts = [str(item.get("type", ""))]
    shape = item.get("shape")
    if isinstance(shape, list) and shape:
        facts.append(" × ".join(str(n) for n in shape))
    name = (
        f'<div class="am-muted am-attachment-name"><b>{escape(item.get("name", "attachment"))}'
        f"</b> · {escape(' · '.join(f for f in facts if f))}</div>"
    )
    columns, rows = item.get("columns"), item.get("head")
    if isinstance(columns, list) and isinstance(rows, list):
        body = _table(columns, [row for row in rows if isinstance(row, list)])
    elif isinstance(item.get("repr"), str):
        body = text_html(item["repr"])
    else:
        body = ""
    return f'<div class="am-attachment">{name}{body}</div>'
