"""The PostgreSQL store: the team store, one database shared by several people and machines.

Same tables and columns as the SQLite store — ``sessions(id, user_id, title, created_at,
updated_at, status, parent_session_id, metadata, max_context_messages, message_count)`` and
``messages(id, session_id, role, content, timestamp, metadata, seq)`` — with PostgreSQL types
(``timestamptz``, ``json``) and two extra columns:

``owner``
    The database role that wrote the row (``DEFAULT current_user``). Row-level security
    policies let a role see and change only rows whose ``owner`` is itself, through this API
    or through raw SQL alike (the tables' owner, the administrator, is exempt); keys are
    ``(owner, id)``, so two people importing the same bundle each get their own copy.
    ``user_id`` stays what the API was given (it round-trips through exports like in every
    other store).
``messages.search_vector``
    A ``tsvector`` of the message's words, indexed with GIN. The words are computed in Python
    with :func:`~..search.search_words` — the same function the other stores' search follows — so
    "whole words, case- and accent-insensitive" means exactly the same thing here. Rows that
    raw SQL inserts without it get it (and their ``seq``) from a trigger. Search goes through
    the ``activemirror_find`` and ``activemirror_count`` functions so that row security does
    not keep it off the index.

Schema changes are named migration functions applied in order and recorded in
``activemirror_migrations``, as in the SQLite store; an advisory lock makes concurrent first
opens queue up. A team's shared database is migrated once by its owner (see the README and
``postgresql_setup.sql``); members need no rights beyond reading and writing the tables and
calling the search function.

Connections come from a ``psycopg_pool`` pool (:mod:`.postgresql_connections`). If the server
goes away, the operation raises a :class:`StorageError` saying so; writes are single
transactions, so nothing is half-written, and a session keeps its unsaved messages, so
``save()`` succeeds again once the server is back.

Size: one class, this store's Storage protocol; connections, schema and vectors are apart.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import psycopg

from ..errors import SessionSealedError, StorageError
from ..journal import Row, chain_tips, check_write, head_of, tips_of, tips_text
from ..models import SEALED, Message, SessionMetadata
from . import postgresql_changes, postgresql_redact
from .base import Changes, Saved, SearchQuery, SessionQuery
from .postgresql_append import append_messages
from .postgresql_connections import DEFAULT_POOL_SIZE, Connections
from .postgresql_schema import OWN, as_utc, migrate
from .postgresql_words import search_query
from .rows import (
    ATTACHMENT_COLUMNS,
    MESSAGE_COLUMNS,
    READ_COLUMNS,
    SESSION_COLUMNS,
    attachments_by_message,
    clocks_after,
    dump_json,
    message_from_row,
    session_count_sql,
    session_filter,
    session_from_row,
)

#: Messages read at a time when a whole session is read (verify).
PAGE_ROWS = 1000
#: Roles and grants for a team's shared database (run by an admin with psql; see the README).
SETUP_SQL = Path(__file__).with_name("postgresql_setup.sql")


class PostgreSQLStorage:
    """Sessions and messages in a PostgreSQL database, with row-level security per role
    (see the module docstring). ``dsn`` is a libpq connection string or URI."""

    def __init__(self, dsn: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        self._db = Connections(dsn, pool_size=pool_size)
        self._db.open(lambda conn: migrate(conn, self._db.description, self._db.role))
        rows = self._read("SELECT value FROM activemirror_state WHERE key = 'device_id'")
        if not rows:
            raise StorageError(f"{self.description} has no device id")
        self.device_id: str = rows[0][0]

    def set_device_id(self, device_id: str) -> None:
        raise StorageError(
            f"{self.description} is a team store, shared by its members: its device id "
            "stays as it is (new_device_id() is for a store copied as files)"
        )

    def read_state(self, key: str) -> str | None:
        return None  # a team store is a hub, not a device that syncs (see sync part 2)

    def write_state(self, key: str, value: str) -> None:
        raise StorageError(f"{self.description} is a team store: it keeps no sync state")

    @property
    def description(self) -> str:
        return self._db.description

    @property
    def role(self) -> str:
        """The database role the store writes as (and whose rows it sees)."""
        return self._db.role

    def applied_migrations(self) -> list[str]:
        with self._db.connection("read the migrations") as conn:
            rows = conn.execute("SELECT name FROM activemirror_migrations ORDER BY name")
            return [r[0] for r in rows]

    def _read(self, query: str, params: Sequence[Any] = (), doing: str = "read") -> list[Any]:
        with self._db.connection(doing) as conn:
            return conn.execute(query, params).fetchall()  # type: ignore[arg-type]

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
        with self._db.connection(f"save session {sid!r}", write=True) as conn:
            stored = self._lock_session(conn, session)
            if replace and stored is not None:
                if stored[0] == SEALED:  # a sealed one stays (the seal is checked below)
                    raise SessionSealedError(sid)
                self._delete(conn, sid)
                stored = self._lock_session(conn, session)
            status, head, kept_tips = stored if stored is not None else (None, None, None)
            # Where the new messages start, and whether the first of them is already there:
            # when the connection drops at commit time the caller cannot know whether the
            # commit went through, keeps the messages and saves them again.
            start, last, repeated = conn.execute(
                "SELECT (SELECT coalesce(max(seq) + 1, 0) FROM messages "
                f"        WHERE {OWN} AND session_id = %s), "
                f"(SELECT clock FROM messages WHERE {OWN} AND session_id = %s "
                "        ORDER BY seq DESC LIMIT 1), "
                f"EXISTS (SELECT 1 FROM messages WHERE {OWN} AND id = %s)",
                (sid, sid, new_messages[0].id if new_messages else None),
            ).fetchone()  # type: ignore[misc]
            messages = self._not_yet_written(conn, new_messages) if repeated else new_messages
            device = self.device_id
            hashes, tips = chain_tips(sid, tips_of(kept_tips, head), messages, device)
            head = head_of(tips, device)
            check_write(status == SEALED, session, head, gone=existing and stored is None)
            count = start + len(messages)
            self._update_session(conn, session, count, head)
            if kept_tips is not None or tips_text(tips, head) is not None:
                conn.execute(
                    f"UPDATE sessions SET tips = %s WHERE {OWN} AND id = %s",
                    (tips_text(tips, head), sid),
                )
            clocks = clocks_after(last or 0, messages)
            append_messages(conn, messages, (hashes, clocks), start, device)
            postgresql_redact.record_saved(conn, messages)
            postgresql_changes.record(conn, sid)
        return Saved(count, head, tuple(hashes))

    @staticmethod
    def _lock_session(conn: psycopg.Connection, session: SessionMetadata) -> Any:
        """The stored ``(status, head)`` of the session, its row locked for this write
        (concurrent saves of one session take turns), or None if this write creates it."""
        created = conn.execute(
            f"INSERT INTO sessions ({SESSION_COLUMNS}) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 0, %s, NULL) "
            "ON CONFLICT (owner, id) DO NOTHING RETURNING 1",
            (
                session.session_id,
                session.user_id,
                session.title,
                session.created_at,
                session.updated_at,
                session.status,
                session.parent_session_id,
                dump_json(session.metadata),
                session.max_context_messages,
                list(session.tags),
            ),
        ).fetchone()
        if created:
            return None
        return conn.execute(
            f"SELECT status, head, tips FROM sessions WHERE {OWN} AND id = %s FOR UPDATE",
            (session.session_id,),
        ).fetchone()

    @staticmethod
    def _update_session(
        conn: psycopg.Connection, session: SessionMetadata, count: int, head: str | None
    ) -> None:
        conn.execute(
            "UPDATE sessions SET user_id = %s, title = %s, status = %s, "
            "parent_session_id = %s, metadata = %s, max_context_messages = %s, tags = %s, "
            "message_count = %s, head = %s, updated_at = greatest(updated_at, %s) "
            f"WHERE {OWN} AND id = %s",
            (
                session.user_id,
                session.title,
                session.status,
                session.parent_session_id,
                dump_json(session.metadata),
                session.max_context_messages,
                list(session.tags),
                count,
                head,
                session.updated_at,
                session.session_id,
            ),
        )

    @staticmethod
    def _not_yet_written(conn: psycopg.Connection, messages: Sequence[Message]) -> list[Message]:
        """The messages a previous save did not write (a batch is written whole, so they are
        the ones after it)."""
        written = {
            r[0]
            for r in conn.execute(
                f"SELECT id FROM messages WHERE {OWN} AND id = ANY(%s)", ([m.id for m in messages],)
            )
        }
        return [m for m in messages if m.id not in written]

    def get_session(self, session_id: str) -> SessionMetadata | None:
        rows = self._read(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE {OWN} AND id = %s",
            (session_id,),
            f"read session {session_id!r}",
        )
        return session_from_row(rows[0], as_utc) if rows else None

    def list_sessions(self, query: SessionQuery) -> list[SessionMetadata]:
        where, params = _listing(query)
        rows = self._read(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE {OWN}{where} "
            "ORDER BY updated_at DESC, id DESC LIMIT %s OFFSET %s",
            (*params, query.limit, query.offset),  # LIMIT NULL is no limit
            "list sessions",
        )
        return [session_from_row(r, as_utc) for r in rows]

    def count_sessions(self, query: SessionQuery) -> int:
        sql, params = session_count_sql(query, "%s", tagged=TAGGED, mine=f"p.{OWN} AND ", own=OWN)
        return self._read(sql, params, "count sessions")[0][0]

    def child_counts(self, session_ids: Sequence[str]) -> dict[str, int]:
        rows = self._read(
            f"SELECT parent_session_id, count(*) FROM sessions WHERE {OWN} "
            "AND parent_session_id = ANY(%s) GROUP BY parent_session_id",
            (list(session_ids),),
            "count children",
        )
        return dict(rows)

    def count_messages(self, session_id: str) -> int:
        return self._read(
            f"SELECT coalesce(max(seq) + 1, 0) FROM messages WHERE {OWN} AND session_id = %s",
            (session_id,),
            "count messages",
        )[0][0]

    def get_messages(self, session_id: str, start: int, stop: int) -> list[Message]:
        rows = self._read(
            f"SELECT {READ_COLUMNS} FROM messages "
            f"WHERE {OWN} AND session_id = %s AND seq >= %s AND seq < %s ORDER BY seq",
            (session_id, start, stop),
            "read messages",
        )
        return self._messages(rows)

    def _messages(self, rows: list[Any]) -> list[Message]:
        """Rows in MESSAGE_COLUMNS order, with their attachments (not their bytes)."""
        files = attachments_by_message(
            self._read(
                f"SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE {OWN} "
                "AND message_id = ANY(%s) ORDER BY message_id, position",
                ([r[0] for r in rows],),
                "read attachments",
            )
            if rows
            else [],
            self.read_attachment,
        )
        messages = [message_from_row(r, as_utc, files.get(r[0], ()), self.device_id) for r in rows]
        return postgresql_redact.with_redactions(self._read, messages)

    def read_attachment(self, message_id: str, name: str) -> bytes:
        """The bytes of one attachment (also after :meth:`close`: it connects for it)."""
        query = f"SELECT data FROM attachments WHERE {OWN} AND message_id = %s AND name = %s"
        if self._db.closed:
            with self._db.direct() as conn:
                rows = conn.execute(query, (message_id, name)).fetchall()
        else:
            rows = self._read(query, (message_id, name), "read an attachment")
        if not rows:
            raise StorageError(
                f"attachment {name!r} of message {message_id!r} is not in {self.description}"
            )
        return bytes(rows[0][0])

    def message_position(self, session_id: str, message_id: str) -> int | None:
        rows = self._read(
            f"SELECT seq FROM messages WHERE {OWN} AND session_id = %s AND id = %s",
            (session_id, message_id),
            "find a message",
        )
        return rows[0][0] if rows else None

    def damaged_sessions(self) -> list[SessionMetadata]:
        return []  # a row is always readable; a change to it is verify's to find

    def stored_rows(self, session_id: str) -> Iterator[Row]:
        after = -1
        while True:
            rows = self._read(
                f"SELECT seq, {READ_COLUMNS} FROM messages WHERE {OWN} AND session_id = %s "
                "AND seq > %s ORDER BY seq LIMIT %s",
                (session_id, after, PAGE_ROWS),
                "verify messages",
            )
            if not rows:
                return
            digests = dict(
                ((mid, name), digest)
                for mid, name, digest in self._read(
                    "SELECT message_id, name, encode(sha256(data), 'hex') FROM attachments "
                    f"WHERE {OWN} AND message_id = ANY(%s)",
                    ([r[1] for r in rows],),
                    "verify attachments",
                )
            )
            messages = self._messages([r[1:] for r in rows])
            for (seq, *_), message in zip(rows, messages, strict=True):
                yield seq, message, [digests.get((message.id, a.name)) for a in message.attachments]
            after = rows[-1][0]

    redact = postgresql_redact.redact  # Storage.redact, in its own module

    def delete_session(self, session_id: str) -> bool:
        with self._db.connection(f"delete session {session_id!r}", write=True) as conn:
            existed = self._delete(conn, session_id)
            if existed:
                postgresql_changes.record(conn, session_id, deleted=True)
            return existed

    @staticmethod
    def _delete(conn: psycopg.Connection, session_id: str) -> bool:
        conn.execute(
            f"DELETE FROM attachments WHERE {OWN} AND message_id IN "
            f"(SELECT id FROM messages WHERE {OWN} AND session_id = %s)",
            (session_id,),
        )
        conn.execute(f"DELETE FROM messages WHERE {OWN} AND session_id = %s", (session_id,))
        cur = conn.execute(f"DELETE FROM sessions WHERE {OWN} AND id = %s", (session_id,))
        return cur.rowcount > 0

    def message_owners(self, message_ids: Sequence[str]) -> dict[str, str]:
        rows = self._read(
            f"SELECT id, session_id FROM messages WHERE {OWN} AND id = ANY(%s)",
            (list(message_ids),),
            "look up message ids",
        )
        return dict(rows)

    @staticmethod
    def _query_params(query: SearchQuery) -> tuple[Any, ...]:
        return (
            search_query(query.words),
            query.session_id,
            query.role,
            query.tag,
            query.since,
            query.until,
        )

    def search(self, query: SearchQuery) -> list[Message]:
        rows = self._read(
            f"SELECT {MESSAGE_COLUMNS} FROM activemirror_find(current_user, "
            "%s::tsquery, %s, %s, %s, %s, %s, %s, %s)",
            (*self._query_params(query), None if query.limit < 0 else query.limit, query.offset),
            "search",
        )
        return self._messages(rows)

    def count_search(self, query: SearchQuery) -> int:
        return self._read(
            "SELECT activemirror_count(current_user, %s::tsquery, %s, %s, %s, %s, %s)",
            self._query_params(query),
            "count search hits",
        )[0][0]

    def vectors(self) -> Any:  # search by meaning's vectors, under row security (NumPy: lazily)
        from .postgresql_vectors import PostgreSQLVectors

        return PostgreSQLVectors(self._db)

    def changes(self, since: str | None) -> Changes:
        return postgresql_changes.changes(self._read, since)

    def close(self) -> None:
        self._db.close()


TAGGED = "tags @> ARRAY[%s]"


def _listing(query: SessionQuery) -> tuple[str, tuple[Any, ...]]:
    return session_filter(query, "%s", tagged=TAGGED, mine=f"p.{OWN} AND ")
