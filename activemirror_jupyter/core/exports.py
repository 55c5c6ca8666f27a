"""Exports: a session as JSON (what :func:`~.imports.import_session` takes back), Markdown
or plain text. Pure functions of a session's metadata and messages; nothing here reads a
store or writes a file.

The JSON export is the spec's session-file shape, camelCase, with our extras::

    {"format": "activemirror-session", "version": 1,
     "id", "title", "userId", "parentSessionId", "status", "createdAt", "updatedAt",
     "messageCount", "maxContextMessages", "metadata",
     "messages": [{"id", "role", "content", "timestamp", "metadata"}, …]}

Exports are deterministic — sorted keys, no time-of-export field — so the same data always
gives the same text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from .markup import safe_markdown, safe_markdown_line
from .models import Message, SessionMetadata, is_cell
from .serialize import camel, message_record, session_record
from .timeutil import to_iso

SESSION_FORMAT = "activemirror-session"
BUNDLE_FORMAT = "activemirror-bundle"
FORMAT_VERSION = 1
EXPORT_FORMATS = ("json", "markdown", "txt")


def dumps(document: Any) -> str:
    """The deterministic JSON text of an export or a bundle."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)


def session_document(meta: SessionMetadata, messages: Sequence[Message]) -> dict[str, Any]:
    """A session and its messages as the JSON export's object."""
    record = camel(session_record(replace(meta, message_count=len(messages))))
    record.update(format=SESSION_FORMAT, version=FORMAT_VERSION)
    record["messages"] = [message_record(m, with_session=False) for m in messages]
    return record


def check_format(format: object) -> str:
    if format not in EXPORT_FORMATS:
        raise ValueError(
            f"unknown export format {format!r}: use one of {', '.join(EXPORT_FORMATS)}"
        )
    return format  # type: ignore[return-value]


def render(meta: SessionMetadata, messages: Sequence[Message], format: str = "json") -> str:
    """A session (``meta``, all its ``messages``) as ``"json"``, ``"markdown"`` or ``"txt"``."""
    check_format(format)
    meta = replace(meta, message_count=len(messages))
    if format == "json":
        return dumps(session_document(meta, messages))
    if format == "markdown":
        return markdown_export(meta, messages)
    return text_export(meta, messages)


def _when(dt: datetime) -> str:
    return to_iso(dt)[:19].replace("T", " ") + " UTC"


def _md_cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return safe_markdown_line(text).replace("|", "\\|")


def _md_table(columns: Sequence[Any], rows: Sequence[Any]) -> list[str]:
    lines = [
        "| " + " | ".join(_md_cell(c) for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [row.get(c) for c in columns] if isinstance(row, Mapping) else list(row)
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return lines


def _md_fence(text: str, language: str = "") -> list[str]:
    # Text in a fence is shown verbatim (no HTML); the fence outgrows any backtick run inside.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + language, text, fence]


def _md_attachment(item: Mapping[str, Any]) -> list[str]:
    """A variable snapshot from ``%%mirror_send --attach`` (``metadata["attachments"]``):
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
        lines += _md_table(columns, rows)
        total = shape[0] if isinstance(shape, list) and shape else None
        if isinstance(total, int) and total > len(rows):
            lines += ["", f"_first {len(rows)} of {total} rows_"]
    elif isinstance(item.get("repr"), str):
        lines += _md_fence(item["repr"])
    else:
        shown = {k: v for k, v in item.items() if k not in ("name", "type", "shape")}
        if shown:
            lines += _md_table(["field", "value"], sorted(shown.items()))
    return lines + [""]


def markdown_export(meta: SessionMetadata, messages: Sequence[Message]) -> str:
    lines = [f"# {safe_markdown_line(meta.title) or 'Untitled session'}", ""]
    lines.append(f"- **Session:** `{meta.session_id}`")
    lines.append(f"- **Created:** {_when(meta.created_at)}")
    lines.append(f"- **Updated:** {_when(meta.updated_at)}")
    if meta.parent_session_id:
        lines.append(f"- **Parent:** `{meta.parent_session_id}`")
    if meta.user_id:
        lines.append(f"- **User:** {safe_markdown_line(meta.user_id)}")
    lines.append(f"- **Status:** {safe_markdown_line(meta.status)}")
    lines.append(f"- **Messages:** {len(messages)}")
    lines.append("")
    for m in messages:
        lines += ["---", "", f"### {m.role.capitalize()} · {_when(m.timestamp)}", ""]
        body = _md_fence(m.content, "python") if is_cell(m) else [safe_markdown(m.content)]
        lines += [*body, ""]
        attachments = m.metadata.get("attachments")
        if isinstance(attachments, list):
            for item in attachments:
                if isinstance(item, Mapping):
                    lines += _md_attachment(item)
    return "\n".join(lines).rstrip("\n") + "\n"


def text_export(meta: SessionMetadata, messages: Sequence[Message]) -> str:
    lines = [meta.title or "Untitled session"]
    lines.append(
        f"Session {meta.session_id} · created {_when(meta.created_at)} · "
        f"updated {_when(meta.updated_at)} · {len(messages)} messages"
    )
    if meta.parent_session_id:
        lines.append(f"Parent session {meta.parent_session_id}")
    lines.append("")
    for m in messages:
        first, *rest = m.content.split("\n")
        lines.append(f"[{_when(m.timestamp)}] {m.role}: {first}")
        lines += ["    " + line for line in rest]
    return "\n".join(lines) + "\n"
