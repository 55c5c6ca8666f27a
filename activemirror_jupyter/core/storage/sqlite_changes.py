"""What changed in an SQLite store after a point (:meth:`SQLiteStorage.changes`).

``session_changes(session_id, change)`` holds, for every session ever saved here, the
number of its last change — a save, a redaction, a delete (the row stays, the session does
not): 1, 2, 3… across the store, in commit order, since each write holds the database's
one write lock. The numbering is named by ``changes_epoch`` in ``activemirror_state``, so
a token is ``"<epoch>.<number>"`` and another store's token is recognised as such. A
write behind the API (an ``UPDATE`` in the sqlite3 shell) is not counted: the store object
that next asks, seeing the database moved with no change counted, answers ``everything``.
"""

from __future__ import annotations

import sqlite3

from ..ids import new_device_id
from .base import Changes, counted_changes
from .sqlite_connection import Connection


def create_table(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS session_changes "
        "(session_id TEXT PRIMARY KEY, change INTEGER NOT NULL)"
    )
    db.execute("CREATE INDEX IF NOT EXISTS session_changes_order ON session_changes(change)")
    db.execute(
        "INSERT OR IGNORE INTO activemirror_state VALUES ('changes_epoch', ?)", (new_device_id(),)
    )


def record(db: sqlite3.Connection, session_id: str) -> None:
    """Count a change of ``session_id`` (inside the write that makes it)."""
    db.execute(
        "INSERT INTO session_changes VALUES "
        "(?, (SELECT coalesce(max(change), 0) + 1 FROM session_changes)) "
        "ON CONFLICT(session_id) DO UPDATE SET change = excluded.change",
        (session_id,),
    )


def changes(
    conn: Connection, epoch: str, since: str | None, data_version: int | None
) -> tuple[Changes, int]:
    """The answer after ``since``, and the connection's ``PRAGMA data_version`` read in the
    same read transaction: if it moved since the last answer (``data_version``) while no
    change was counted, another connection wrote behind the API — the answer is then
    ``everything``. (Read apart, the two can disagree: a commit between them looks like
    an uncounted write.)"""
    with conn.lock:
        db = conn.db
        try:
            db.execute("BEGIN")
            try:
                ((count,),) = db.execute("SELECT coalesce(max(change), 0) FROM session_changes")
                ((now,),) = db.execute("PRAGMA data_version")
                answer = counted_changes(since, epoch, count, lambda n: _after(db, n))
            finally:
                db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise conn.error(exc, "read changes") from None
    if answer.none and data_version not in (None, now):
        answer = Changes(answer.token, everything=True)
    return answer, now


def _after(db: sqlite3.Connection, n: int) -> tuple[list[str], list[str]]:
    rows = db.execute(
        "SELECT c.session_id, s.id IS NOT NULL FROM session_changes AS c "
        "LEFT JOIN sessions AS s ON s.id = c.session_id WHERE c.change > ?",
        (n,),
    ).fetchall()
    return [sid for sid, stored in rows if stored], [sid for sid, stored in rows if not stored]
