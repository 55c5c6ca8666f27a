"""Shared fixtures: every test gets its own ACTIVEMIRROR_HOME in a temporary folder, and
``mirror_factory`` opens mirrors over each kind of store (the behaviour tests run on all)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# A throwaway PostgreSQL cluster for the "postgresql" store (tests/postgres_server.py).
from postgres_server import postgres_dsn, postgres_server  # noqa: F401

from activemirror_jupyter.core.mirror import ActiveMirror

# Stores the behaviour tests run against. A store whose tests need a server adds a fixture
# that provides its location (see STORE_OPTIONS).
STORE_TYPES = ["memory", "sqlite", "json", "postgresql"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run the browser tests last: Playwright's sync API leaves an event loop running in
    this thread for the rest of the session, which the server tests' own loop cannot share."""
    items.sort(key=lambda item: "tests/browser/" in item.nodeid.replace("\\", "/"))


@pytest.fixture(autouse=True)
def activemirror_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "activemirror-home"
    monkeypatch.setenv("ACTIVEMIRROR_HOME", str(home))
    return home


def _store_options(storage_type: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict:
    if storage_type == "sqlite":
        return {"db_path": tmp_path / "store" / "conversations.db"}
    if storage_type == "json":
        return {"storage_path": tmp_path / "store" / "conversations"}
    if storage_type == "postgresql":
        return {"dsn": request.getfixturevalue("postgres_dsn")}
    return {}


@pytest.fixture(params=STORE_TYPES)
def storage_type(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def mirror_factory(
    storage_type: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., ActiveMirror]]:
    """Opens mirrors on one store; a second call reopens the same store (a new process
    would see the same data, except for the memory store, which is shared in-process)."""
    options = _store_options(storage_type, tmp_path, request)
    opened: list[ActiveMirror] = []
    shared: dict[str, Any] = {}

    def make(**kwargs: Any) -> ActiveMirror:
        mirror = ActiveMirror(storage_type, **options, **kwargs)
        if storage_type == "memory":
            # one in-memory store stands for "the same file" across mirrors
            if "store" in shared:
                mirror.store = shared["store"]
            shared.setdefault("store", mirror.store)
        opened.append(mirror)
        return mirror

    yield make
    for mirror in opened:
        mirror.close()


@pytest.fixture
def mirror(mirror_factory: Callable[..., ActiveMirror]) -> ActiveMirror:
    return mirror_factory()
