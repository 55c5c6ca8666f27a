"""The Markdown export: a readable transcript whose HTML is inert, with its attachments.

Notes are Markdown (made inert by :func:`~..markup.safe_markdown`); cells are fenced Python
with their outputs under them. Images are inline ``data:`` images — or, when the export is
written to a folder, links to files in its ``attachments/`` folder (``place`` writes them);
CSV attachments are tables of their first rows with the row count; text is fenced; an HTML
output is reduced to plain structural tags (:mod:`.sanitize`). 0.1's variable snapshots in
``metadata["attachments"]`` are tables as before.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TextIO

from ..markup import safe_markdown, safe_markdown_line
from ..models import Attachment, Message, SessionMetadata, is_cell
from ..redaction import shown_content
from ..timeutil import to_iso
from .attachments import Shown, cell_facts, cell_outputs, clip, show, size_text, snapshots
from .family import Part
from .sanitize import sanitize_html

#: Writes an attachment's bytes somewhere and returns the relative link to them.
Place = Callable[[Attachment, bytes], str]


def when(dt: datetime) -> str:
    """A timestamp as the exports show it: ``2024-01-15 10:01:00 UTC``."""
    return to_iso(dt)[:19].replace("T", " ") + " UTC"


def write_markdown(parts: Iterable[Part], out: TextIO, *, place: Place | None = None) -> None:
    """Write the sessions of ``parts`` as one Markdown document, a message at a time."""
    for index, part in enumerate(parts):
        if index:
            out.write("\n")
        level = min(1 + part.depth, 6)
        out.write("\n".join(header_lines(part.meta, level)).rstrip("\n") + "\n")
        for message in part.messages():
            out.write("\n" + "\n".join(message_lines(message, max(3, level + 1), place)) + "\n")


def header_lines(meta: SessionMetadata, level: int = 1) -> list[str]:
    title = safe_markdown_line(meta.title) or "Untitled session"
    lines = [f"{'#' * level} {title}", ""]
    lines.append(f"- **Session:** `{meta.session_id}`")
    lines.append(f"- **Created:** {when(meta.created_at)}")
    lines.append(f"- **Updated:** {when(meta.updated_at)}")
    if meta.parent_session_id:
        lines.append(f"- **Parent:** `{meta.parent_session_id}`")
    if meta.user_id:
        lines.append(f"- **User:** {safe_markdown_line(meta.user_id)}")
    lines.append(f"- **Status:** {safe_markdown_line(meta.status)}")
    lines.append(f"- **Messages:** {meta.message_count}")
    if meta.tags:
        lines.append("- **Tags:** " + ", ".join(f"`{tag}`" for tag in meta.tags))
    seal = meta.metadata.get("seal")
    if isinstance(seal, Mapping):
        lines.append(
            f"- **Sealed:** {_facts([seal.get('sealed_at')])} · head `{_code(seal.get('head'))}`"
        )
        if seal.get("signature"):
            lines.append(f"- **Signed by:** `{_code(seal.get('public_key'))}`")
    elif meta.head:
        lines.append(f"- **Head:** `{meta.head}`")
    provenance = meta.metadata.get("provenance")
    if isinstance(provenance, Mapping):
        lines.append(f"- **Provenance:** {provenance_line(provenance)}")
    return lines + [""]


def provenance_line(provenance: Mapping[str, Any]) -> str:
    """Provenance in a line: notebook, Python, platform, host, user, git, packages."""
    parts = [provenance.get(key) for key in ("notebook", "python", "platform", "hostname", "user")]
    git = provenance.get("git")
    if isinstance(git, Mapping):
        commit = str(git.get("commit") or "")[:12]
        branch = git.get("branch")
        parts.append(
            f"git {commit}"
            + (f" ({branch})" if branch else "")
            + (" dirty" if git.get("dirty") else "")
        )
    packages = provenance.get("packages")
    if isinstance(packages, Mapping) and packages:
        parts.append(f"{len(packages)} packages")
    return _facts(parts)


def _facts(values: Sequence[Any]) -> str:
    return " · ".join(safe_markdown_line(v) for v in values if v not in (None, "", [], {}))


def _code(value: Any) -> str:
    """Text for inside a code span (backticks removed, one line)."""
    return " ".join(str(value or "").replace("`", "").split())


def message_lines(message: Message, level: int = 3, place: Place | None = None) -> list[str]:
    lines = [
        "---",
        "",
        f"{'#' * level} {message.role.capitalize()} · {when(message.timestamp)}",
        "",
    ]
    if is_cell(message):
        lines += [*fence(message.content, "python"), ""]
        lines += cell_lines(message, place)
    else:
        lines += [safe_markdown(shown_content(message)), ""]
        for item in snapshots(message):
            lines += snapshot_lines(item)
        for attachment in message.attachments:
            lines += attachment_lines(show(attachment), place, labelled=True)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def cell_lines(message: Message, place: Place | None) -> list[str]:
    facts = cell_facts(message)
    said = []
    if facts.execution_count is not None:
        said.append(f"In [{facts.execution_count}]")
    if facts.duration_s is not None:
        said.append(f"{facts.duration_s:.3g} s")
    lines = [f"_{' · '.join(said)}_", ""] if said else []
    for output in cell_outputs(message):
        if output.attachment is None:
            lines += [f"_output `{_code(output.name)}` is missing_", ""]
            continue
        lines += attachment_lines(show(output.attachment), place, labelled=False)
        if output.truncated:
            lines += ["_(this output was cut when it was recorded: it was too big)_", ""]
    if facts.not_kept:
        lines += [f"_{facts.not_kept:,} more outputs were not kept_", ""]
    if facts.failed:
        lines += [f"**Error:** {safe_markdown_line(facts.error or 'the cell raised an error')}", ""]
    return lines


def attachment_lines(shown: Shown, place: Place | None, *, labelled: bool) -> list[str]:
    """An attachment (a note's, or a cell's output) as Markdown lines; ``labelled`` puts
    its name, type and size above it."""
    a = shown.attachment
    label = f"**`{a.name}`** ({a.mime_type}, {size_text(a.size)})"
    link = place(a, shown.data) if place is not None and shown.readable else ""
    if shown.kind == "image":
        b64 = base64.b64encode(shown.data).decode("ascii")
        return [f"![{a.name}]({link or f'data:{a.bare_type};base64,{b64}'})", ""]
    if link:
        label += f" — [{a.name}]({link})"
    if shown.kind == "file":
        problem = f": {safe_markdown_line(shown.problem)}" if shown.problem else ""
        return [f"{label}{problem}", ""]
    lines = [label, ""] if labelled or link else []
    if shown.kind == "csv" and shown.table is not None:
        lines += csv_lines(shown)
    elif shown.kind == "markdown":
        text, cut = clip(shown.text)
        lines += [safe_markdown(text)] + ([f"_({cut})_"] if cut else [])
    elif shown.kind == "html":
        text, cut = clip(shown.text)
        # An HTML block ends at a blank line; the sanitized tags carry no attributes.
        html = re.sub(r"\n\s*\n", "\n", sanitize_html(text)).strip()
        lines += [html] + ([f"_({cut})_"] if cut else [])
    else:  # text, json
        text, cut = clip(_pretty_json(shown.text) if shown.kind == "json" else shown.text)
        lines += fence(text.rstrip("\n"), "json" if shown.kind == "json" else "")
        lines += [f"_({cut})_"] if cut else []
    return lines + [""]


def csv_lines(shown: Shown) -> list[str]:
    """A CSV attachment's first rows as a table, and how many rows it has."""
    table = shown.table
    assert table is not None
    lines: list[str] = []
    if table.header:
        width = len(table.header)
        lines += table_lines(table.header, [(row + [""] * width)[:width] for row in table.rows])
        lines.append("")
    noun = "row" if table.total == 1 else "rows"
    first = f"first {len(table.rows)} of " if table.total > len(table.rows) else ""
    return lines + [f"_{first}{table.total:,} {noun}_"]


