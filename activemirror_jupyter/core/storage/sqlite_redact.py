"""Redaction in the SQLite store: the message's row emptied, its attachments and its entries
in both search indexes deleted, and ``{"at", "reason", "digest"}`` kept in ``redactions``
(migration ``m010_redactions``) — in one ``BEGIN IMMEDIATE`` write, so a process killed
during it leaves the old message or the redacted one, never a half.

Then the bytes go from the file, not just from the rows (:func:`scrub`):

- the write runs with ``PRAGMA secure_delete``, so what it frees is overwritten with zeros;
- the search indexes are merged (FTS5 ``optimize``): a deleted row's words stay in the
  index's older segments until they are merged away;
- ``VACUUM`` rebuilds the file: pages that were rewritten before (a full page split when
  the message was saved, an index merge) may still hold copies of it in their unused space
  or in free pages, which nothing but a rebuild reaches;
- a ``wal_checkpoint(TRUNCATE)`` empties the write-ahead log, which holds the pages as
  every earlier write left them.

The write records ``scrub_pending`` in ``activemirror_state`` and the scrub clears it, so a
process killed between the two leaves the scrub to the next one that opens the store.
"""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from ..errors import StorageError
from ..models import Message
from ..redaction import redacted_form
from ..redaction import with_redactions as redactions_of
from ..timeutil import from_iso, to_iso
from . import sqlite_changes
from .rows import MESSAGE_COLUMNS, message_from_row
from .sqlite_connection import Connection
from .sqlite_search import TEXT_ATTACHMENT

Reader = Callable[..., list[Any]]

#: The ``activemirror_state`` key of a scrub still to do.
PENDING = "scrub_pending"


