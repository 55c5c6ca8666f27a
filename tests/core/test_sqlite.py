"""The SQLite store on real files: schema, migrations of older databases, bad files,
and real processes killed mid-save or writing at the same time."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from spec_examples import SPEC_SESSION
from waiting import DEADLINE, read_line

from activemirror_jupyter import ActiveMirror, StorageError
from activemirror_jupyter.core.storage.base import SessionQuery
from activemirror_jupyter.core.storage.sqlite import SQLiteStorage
from activemirror_jupyter.core.storage.sqlite_schema import MIGRATIONS


def columns(db: Path, table: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def test_new_database_has_the_spec_tables_and_columns(tmp_path):
    db = tmp_path / "conversations.db"
    ActiveMirror(db_path=db).close()
    assert columns(db, "sessions")[:6] == [
        "id",
        "user_id",
        "title",
        "created_at",
        "updated_at",
        "status",
    ]
    assert columns(db, "messages")[:5] == ["id", "session_id", "role", "content", "timestamp"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        applied = [r[0] for r in conn.execute("SELECT name FROM activemirror_migrations")]
    assert applied == [name for name, _ in MIGRATIONS]


def test_default_location_is_activemirror_home(activemirror_home):
    with ActiveMirror() as mirror:
        mirror.create_session("here").save()
    assert (activemirror_home / "conversations.db").is_file()


def test_on_disk_rows_use_utc_z_timestamps(tmp_path):
    db = tmp_path / "c.db"
    with ActiveMirror(db_path=db) as mirror:
        s = mirror.create_session("Z")
        s.send("m")
        s.save()
    with sqlite3.connect(db) as conn:
        created, updated = conn.execute("SELECT created_at, updated_at FROM sessions").fetchone()
        (stamp,) = conn.execute("SELECT timestamp FROM messages").fetchone()
    assert all(t.endswith("Z") for t in (created, updated, stamp))


def test_migrations_are_idempotent(tmp_path):
    db = tmp_path / "c.db"
    with ActiveMirror(db_path=db) as mirror:
        s = mirror.create_session("keep")
        s.send("me")
        s.save()
    for _ in range(3):
        with ActiveMirror(db_path=db) as mirror:
            assert [m.content for m in mirror.load_session(s.id).get_messages()] == ["me"]
            assert mirror.store.applied_migrations() == sorted(n for n, _ in MIGRATIONS)


SPEC_SCHEMA = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, user_id TEXT, title TEXT, created_at TEXT,
                       updated_at TEXT, status TEXT);
CREATE TABLE messages (id TEXT PRIMARY KEY, session_id TEXT, role TEXT, content TEXT,
                       timestamp TEXT, FOREIGN KEY (session_id) REFERENCES sessions(id));
"""

SDK_020_SCHEMA = """
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, user_id TEXT NOT NULL, title TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, status TEXT NOT NULL,
    parent_session_id TEXT, metadata TEXT);
CREATE TABLE messages (
    id TEXT PRIMARY KEY, session_id TEXT NOT NULL, role TEXT NOT NULL, content TEXT NOT NULL,
    timestamp TEXT NOT NULL, metadata TEXT,
    FOREIGN KEY (session_id) REFERENCES sessions(id));
"""


def test_a_spec_schema_database_opens_and_keeps_every_row(tmp_path):
    db = tmp_path / "spec.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(SPEC_SCHEMA)
        conn.execute(
            "INSERT INTO sessions VALUES ('session_123', 'user_001', 'Strategic Planning', "
            "'2024-01-15T10:00:00Z', '2024-01-15T14:30:00Z', 'active')"
        )
        conn.execute(
            "INSERT INTO sessions VALUES ('session_456', NULL, 'Second', "
            "'2024-01-16T10:00:00Z', '2024-01-16T10:00:00Z', NULL)"
        )
        for i, ts in enumerate(
            ["2024-01-15T10:01:00Z", "2024-01-15T10:03:00Z", "2024-01-15T10:02:00Z"]
        ):
            conn.execute(
                "INSERT INTO messages VALUES (?, 'session_123', 'user', ?, ?)",
                (f"msg_{i + 1}", f"Let's plan Q{i + 1}", ts),
            )
    conn.close()

    with ActiveMirror(db_path=db) as mirror:
        listed = mirror.list_sessions()
        assert [m.session_id for m in listed] == ["session_456", "session_123"]
        session = mirror.load_session("session_123")
        assert session.title == "Strategic Planning"
        assert session.user_id == "user_001"
        assert session.message_count == 3
        # ordered by time, not by id
        assert [m.id for m in session.get_messages()] == ["msg_1", "msg_3", "msg_2"]
        assert session.created_at.isoformat() == "2024-01-15T10:00:00+00:00"
        assert [m.content for m in mirror.search("plan")] != []
        # and it takes new writes
        session.send("Continuing")
        session.save()
        assert mirror.load_session("session_456").status == "active"
    with ActiveMirror(db_path=db) as mirror:
        assert mirror.load_session("session_123").message_count == 4


