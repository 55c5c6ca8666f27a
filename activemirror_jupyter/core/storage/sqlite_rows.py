"""The rows the SQLite store writes: a session's, a message's (its columns in order)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from ..models import Message, SessionMetadata, timestamp_text
from ..timeutil import to_iso
from .rows import dump_json


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


def message_rows(
    messages: Sequence[Message],
    start: int,
    hashes: Sequence[str],
    clocks: Sequence[int],
    device_id: str,
) -> Iterator[tuple[Any, ...]]:
    """The messages' rows, numbered on from ``start``: MESSAGE_COLUMNS, then clock and
    seq. Made one at a time as ``executemany`` takes them, with no call per message but
    the timestamp's (a save of many messages spends its Python time here)."""
    return (
        (
            m.id,
            m.session_id,
            m.role,
            m.content,
            timestamp_text(m),
            dump_json(m.metadata) if m.metadata else None,  # most messages have none
            digest,
            None if m.origin is None or m.origin == device_id else m.origin,  # stored_origin
            clock,
            seq,
        )
        for m, digest, clock, seq in zip(
            messages, hashes, clocks, range(start, start + len(messages)), strict=True
        )
    )