def create_table(db: sqlite3.Connection) -> None:
    """The migration's table (see :mod:`.sqlite_schema`)."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS redactions (message_id TEXT PRIMARY KEY, "
        "session_id TEXT NOT NULL, at TEXT NOT NULL, reason TEXT NOT NULL, digest TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS redactions_session ON redactions(session_id)")


def with_redactions(read: Reader, messages: list[Message]) -> list[Message]:
    """``messages`` with their redactions (:func:`..redaction.with_redactions`)."""

    def lookup(ids: list[str]) -> list[Any]:
        marks = ",".join("?" * len(ids))
        sql = f"SELECT message_id, at, reason, digest FROM redactions WHERE message_id IN ({marks})"
        return read(sql, ids, "read redactions")

    return redactions_of(messages, lookup, from_iso)


def record_saved(db: sqlite3.Connection, messages: Sequence[Message]) -> None:
    """Keep the redactions of messages that arrive redacted (an import, a sync)."""
    rows = [_row(m) for m in messages if m.redacted is not None]
    if rows:
        db.executemany("INSERT OR REPLACE INTO redactions VALUES (?, ?, ?, ?, ?)", rows)


def _row(m: Message) -> tuple[str, str, str, str, str | None]:
    assert m.redacted is not None
    return (m.id, m.session_id, to_iso(m.redacted["at"]), m.redacted["reason"], m.kept_digest)


def redact(
    store: Any, session_id: str, message_id: str, at: datetime, reason: str
) -> Message | None:
    """:meth:`SQLiteStorage.redact` (see the module docstring)."""
    conn: Connection = store._conn
    with conn.lock:
        _pragma(conn, "PRAGMA secure_delete = ON")
        try:
            with conn.write(f"redact message {message_id!r}") as db:
                found, changed = _redact_row(store, db, session_id, message_id, at, reason)
                if changed:
                    sqlite_changes.record(db, session_id)
            if changed:
                _scrub_or_warn(conn)
        finally:
            _pragma(conn, "PRAGMA secure_delete = OFF")
    return found


def _redact_row(
    store: Any, db: sqlite3.Connection, session_id: str, message_id: str, at: datetime, reason: str
) -> tuple[Message | None, bool]:
    row = db.execute(
        f"SELECT rowid, {MESSAGE_COLUMNS} FROM messages WHERE id = ? AND session_id = ?",
        (message_id, session_id),
    ).fetchone()
    if row is None:
        return None, False
    rowid, *columns = row
    files = store._attachments([message_id]).get(message_id, ())
    message = message_from_row(columns, from_iso, files, store.device_id)
    kept = with_redactions(store._read, [message])[0]
    if kept.redacted is not None:
        return kept, False  # the first redaction stands
    gone = redacted_form(message, from_iso(to_iso(at)), reason)
    db.execute(
        "INSERT INTO messages_fts(messages_fts, rowid, content) VALUES ('delete', ?, ?)",
        (rowid, message.content),
    )
    db.execute(
        "INSERT INTO attachments_fts(attachments_fts, rowid, text) "
        "SELECT 'delete', rowid, CAST(data AS TEXT) FROM attachments "
        f"WHERE message_id = ? AND {TEXT_ATTACHMENT}",
        (message_id,),
    )
    db.execute("DELETE FROM attachments WHERE message_id = ?", (message_id,))
    db.execute("UPDATE messages SET content = '', metadata = NULL WHERE rowid = ?", (rowid,))
    # The index keeps one (now empty) entry per message, as for every other row: a delete
    # of the session later tells it each row's content, and finds this one's.
    db.execute("INSERT INTO messages_fts(rowid, content) VALUES (?, '')", (rowid,))
    record_saved(db, [gone])
    db.execute("INSERT OR REPLACE INTO activemirror_state VALUES (?, '1')", (PENDING,))
    return gone, True


def _scrub_or_warn(conn: Connection) -> None:
    """The redaction is made (its write is committed); a scrub that fails — a full disk has
    no room for ``VACUUM``'s copy — leaves it pending, to be finished by the next process
    that opens the store, and says so."""
    try:
        scrub(conn)
    except StorageError as exc:
        warnings.warn(
            f"the message is redacted, but its bytes may still be in {conn.description}'s "
            f"free space or write-ahead log: removing them failed ({exc}); it is done again "
            "when the store is next opened",
            RuntimeWarning,
            stacklevel=4,
        )


def scrub(conn: Connection) -> None:
    """Take what redactions removed out of the file's free space, its search indexes' old
    segments and its write-ahead log (see the module docstring)."""
    with conn.lock:
        with conn.write("merge the search indexes after a redaction") as db:
            db.execute("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')")
            db.execute("INSERT INTO attachments_fts(attachments_fts) VALUES ('optimize')")
        _pragma(conn, "VACUUM")
        busy = _pragma(conn, "PRAGMA wal_checkpoint(TRUNCATE)")
        if busy and busy[0][0]:
            warnings.warn(
                f"{conn.description}: another process is reading it, so its write-ahead log "
                "still holds what a redaction removed; it is emptied when the redaction is "
                "finished again (the next time a process opens the store)",
                RuntimeWarning,
                stacklevel=4,
            )
            return
        with conn.write("finish a redaction") as db:
            db.execute("DELETE FROM activemirror_state WHERE key = ?", (PENDING,))


def finish_pending(conn: Connection) -> None:
    """On opening: finish the scrub a process killed after a redaction left undone."""
    if conn.read_only:
        return
    pending = conn.read("SELECT 1 FROM activemirror_state WHERE key = ?", (PENDING,))
    if pending:
        with conn.lock:
            _pragma(conn, "PRAGMA secure_delete = ON")
            try:
                scrub(conn)
            finally:
                _pragma(conn, "PRAGMA secure_delete = OFF")


def _pragma(conn: Connection, sql: str) -> list[Any]:
    """A statement that runs outside any transaction."""
    try:
        return conn.db.execute(sql).fetchall()
    except sqlite3.Error as exc:
        raise conn.error(exc, "remove a redacted message's bytes from the file") from None