def test_an_sdk_020_database_migrates_in_place(tmp_path):
    db = tmp_path / "sdk.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(SDK_020_SCHEMA)
        conn.execute(
            "INSERT INTO sessions VALUES ('a1b2', 'default', 'Morning', '2024-03-01T08:00:00.123456', "
            "'2024-03-01T09:00:00', 'active', NULL, '{\"mood\": \"good\"}')"
        )
        conn.execute(
            "INSERT INTO sessions VALUES ('c3d4', 'default', 'Afternoon', '2024-03-01T13:00:00', "
            "'2024-03-01T13:30:00', 'active', 'a1b2', NULL)"
        )
        conn.execute(
            "INSERT INTO messages VALUES ('m1', 'a1b2', 'user', 'Feeling energized', "
            "'2024-03-01T08:05:00', '{\"k\": 1}')"
        )
        conn.execute(
            "INSERT INTO messages VALUES ('m2', 'a1b2', 'assistant', 'Great', '2024-03-01T08:06:00', NULL)"
        )
    conn.close()

    with ActiveMirror(db_path=db) as mirror:
        morning = mirror.load_session("a1b2")
        assert morning.metadata == {"mood": "good"}
        assert morning.created_at.isoformat() == "2024-03-01T08:00:00.123456+00:00"
        messages = morning.get_messages()
        assert [(m.id, m.role, m.content) for m in messages] == [
            ("m1", "user", "Feeling energized"),
            ("m2", "assistant", "Great"),
        ]
        assert messages[0].metadata == {"k": 1}
        assert [c.session_id for c in morning.children()] == ["c3d4"]
        # a session without user id can now be written (the old NOT NULLs are gone)
        fresh = mirror.create_session("New")
        fresh.send("works")
        fresh.save()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM messages").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM sessions").fetchone()[0] == 3


def test_extra_columns_someone_added_are_kept(tmp_path):
    db = tmp_path / "custom.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(SPEC_SCHEMA)
        conn.execute("ALTER TABLE sessions ADD COLUMN project TEXT")
        conn.execute(
            "INSERT INTO sessions VALUES ('s1', NULL, 't', '2024-01-01T00:00:00Z', "
            "'2024-01-01T00:00:00Z', 'active', 'apollo')"
        )
    conn.close()
    ActiveMirror(db_path=db).close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT project FROM sessions").fetchone() == ("apollo",)
    conn.close()


