"""What changed in the team store after a point (:meth:`PostgreSQLStorage.changes`).

Each role's row of ``activemirror_versions`` counts its changes (``version``) and keeps the
sessions it deleted (``deleted``: ``{id: number}``); ``sessions.change`` is the number of
the session's last change. A write takes the next number by updating the role's row, which
stays locked until the write commits, so a role's changes are numbered in commit order and
an answer read after number *n* holds every change up to it. Sessions saved before 0.3
have no number: they are older than any token.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from .base import Changes, counted_changes
from .postgresql_schema import OWN


def record(conn: psycopg.Connection, session_id: str, *, deleted: bool = False) -> None:
    """Count a change of ``session_id`` (inside the write making it)."""
    row = conn.execute(
        "INSERT INTO activemirror_versions (version) VALUES (1) ON CONFLICT (owner) "
        "DO UPDATE SET version = activemirror_versions.version + 1 RETURNING version"
    ).fetchone()
    assert row is not None
    if deleted:
        conn.execute(
            "UPDATE activemirror_versions SET deleted = deleted || jsonb_build_object("
            f"%s::text, %s::bigint) WHERE {OWN}",
            (session_id, row[0]),
        )
    else:
        conn.execute(
            f"UPDATE sessions SET change = %s WHERE {OWN} AND id = %s", (row[0], session_id)
        )


def changes(read: Callable[[str, Sequence[Any], str], list[Any]], since: str | None) -> Changes:
    rows = read(f"SELECT version, deleted FROM activemirror_versions WHERE {OWN}", (), "changes")
    count, deleted = rows[0] if rows else (0, {})

    def after(n: int) -> tuple[list[str], list[str]]:
        stored = [
            sid
            for (sid,) in read(
                f"SELECT id FROM sessions WHERE {OWN} AND change > %s", (n,), "read changes"
            )
        ]
        present = set(stored)
        return stored, [sid for sid, k in deleted.items() if k > n and sid not in present]

    return counted_changes(since, "role", count, after)
