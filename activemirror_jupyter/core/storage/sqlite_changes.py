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
from collections.abc import Callable, Sequence
from typing import Any

from ..ids import new_device_id
from .base import Changes, counted_changes


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
    read: Callable[[str, Sequence[Any], str], list[Any]], epoch: str, since: str | None
) -> Changes:
    # The count first: a change committed between the two reads is then in this answer
    # and in the next, never in neither.
    ((count,),) = read("SELECT coalesce(max(change), 0) FROM session_changes", (), "read changes")

    def after(n: int) -> tuple[list[str], list[str]]:
        rows = read(
            "SELECT c.session_id, s.id IS NOT NULL FROM session_changes AS c "
            "LEFT JOIN sessions AS s ON s.id = c.session_id WHERE c.change > ?",
            (n,),
            "read changes",
        )
        return [sid for sid, stored in rows if stored], [sid for sid, stored in rows if not stored]

    return counted_changes(since, epoch, count, after)