def test_a_file_that_is_not_a_database_is_left_alone(tmp_path):
    path = tmp_path / "notes.db"
    original = b"these are my notes, not a database\n" * 200
    path.write_bytes(original)
    with pytest.raises(StorageError) as info:
        ActiveMirror(db_path=path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == original
    assert not Path(str(path) + "-wal").exists()


def test_a_corrupt_database_is_reported_and_not_overwritten(tmp_path):
    path = tmp_path / "broken.db"
    with ActiveMirror(db_path=path) as mirror:
        s = mirror.create_session("x")
        s.send("y")
        s.save()
    data = bytearray(path.read_bytes())
    data[100:4096] = os.urandom(4096 - 100)  # trash the schema page after the header
    path.write_bytes(bytes(data))
    with pytest.raises(StorageError) as info:
        ActiveMirror(db_path=path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == bytes(data)


def test_a_folder_in_place_of_the_database(tmp_path):
    with pytest.raises(StorageError, match="folder"):
        ActiveMirror(db_path=tmp_path)


def test_a_lock_held_too_long_is_reported_as_busy_not_corrupt(tmp_path, monkeypatch):
    import activemirror_jupyter.core.storage.sqlite_connection as sqlite_store

    db = tmp_path / "busy.db"
    ActiveMirror(db_path=db).close()
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_S", 0.2)
    mirror = ActiveMirror(db_path=db)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        session = mirror.create_session("waits")
        session.send("kept in RAM")
        with pytest.raises(StorageError, match="busy") as info:
            session.save()
        assert "not a usable" not in str(info.value)
        assert session.unsaved_count == 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    session.save()  # once the lock is gone, the same save succeeds
    assert [
        m.content for m in ActiveMirror(db_path=db).load_session(session.id).get_messages()
    ] == ["kept in RAM"]
    mirror.close()


# -- real processes -----------------------------------------------------------------------------

WRITER = textwrap.dedent(
    """
    import sys
    from activemirror_jupyter import ActiveMirror
    db, n = sys.argv[1], int(sys.argv[2])
    mirror = ActiveMirror(db_path=db)
    i = 0
    while True:
        s = mirror.create_session(f"batch-{i}")
        for j in range(n):
            s.send(f"{i}:{j}")
        s.save()
        print(s.id, flush=True)  # reported only after save() returned
        i += 1
    """
)


def test_kill_9_during_saves_never_loses_a_returned_save(tmp_path):
    db = tmp_path / "crash.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    ActiveMirror(db_path=db).close()
    confirmed: list[str] = []
    for round_ in range(50):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(db), "200"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            # Once its first save has returned, its save loop runs: kill it at a varying
            # point of the next saves. The pause only spreads where the kill lands (the
            # test holds wherever it lands); nothing waits on it.
            confirmed.append(read_line(proc, "the writer's first save").strip())
            time.sleep((round_ % 10) * 0.003)
        finally:
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate()
        confirmed.extend(out.split())

    assert confirmed, "the writer never completed a save"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    with ActiveMirror(db_path=db) as mirror:
        for session_id in confirmed:
            assert mirror.load_session(session_id).message_count == 200
        # no half-saved session: every saved session has all of its messages
        for meta in mirror.list_sessions():
            assert meta.message_count == 200
            assert len(mirror.load_session(meta.session_id).get_messages()) == 200


CONCURRENT = textwrap.dedent(
    """
    import sys
    from activemirror_jupyter import ActiveMirror
    db, session_id, worker = sys.argv[1], sys.argv[2], sys.argv[3]
    mirror = ActiveMirror(db_path=db, autosave=True)
    session = mirror.load_session(session_id)
    for i in range(250):
        session.send(f"worker {worker} message {i}")
    print("ok")
    """
)


def test_four_processes_autosave_into_one_session(tmp_path):
    db = tmp_path / "shared.db"
    script = tmp_path / "autosaver.py"  # not a standard module's name (asyncio imports concurrent)
    script.write_text(CONCURRENT)
    with ActiveMirror(db_path=db) as mirror:
        shared = mirror.create_session("Shared")
        shared.save()
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(db), shared.id, str(w)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=DEADLINE)
            assert proc.returncode == 0, err
            assert out.strip() == "ok"
    finally:
        for proc in procs:  # a failing test leaves no writer running
            proc.kill()
            proc.communicate()

    with ActiveMirror(db_path=db) as mirror:
        session = mirror.load_session(shared.id)
        messages = session.get_messages()
        assert session.message_count == 1000
        assert len(messages) == 1000
        assert len({m.id for m in messages}) == 1000
        assert len({m.content for m in messages}) == 1000
        for w in range(4):
            own = [m.content for m in messages if m.content.startswith(f"worker {w} ")]
            assert own == [f"worker {w} message {i}" for i in range(250)]  # each in its order
        assert mirror.list_sessions()[0].message_count == 1000


def test_store_is_closed_by_close(tmp_path):
    store = SQLiteStorage(tmp_path / "c.db")
    store.close()
    with pytest.raises(StorageError):
        store.count_sessions(SessionQuery())


def test_a_taken_message_id_is_reported_as_such_not_as_corruption(tmp_path):
    mirror = ActiveMirror(db_path=tmp_path / "c.db")
    session = mirror.create_session("first")
    message = session.send("hello")
    session.save()
    other = mirror.create_session("second")
    other.save()
    with pytest.raises(StorageError) as info:
        mirror.store.save(other.metadata_snapshot(), [message])
    assert "already stored" in str(info.value)
    assert "not a usable" not in str(info.value)
    assert mirror.load_session(other.id).message_count == 0
    mirror.close()


def test_importing_a_message_id_held_by_another_session(tmp_path):
    from activemirror_jupyter import InvalidImportError, import_session

    mirror = ActiveMirror(db_path=tmp_path / "c.db")
    import_session(SPEC_SESSION, mirror)
    with pytest.raises(InvalidImportError) as info:
        import_session({**SPEC_SESSION, "id": "session_456"}, mirror)
    assert "messages[0].id" in str(info.value) and "session_123" in str(info.value)
    assert [s.session_id for s in mirror.list_sessions()] == ["session_123"]
    # fresh ids get it in
    copy = import_session({**SPEC_SESSION, "id": "session_456"}, mirror, on_conflict="new_id")
    assert [m.content for m in copy.get_messages()] == ["Let's plan Q1"]
    mirror.close()


def test_an_import_that_replaces_is_all_or_nothing(tmp_path):
    from activemirror_jupyter import import_session

    mirror = ActiveMirror(db_path=tmp_path / "c.db")
    session = mirror.create_session("Original")
    session.send("kept unless the whole replacement lands")
    session.save()
    export = json.loads(session.export("json"))

    # The disk refuses one of the new messages half-way through the write.
    with sqlite3.connect(tmp_path / "c.db") as raw:
        raw.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON messages WHEN NEW.content = 'boom' "
            "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
        )
    raw.close()
    export["title"] = "Replacement"
    del export["head"]  # new messages, written by hand: no hashes (chained when saved)
    unhashed = {k: v for k, v in export["messages"][0].items() if k != "hash"}
    export["messages"] = [
        {**unhashed, "id": "msg_new_1", "content": "first"},
        {**unhashed, "id": "msg_new_2", "content": "boom"},
    ]
    with pytest.raises(StorageError, match="disk says no"):
        import_session(export, mirror, on_conflict="replace")
    kept = mirror.load_session(session.id)
    assert kept.title == "Original"
    assert [m.content for m in kept.get_messages()] == ["kept unless the whole replacement lands"]

    export["messages"][1]["content"] = "second"
    replaced = import_session(export, mirror, on_conflict="replace")
    assert replaced.title == "Replacement"
    assert [m.content for m in replaced.get_messages()] == ["first", "second"]
    mirror.close()


