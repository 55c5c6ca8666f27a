"""The rows the SQLite store writes: a session's, a message's (its columns in order)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..models import Message, SessionMetadata, timestamp_text
from ..timeutil import to_iso
from .rows import dump_json, stored_origin


def session_params(s: SessionMetadata, count: int, head: str | None) -> tuple[Any, ...]:
    """A session's row, in SESSION_COLUMNS order."""
    return (
        s.session_id,
        s.user_id,
        s.title,
        to_iso(s.created_at),
        to_iso(s.updated_at),
        s.status,
        s.parent_session_id,
        dump_json(s.metadata),
        s.max_context_messages,
        count,
        tags_json(s.tags),
        head,
    )


def tags_json(tags: Sequence[str]) -> str | None:
    return json.dumps(list(tags)) if tags else None


def message_params(
    m: Message, seq: int, digest: str, device_id: str, clock: int
) -> tuple[Any, ...]:
    timestamp = timestamp_text(m)
    origin = stored_origin(m, device_id)
    metadata = dump_json(m.metadata)
    return (m.id, m.session_id, m.role, m.content, timestamp, metadata, digest, origin, clock, seq)
