"""Writing a batch of messages (with their clocks, hashes and search vectors) and their
attachments into the PostgreSQL store, in one statement each."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from ..models import Attachment, Message
from ..search import attachment_text
from .postgresql_words import search_vector
from .rows import MESSAGE_COLUMNS, dump_json, stored_origin


def append_messages(
    conn: psycopg.Connection,
    messages: Sequence[Message],
    chained: tuple[list[str], list[int]],
    start: int,
    device_id: str,
) -> None:
    """Insert ``messages`` numbered from ``start`` with their hashes and clocks, and
    their attachments."""
    if not messages:
        return
    hashes, clocks = chained
    # One statement for the batch (COPY is not allowed under row security).
    conn.execute(
        f"INSERT INTO messages ({MESSAGE_COLUMNS}, clock, seq, search_vector)"
        # binary arrays (%b): nothing to quote on our side or to parse on the server's
        " SELECT * FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[],"
        " %b::timestamptz[], %b::text[]::json[], %b::text[], %b::text[], %b::int8[],"
        " %b::int[], %b::text[]::tsvector[])",
        (
            [m.id for m in messages],
            [m.session_id for m in messages],
            [m.role for m in messages],
            [m.content for m in messages],
            [m.timestamp for m in messages],
            [dump_json(m.metadata) for m in messages],
            hashes,
            [stored_origin(m, device_id) for m in messages],
            clocks,
            list(range(start, start + len(messages))),
            [search_vector(m.content) for m in messages],
        ),
    )
    files = [(m.id, i, a) for m in messages for i, a in enumerate(m.attachments)]
    if files:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO attachments (message_id, position, name, mime_type, size, "
                "sha256, data, search_vector) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    (mid, i, a.name, a.mime_type, a.size, a.sha256, data, _text_vector(a, data))
                    for mid, i, a in files
                    for data in (a.read(),)
                ],
            )


def _text_vector(attachment: Attachment, data: bytes) -> str | None:
    """The words of a text attachment's text (HTML's without markup); others have none."""
    text = attachment_text(attachment.mime_type, data)
    return None if text is None else search_vector(text)
