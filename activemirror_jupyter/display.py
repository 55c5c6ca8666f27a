"""How sessions, messages, search hits, provenance and vault entries look in a notebook:
pandas DataFrames with real datetime columns.

The magics and the widgets both render through here, so a column name is decided once.
pandas escapes ``<``, ``>`` and ``&`` in a DataFrame's HTML repr (and in ``to_html()``) but
not in ``to_markdown()`` or a ``Styler``; anything this project emits as HTML goes through
:func:`~.core.markup.escape`, and Markdown through :func:`~.core.markup.safe_markdown`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from .core.models import Message, SearchHit, SessionMetadata

SESSION_COLUMNS = [
    "session_id",
    "title",
    "message_count",
    "created_at",
    "updated_at",
    "parent_session_id",
]
MESSAGE_COLUMNS = ["timestamp", "role", "content", "id"]
VAULT_COLUMNS = ["key", "category", "tags", "created_at", "updated_at"]
HIT_COLUMNS = [*MESSAGE_COLUMNS, "session_id", "session_title", "snippet"]
PROVENANCE_COLUMNS = ["field", "value"]


def _times(values: list[datetime]) -> pd.Series:
    return pd.Series(pd.to_datetime(values, utc=True), dtype="datetime64[us, UTC]")


def sessions_frame(sessions: Iterable[SessionMetadata]) -> pd.DataFrame:
    """Sessions as a DataFrame: ``session_id, title, message_count, created_at, updated_at,
    parent_session_id`` (the times are tz-aware UTC datetimes)."""
    rows = list(sessions)
    return pd.DataFrame(
        {
            "session_id": pd.Series([s.session_id for s in rows], dtype=object),
            "title": pd.Series([s.title for s in rows], dtype=object),
            "message_count": pd.Series([s.message_count for s in rows], dtype="int64"),
            "created_at": _times([s.created_at for s in rows]),
            "updated_at": _times([s.updated_at for s in rows]),
            "parent_session_id": pd.Series([s.parent_session_id for s in rows], dtype=object),
        },
        columns=SESSION_COLUMNS,
    )


def messages_frame(messages: Iterable[Message], *, with_session: bool = False) -> pd.DataFrame:
    """Messages as a DataFrame: ``timestamp, role, content, id`` (and ``session_id`` when
    ``with_session``, e.g. for search results across sessions)."""
    rows = list(messages)
    data: dict[str, pd.Series] = {
        "timestamp": _times([m.timestamp for m in rows]),
        "role": pd.Series([m.role for m in rows], dtype=object),
        "content": pd.Series([m.content for m in rows], dtype=object),
        "id": pd.Series([m.id for m in rows], dtype=object),
    }
    columns = list(MESSAGE_COLUMNS)
    if with_session:
        data["session_id"] = pd.Series([m.session_id for m in rows], dtype=object)
        columns.append("session_id")
    return pd.DataFrame(data, columns=columns)


def vault_frame(entries: Iterable[Any]) -> pd.DataFrame:
    """Vault entries as a DataFrame of names and metadata: ``key, category, tags,
    created_at, updated_at``. Values are never put in it."""
    rows = list(entries)
    return pd.DataFrame(
        {
            "key": pd.Series([e.key for e in rows], dtype=object),
            "category": pd.Series(
                [None if e.category is None else str(e.category) for e in rows], dtype=object
            ),
            "tags": pd.Series([", ".join(e.tags) for e in rows], dtype=object),
            "created_at": _times([e.created_at for e in rows]),
            "updated_at": _times([e.updated_at for e in rows]),
        },
        columns=VAULT_COLUMNS,
    )


# -- search hits and provenance


def hits_frame(hits: Iterable[SearchHit], *, scores: bool = False) -> pd.DataFrame:
    """Search hits as a DataFrame: the message columns, then ``session_id, session_title,
    snippet`` (a short plain-text excerpt around the matched words), and with ``scores``
    (search by meaning) a ``score`` column, higher is closer."""
    rows = list(hits)
    frame = messages_frame([hit.message for hit in rows], with_session=True)
    frame["session_title"] = pd.Series([hit.session_title for hit in rows], dtype=object)
    frame["snippet"] = pd.Series([hit.snippet for hit in rows], dtype=object)
    if scores:
        frame["score"] = pd.Series([hit.score for hit in rows], dtype=float)
        return frame[[*HIT_COLUMNS, "score"]]
    return frame[HIT_COLUMNS]


def provenance_frame(facts: Mapping[str, Any]) -> pd.DataFrame:
    """A provenance record (:func:`activemirror_jupyter.provenance`) as a two-column table,
    ``field, value``: one row per fact, ``git.commit``/``git.branch``/``git.dirty`` (or
    ``git`` = None), then one ``package <name>`` row per package."""
    rows: list[tuple[str, Any]] = []
    for key, value in facts.items():
        if key == "packages" and isinstance(value, Mapping):
            rows += [(f"package {name}", str(version)) for name, version in value.items()]
        elif key == "git" and isinstance(value, Mapping):
            rows += [(f"git.{name}", part) for name, part in value.items()]
        else:
            rows.append((str(key), value))
    packages = [row for row in rows if row[0].startswith("package ")]
    rows = [row for row in rows if not row[0].startswith("package ")] + packages
    return pd.DataFrame(
        {
            "field": pd.Series([name for name, _ in rows], dtype=object),
            "value": pd.Series([_fact(value) for _, value in rows], dtype=object),
        },
        columns=PROVENANCE_COLUMNS,
    )


def _fact(value: Any) -> Any:
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
