"""Every code block of the "State Persistence" spec, run as written
(``from activemirror import …`` read as ``from activemirror_jupyter import …``)."""

from __future__ import annotations

import json
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


# -- Vault storage (tier 3) ---------------------------------------------------------------------


@pytest.fixture
def vault(tmp_path):
    from activemirror_jupyter import VaultMemory

    # The spec's VaultMemory(password=…) uses the default location: $ACTIVEMIRROR_HOME/vault.
    return VaultMemory(password="your-password")


def test_vault_tier(vault, activemirror_home):
    from activemirror_jupyter import VaultCategory

    # Store sensitive data
    vault.store("health_goal", "Run marathon in 2024")
    vault.store("salary_target", 150000, metadata={"category": VaultCategory.PRIVATE})

    # Retrieve
    goal = vault.retrieve("health_goal")

    assert goal == "Run marathon in 2024"
    assert vault.retrieve("salary_target") == 150000
    assert isinstance(vault.retrieve("salary_target"), int)
    files = sorted(p.name for p in (activemirror_home / "vault").iterdir())
    assert ".vault_index.enc" in files
    assert not any("health_goal" in name or "salary" in name for name in files)


def test_long_term_memory(vault, mirror):
    from activemirror_jupyter import VaultCategory

    session = mirror.create_session("Insights")
    # Store important insights in vault
    vault.store(
        "core_insight_2024_01",
        {"insight": "Focus beats multitasking", "source_session": session.id, "confidence": "high"},
        metadata={"category": VaultCategory.KNOWLEDGE, "tags": ["productivity", "2024"]},
    )

    # Later, retrieve for context
    insights = vault.search("productivity")

    assert [e.key for e in insights] == ["core_insight_2024_01"]


def test_vault_cleanup_and_encryption(vault, activemirror_home):
    from activemirror_jupyter import VaultMemory

    # Clear vault entries
    assert vault.delete("old_goal") is False

    # Vault data encrypted at rest
    vault = VaultMemory(password="strong-password", vault_path=activemirror_home / "vault2")
    vault.store("api_key", "sk-test-123")  # Encrypted
    raw = b"".join(p.read_bytes() for p in (activemirror_home / "vault2").iterdir() if p.is_file())
    assert b"sk-test-123" not in raw and b"api_key" not in raw


# -- Cross-device, portability, backups ----------------------------------------------------------


def test_cross_device_export_import(mirror, tmp_path, activemirror_home):
    session = mirror.create_session("Travelling")
    session.send("Started on device A")

    # Device A
    session.save()
    export_data = session.export(format="json")

    # Transfer export_data to Device B (USB, cloud, etc.)

    # Device B
    from activemirror_jupyter import import_session

    session = import_session(export_data)
    session.send("Continuing on different device")

    session.save()
    from activemirror_jupyter import ActiveMirror as DeviceB

    device_b = DeviceB()  # the default store, where import_session put it
    assert [m.content for m in device_b.load_session(session.id).get_messages()] == [
        "Started on device A",
        "Continuing on different device",
    ]


def test_export_formats(mirror):
    session = mirror.create_session("Formats")
    session.send("Let's plan Q1")
    session.save()

    export = session.export(format="json")
    # Full structured data for import
    assert '"Let\'s plan Q1"' in export or "Let's plan Q1" in export

    export = session.export(format="markdown")
    # Readable in any text editor
    assert "# Formats" in export and "Let's plan Q1" in export

    export = session.export(format="txt")
    # Simple transcript
    assert "Let's plan Q1" in export


def test_backup_strategy(mirror, vault, tmp_path):
    backups = {}

    def save_to_backup_location(session_id, backup):
        backups[session_id] = backup

    for title in ("one", "two"):
        s = mirror.create_session(title)
        s.send(f"note {title}")
        s.save()

    # Backup all sessions
    sessions = mirror.list_sessions()
    for session_meta in sessions:
        session = mirror.load_session(session_meta.session_id)
        backup = session.export("json")
        save_to_backup_location(session.id, backup)

    # Backup vault
    vault_key = vault.export_key()
    # Store vault_key securely - needed to decrypt vault

    assert len(backups) == 2
    assert vault_key.startswith("amvk1-")


def test_export_and_delete_everything(mirror, vault, activemirror_home):
    from activemirror_jupyter import delete_all_data, export_all_data

    s = mirror.create_session("All")
    s.send("everything")
    s.save()
    vault.store("secret", "hunter2-plaintext")

    # Export everything
    all_data = export_all_data(mirror, vault)

    # Delete everything
    delete_all_data(mirror, vault)

    assert "everything" in json.dumps(all_data)
    assert "hunter2-plaintext" not in json.dumps(all_data)  # the vault stays encrypted
    assert mirror.list_sessions() == []
    vault_dir = activemirror_home / "vault"
    assert not vault_dir.exists() or not any(p.is_file() for p in vault_dir.iterdir())


def test_export_critical_sessions(mirror):
    important = mirror.create_session("Important")
    important.send("Critical conversation")
    important.save()
    saved = []

    def save_to_secure_location(backup):
        saved.append(backup)

    # Backup important conversations
    critical_session = mirror.load_session(important.id)
    backup = critical_session.export("json")
    save_to_secure_location(backup)

    assert "Critical conversation" in saved[0]