def _pretty_json(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def _md_cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return safe_markdown_line(text).replace("|", "\\|")


def table_lines(columns: Sequence[Any], rows: Sequence[Any]) -> list[str]:
    """A Markdown table; every cell inert and on one line."""
    lines = [
        "| " + " | ".join(_md_cell(c) for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        lines.append("| " + " | ".join(_md_cell(c) for c in row_cells(row, columns)) + " |")
    return lines


def row_cells(row: Any, columns: Sequence[Any]) -> list[Any]:
    """A table row's cells: a mapping by column, a list as it is, anything else alone."""
    if isinstance(row, Mapping):
        return [row.get(c) for c in columns]
    return list(row) if isinstance(row, (list, tuple)) else [row]


def fence(text: str, language: str = "") -> list[str]:
    """``text`` in a code fence (shown verbatim, no HTML); the fence outgrows any backtick
    run inside."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    marker = "`" * max(3, longest + 1)
    return [marker + language, text, marker]


def snapshot_lines(item: Mapping[str, Any]) -> list[str]:
    """A variable snapshot from 0.1's ``%%mirror_send --attach`` (``metadata["attachments"]``):
    a DataFrame's first rows as a table, anything else as its repr."""
    name = safe_markdown_line(str(item.get("name", "attachment"))).replace("`", "")
    facts = []
    if item.get("type") is not None:
        facts.append(safe_markdown_line(str(item["type"])))
    shape = item.get("shape")
    if isinstance(shape, list) and shape:
        facts.append(" × ".join(safe_markdown_line(str(n)) for n in shape))
    lines = [f"**Attached `{name}`**" + (f" ({', '.join(facts)})" if facts else ""), ""]
    columns = item.get("columns")
    rows = item.get("head", item.get("rows"))
    if isinstance(columns, list) and columns and isinstance(rows, list):
        lines += table_lines(columns, rows)
        total = shape[0] if isinstance(shape, list) and shape else None
        if isinstance(total, int) and total > len(rows):
            lines += ["", f"_first {len(rows)} of {total} rows_"]
    elif isinstance(item.get("repr"), str):
        lines += fence(item["repr"])
    else:
        shown = {k: v for k, v in item.items() if k not in ("name", "type", "shape")}
        if shown:
            lines += table_lines(["field", "value"], sorted(shown.items()))
    return lines + [""]
