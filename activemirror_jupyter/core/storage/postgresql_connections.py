"""Connections to one PostgreSQL server for the PostgreSQL store (:mod:`.postgresql`): the DSN
checked without echoing it, a ``psycopg_pool`` pool built on first use, and every failure said
in one line naming the database — unreachable, connection lost, not allowed, or refused.

If the server goes away, the operation raises a :class:`StorageError` saying so and the pool is
dropped, so the next use connects at once instead of waiting out the pool's reconnection
back-off.
"""

from __future__ import annotations

import select
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from ..errors import StorageError

#: Seconds to wait for a connection when the DSN sets no ``connect_timeout``.
DEFAULT_CONNECT_TIMEOUT_S = 10
DEFAULT_POOL_SIZE = 4

_KEPT = "; unsaved messages are kept in memory: save again once the server is reachable"


class Connections:
    """Connections to the database a libpq connection string or URI names."""

    def __init__(self, dsn: str, *, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        if not isinstance(dsn, str) or not dsn.strip():
            raise ValueError('storage_type="postgresql" needs a dsn="postgresql://…"')
        try:
            params = pg_conninfo.conninfo_to_dict(dsn)
        except psycopg.Error:
            # libpq's message may quote part of the string, which may hold a password
            raise StorageError(
                "the PostgreSQL dsn is not a valid connection string or URI "
                "(e.g. postgresql://user@host:5432/dbname)"
            ) from None
        extra: dict[str, Any] = {}
        if not params.get("connect_timeout"):
            extra["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT_S
        if not params.get("application_name"):
            extra["application_name"] = "activemirror-jupyter"
        self._conninfo = pg_conninfo.make_conninfo(dsn, **extra)
        self._timeout = float(params.get("connect_timeout") or DEFAULT_CONNECT_TIMEOUT_S)
        self._pool_size = max(1, pool_size)
        self.description = _describe(params)
        self.role = str(params.get("user") or "")
        self._pool: ConnectionPool | None = None
        self._pool_lock = threading.Lock()
        self.closed = False

    def open(self, prepare: Callable[[psycopg.Connection], None]) -> None:
        """Connect once directly — so a wrong host, password or database name is reported at
        once with the server's own words — learn the role, and run ``prepare`` (the store's
        migrations) on that connection."""
        try:
            with self.direct() as conn:
                self.role = conn.info.user
                self.description = _describe(
                    {"host": conn.info.host, "port": conn.info.port, "dbname": conn.info.dbname,
                     "user": conn.info.user}
                )  # fmt: skip
                prepare(conn)
        except psycopg.Error as exc:
            raise StorageError(f"cannot open {self.description}: {first_line(exc)}") from None

    def direct(self) -> psycopg.Connection:
        """A connection of its own, outside the pool (also after :meth:`close`)."""
        return psycopg.connect(self._conninfo, autocommit=True)

    @contextmanager
    def connection(self, doing: str, *, write: bool = False) -> Iterator[psycopg.Connection]:
        """A pooled connection, in one transaction if ``write``; ``doing`` says what for, in
        the error if it fails."""
        pool = self._get_pool()
        conn: psycopg.Connection | None = None
        try:
            with pool.connection() as conn:
                if write:
                    with conn.transaction():
                        yield conn
                else:
                    yield conn
        except PoolTimeout:
            self._drop_pool(pool)
            raise self._unreachable(doing, write) from None
        except psycopg.Error as exc:
            lost = conn is None or conn.broken or conn.closed
            if lost:
                self._drop_pool(pool)
            raise self._error(exc, doing, write, lost=lost) from None

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
            self.closed = True
        if pool is not None:
            pool.close()

    def _get_pool(self) -> ConnectionPool:
        with self._pool_lock:
            if self.closed:
                raise StorageError(f"{self.description} is closed")
            if self._pool is None:
                self._pool = ConnectionPool(
                    self._conninfo,
                    min_size=1,
                    max_size=self._pool_size,
                    kwargs={"autocommit": True},
                    check=_check_idle_connection,
                    timeout=self._timeout,
                    num_workers=1,
                    name=f"activemirror {self.description}",
                    open=True,
                )
            return self._pool

    def _drop_pool(self, pool: ConnectionPool) -> None:
        """Forget a pool whose server went away; the next use builds a fresh one."""
        with self._pool_lock:
            if self._pool is pool:
                self._pool = None
        pool.close(timeout=0)

    def _unreachable(self, doing: str, write: bool) -> StorageError:
        # The pool only says it timed out; one direct attempt tells why.
        try:
            with self.direct():
                reason = f"no connection became free within {self._timeout:g} s"
        except psycopg.Error as exc:
            reason = first_line(exc)
        return StorageError(
            f"cannot reach {self.description} to {doing}: {reason}" + (_KEPT if write else "")
        )

    def _error(self, exc: psycopg.Error, doing: str, write: bool, *, lost: bool) -> StorageError:
        if lost:
            return StorageError(
                f"lost the connection to {self.description} while trying to {doing}: "
                f"{first_line(exc)}" + (_KEPT if write else "")
            )
        if isinstance(exc, pg_errors.InsufficientPrivilege):
            return StorageError(
                f"role {self.role!r} may not {doing} in {self.description}: {first_line(exc)}"
            )
        return StorageError(f"cannot {doing} in {self.description}: {first_line(exc)}")


def _describe(params: dict[str, Any]) -> str:
    host = params.get("host") or "localhost"
    where = f"{host}:{params['port']}" if params.get("port") else host
    db = params.get("dbname") or params.get("user") or "(default)"
    user = f" as {params['user']}" if params.get("user") else ""
    return f"PostgreSQL database {db} on {where}{user}"


def _check_idle_connection(conn: psycopg.Connection) -> None:
    """The pool's check before handing out a connection, without a round trip: an idle
    connection has nothing to read unless the server wrote to it — typically to say it is
    shutting down, then closing it. Only then is it tried for real (raising if it is dead)."""
    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    if readable:
        ConnectionPool.check_connection(conn)


def first_line(exc: BaseException) -> str:
    """The first line of a driver error (the rest may quote SQL or hints)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
