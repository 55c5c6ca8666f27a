"""Which store a test server serves: :class:`Store` (used by conftest's ``store`` fixture,
and by tests that override it, e.g. a PostgreSQL team member in test_row_security.py).

A plain module rather than part of conftest.py: test modules import it by name, and
``conftest`` is not a name they can rely on (each test folder has one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from activemirror_jupyter.core.mirror import ActiveMirror


class Store:
    """Where the server's store lives, and a way to open it from the test."""

    def __init__(self, kind: str, home: Path, dsn: str | None = None) -> None:
        self.kind = kind
        if kind == "default":  # nothing configured: ActiveMirror's default, like the magics
            self.options: dict[str, Any] = {}
            self.server_config: dict[str, Any] = {}
        elif kind == "sqlite":
            self.options = {"storage_type": "sqlite", "db_path": str(home / "elsewhere.db")}
            self.server_config = dict(self.options)
        elif kind == "postgresql":
            self.options = {"storage_type": "postgresql", "dsn": dsn}
            self.server_config = dict(self.options)
        elif kind == "folder-as-db":  # a misconfigured server: the database path is a folder
            home.mkdir(parents=True, exist_ok=True)
            self.options = {"storage_type": "sqlite", "db_path": str(home)}
            self.server_config = dict(self.options)
        else:
            self.options = {"storage_type": "json", "storage_path": str(home / "json-store")}
            self.server_config = dict(self.options)
        self._opened: list[ActiveMirror] = []

    def open(self) -> ActiveMirror:
        mirror = ActiveMirror(**self.options)
        self._opened.append(mirror)
        return mirror

    def close(self) -> None:
        for mirror in self._opened:
            mirror.close()
