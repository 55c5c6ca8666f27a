"""The SQLite store (the default): one database file, safe to share between kernels.

Schema: the spec's ``sessions(id, user_id, title, created_at, updated_at, status)`` and
``messages(id, session_id, role, content, timestamp)``, plus our columns
(``sessions.parent_session_id, metadata, max_context_messages, message_count``;
``messages.metadata, seq``) and an FTS5 index over message content. ``seq`` numbers a
session's messages 0, 1, 2… so a page of messages is an index range, whatever its offset.

Schema changes are named migration functions applied in order and recorded in
``activemirror_migrations`` (see :mod:`.sqlite_schema`); a database made with the spec's schema
or with the ActiveMirrorOS Python SDK 0.2.0 schema is upgraded in place, keeping every row.

Concurrency: WAL journal, every write in ``BEGIN IMMEDIATE`` with a 30 s busy timeout, so
several kernels on one file queue up instead of failing. A lock that outlasts the timeout is
reported as a busy database (a StorageError saying so), never as corruption.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from os import PathLike, fspath
from pathlib import Path
from typing import Any

from ..errors import StorageError
from ..models import Message, SessionMetadata
from ..timeutil import from_iso, to_iso
from .rows import (
    MESSAGE_COLUMNS,
    SESSION_COLUMNS,
    dump_json,
    message_from_row,
    session_from_row,
)
from .sqlite_schema import MIGRATIONS

BUSY_TIMEOUT_S = 30.0


def session_params(s: SessionMetadata) -> tuple[Any, ...]:
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
    )


def message_params(m: Message, seq: int) -> tuple[Any, ...]:
    return (m.id, m.session_id, m.role, m.content, to_iso(m.timestamp), dump_json(m.metadata), seq)


class SQLiteStorage:
    """Sessions and messages in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(fspath(path)).expanduser()
        self.description = f"SQLite database {self.path}"
        self._lock = threading.RLock()
        if self.path.is_dir():
            raise StorageError(f"{self.description} is a folder, not a database file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
                check_same_thread=False,  # shared by a server's threads, guarded by _lock
            )
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open {self.description}: {exc}") from None
        try:
            # Reading the schema first means a file that is not a database is reported
            # before anything is written to it.
            self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except StorageError:
            self._db.close()
            raise
        except sqlite3.Error as exc:
            self._db.close()
            raise self._error(exc, "open") from None

    # -- plumbing ---------------------------------------------------------------------------

    def _error(self, exc: sqlite3.Error, doing: str) -> StorageError:
        text = str(exc)
        if isinstance(exc, sqlite3.IntegrityError):
            taken = " (an id that is already stored)" if "UNIQUE" in text else ""
            return StorageError(
                f"cannot {doing} in {self.description}: {text}{taken}; nothing was written"
            )
        if "locked" in text or "busy" in text:
            return StorageError(
                f"{self.description} is busy: another process held its lock for more than "
                f"{BUSY_TIMEOUT_S:.0f} s while trying to {doing}; nothing was written, try again"
            )
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return StorageError(
                f"{self.description} is not a usable SQLite database ({text}); "
                "the file was left as it is"
            )
        return StorageError(f"cannot {doing} in {self.description}: {text}")

    @contextmanager
    def _write(self, doing: str) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(exc, doing) from None
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error(exc, doing) from None
                raise

    def _read(self, sql: str, params: Sequence[Any] = (), doing: str = "read") -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc, doing) from None

    def _migrate(self) -> None:
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS activemirror_migrations "
            "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        applied = {r[0] for r in self._db.execute("SELECT name FROM activemirror_migrations")}
        if all(name in applied for name, _ in MIGRATIONS):
            return
        with self._write("migrate the schema") as db:
            # Re-read inside the write lock: another process may have just migrated.
            applied = {r[0] for r in db.execute("SELECT name FROM activemirror_migrations")}
            for name, fn in MIGRATIONS:
                if name not in applied:
                    fn(db)
                    db.execute(
                        "INSERT INTO activemirror_migrations VALUES (?, datetime('now'))", (name,)
                    )

    def applied_migrations(self) -> list[str]:
        return [r[0] for r in self._read("SELECT name FROM activemirror_migrations ORDER BY name")]

    # -- the Storage protocol ---------------------------------------------------------------

    def save(
        self, session: SessionMetadata, new_messages: Sequence[Message], *, replace: bool = False
    ) -> int:
        with self._write(f"save session {session.session_id!r}") as db:
            if replace:
                db.execute("DELETE FROM messages WHERE session_id = ?", (session.session_id,))
                db.execute("DELETE FROM sessions WHERE id = ?", (session.session_id,))
            # Positions are taken inside the write lock, so concurrent writers to one
            # session interleave their messages instead of colliding.
            (start,) = db.execute(
                "SELECT coalesce(max(seq) + 1, 0) FROM messages WHERE session_id = ?",
                (session.session_id,),
            ).fetchone()
            db.executemany(
                f"INSERT INTO messages ({MESSAGE_COLUMNS}, seq) VALUES (?,?,?,?,?,?,?)",
                (message_params(m, start + i) for i, m in enumerate(new_messages)),
            )
            count = start + len(new_messages)
            db.execute(
                f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?) "
                "ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id, "
                "title = excluded.title, status = excluded.status, "
                "parent_session_id = excluded.parent_session_id, metadata = excluded.metadata, "
                "max_context_messages = excluded.max_context_messages, "
                "message_count = excluded.message_count, "
                "updated_at = max(sessions.updated_at, excluded.updated_at)",
                (*session_params(session), count),
            )
        return count

    def get_session(self, session_id: str) -> SessionMetadata | None:
        rows = self._read(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
        return session_from_row(rows[0], from_iso) if rows else None

    def list_sessions(
        self, limit: int | None, offset: int, parent_session_id: str | None
    ) -> list[SessionMetadata]:
        where, params = self._parent_filter(parent_session_id)
        rows = self._read(
            f"SELECT {SESSION_COLUMNS} FROM sessions{where} "
            "ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
            (*params, -1 if limit is None else limit, offset),
            "list sessions",
        )
        return [session_from_row(r, from_iso) for r in rows]

    @staticmethod
    def _parent_filter(parent_session_id: str | None) -> tuple[str, tuple[Any, ...]]:
        if parent_session_id is None:
            return "", ()
        return " WHERE parent_session_id = ?", (parent_session_id,)

    def count_sessions(self, parent_session_id: str | None) -> int:
        where, params = self._parent_filter(parent_session_id)
        return self._read(f"SELECT count(*) FROM sessions{where}", params)[0][0]

    def count_messages(self, session_id: str) -> int:
        return self._read(
            "SELECT coalesce(max(seq) + 1, 0) FROM messages WHERE session_id = ?", (session_id,)
        )[0][0]

    def get_messages(self, session_id: str, start: int, stop: int) -> list[Message]:
        rows = self._read(
            f"SELECT {MESSAGE_COLUMNS} FROM messages "
            "WHERE session_id = ? AND seq >= ? AND seq < ? ORDER BY seq",
            (session_id, start, stop),
            "read messages",
        )
        return [message_from_row(r, from_iso) for r in rows]

    def delete_session(self, session_id: str) -> bool:
        with self._write(f"delete session {session_id!r}") as db:
            db.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            return db.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0

    def message_owners(self, message_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        ids = list(message_ids)
        for i in range(0, len(ids), 500):  # stay under SQLite's limit on parameters
            chunk = ids[i : i + 500]
            rows = self._read(
                f"SELECT id, session_id FROM messages WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
                "look up message ids",
            )
            found.update(dict(rows))
        return found

    def search(self, words: Sequence[str], session_id: str | None, limit: int) -> list[Message]:
        if not words:
            return []
        # Each word is a quoted FTS5 string, so nothing the user typed is query syntax.
        query = " ".join(f'"{w}"' for w in words)
        session_filter = "" if session_id is None else " AND m.session_id = ?"
        params = (query,) if session_id is None else (query, session_id)
        rows = self._read(
            f"SELECT {', '.join('m.' + c for c in MESSAGE_COLUMNS.split(', '))} "
            "FROM messages_fts JOIN messages AS m ON m.rowid = messages_fts.rowid "
            f"WHERE messages_fts MATCH ?{session_filter} "
            "ORDER BY messages_fts.rowid DESC LIMIT ?",
            (*params, limit),
            "search",
        )
        return [message_from_row(r, from_iso) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()
