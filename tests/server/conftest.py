"""Fixtures for the server extension: a real Jupyter server (pytest-jupyter) with the
extension enabled, serving a real store in a temporary folder.

``store`` says which store the server serves and opens mirrors on that same store, so a
test seeds data exactly as a notebook would and then asks the server about it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# pytest-jupyter's fixtures (jp_fetch, jp_serverapp, …) and its async-test hooks, for this
# folder only: `pytest_plugins` may only be declared in the root conftest.
from pytest_jupyter.jupyter_server import *  # noqa: F403
from server_stores import Store


@pytest.fixture(params=["default", "sqlite", "json", "postgresql"])
def store(request: pytest.FixtureRequest, activemirror_home: Path) -> Iterator[Store]:
    dsn = request.getfixturevalue("postgres_dsn") if request.param == "postgresql" else None
    result = Store(request.param, activemirror_home, dsn)
    yield result
    result.close()


@pytest.fixture
def jp_server_config(store: Store) -> dict[str, Any]:
    config: dict[str, Any] = {"ServerApp": {"jpserver_extensions": {"activemirror_jupyter": True}}}
    if store.server_config:
        config["MirrorServer"] = store.server_config
    return config


@pytest.fixture
def api(jp_fetch: Callable[..., Any]) -> Callable[..., Any]:
    """``await api("sessions", params={...})`` → (status, parsed JSON or text, headers)."""

    async def get(*parts: str, params: dict[str, Any] | None = None) -> tuple[int, Any, Any]:
        response = await jp_fetch("activemirror", "api", *parts, params=params, raise_error=False)
        return _decode(response)

    return get


@pytest.fixture
def raw_get(http_server_client: Any, jp_auth_header: dict[str, str], jp_base_url: str):
    """GET an exact, already-encoded path (for ids that jp_fetch would re-escape)."""

    async def get(path: str, *, auth: bool = True) -> tuple[int, Any, Any]:
        url = jp_base_url.rstrip("/") + path
        headers = dict(jp_auth_header) if auth else {}
        response = await http_server_client.fetch(
            url, headers=headers, raise_error=False, follow_redirects=False
        )
        return _decode(response)

    return get


_dumps = json.dumps  # the fixture below takes a `json=` argument


@pytest.fixture
def api_send(jp_fetch: Callable[..., Any]) -> Callable[..., Any]:
    """``await api_send("POST", "sessions", json={...})`` (or ``body=b"..."`` for raw bytes)
    → (status, parsed JSON or text, headers), authenticated with the server's token."""

    async def send(
        method: str, *parts: str, json: Any = None, body: bytes | str | None = None
    ) -> tuple[int, Any, Any]:
        if body is None:
            body = _dumps(json)
        response = await jp_fetch(
            "activemirror", "api", *parts, method=method, body=body, raise_error=False
        )
        return _decode(response)

    return send


def _decode(response: Any) -> tuple[int, Any, Any]:
    """JSON parsed, text as str, anything else (images) as bytes."""
    try:
        text = response.body.decode("utf-8") if response.body else ""
    except UnicodeDecodeError:
        return response.code, response.body, response.headers
    if response.headers.get("Content-Type", "").startswith("application/json"):
        try:
            return response.code, json.loads(text), response.headers
        except ValueError:
            pass
    return response.code, text, response.headers
