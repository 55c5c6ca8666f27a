"""How sessions, messages and vault entries look in a notebook: pandas DataFrames with real
datetime columns, and variable snapshots.

The magics and the widgets both render through here, so a column name is decided once.
pandas escapes ``<``, ``>`` and ``&`` in a DataFrame's HTML repr (and in ``to_html()``) but
not in ``to_markdown()`` or a ``Styler``; anything this project emits as HTML goes through
:func:`~.core.markup.escape`, and Markdown through :func:`~.core.markup.safe_markdown`.
"""

from __future__ import annotations

import math
import reprlib
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import pandas as pd

from .core.models import Message, SessionMetadata

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

# Limits of a variable snapshot (``%%mirror_send --attach``).
MAX_ROWS = 5
MAX_COLUMNS = 20
MAX_CELL = 80
MAX_REPR = 200


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


# -- variable snapshots (``%%mirror_send --attach``)


def _cell(value: Any) -> Any:
    """One DataFrame cell as a compact JSON value."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**53 else str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:  # numpy scalars
            return _cell(value.item())
        except (TypeError, ValueError):
            pass
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if isinstance(value, (datetime, date, pd.Timestamp)):
        return value.isoformat()
    text = str(value)
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _type_name(value: Any) -> str:
    cls = type(value)
    return (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )


_short = reprlib.Repr()
_short.maxstring = MAX_REPR
_short.maxother = MAX_REPR
_short.maxlist = _short.maxtuple = _short.maxset = _short.maxdict = 10


def snapshot(name: str, value: Any) -> dict[str, Any]:
    """A small JSON description of a notebook variable, kept in a message's
    ``metadata["attachments"]`` (the Markdown export shows DataFrames as tables)::

        {"name": "df", "type": "pandas.DataFrame", "shape": [100, 3],
         "columns": ["a", "b", "c"], "dtypes": ["int64", "float64", "str"],
         "head": [[1, 0.5, "x"], ...]}                 # first MAX_ROWS rows, as lists
        {"name": "n", "type": "int", "repr": "42"}      # anything else

    At most MAX_COLUMNS columns are kept (``"columns_truncated": true`` then); every cell
    is a JSON value, text cut to MAX_CELL characters; a repr to MAX_REPR."""
    if isinstance(value, pd.DataFrame):
        frame = value.iloc[:MAX_ROWS, :MAX_COLUMNS]
        return {
            "name": name,
            "type": "pandas.DataFrame",
            "shape": [int(value.shape[0]), int(value.shape[1])],
            "columns": [_cell(c) if not isinstance(c, str) else c for c in frame.columns],
            "dtypes": [str(t) for t in frame.dtypes],
            "head": [[_cell(v) for v in row] for row in frame.itertuples(index=False)],
            **({"columns_truncated": True} if value.shape[1] > MAX_COLUMNS else {}),
        }
    try:
        text = _short.repr(value)
    except Exception as exc:  # a broken __repr__ is the variable's problem, not the note's
        text = f"<repr failed: {type(exc).__name__}>"
    if len(text) > MAX_REPR:
        text = text[: MAX_REPR - 1] + "…"
    return {"name": name, "type": _type_name(value), "repr": text}