def test_text_that_is_not_utf8_is_reported_by_verify_not_a_crash(tmp_path):
    db = tmp_path / "c.db"
    with ActiveMirror("sqlite", db_path=db) as mirror:
        session = mirror.create_session("Notes")
        for text in ("before", "the secret middle", "after"):
            session.send(text)
        session.save()
        middle = session.get_messages()[1].id
    with sqlite3.connect(db) as raw:  # one invalid byte, written behind the API
        raw.execute("UPDATE messages SET content = CAST(X'6869FF' AS TEXT) WHERE id = ?", (middle,))
    with ActiveMirror("sqlite", db_path=db) as mirror:
        report = mirror.verify()
        assert [(p.message_id, p.kind) for p in report.problems] == [(middle, "changed")]
        assert "hi\ufffd" not in str(report.problems) and "secret" not in str(report.problems)
        assert [m.content for m in mirror.load_session(session.id).get_messages()] == [
            "before",
            "hi\ufffd",
            "after",
        ]
        assert [m.content for m in mirror.search("after")] == ["after"]


def _read_as_another_user(db: str) -> dict:
    from faults import read_only_user

    read_only_user()
    with ActiveMirror("sqlite", db_path=db) as mirror:
        session = mirror.load_session(mirror.list_sessions()[0].session_id)
        seen = {
            "titles": [s.title for s in mirror.list_sessions()],
            "found": [m.content for m in mirror.search("shared")],
            "export": session.export("markdown"),
            "verify": mirror.verify().ok,
        }
        try:
            session.send("more")
            session.save()
        except StorageError as exc:
            seen["error"] = str(exc)
    return seen


def test_a_database_in_a_folder_this_user_cannot_write_is_read(tmp_path):
    import shutil
    import tempfile

    from faults import in_child

    folder = Path(tempfile.mkdtemp(prefix="activemirror-ro-"))
    try:
        folder.chmod(0o755)
        db = folder / "c.db"
        with ActiveMirror("sqlite", db_path=db) as mirror:
            session = mirror.create_session("Shared notes")
            session.send("a shared finding")
            session.save()
        db.chmod(0o644)
        if os.geteuid() != 0:
            db.chmod(0o444)
            folder.chmod(0o555)
        seen = in_child(_read_as_another_user, str(db))
        assert seen["titles"] == ["Shared notes"] and seen["found"] == ["a shared finding"]
        assert "a shared finding" in seen["export"] and seen["verify"]
        assert "is read-only" in seen["error"] and "nothing was written" in seen["error"]
        assert sorted(p.name for p in folder.iterdir()) == ["c.db"]  # no -wal, no -shm
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
