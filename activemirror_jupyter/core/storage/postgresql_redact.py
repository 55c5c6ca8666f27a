"""Redaction in the PostgreSQL store: in one transaction, the message's row emptied (content,
metadata and search words), its attachments deleted, and ``{"at", "reason", "digest"}``
kept in ``redactions`` (migration ``m013_redactions`` of :mod:`.postgresql_schema`, under
the same row security as the messages: a role redacts only its own).

PostgreSQL never overwrites a row in place: the old version of the row, and of each deleted
attachment, stays in the table's files as a dead tuple until ``VACUUM`` reclaims its space
(and even then its bytes may linger in the page until they are reused), in the write-ahead
log until it is recycled, and in base backups, WAL archives and replicas for as long as
they are kept. A member's role cannot do anything about those, so the README says what to
ask the database's administrator for: ``VACUUM (FULL) messages, attachments`` (it rewrites
both tables into new files; it locks them while it runs), and to let backups and WAL
archives that predate the redaction expire.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import psycopg

from ..models import Message
from ..redaction import redacted_form
from ..redaction import with_redactions as redactions_of
from . import postgresql_changes
from .postgresql_schema import OWN, as_utc
from .rows import MESSAGE_COLUMNS

Reader = Callable[..., list[Any]]


def with_redactions(read: Reader, messages: list[Message]) -> list[Message]:
    """``messages`` with their redactions (:func:`..redaction.with_redactions`)."""

    def lookup(ids: list[str]) -> list[Any]:
        sql = "SELECT message_id, at, reason, digest FROM redactions WHERE "
        sql += f"{OWN} AND message_id = ANY(%s)"
        return read(sql, (ids,), "read redactions")

    return redactions_of(messages, lookup, as_utc)


def record_saved(conn: psycopg.Connection, messages: Sequence[Message]) -> None:
    """Keep the redactions of messages that arrive redacted (an import, a sync)."""
    rows = [
        (m.id, m.session_id, m.redacted["at"], m.redacted["reason"], m.kept_digest)
        for m in messages
        if m.redacted is not None
    ]
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO redactions (message_id, session_id, at, reason, digest) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (owner, message_id) DO NOTHING",
                rows,
            )


def redact(
    store: Any, session_id: str, message_id: str, at: datetime, reason: str
) -> Message | None:
    """:meth:`PostgreSQLStorage.redact` (see the module docstring)."""
    with store._db.connection(f"redact message {message_id!r}", write=True) as conn:
        row = conn.execute(
            f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE {OWN} AND session_id = %s AND id = %s "
            "FOR UPDATE",
            (session_id, message_id),
        ).fetchone()
        if row is None:
            return None
        message = store._messages([row])[0]
        if message.redacted is not None:
            return message  # the first redaction stands
        gone = redacted_form(message, as_utc(at), reason)
        conn.execute(f"DELETE FROM attachments WHERE {OWN} AND message_id = %s", (message_id,))
        conn.execute(
            "UPDATE messages SET content = '', metadata = NULL, search_vector = ''::tsvector "
            f"WHERE {OWN} AND id = %s",
            (message_id,),
        )
        record_saved(conn, [gone])
        postgresql_changes.record(conn, session_id)
    return gone
