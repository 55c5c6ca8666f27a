"""The SQLite store (the default): one database file, safe to share between kernels.

Schema: the spec's ``sessions(id, user_id, title, created_at, updated_at, status)`` and
``messages(id, session_id, role, content, timestamp)``, plus our columns
(``sessions.parent_session_id, metadata, max_context_messages, message_count, tags, head``;
``messages.metadata, seq, hash``), ``attachments`` (bytes in their own table, so paging never
reads them), ``session_tags``, and FTS5 indexes over message content and text attachments.
``seq`` numbers a session's messages 0, 1, 2… so a page of messages is an index range,
whatever its offset.

The search indexes are kept by the store: a save indexes its messages with one statement
in the same transaction (a trigger per row made saves ~6x slower); a delete removes them.

Schema changes are named migration functions applied in order and recorded in
``activemirror_migrations`` (see :mod:`.sqlite_schema`); a database made with the spec's schema
or with the ActiveMirrorOS Python SDK 0.2.0 schema is upgraded in place, keeping every row.

The connection — opening (read-only where the file cannot be written), one
``BEGIN IMMEDIATE`` write at a time, errors a user can act on — is :mod:`.sqlite_connection`;
the schema and its migration runner :mod:`.sqlite_schema`; search :mod:`.sqlite_search`.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from os import PathLike, fspath
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StorageError
from ..journal import Row, chain_tips, check_write, head_of, tips_of, tips_text
from ..models import SEALED, Attachment, Message, SessionMetadata
from ..timeutil import from_iso
from . import sqlite_changes, sqlite_redact
from .base import Changes, Saved, SearchQuery, SessionQuery
from .rows import (
    ATTACHMENT_COLUMNS,
    MESSAGE_COLUMNS,
    READ_COLUMNS,
    SESSION_COLUMNS,
    attachments_by_message,
    clocks_after,
    message_from_row,
    session_count_sql,
    session_filter,
    session_from_row,
)
from .sqlite_connection import Connection
from .sqlite_rows import message_rows, session_params, tags_json
from .sqlite_schema import migrate
from .sqlite_search import ATTACHMENT_TEXT, TEXT_ATTACHMENT, add_functions, count_sql, search_sql

if TYPE_CHECKING:
    from .sqlite_vectors import SQLiteVectors

#: Messages read at a time when a whole session is read (verify).
PAGE_ROWS = 1000


class SQLiteStorage:
    """Sessions and messages in one SQLite file (see the module docstring)."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(fspath(path)).expanduser()
        self.description = f"SQLite database {self.path}"
        self._conn = Connection(self.path, self.description)
        self.read_only = self._conn.read_only
        self._lock = self._conn.lock
        self._db = self._conn.db
        self._write = self._conn.write
        self._read = self._conn.read
        self._closed = False
        self._data_version: int | None = None  # as the last changes() saw it
        try:
            add_functions(self._db)  # before migrate: m011 and every save use them
            migrate(self._conn)
            self.device_id: str = self._state("device_id")
            # (A table rebuilt behind the API may have lost it: its numbering is then "-".)
            self._changes_epoch = (self._read(EPOCH) or [("-",)])[0][0]
            sqlite_redact.finish_pending(self._conn)
        except BaseException:
            self._conn.close()
            raise

    def _state(self, key: str) -> str:
        rows = self._read("SELECT value FROM activemirror_state WHERE key = ?", (key,))
        if not rows:
            raise StorageError(f"{self.description} has no {key.replace('_', ' ')}")
        return rows[0][0]

    def set_device_id(self, device_id: str) -> None:
        with self._write("give the store a new device id") as db:
            db.execute(
                "UPDATE activemirror_state SET value = ? WHERE key = 'device_id'", (device_id,)
            )
        self.device_id = device_id

    def read_state(self, key: str) -> str | None:
        rows = self._read("SELECT value FROM activemirror_state WHERE key = ?", (f"x-{key}",))
        return rows[0][0] if rows else None

    def write_state(self, key: str, value: str) -> None:
        with self._write(f"keep {key}") as db:
            db.execute(
                "INSERT OR REPLACE INTO activemirror_state VALUES (?, ?)", (f"x-{key}", value)
            )

    def applied_migrations(self) -> list[str]:
        return [r[0] for r in self._read("SELECT name FROM activemirror_migrations ORDER BY name")]

    # -- the Storage protocol ---------------------------------------------------------------

    def save(
        self,
        session: SessionMetadata,
        new_messages: Sequence[Message],
        *,
        replace: bool = False,
        existing: bool = False,
    ) -> Saved:
        sid = session.session_id
        with self._write(f"save session {sid!r}") as db:
            if replace:
                self._delete(db, sid)
            stored = db.execute(
                "SELECT status, head, tags, tips, (SELECT coalesce(max(seq) + 1, 0) FROM "
                "messages WHERE session_id = ?1), (SELECT clock FROM messages WHERE "
                "session_id = ?1 ORDER BY seq DESC LIMIT 1) FROM sessions WHERE id = ?1",
                (sid,),
            ).fetchone()
            status, head, tags, kept_tips, start, last = stored or (None,) * 4 + (0, 0)
            # Positions, clocks and hashes are taken inside the write lock, so concurrent
            # writers to one session interleave their messages, and make one chain.
            device = self.device_id
            hashes, tips = chain_tips(sid, tips_of(kept_tips, head), new_messages, device)
            head = head_of(tips, device)
            check_write(status == SEALED, session, head, gone=existing and stored is None)
            (last_rowid,) = db.execute("SELECT coalesce(max(rowid), 0) FROM messages").fetchone()
            clocks = clocks_after(last or 0, new_messages)
            db.executemany(
                f"INSERT INTO messages ({MESSAGE_COLUMNS}, clock, seq) "
                "VALUES (?,?,?,?,?,?,?,?,?,?)",
                message_rows(new_messages, start, hashes, clocks, device),
            )
            db.execute(
                "INSERT INTO messages_fts(rowid, content) "
                "SELECT rowid, content FROM messages WHERE rowid > ?",
                (last_rowid,),
            )
            self._add_attachments(db, new_messages)
            sqlite_redact.record_saved(db, new_messages)
            count = start + len(new_messages)
            self._upsert_session(db, session, count, head)
            if kept_tips is not None or tips_text(tips, head) is not None:
                db.execute(
                    "UPDATE sessions SET tips = ? WHERE id = ?", (tips_text(tips, head), sid)
                )
            if tags_json(session.tags) != tags or replace:
                db.execute("DELETE FROM session_tags WHERE session_id = ?", (sid,))
                db.executemany(
                    "INSERT INTO session_tags (tag, session_id) VALUES (?, ?)",
                    ((tag, sid) for tag in session.tags),
                )
            sqlite_changes.record(db, sid)
        return Saved(count, head, tuple(hashes))

    @staticmethod
    def _upsert_session(
        db: sqlite3.Connection, session: SessionMetadata, count: int, head: str | None
    ) -> None:
        db.execute(
            f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET user_id = excluded.user_id, "
            "title = excluded.title, status = excluded.status, "
            "parent_session_id = excluded.parent_session_id, metadata = excluded.metadata, "
            "max_context_messages = excluded.max_context_messages, "
            "message_count = excluded.message_count, tags = excluded.tags, "
            "head = excluded.head, "
            "updated_at = max(sessions.updated_at, excluded.updated_at)",
            session_params(session, count, head),
        )

    @staticmethod
    def _add_attachments(db: sqlite3.Connection, messages: Sequence[Message]) -> None:
        rows = [
            (m.id, i, a.name, a.mime_type, a.size, a.sha256, a.read())
            for m in messages
            if m.attachments  # most have none
            for i, a in enumerate(m.attachments)
        ]
        if not rows:
            return
        (last_rowid,) = db.execute("SELECT coalesce(max(rowid), 0) FROM attachments").fetchone()
        db.executemany(
            "INSERT INTO attachments (message_id, position, name, mime_type, size, sha256, data) "
            "VALUES (?,?,?,?,?,?,?)",
            rows,
        )
        db.execute(
            f"INSERT INTO attachments_fts(rowid, text) SELECT rowid, {ATTACHMENT_TEXT} "
            f"FROM attachments WHERE rowid > ? AND {TEXT_ATTACHMENT}",
            (last_rowid,),
        )

    def get_session(self, session_id: str) -> SessionMetadata | None:
        rows = self._read(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
        return session_from_row(rows[0], from_iso) if rows else None

    def list_sessions(self, query: SessionQuery) -> list[SessionMetadata]:
        where, params = _listing(query)
        rows = self._read(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE true{where} "
            "ORDER BY updated_at DESC, id DESC LIMIT ? OFFSET ?",
            (*params, -1 if query.limit is None else query.limit, query.offset),
            "list sessions",
        )
        return [session_from_row(r, from_iso) for r in rows]

    def count_sessions(self, query: SessionQuery) -> int:
        sql, params = session_count_sql(query, "?", tagged=TAGGED)
        return self._read(sql, params, "count sessions")[0][0]

    def child_counts(self, session_ids: Sequence[str]) -> dict[str, int]:
        counts: dict[str, int] = {}
        for chunk in _chunks(list(session_ids)):
            counts.update(
                self._read(
                    "SELECT parent_session_id, count(*) FROM sessions WHERE parent_session_id "
                    f"IN ({','.join('?' * len(chunk))}) GROUP BY parent_session_id",
                    chunk,
                    "count children",
                )
            )
        return counts

    def count_messages(self, session_id: str) -> int:
        return self._read(
            "SELECT coalesce(max(seq) + 1, 0) FROM messages WHERE session_id = ?", (session_id,)
        )[0][0]

    def get_messages(self, session_id: str, start: int, stop: int) -> list[Message]:
        rows = self._read(
            f"SELECT {READ_COLUMNS} FROM messages "
            "WHERE session_id = ? AND seq >= ? AND seq < ? ORDER BY seq",
            (session_id, start, stop),
            "read messages",
        )
        return self._messages(rows)

    def _messages(self, rows: list[Any]) -> list[Message]:
        """Rows in MESSAGE_COLUMNS order as messages, with their attachments (not their
        bytes: each reads its own when asked)."""
        files = self._attachments([r[0] for r in rows])
        device = self.device_id
        messages = [message_from_row(r, from_iso, files.get(r[0], ()), device) for r in rows]
        return sqlite_redact.with_redactions(self._read, messages)

    def _attachments(self, message_ids: list[str]) -> dict[str, tuple[Attachment, ...]]:
        rows: list[Any] = []
        for chunk in _chunks(message_ids):
            rows += self._read(
                f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE message_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY message_id, position",
                chunk,
                "read attachments",
            )
        return attachments_by_message(rows, self.read_attachment)

    def read_attachment(self, message_id: str, name: str) -> bytes:
        """The bytes of one attachment; works after :meth:`close` too (it opens the file
        for the read), so an attachment outlives the store object that listed it."""
        sql = "SELECT data FROM attachments WHERE message_id = ? AND name = ?"
        if self._closed:
            with contextlib.closing(
                sqlite3.connect(f"{self.path.as_uri()}?mode=ro", uri=True)
            ) as db:
                rows = db.execute(sql, (message_id, name)).fetchall()
        else:
            rows = self._read(sql, (message_id, name), "read an attachment")
        if not rows:
            raise StorageError(
                f"attachment {name!r} of message {message_id!r} is not in {self.description}"
            )
        return bytes(rows[0][0])

    def message_position(self, session_id: str, message_id: str) -> int | None:
        rows = self._read(
            "SELECT seq FROM messages WHERE id = ? AND session_id = ?", (message_id, session_id)
        )
        return rows[0][0] if rows else None

    def damaged_sessions(self) -> list[SessionMetadata]:
        return []  # a row is always readable; a change to it is verify's to find

    def stored_rows(self, session_id: str) -> Iterator[Row]:
        """The session's rows in saved order, then any that an ``INSERT`` behind the API
        left without a position (``seq`` NULL: no page shows them, verify reports them)."""
        placed = "seq, seq, {} FROM messages WHERE session_id = ? AND seq > ? ORDER BY seq"
        unplaced = (
            "NULL, rowid, {} FROM messages WHERE session_id = ? AND seq IS NULL AND rowid > ? "
            "ORDER BY rowid"
        )
        for sql in (placed, unplaced):
            after = -1
            while True:
                rows = self._read(
                    f"SELECT {sql.format(READ_COLUMNS)} LIMIT ?",
                    (session_id, after, PAGE_ROWS),
                    "verify messages",
                )
                if not rows:
                    break
                files, digests = self._attachments_with_digests([r[2] for r in rows])
                messages = sqlite_redact.with_redactions(
                    self._read,
                    [
                        message_from_row(r[2:], from_iso, files.get(r[2], ()), self.device_id)
                        for r in rows
                    ],
                )
                for (seq, *_), message in zip(rows, messages, strict=True):
                    digest = [digests.get((message.id, a.name)) for a in message.attachments]
                    yield seq, message, digest
                after = rows[-1][1]

    def _attachments_with_digests(
        self, message_ids: list[str]
    ) -> tuple[dict[str, tuple[Attachment, ...]], dict[tuple[str, str], str]]:
        """The attachments of these messages, and the SHA-256 of the bytes each has now."""
        rows: list[Any] = []
        digests: dict[tuple[str, str], str] = {}
        for chunk in _chunks(message_ids):
            for *columns, data in self._read(
                f"SELECT {ATTACHMENT_COLUMNS}, data FROM attachments WHERE message_id IN "
                f"({','.join('?' * len(chunk))}) ORDER BY message_id, position",
                chunk,
                "verify attachments",
            ):
                rows.append(columns)
                digests[(columns[0], columns[1])] = hashlib.sha256(data).hexdigest()
        return attachments_by_message(rows, self.read_attachment), digests

    redact = sqlite_redact.redact  # Storage.redact, in its own module

    def delete_session(self, session_id: str) -> bool:
        with self._write(f"delete session {session_id!r}") as db:
            existed = self._delete(db, session_id)
            if existed:
                sqlite_changes.record(db, session_id)
            return existed

    @staticmethod
    def _delete(db: sqlite3.Connection, session_id: str) -> bool:
        """Remove a session, its messages, their attachments and their index entries."""
        mine = "(SELECT id FROM messages WHERE session_id = ?)"
        db.execute(
            "INSERT INTO messages_fts(messages_fts, rowid, content) "
            "SELECT 'delete', rowid, content FROM messages WHERE session_id = ?",
            (session_id,),
        )
        db.execute(
            "INSERT INTO attachments_fts(attachments_fts, rowid, text) "
            f"SELECT 'delete', rowid, {ATTACHMENT_TEXT} FROM attachments "
            f"WHERE message_id IN {mine} AND {TEXT_ATTACHMENT}",
            (session_id,),
        )
        db.execute(f"DELETE FROM attachments WHERE message_id IN {mine}", (session_id,))
        db.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
        db.execute("DELETE FROM session_tags WHERE session_id = ?", (session_id,))
        db.execute("DELETE FROM redactions WHERE session_id = ?", (session_id,))
        return db.execute("DELETE FROM sessions WHERE id = ?", (session_id,)).rowcount > 0

    def message_owners(self, message_ids: Sequence[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in _chunks(list(message_ids)):
            rows = self._read(
                f"SELECT id, session_id FROM messages WHERE id IN ({','.join('?' * len(chunk))})",
                chunk,
                "look up message ids",
            )
            found.update(dict(rows))
        return found

    def search(self, query: SearchQuery) -> list[Message]:
        sql, params = search_sql(query, f"m.{', m.'.join(MESSAGE_COLUMNS.split(', '))}")
        return self._messages(self._read(sql, params, "search"))

    def count_search(self, query: SearchQuery) -> int:
        sql, params = count_sql(query)
        return self._read(sql, params, "count search hits")[0][0]

    def vectors(self) -> SQLiteVectors:
        """Where search by meaning keeps this store's vectors (:mod:`.sqlite_vectors`)."""
        from .sqlite_vectors import SQLiteVectors  # NumPy only when searching by meaning

        return SQLiteVectors(self._conn)

    def changes(self, since: str | None) -> Changes:
        answer, self._data_version = sqlite_changes.changes(
            self._conn, self._changes_epoch, since, self._data_version
        )
        return answer

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._conn.close()


EPOCH = "SELECT value FROM activemirror_state WHERE key = 'changes_epoch'"
TAGGED = "id IN (SELECT session_id FROM session_tags WHERE tag = ?)"


def _listing(query: SessionQuery) -> tuple[str, tuple[Any, ...]]:
    return session_filter(query, "?", tagged=TAGGED)


def _chunks(items: list[str], size: int = 500) -> Iterator[list[str]]:
    """``items`` in slices small enough for SQLite's limit on parameters."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
