"""The HTML report: one standalone page a browser opens offline.

A header per session (title, dates, tags, the seal's head hash, provenance), then its
messages: notes rendered from Markdown (:mod:`.rich`, raw HTML escaped), autologged cells
as highlighted code with their outputs, attachments inline — images as ``data:`` URIs (an
SVG only ever as an ``<img>``, where it cannot run anything), CSV as a table of its first
rows with the row count. A family is one page: a table of contents, then each session under
a heading one level below its parent's.

There is no ``<script>`` and no URL to anything outside the file; every piece of user text
is escaped on its way in (:func:`esc`), HTML outputs are reduced by :mod:`.sanitize`, and
the page's Content-Security-Policy (:mod:`.page`) forbids scripts and fetches anyway.
Messages are written as they are read, a page at a time.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any, TextIO

from ..models import Message, SessionMetadata, is_cell
from ..redaction import shown_content
from .attachments import (
    Shown,
    cell_facts,
    cell_outputs,
    clip,
    count_text,
    show,
    size_text,
    snapshots,
)
from .family import Part
from .markdown import row_cells, when
from .page import page_head, page_tail
from .rich import highlight_python, markdown_html
from .sanitize import sanitize_html

#: Provenance keys shown first, in this order (any others follow, sorted).
PROVENANCE_ORDER = ("notebook", "python", "platform", "hostname", "user", "git", "packages")
_HIDDEN_METADATA = ("provenance", "seal")


def esc(value: object) -> str:
    """User text made inert in HTML (element content or a quoted attribute)."""
    return escape("" if value is None else str(value), quote=True)


def write_html(parts: Sequence[Part], out: TextIO) -> None:
    """Write the sessions of ``parts`` as one HTML page, a message at a time."""
    out.write(page_head(parts[0].meta.title or "Untitled session"))
    if len(parts) > 1:
        out.write(contents(parts))
    for part in parts:
        level = min(1 + part.depth, 6)
        out.write(f'<section class="am-session" id="s-{esc(part.meta.session_id)}">\n')
        out.write(header_html(part.meta, level))
        for message in part.messages():
            out.write(message_html(message))
        out.write("</section>\n")
    out.write(page_tail())


def contents(parts: Sequence[Part]) -> str:
    """A nested list of the family's sessions, linking to their sections."""
    html, depth = ['<nav class="am-toc"><strong>Sessions</strong>'], 0
    for part in parts:
        while depth < part.depth + 1:
            html.append("<ul>")
            depth += 1
        while depth > part.depth + 1:
            html.append("</ul>")
            depth -= 1
        meta = part.meta
        html.append(
            f'<li><a href="#s-{esc(meta.session_id)}">{esc(meta.title or "Untitled session")}'
            f'</a> <span class="am-muted">· {count_text(meta.message_count, "message")}'
            "</span></li>"
        )
    html.append("</ul>" * depth + "</nav>\n")
    return "".join(html)


def header_html(meta: SessionMetadata, level: int = 1) -> str:
    facts = [
        ("Session", f"<code>{esc(meta.session_id)}</code>"),
        ("Created", esc(when(meta.created_at))),
        ("Updated", esc(when(meta.updated_at))),
    ]
    if meta.parent_session_id:
        facts.append(("Parent", f"<code>{esc(meta.parent_session_id)}</code>"))
    if meta.user_id:
        facts.append(("User", esc(meta.user_id)))
    facts += [("Status", esc(meta.status)), ("Messages", f"{meta.message_count:,}")]
    if meta.tags:
        facts.append(("Tags", "".join(f'<span class="am-chip">{esc(t)}</span>' for t in meta.tags)))
    rows = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts)
    html = [
        '<header class="am-session-head">',
        f"<h{level}>{esc(meta.title or 'Untitled session')}</h{level}>",
        f'<dl class="am-facts">{rows}</dl>',
        seal_html(meta),
    ]
    provenance = meta.metadata.get("provenance")
    if isinstance(provenance, Mapping) and provenance:
        html.append(
            '<details class="am-provenance" open><summary>Provenance</summary>'
            f"{provenance_table(provenance)}</details>"
        )
    other = {k: v for k, v in meta.metadata.items() if k not in _HIDDEN_METADATA}
    if other:
        text = json.dumps(other, indent=2, ensure_ascii=False, sort_keys=True)
        html.append(f"<details><summary>Metadata</summary><pre>{esc(text)}</pre></details>")
    return "\n".join(html) + "\n</header>\n"


