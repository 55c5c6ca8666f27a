"""display.py: the DataFrames, captions, escaping and variable snapshots users see."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd

from activemirror_jupyter.core.markup import escape
from activemirror_jupyter.core.models import Message, SessionMetadata
from activemirror_jupyter.core.paging import Page
from activemirror_jupyter.core.vault import VaultEntry
from activemirror_jupyter.display import (
    MESSAGE_COLUMNS,
    SESSION_COLUMNS,
    VAULT_COLUMNS,
    messages_frame,
    sessions_frame,
    snapshot,
    vault_frame,
)

T0 = datetime(2024, 1, 15, 10, 0, tzinfo=timezone.utc)
XSS = "<img src=x onerror=alert(1)>"


def meta(i: int, title: str = "Session", parent: str | None = None) -> SessionMetadata:
    return SessionMetadata(
        session_id=f"session_{i}",
        title=f"{title} {i}",
        user_id=None,
        parent_session_id=parent,
        status="active",
        created_at=T0 + timedelta(minutes=i),
        updated_at=T0 + timedelta(hours=i),
        message_count=i * 2,
    )


def message(i: int, content: str = "note") -> Message:
    return Message(f"msg_{i}", "session_1", "user", f"{content} {i}", T0 + timedelta(seconds=i))


def test_sessions_frame_has_the_contract_columns_and_real_datetimes() -> None:
    frame = sessions_frame([meta(1), meta(2, parent="session_1")])
    assert (
        list(frame.columns)
        == SESSION_COLUMNS
        == [
            "session_id",
            "title",
            "message_count",
            "created_at",
            "updated_at",
            "parent_session_id",
        ]
    )
    assert frame["created_at"].dtype == "datetime64[us, UTC]"
    assert frame.loc[1, "updated_at"] == pd.Timestamp(T0 + timedelta(hours=2))
    assert frame["message_count"].tolist() == [2, 4]
    assert frame["parent_session_id"].tolist() == [None, "session_1"]
    # date arithmetic works as users expect
    assert (frame["updated_at"] > pd.Timestamp("2024-01-15 11:30", tz="UTC")).tolist() == [
        False,
        True,
    ]


def test_empty_frames_keep_their_columns_and_dtypes() -> None:
    for frame, columns, when in (
        (sessions_frame([]), SESSION_COLUMNS, "created_at"),
        (messages_frame([]), MESSAGE_COLUMNS, "timestamp"),
        (vault_frame([]), VAULT_COLUMNS, "updated_at"),
    ):
        assert frame.empty and list(frame.columns) == columns
        assert isinstance(frame[when].dtype, pd.DatetimeTZDtype)


def test_messages_frame_in_the_given_order() -> None:
    frame = messages_frame([message(1), message(2)])
    assert list(frame.columns) == ["timestamp", "role", "content", "id"]
    assert frame["content"].tolist() == ["note 1", "note 2"]
    assert isinstance(frame["timestamp"].dtype, pd.DatetimeTZDtype)
    wide = messages_frame([message(1)], with_session=True)
    assert list(wide.columns) == ["timestamp", "role", "content", "id", "session_id"]


def test_vault_frame_never_holds_values() -> None:
    entry = VaultEntry(
        "api_key", "sk-secret", {"category": "private", "tags": ["work", "llm"]}, T0, T0
    )
    frame = vault_frame([entry])
    assert list(frame.columns) == ["key", "category", "tags", "created_at", "updated_at"]
    assert frame.iloc[0].tolist()[:3] == ["api_key", "private", "work, llm"]
    assert "sk-secret" not in frame.to_string() + frame._repr_html_()


def test_user_html_is_inert_in_frame_html() -> None:
    evil = meta(1, title=XSS)
    html = sessions_frame([evil]).to_html() + sessions_frame([evil])._repr_html_()
    bodies = messages_frame([message(1, XSS), message(2, "<script>alert(1)</script>")])
    html += bodies._repr_html_()
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_escape() -> None:
    assert escape(XSS) == "&lt;img src=x onerror=alert(1)&gt;"
    assert escape("\"a\" & 'b'") == "&quot;a&quot; &amp; &#x27;b&#x27;"
    assert escape(None) == ""


def test_page_captions_count_from_the_newest_end() -> None:
    first = Page(total=45, limit=20, offset=0)
    assert (first.number, first.count, first.first, first.last) == (1, 3, 26, 45)
    assert first.caption() == "page 1 of 3 · messages 26–45 of 45 (page 1 is the newest)"
    last = Page(total=45, limit=20, offset=40)
    assert last.caption().startswith("page 3 of 3 · messages 1–5 of 45")
    empty = Page(total=0, limit=20, offset=0)
    assert empty.caption().startswith("page 1 of 1 · no messages here")


def test_dataframe_snapshot_is_small_json() -> None:
    frame = pd.DataFrame(
        {
            "n": np.arange(10, dtype="int64"),
            "x": [0.5, np.nan] + [1.0] * 8,
            "when": pd.date_range("2024-01-01", periods=10, tz="UTC"),
            "label": ["a" * 200] + ["b"] * 9,
            "flag": [True] * 10,
        }
    )
    snap = snapshot("df", frame)
    assert json.loads(json.dumps(snap, allow_nan=False)) == snap
    assert snap["type"] == "pandas.DataFrame" and snap["shape"] == [10, 5]
    assert snap["columns"] == ["n", "x", "when", "label", "flag"]
    assert snap["dtypes"][:2] == ["int64", "float64"]
    assert len(snap["head"]) == 5
    first, second = snap["head"][:2]
    assert first[0] == 0 and first[1] == 0.5 and first[2].startswith("2024-01-01T00:00:00")
    assert second[1] is None and first[4] is True
    assert len(first[3]) == 80 and first[3].endswith("…")


def test_wide_frames_and_other_values() -> None:
    wide = pd.DataFrame([list(range(30))], columns=[f"c{i}" for i in range(30)])
    snap = snapshot("wide", wide)
    assert len(snap["columns"]) == 20 and snap["columns_truncated"] is True
    assert snapshot("n", 42) == {"name": "n", "type": "int", "repr": "42"}
    big = snapshot("xs", list(range(10_000)))
    assert big["type"] == "list" and len(big["repr"]) < 200
    series = snapshot("s", pd.Series([1, 2]))
    assert series["type"].endswith("Series") and "1" in series["repr"]

    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no")

    assert "Broken" in snapshot("b", Broken())["repr"]  # a broken repr does not stop a note
