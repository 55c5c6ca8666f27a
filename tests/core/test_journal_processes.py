"""The chain under real processes: four writers autosaving into one session make one linear
chain on every disk store; kill -9 in the middle of chained saves leaves a chain that
verifies; stores written before 0.2 get their chains from a migration, resumably."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from waiting import DEADLINE, read_line

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.journal import chain

WRITER = textwrap.dedent(
    """
    import json, sys
    from activemirror_jupyter import ActiveMirror
    options, session_id, worker, n = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
    if "fold_at_once_bytes" in options:  # a big JSON folder: saves go to the journal
        from activemirror_jupyter.core.storage import jsonfiles
        jsonfiles.FOLD_AT_ONCE_BYTES = options.pop("fold_at_once_bytes")
    mirror = ActiveMirror(**options, autosave=True)
    session = mirror.load_session(session_id)
    print("ready", flush=True)
    for i in range(n):
        session.send(f"worker {worker} message {i}")
        print(i, flush=True)
    mirror.close()
    """
)


def store_options(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> dict:
    if kind == "sqlite":
        return {"storage_type": "sqlite", "db_path": str(tmp_path / "c.db")}
    if kind == "json":
        return {"storage_type": "json", "storage_path": str(tmp_path / "conversations")}
    if kind == "json-journal":  # the writers journal their saves (see WRITER)
        return {**store_options("json", tmp_path, request), "fold_at_once_bytes": -1}
    return {"storage_type": "postgresql", "dsn": request.getfixturevalue("postgres_dsn")}


def opened(options: dict) -> ActiveMirror:
    """The test's own mirror on the writers' store (folding is for the writers to choose)."""
    return ActiveMirror(**{k: v for k, v in options.items() if k != "fold_at_once_bytes"})


def writer(
    script: Path, options: dict, session_id: str, worker: int, n: int
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), json.dumps(options), session_id, str(worker), str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.parametrize("kind", ["sqlite", "json", "json-journal", "postgresql"])
def test_four_writers_make_one_linear_chain(kind, tmp_path, request):
    options = store_options(kind, tmp_path, request)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    with opened(options) as mirror:
        shared = mirror.create_session("Shared")
        shared.save()
    procs = [writer(script, options, shared.id, w, 60) for w in range(4)]
    try:
        for proc in procs:
            _, err = proc.communicate(timeout=DEADLINE)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            proc.kill()
            proc.communicate()
    with opened(options) as mirror:
        session = mirror.load_session(shared.id)
        messages = session.get_messages()
        assert len(messages) == 240 == session.message_count
        assert [m.hash for m in messages] == chain(shared.id, messages)  # one line, no fork
        assert session.head == messages[-1].hash
        report = mirror.verify(shared.id)
        assert report.ok and report.messages == 240
        for w in range(4):
            own = [m.content for m in messages if m.content.startswith(f"worker {w} ")]
            assert own == [f"worker {w} message {i}" for i in range(60)]


@pytest.mark.parametrize("kind", ["sqlite", "json", "json-journal"])
def test_kill_9_in_the_middle_of_chained_saves_leaves_a_chain_that_verifies(
    kind, tmp_path, request
):
    options = store_options(kind, tmp_path, request)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    with opened(options) as mirror:
        shared = mirror.create_session("Crashing")
        shared.save()
    confirmed = 0
    for round_ in range(12):
        proc = writer(script, options, shared.id, round_, 100_000)
        try:
            read_line(proc, "the writer to start")
            for _ in range(1 + round_ % 5):  # the kill lands somewhere in its next saves
                read_line(proc, "a confirmed save")
                confirmed += 1
        finally:
            proc.send_signal(signal.SIGKILL)
            out, _ = proc.communicate()
        confirmed += len(out.split())
    with opened(options) as mirror:
        report = mirror.verify()
        assert report.ok, report.lines()
        assert mirror.load_session(shared.id).message_count >= confirmed


# -- stores written before 0.2 ----------------------------------------------------------------


def test_a_0_1_sqlite_store_gets_its_chains_and_verifies(tmp_path):
    from activemirror_jupyter.core.storage.sqlite_schema import MIGRATIONS

    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:  # a database as 0.1 left it: migrations m001–m004
        conn.execute(
            "CREATE TABLE activemirror_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        for name, fn in MIGRATIONS[:4]:
            fn(conn)
            conn.execute("INSERT INTO activemirror_migrations VALUES (?, datetime('now'))", (name,))
        conn.execute(
            "INSERT INTO sessions (id, title, created_at, updated_at, status, message_count) "
            "VALUES ('session_old', 'Old', '2024-01-15T10:00:00.000000Z', '2024-01-15T10:02:00.000000Z', 'active', 2)"
        )
        for seq, content in enumerate(["first", "second"]):
            conn.execute(
                "INSERT INTO messages (id, session_id, role, content, timestamp, seq) "
                "VALUES (?, 'session_old', 'user', ?, ?, ?)",
                (f"msg_{seq}", content, f"2024-01-15T10:0{seq + 1}:00.000000Z", seq),
            )
    conn.close()
    with ActiveMirror(db_path=db) as mirror:
        session = mirror.load_session("session_old")
        messages = session.get_messages()
        assert [m.content for m in messages] == ["first", "second"]  # nothing lost
        assert [m.hash for m in messages] == chain("session_old", messages)
        assert session.head == messages[-1].hash
        assert mirror.verify().ok
        assert [m.content for m in mirror.search("second")] == ["second"]  # index kept


def test_a_migration_cut_short_is_finished_on_the_next_open(tmp_path):
    """The hash column exists (m005 applied) but no chain was computed yet: the next open
    computes them, and then every message verifies."""
    from activemirror_jupyter.core.storage.sqlite_schema import MIGRATIONS

    db = tmp_path / "half.db"
    with ActiveMirror(db_path=db) as mirror:
        session = mirror.create_session("Half migrated")
        session.send("a")
        session.send("b")
        session.save()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE messages SET hash = NULL")
        conn.execute("UPDATE sessions SET head = NULL")
        conn.execute("DELETE FROM activemirror_migrations WHERE name = ?", (MIGRATIONS[5][0],))
    conn.close()
    with ActiveMirror(db_path=db) as mirror:
        assert mirror.verify().ok
        assert mirror.load_session(session.id).head is not None


def test_a_0_1_json_folder_gets_its_chains_and_verifies(tmp_path):
    from spec_examples import SPEC_SESSION

    folder = tmp_path / "conversations"
    folder.mkdir()
    (folder / "session_123.json").write_text(json.dumps(SPEC_SESSION))
    (folder / "index.json").write_text(
        json.dumps({"sessions": ["session_123"], "updatedAt": "2024-01-15T14:30:00Z"})
    )
    with ActiveMirror("json", storage_path=folder) as mirror:
        session = mirror.load_session("session_123")
        messages = session.get_messages()
        assert [m.content for m in messages] == ["Let's plan Q1"]
        assert [m.hash for m in messages] == chain("session_123", messages)
        assert mirror.verify().ok
        session.send("appended after the migration")
        session.save()
        assert mirror.verify().ok
    saved = json.loads((folder / "session_123.json").read_text())
    assert saved["messages"][0]["content"] == "Let's plan Q1" and saved["head"]


def test_a_0_1_postgresql_store_gets_its_chains(postgres_dsn):
    import psycopg

    from activemirror_jupyter.core.storage.postgresql_schema import MIGRATIONS

    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        with conn.transaction():
            conn.execute(
                "CREATE TABLE activemirror_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            for name, fn in MIGRATIONS[:6]:  # the schema 0.1 left
                fn(conn)
                conn.execute("INSERT INTO activemirror_migrations (name) VALUES (%s)", (name,))
        conn.execute("INSERT INTO sessions (id, title) VALUES ('session_old', 'Old')")
        for i in range(3):
            conn.execute(
                "INSERT INTO messages (id, session_id, role, content) VALUES (%s, 'session_old', 'user', %s)",
                (f"msg_{i}", f"message {i}"),
            )
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        session = mirror.load_session("session_old")
        messages = session.get_messages()
        assert [m.content for m in messages] == ["message 0", "message 1", "message 2"]
        assert [m.hash for m in messages] == chain("session_old", messages)
        assert mirror.verify().ok
