"""display.py: the DataFrames, captions and escaping users see."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from activemirror_jupyter.core.markup import escape
from activemirror_jupyter.core.models import Message, SearchHit, SessionMetadata
from activemirror_jupyter.core.paging import Page
from activemirror_jupyter.core.vault import VaultEntry
from activemirror_jupyter.display import (
    MESSAGE_COLUMNS,
    SESSION_COLUMNS,
    VAULT_COLUMNS,
    hits_frame,
    messages_frame,
    provenance_frame,
    sessions_frame,
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


def hit(i: int, snippet: str) -> SearchHit:
    return SearchHit(message(i, "found"), f"Session {i}", snippet, [(0, 5)])


def test_hits_frame_keeps_the_message_columns_and_adds_where_and_snippet() -> None:
    frame = hits_frame([hit(2, "found 2 <b>here</b>"), hit(1, "…found 1")])
    assert list(frame.columns) == [*MESSAGE_COLUMNS, "session_id", "session_title", "snippet"]
    assert list(frame["snippet"]) == ["found 2 <b>here</b>", "…found 1"]
    assert list(frame["session_title"]) == ["Session 2", "Session 1"]
    assert isinstance(frame["timestamp"].dtype, pd.DatetimeTZDtype)
    assert "<b>" not in frame._repr_html_()
    empty = hits_frame([])
    assert list(empty.columns) == list(frame.columns) and empty.empty


def test_provenance_frame_is_one_row_per_fact() -> None:
    facts = {
        "notebook": None,
        "python": "3.11.7",
        "platform": "Linux",
        "hostname": "<lab>",
        "user": "me",
        "packages": {"numpy": "2.1.0", "pandas": "2.2.3"},
        "git": {"commit": "a" * 40, "branch": None, "dirty": True},
    }
    frame = provenance_frame(facts)
    assert list(frame.columns) == ["field", "value"]
    rows = dict(zip(frame["field"], frame["value"], strict=True))
    assert rows["python"] == "3.11.7" and rows["notebook"] is None
    assert rows["git.commit"] == "a" * 40 and rows["git.dirty"] is True
    assert rows["git.branch"] is None
    assert list(frame["field"])[-2:] == ["package numpy", "package pandas"]
    assert rows["package pandas"] == "2.2.3"
    assert "&lt;lab&gt;" in frame._repr_html_()
    no_git = provenance_frame({**facts, "git": None, "packages": {}})
    assert dict(zip(no_git["field"], no_git["value"], strict=True))["git"] is None
