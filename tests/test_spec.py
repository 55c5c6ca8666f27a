"""Every code block of the "State Persistence" spec, run as written
(``from activemirror import …`` read as ``from activemirror_jupyter import …``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from activemirror_jupyter import ActiveMirror, SessionNotFoundError


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # "SQLite Backend (Python)", as written
    mirror = ActiveMirror(storage_type="sqlite", db_path="./conversations.db")
    yield mirror
    mirror.close()


def test_session_memory_tier(mirror, tmp_path):
    # Create session (in memory)
    session = mirror.create_session("Daily Planning")

    # Send messages (stored in RAM)
    session.send("First thought")
    session.send("Second thought")

    # Not persisted yet - if app crashes, these are lost
    other = ActiveMirror(storage_type="sqlite", db_path="./conversations.db")
    assert other.list_sessions() == []

    session.save()  # Writes to disk
    assert [s.title for s in other.list_sessions()] == ["Daily Planning"]
    assert (tmp_path / "conversations.db").is_file()
    other.close()


def test_example_flow(mirror):
    # 1. Create (in RAM)
    session = mirror.create_session("Ideas")

    # 2. Active (in RAM)
    session.send("Idea 1")
    session.send("Idea 2")

    # 3. Save (to Disk)
    session_id = session.save()

    # App closes...
    mirror.close()
    # App reopens...
    mirror = ActiveMirror(storage_type="sqlite", db_path="./conversations.db")

    # 4. Load (Disk → RAM)
    session = mirror.load_session(session_id)

    # 5. Resume (in RAM)
    session.send("Idea 3")

    # 6. Save again
    session.save()

    reopened = ActiveMirror(storage_type="sqlite", db_path="./conversations.db")
    assert [m.content for m in reopened.load_session(session_id).get_messages()] == [
        "Idea 1",
        "Idea 2",
        "Idea 3",
    ]


def test_same_device_multiple_sessions(mirror):
    # Session 1
    session1 = mirror.create_session("Morning")
    session1.send("Feeling energized")
    session1.save()

    # Session 2 (links to session 1)
    session2 = mirror.create_session("Afternoon", parent_session_id=session1.id)
    session2.send("Building on morning momentum")

    session2.save()
    assert [c.title for c in session1.children()] == ["Afternoon"]


def test_lazy_loading_and_pagination(mirror):
    s = mirror.create_session("Long")
    for i in range(100):
        s.send(f"message {i}")
    session_id = s.save()

    # Only loads session metadata, not all messages
    sessions = mirror.list_sessions()

    # Messages loaded on demand
    session = mirror.load_session(session_id)
    recent = session.get_messages(limit=10)

    # Get recent messages
    recent = session.get_messages(limit=20)

    # Get older messages
    older = session.get_messages(limit=20, offset=20)

    assert sessions[0].message_count == 100
    assert [m.content for m in recent] == [f"message {i}" for i in range(80, 100)]
    assert [m.content for m in older] == [f"message {i}" for i in range(60, 80)]


def test_context_management(mirror):
    # Limit active context
    session = mirror.create_session("Limited Context", max_context_messages=30)

    # Older messages still saved, but not in active context
    for i in range(40):
        session.send(f"m{i}")
    session.save()
    assert len(session.context) == 30
    assert len(mirror.load_session(session.id).get_messages()) == 40


def test_cleanup(mirror):
    recent = mirror.create_session("recent")
    recent.save()
    one_year_ago = datetime.now(timezone.utc) - timedelta(days=365)

    # Delete old sessions
    old_sessions = [s for s in mirror.list_sessions() if s.created_at < one_year_ago]

    for s in old_sessions:
        mirror.delete_session(s.session_id)

    assert old_sessions == []
    assert [s.title for s in mirror.list_sessions()] == ["recent"]


def test_link_related_sessions(mirror):
    # Create session families
    parent = mirror.create_session("Project Alpha")
    sprint1 = mirror.create_session("Sprint 1", parent.id)
    sprint2 = mirror.create_session("Sprint 2", parent.id)

    for s in (parent, sprint1, sprint2):
        s.save()
    assert sorted(c.title for c in parent.children()) == ["Sprint 1", "Sprint 2"]


def test_save_frequently(mirror):
    session = mirror.create_session("Decisions")
    # After important exchanges
    session.send("Key decision made")
    session.save()  # Don't wait
    assert mirror.search("decision")[0].content == "Key decision made"


def test_troubleshooting_session_not_found(mirror):
    session = mirror.create_session("Check")

    # Verify session was saved
    session_id = session.save()  # Note the ID

    # Check it exists
    sessions = mirror.list_sessions()
    exists = any(s.session_id == session_id for s in sessions)

    assert exists
    with pytest.raises(SessionNotFoundError, match="important_id"):
        mirror.load_session("important_id")
