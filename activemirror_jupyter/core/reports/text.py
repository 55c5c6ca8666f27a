"""The plain-text export: a transcript, one line per message (continuation lines indented),
attachments named. A family is the sessions one after another, each under a rule."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from ..redaction import shown_content
from .attachments import size_text
from .family import Part
from .markdown import when


def write_text(parts: Iterable[Part], out: TextIO) -> None:
    for index, part in enumerate(parts):
        meta = part.meta
        if index:
            out.write("\n" + "=" * 72 + "\n")
        lines = [meta.title or "Untitled session"]
        lines.append(
            f"Session {meta.session_id} · created {when(meta.created_at)} · "
            f"updated {when(meta.updated_at)} · {meta.message_count} messages"
        )
        if meta.parent_session_id:
            lines.append(f"Parent session {meta.parent_session_id}")
        if meta.tags:
            lines.append("Tags: " + ", ".join(meta.tags))
        out.write("\n".join(lines) + "\n\n")
        for m in part.messages():
            first, *rest = shown_content(m).split("\n")
            lines = [f"[{when(m.timestamp)}] {m.role}: {first}"]
            lines += ["    " + line for line in rest]
            lines += [
                f"    [attachment {a.name}: {a.mime_type}, {size_text(a.size)}]"
                for a in m.attachments
            ]
            out.write("\n".join(lines) + "\n")
