"""The SQLite store's connection: opening the file (read-only where this user may not write
it), one write transaction at a time (``BEGIN IMMEDIATE``, a 30 s busy timeout) and reads,
with every SQLite error turned into a :class:`StorageError` a user can act on.

Concurrency: WAL journal, so several kernels on one file queue up instead of failing. A lock
that outlasts the timeout is reported as a busy database, never as corruption.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..errors import StorageError

BUSY_TIMEOUT_S = 30.0


class Connection:
    """One connection to a store's database file, shared by threads under :attr:`lock`."""

    def __init__(self, path: Path, description: str) -> None:
        self.path = path
        self.description = description
        self.lock = threading.RLock()
        if path.is_dir():
            raise StorageError(f"{description} is a folder, not a database file")
        #: The file or its folder cannot be written (a read-only share, another user's
        #: store): it is read, searched and exported; every write says so.
        self.read_only = path.exists() and not _writable(path)
        try:
            if not self.read_only:
                path.parent.mkdir(parents=True, exist_ok=True)
            self.db = self._connect()
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open {description}: {exc}") from None
        try:
            # Reading the schema first means a file that is not a database is reported
            # before anything is written to it.
            self.db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            if not self.read_only:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            self.db.close()
            raise self.error(exc, "open") from None

    def _connect(self) -> sqlite3.Connection:
        options: dict[str, Any] = {
            "timeout": BUSY_TIMEOUT_S,
            "isolation_level": None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
            "check_same_thread": False,  # shared by a server's threads, guarded by lock
        }
        if not self.read_only:
            return sqlite3.connect(self.path, **options)
        # A WAL database is read through its -shm file, which a read-only folder may not
        # let us create; then the file is read as it is (immutable: nothing can write it).
        uri = f"{self.path.as_uri()}?mode=ro"
        db = sqlite3.connect(uri, uri=True, **options)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
            return db
        except sqlite3.OperationalError:
            db.close()
            return sqlite3.connect(f"{uri}&immutable=1", uri=True, **options)

    def error(self, exc: sqlite3.Error, doing: str) -> StorageError:
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
    def write(self, doing: str) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise StorageError(
                f"cannot {doing}: {self.description} is read-only (this user may not write "
                "the file or its folder); it can be read, searched and exported, and nothing "
                "was written"
            )
        with self.lock:
            try:
                self.db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self.error(exc, doing) from None
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException as exc:
                if self.db.in_transaction:
                    self.db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self.error(exc, doing) from None
                raise

    def read(self, sql: str, params: Sequence[Any] = (), doing: str = "read") -> list[Any]:
        with self.lock:
            try:
                return self.db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                if not isinstance(exc, sqlite3.OperationalError) or "decode" not in str(exc):
                    raise self.error(exc, doing) from None
            # Text that is not UTF-8 (written behind the API) is read with U+FFFD in place
            # of the bad bytes: it no longer matches its hash, which verify reports.
            self.db.text_factory = _tolerant_text
            try:
                return self.db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise self.error(exc, doing) from None
            finally:
                self.db.text_factory = str

    def close(self) -> None:
        with self.lock:
            self.db.close()


def _tolerant_text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _writable(path: Path) -> bool:
    """Whether this process may write the database and create files beside it (SQLite
    writes a -wal and a -shm file next to the database)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK | os.X_OK)