def seal_html(meta: SessionMetadata) -> str:
    seal = meta.metadata.get("seal")
    if isinstance(seal, Mapping):
        signed = ""
        if seal.get("signature"):
            signed = f" · signed by key <code>{esc(seal.get('public_key'))}</code>"
        return (
            f'<div class="am-seal"><strong>Sealed</strong> {esc(seal.get("sealed_at"))} · head '
            f"<code>{esc(seal.get('head'))}</code>{signed}</div>"
        )
    if meta.head:
        return f'<div class="am-seal">Not sealed · head <code>{esc(meta.head)}</code></div>'
    return '<div class="am-seal">Not sealed · nothing saved yet</div>'


def provenance_table(provenance: Mapping[str, Any]) -> str:
    keys = [k for k in PROVENANCE_ORDER if k in provenance]
    keys += sorted(k for k in provenance if k not in PROVENANCE_ORDER)
    rows = []
    for key in keys:
        value = provenance[key]
        if key == "git" and isinstance(value, Mapping):
            shown = " · ".join(
                esc(part)
                for part in (
                    value.get("commit"),
                    value.get("branch") and f"branch {value.get('branch')}",
                    value.get("dirty") and "uncommitted changes",
                )
                if part
            )
        elif key == "packages" and isinstance(value, Mapping):
            items = "".join(
                f"<tr><td>{esc(d)}</td><td>{esc(v)}</td></tr>" for d, v in sorted(value.items())
            )
            shown = (
                f"<details><summary>{len(value)} packages</summary><table>{items}</table></details>"
            )
        else:
            shown = esc(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        rows.append(f"<tr><td>{esc(key)}</td><td>{shown or '—'}</td></tr>")
    return f"<table>{''.join(rows)}</table>"


def message_html(message: Message) -> str:
    anchor = f'id="m-{esc(message.id)}"'
    stamp = f"<time>{esc(when(message.timestamp))}</time>"
    if is_cell(message):
        return cell_html(message, anchor, stamp)
    body = [
        f'<article class="am-msg am-note am-role-{esc(message.role)}" {anchor}>',
        '<div class="am-msg-head">'
        f'<span class="am-role">{esc(message.role.capitalize())}</span> {stamp}</div>',
        f'<div class="am-md">{markdown_html(shown_content(message))}</div>',
    ]
    body += [snapshot_html(item) for item in snapshots(message)]
    for attachment in message.attachments:
        shown = show(attachment)
        body.append(
            '<div class="am-attachment"><div class="am-attachment-head">'
            f"<code>{esc(attachment.name)}</code> · {esc(attachment.mime_type)} · "
            f"{size_text(attachment.size)}</div>{attachment_html(shown)}</div>"
        )
    return "\n".join(body) + "\n</article>\n"


def cell_html(message: Message, anchor: str, stamp: str) -> str:
    facts = cell_facts(message)
    count = "" if facts.execution_count is None else str(facts.execution_count)
    head = [f'<span class="am-prompt">In [{count}]</span>', stamp]
    if facts.duration_s is not None:
        head.append(f'<span class="am-muted">{facts.duration_s:.3g} s</span>')
    if facts.notebook:
        head.append(f'<span class="am-muted">{esc(facts.notebook)}</span>')
    if facts.failed:
        head.append('<span class="am-badge">error</span>')
    failed = " am-failed" if facts.failed else ""
    html = [
        f'<article class="am-msg am-cell am-role-system{failed}" {anchor}>',
        f'<div class="am-msg-head">{" ".join(head)}</div>',
        highlight_python(message.content),
    ]
    outputs = cell_outputs(message)
    if outputs:
        html.append('<div class="am-outputs">')
        for output in outputs:
            css = f"am-output am-{output.output_type}" + (
                " am-stderr" if output.stream == "stderr" and output.output_type == "stream" else ""
            )
            if output.attachment is None:
                inner = (
                    f'<p class="am-file am-muted">output <code>{esc(output.name)}</code> '
                    "is missing</p>"
                )
            else:
                inner = attachment_html(show(output.attachment))
            if output.truncated:
                inner += '<p class="am-muted">(cut when it was recorded: it was too big)</p>'
            html.append(f'<div class="{css}">{inner}</div>')
        html.append("</div>")
    if facts.not_kept:
        html.append(f'<p class="am-muted">{facts.not_kept:,} more outputs were not kept</p>')
    if facts.failed:
        html.append(
            f'<div class="am-error-box">{esc(facts.error or "The cell raised an error.")}</div>'
        )
    return "\n".join(html) + "\n</article>\n"


def attachment_html(shown: Shown) -> str:
    """An attachment shown by its kind; anything else (or anything wrong) as a file line."""
    a = shown.attachment
    if shown.kind == "image":
        data = base64.b64encode(shown.data).decode("ascii")
        return (
            f'<figure class="am-figure"><img src="data:{esc(a.bare_type)};base64,{data}" '
            f'alt="{esc(a.name)}"></figure>'
        )
    if shown.kind == "csv" and shown.table is not None:
        return csv_html(shown)
    if shown.kind == "markdown":
        text, cut = clip(shown.text)
        return f'<div class="am-md">{markdown_html(text)}</div>{_cut(cut)}'
    if shown.kind == "html":
        text, cut = clip(shown.text)
        return f'<div class="am-html am-table-wrap">{sanitize_html(text)}</div>{_cut(cut)}'
    if shown.kind in ("text", "json"):
        text = shown.text
        if shown.kind == "json":
            try:
                text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
            except ValueError:
                pass
        text, cut = clip(text)
        return f'<pre class="am-{shown.kind}">{esc(text)}</pre>{_cut(cut)}'
    problem = f" — {esc(shown.problem)}" if shown.problem else ""
    return (
        f'<p class="am-file">File <code>{esc(a.name)}</code> '
        f'<span class="am-muted">({esc(a.mime_type)}, {size_text(a.size)})</span>{problem}</p>'
    )


def _cut(note: str) -> str:
    return f'<p class="am-muted">({esc(note)})</p>' if note else ""


def csv_html(shown: Shown) -> str:
    table = shown.table
    assert table is not None
    width = len(table.header)
    rows = [(row + [""] * width)[:width] if width else row for row in table.rows]
    head = "".join(f"<th>{esc(c)}</th>" for c in table.header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    noun = "row" if table.total == 1 else "rows"
    first = f"first {len(rows)} of " if table.total > len(rows) else ""
    return (
        f'<div class="am-table-wrap"><table class="am-csv"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
        f'<p class="am-muted">{first}{table.total:,} {noun}</p>'
    )


def snapshot_html(item: Mapping[str, Any]) -> str:
    """A 0.1 variable snapshot (``%%mirror_send --attach``): its first rows as a table."""
    facts = [str(item["type"])] if item.get("type") is not None else []
    shape = item.get("shape")
    if isinstance(shape, list) and shape:
        facts.append(" × ".join(str(n) for n in shape))
    head = f"Attached <code>{esc(item.get('name', 'attachment'))}</code>"
    head += f" ({esc(', '.join(facts))})" if facts else ""
    columns, rows = item.get("columns"), item.get("head", item.get("rows"))
    if isinstance(columns, list) and columns and isinstance(rows, list):
        body = table_html(columns, rows)
        total = shape[0] if isinstance(shape, list) and shape else None
        if isinstance(total, int) and total > len(rows):
            body += f'<p class="am-muted">first {len(rows)} of {total} rows</p>'
    elif isinstance(item.get("repr"), str):
        body = f'<pre class="am-text">{esc(item["repr"])}</pre>'
    else:
        shown = {k: v for k, v in item.items() if k not in ("name", "type", "shape")}
        body = table_html(["field", "value"], sorted(shown.items())) if shown else ""
    return f'<div class="am-attachment"><div class="am-attachment-head">{head}</div>{body}</div>'


def table_html(columns: Sequence[Any], rows: Iterable[Any]) -> str:
    def cell(value: Any) -> str:
        return esc(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))

    head = "".join(f"<th>{cell(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = row_cells(row, columns)
        body.append("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in cells) + "</tr>")
    return (
        f'<div class="am-table-wrap"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )
