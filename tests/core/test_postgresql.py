"""The PostgreSQL store against a real throwaway server: row-level security between two roles
(through the API and raw SQL), the server going away mid-session, migrations, search details.

The behaviour every store shares is tested in test_sessions.py (parametrised over STORE_TYPES).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import replace

import pytest
from postgres_server import SUPERUSER, TEST_ROLE, PostgresServer
from test_portability import fill, open_store
from waiting import DEADLINE, wait_until

from activemirror_jupyter import (
    ActiveMirror,
    SessionNotFoundError,
    StorageError,
    delete_all_data,
    export_all_data,
    import_all_data,
    import_session,
)
from activemirror_jupyter.core.transfer.exports import dumps

# Without psycopg this module is skipped with the reason (a failure under --require-all).
psycopg = pytest.importorskip("psycopg")
pg_errors = pytest.importorskip("psycopg.errors")
pytest.importorskip("psycopg_pool")
from activemirror_jupyter.core.storage.postgresql import PostgreSQLStorage  # noqa: E402
from activemirror_jupyter.core.storage.postgresql_schema import MIGRATIONS  # noqa: E402

# ---------------------------------------------------------------------------------------------
# A team database set up the way the README says: owned by an admin role, tables created by
# opening the store as that role, then postgresql_setup.sql, then one login role per person.


def _filled(dsn: str, title: str, words: str) -> tuple[ActiveMirror, str]:
    mirror = ActiveMirror("postgresql", dsn=dsn)
    session = mirror.create_session(title)
    session.send(f"{words} first note")
    session.send(f"{words} second note", role="assistant")
    session.save()
    return mirror, session.id


def test_each_role_sees_only_its_own_sessions_through_the_api(team):
    alice, alice_id = _filled(team["alice"], "Alice's plan", "apricot")
    bob, bob_id = _filled(team["bob"], "Bob's plan", "blueberry")
    with alice, bob:
        assert [s.session_id for s in alice.list_sessions()] == [alice_id]
        assert [s.session_id for s in bob.list_sessions()] == [bob_id]
        assert bob.count_sessions() == 1
        with pytest.raises(SessionNotFoundError):
            bob.load_session(alice_id)
        assert bob.search("apricot") == []
        assert [m.session_id for m in alice.search("apricot")] == [alice_id, alice_id]
        assert bob.delete_session(alice_id) is False
        assert alice.load_session(alice_id).get_messages()[0].content == "apricot first note"
        # The owner is the role; user_id stays what the API was given (None here).
        assert alice.load_session(alice_id).user_id is None


def test_each_role_sees_only_its_own_rows_through_raw_sql(team):
    alice, alice_id = _filled(team["alice"], "Alice's plan", "apricot")
    alice.close()
    with psycopg.connect(team["bob"], autocommit=True) as bob:
        assert bob.execute("SELECT count(*) FROM sessions").fetchone() == (0,)
        assert bob.execute("SELECT count(*) FROM messages").fetchone() == (0,)
        assert (
            bob.execute("UPDATE sessions SET title = 'mine' WHERE id = %s", (alice_id,)).rowcount
            == 0
        )
        assert bob.execute("DELETE FROM messages WHERE session_id = %s", (alice_id,)).rowcount == 0
        with pytest.raises(pg_errors.InsufficientPrivilege, match="row-level security"):
            bob.execute("INSERT INTO sessions (id, owner) VALUES ('forged', 'alice')")
        bob.execute("INSERT INTO sessions (id) VALUES ('own')")
        with pytest.raises(pg_errors.InsufficientPrivilege, match="row-level security"):
            bob.execute("UPDATE sessions SET owner = 'alice' WHERE id = 'own'")
        # A message cannot be slipped into someone else's session.
        with pytest.raises(pg_errors.ForeignKeyViolation):
            bob.execute(
                "INSERT INTO messages (id, session_id, role, content) "
                "VALUES ('msg_forged', %s, 'user', 'hello')",
                (alice_id,),
            )
        # The same session id can exist for two people (e.g. both imported one bundle).
        bob.execute("INSERT INTO sessions (id, title) VALUES (%s, 'Bob''s copy')", (alice_id,))
        titles = bob.execute("SELECT title FROM sessions WHERE id = %s", (alice_id,)).fetchall()
        assert titles == [("Bob's copy",)]
        # The schema is the owner's: members only read and write rows.
        with pytest.raises(pg_errors.InsufficientPrivilege):
            bob.execute("DROP TABLE messages")
        # The search function, which runs as the tables' owner, checks who is asking.
        found = bob.execute(
            "SELECT activemirror_count('alice', 'apricot', NULL, NULL, NULL, NULL, NULL)"
        ).fetchone()
        assert found == (0,)
    with psycopg.connect(team["alice"], autocommit=True) as alice_sql:
        found = alice_sql.execute(
            "SELECT activemirror_count('alice', 'apricot', NULL, NULL, NULL, NULL, NULL)"
        ).fetchone()
        assert found == (2,)
    # The administrator (the tables' owner) sees both people's rows.
    with psycopg.connect(team["admin"], autocommit=True) as root:
        owners = root.execute(
            "SELECT owner FROM sessions WHERE id = %s ORDER BY owner", (alice_id,)
        )
        assert [r[0] for r in owners] == ["alice", "bob"]
    with ActiveMirror("postgresql", dsn=team["alice"]) as alice:
        assert alice.load_session(alice_id).title == "Alice's plan"


def test_raw_sql_rows_work_with_the_api(team):
    """A row inserted with plain SQL gets its owner, position and search words."""
    with psycopg.connect(team["bob"], autocommit=True) as bob:
        bob.execute("INSERT INTO sessions (id, title) VALUES ('session_raw', 'From psql')")
        for text in ("Coffee at the Café", "notes on example.com and foo_bar"):
            bob.execute(
                "INSERT INTO messages (id, session_id, role, content) "
                "VALUES (%s, 'session_raw', 'user', %s)",
                (f"msg_raw_{len(text)}", text),
            )
    with ActiveMirror("postgresql", dsn=team["bob"]) as mirror:
        session = mirror.load_session("session_raw")
        assert session.message_count == 2
        assert [m.content for m in session.get_messages(limit=1)] == [
            "notes on example.com and foo_bar"
        ]
        assert [m.id for m in mirror.search("cafe")] == ["msg_raw_18"]
        assert [m.id for m in mirror.search("example foo")] == ["msg_raw_32"]
        session.send("and one more")
        session.save()
        assert mirror.load_session("session_raw").message_count == 3
    with ActiveMirror("postgresql", dsn=team["alice"]) as alice:
        assert alice.search("cafe") == []


def test_a_member_cannot_migrate_and_is_told_who_can(team):
    with psycopg.connect(team["superuser"], autocommit=True) as root:
        root.execute("DELETE FROM activemirror_migrations WHERE name = %s", (MIGRATIONS[-1][0],))
    with pytest.raises(StorageError, match=r"role 'alice'.*owner must open the store"):
        PostgreSQLStorage(team["alice"])


# ---------------------------------------------------------------------------------------------
# Migrations


def test_migrations_are_recorded_and_idempotent(postgres_dsn):
    store = PostgreSQLStorage(postgres_dsn)
    names = [name for name, _ in MIGRATIONS]
    assert store.applied_migrations() == sorted(names)
    store.close()
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        session = mirror.create_session("kept")
        session.send("still here")
        session.save()
    for _ in range(2):
        again = PostgreSQLStorage(postgres_dsn)
        assert again.applied_migrations() == sorted(names)
        assert again.count_messages(session.id) == 1
        again.close()


def test_concurrent_first_opens_migrate_once(postgres_dsn):
    errors: list[BaseException] = []
    stores: list[PostgreSQLStorage] = []

    def open_store() -> None:
        try:
            stores.append(PostgreSQLStorage(postgres_dsn))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert all(s.applied_migrations() == sorted(n for n, _ in MIGRATIONS) for s in stores)
    for s in stores:
        s.close()


# ---------------------------------------------------------------------------------------------
# The server going away


def _short_timeout(dsn: str) -> str:
    return psycopg.conninfo.make_conninfo(dsn, connect_timeout=2)


def test_server_stopped_and_restarted_mid_session(postgres_server, postgres_dsn):
    mirror = ActiveMirror("postgresql", dsn=_short_timeout(postgres_dsn))
    session = mirror.create_session("Through a restart")
    for i in range(3):
        session.send(f"saved {i}")
    session.save()
    session.send("unsaved 3")
    session.send("unsaved 4")

    postgres_server.stop()
    try:
        with pytest.raises(StorageError, match="unsaved messages are kept in memory") as caught:
            session.save()
        assert "PostgreSQL database" in str(caught.value)
        assert session.unsaved_count == 2 and session.message_count == 5
        with pytest.raises(StorageError, match="cannot reach"):
            mirror.list_sessions()
    finally:
        postgres_server.start()

    assert session.save() == session.id
    assert session.unsaved_count == 0
    with ActiveMirror("postgresql", dsn=postgres_dsn) as other:
        again = other.load_session(session.id)
        assert [m.content for m in again.get_messages()] == [
            "saved 0", "saved 1", "saved 2", "unsaved 3", "unsaved 4",
        ]  # fmt: skip
    mirror.close()


def test_server_stopped_during_a_save_leaves_nothing_half_written(postgres_server, postgres_dsn):
    mirror = ActiveMirror("postgresql", dsn=_short_timeout(postgres_dsn))
    session = mirror.create_session("Before")
    session.send("one")
    session.send("two")
    session.save()
    session.title = "After"
    for word in ("three", "four", "five"):
        session.send(word)

    # Hold a lock that makes the save wait after it has updated the session row and before
    # its messages go in; then stop the server under it.
    blocker = psycopg.connect(postgres_server.dsn(_dbname(postgres_dsn), SUPERUSER))
    blocker.execute("LOCK TABLE messages IN EXCLUSIVE MODE")
    outcome: list[BaseException | str] = []

    def save() -> None:
        try:
            outcome.append(session.save())
        except BaseException as exc:  # checked below
            outcome.append(exc)

    saver = threading.Thread(target=save)
    saver.start()
    try:
        _wait_for_lock_wait(blocker)
    finally:
        postgres_server.stop()
        saver.join(30)
        blocker.close()
        postgres_server.start()

    assert len(outcome) == 1 and isinstance(outcome[0], StorageError), outcome
    assert "lost the connection" in str(outcome[0])
    with ActiveMirror("postgresql", dsn=postgres_dsn) as other:
        stored = other.load_session(session.id)
        assert stored.title == "Before" and stored.message_count == 2
        assert [m.content for m in stored.get_messages()] == ["one", "two"]
    assert session.unsaved_count == 3

    session.save()
    with ActiveMirror("postgresql", dsn=postgres_dsn) as other:
        stored = other.load_session(session.id)
        assert stored.title == "After"
        assert [m.content for m in stored.get_messages()] == [
            "one", "two", "three", "four", "five",
        ]  # fmt: skip
    mirror.close()


def _dbname(dsn: str) -> str:
    return psycopg.conninfo.conninfo_to_dict(dsn)["dbname"]  # type: ignore[return-value]


def _wait_for_lock_wait(watcher: psycopg.Connection) -> None:
    def waiting() -> int:
        row = watcher.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE application_name = 'activemirror-jupyter' AND wait_event_type = 'Lock'"
        ).fetchone()
        return row[0] if row else 0

    wait_until(waiting, "the save to wait on the locked table", interval=0.05)


def test_a_save_repeated_after_an_unknown_outcome_writes_nothing_twice(postgres_dsn):
    """If the link drops at commit time the session cannot know whether the commit went
    through, so it keeps the messages and saves them again: that must not duplicate them."""
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        session = mirror.create_session("Commit in doubt")
        session.send("a")
        session.send("b")
        pending = session.get_messages()
        meta = session.metadata_snapshot()
        session.save()  # the commit "went through"
        later = replace(pending[-1], id="msg_later", content="c")
        assert mirror.store.save(meta, [*pending, later]).count == 3
        assert [m.content for m in mirror.load_session(session.id).get_messages()] == [
            "a", "b", "c",
        ]  # fmt: skip


def test_unreachable_or_wrong_database_is_a_clear_error_without_the_password(postgres_server):
    wrong_db = postgres_server.dsn("no_such_database", TEST_ROLE)
    with pytest.raises(StorageError, match='database "no_such_database" does not exist'):
        ActiveMirror("postgresql", dsn=wrong_db)
    refused = "postgresql://alice:s3cret-pw@127.0.0.1:1/team?connect_timeout=2"
    with pytest.raises(StorageError) as caught:
        ActiveMirror("postgresql", dsn=refused)
    assert "cannot open PostgreSQL database team on 127.0.0.1:1 as alice" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    with pytest.raises(StorageError, match="not a valid connection string") as caught:
        ActiveMirror("postgresql", dsn="host=x password=s3cret-pw 'unterminated")
    assert "s3cret" not in str(caught.value)
    with pytest.raises(ValueError, match="needs a dsn"):
        ActiveMirror("postgresql")


def test_closed_store_says_so(postgres_dsn):
    mirror = ActiveMirror("postgresql", dsn=postgres_dsn)
    mirror.close()
    with pytest.raises(StorageError, match="is closed"):
        mirror.list_sessions()


# ---------------------------------------------------------------------------------------------
# Search and storage details that only this store can get wrong


def test_search_keeps_the_shared_word_rules(postgres_dsn):
    long_word = "x" * 3000  # longer than PostgreSQL's lexeme limit
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        session = mirror.create_session("words")
        session.send("see example.com/path, foo_bar and 3.14")
        session.send(f"a {long_word} b")
        session.send("it's O'Reilly's \\ 'quoted' & | ! :* (stuff)")
        session.save()
        assert [m.content[:3] for m in mirror.search("EXAMPLE com path")] == ["see"]
        assert len(mirror.search("foo bar 3 14")) == 1
        assert len(mirror.search("foo_bar")) == 1
        assert len(mirror.search(long_word)) == 1
        assert len(mirror.search("reilly s quoted stuff")) == 1
        assert mirror.search("& | ! :* ' \\") == []
        assert mirror.search("exam") == []  # whole words only


def test_tables_use_postgresql_types_and_the_sqlite_columns(postgres_dsn):
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        session = mirror.create_session("types")
        session.send("hello", metadata={"cell": 3})
        session.send("odd", metadata={"nul": "a\x00b"})  # jsonb would refuse this one
        session.save()
        assert [m.metadata for m in mirror.load_session(session.id).get_messages()] == [
            {"cell": 3},
            {"nul": "a\x00b"},
        ]
    with psycopg.connect(postgres_dsn) as conn:
        columns = {
            (table, name): kind
            for table, name, kind in conn.execute(
                "SELECT table_name, column_name, data_type FROM information_schema.columns "
                "WHERE table_name IN ('sessions', 'messages')"
            )
        }
        row = conn.execute(
            "SELECT timestamp, metadata->>'cell', owner FROM messages WHERE seq = 0"
        ).fetchone()
    for name in (
        "id user_id title created_at updated_at status parent_session_id metadata "
        "max_context_messages message_count"
    ).split():
        assert ("sessions", name) in columns
    for name in "id session_id role content timestamp metadata seq".split():
        assert ("messages", name) in columns
    assert columns[("messages", "timestamp")] == "timestamp with time zone"
    assert row is not None and row[0].tzinfo is not None
    assert row[1:] == ("3", TEST_ROLE)


def test_paging_and_search_use_indexes(postgres_dsn):
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        session = mirror.create_session("big")
        for i in range(2000):
            session.send(f"message {i} word{i % 50}")
        session.save()
    with psycopg.connect(postgres_dsn) as conn:
        conn.execute("ANALYZE")
        conn.execute("SET enable_seqscan = off")  # tiny tables: ask what it *can* use
        page = _plan(
            conn,
            "SELECT * FROM messages WHERE owner = current_user AND session_id = %s "
            "AND seq >= 1980 AND seq < 2000 ORDER BY seq",
            session.id,
        )
        # what activemirror_search runs, as the tables' owner (this role)
        found = _plan(
            conn,
            "SELECT * FROM messages WHERE owner = current_user "
            "AND search_vector @@ 'word7'::tsquery ORDER BY timestamp DESC LIMIT 50",
        )
    assert "messages_session_seq" in page
    assert "messages_search" in found


def test_a_search_right_after_a_bulk_save_starts_from_the_words_index(
    postgres_server, postgres_dsn
):
    """No ANALYZE has run, so the planner knows nothing of the new rows: the search must still
    look its words up in the GIN index, not filter every row of the owner (which took 30 ms
    instead of 3 over 100,000 messages)."""
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        session = mirror.create_session("bulk")
        for i in range(3000):
            session.send(f"message {i} word{i % 50}")
        session.save()
    plans: list[str] = []
    dbname = psycopg.conninfo.conninfo_to_dict(postgres_dsn)["dbname"]
    with postgres_server.connect(str(dbname)) as conn:
        conn.add_notice_handler(lambda notice: plans.append(notice.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")  # logs the plans of the function's statements
        conn.execute("SET auto_explain.log_min_duration = 0")
        conn.execute("SET auto_explain.log_nested_statements = on")
        conn.execute("SET client_min_messages = log")
        conn.execute(f"SET ROLE {TEST_ROLE}")  # search as the store's role
        for function in ("activemirror_find", "activemirror_count"):
            extra = ", 50, 0" if function == "activemirror_find" else ""
            conn.execute(
                f"SELECT * FROM {function}(current_user, 'word7'::tsquery, "
                f"NULL, NULL, NULL, NULL, NULL{extra})"
            ).fetchall()
    nested = [p for p in plans if "by_words" in p]  # the functions' own statements
    assert len(nested) == 2, plans
    for plan in nested:
        assert "Bitmap Index Scan on messages_search" in plan, plan
        assert "messages_session_seq" not in plan, plan


def _plan(conn: psycopg.Connection, query: str, *params: object) -> str:
    rows = conn.execute(f"EXPLAIN {query}", params or None)  # type: ignore[arg-type]
    return "\n".join(r[0] for r in rows)


# ---------------------------------------------------------------------------------------------
# Portability: exports and bundles move between PostgreSQL and the local stores unchanged.
# (test_portability.py covers the local stores; its sample data is reused here.)

LOCAL_STORES = ["sqlite", "json"]


def _open(kind: str, tmp_path, postgres_server: PostgresServer, name: str) -> ActiveMirror:
    if kind == "postgresql":
        db = postgres_server.create_database(owner=TEST_ROLE)
        return ActiveMirror("postgresql", dsn=postgres_server.dsn(db, TEST_ROLE))
    return open_store(kind, tmp_path, name)


DIRECTIONS = [("postgresql", k) for k in LOCAL_STORES] + [(k, "postgresql") for k in LOCAL_STORES]


@pytest.mark.parametrize("source, target", [*DIRECTIONS, ("postgresql", "postgresql")])
def test_session_exports_move_to_and_from_postgresql(tmp_path, postgres_server, source, target):
    a = _open(source, tmp_path, postgres_server, "a")
    b = _open(target, tmp_path, postgres_server, "b")
    with a, b:
        for session_id in fill(a):
            text = a.load_session(session_id).export("json")
            assert import_session(text, b).export("json") == text
            assert b.load_session(session_id).export("json") == text


@pytest.mark.parametrize("source, target", DIRECTIONS)
def test_whole_store_moves_to_and_from_postgresql(tmp_path, postgres_server, source, target):
    a = _open(source, tmp_path, postgres_server, "a")
    b = _open(target, tmp_path, postgres_server, "b")
    with a, b:
        ids = fill(a)
        bundle = export_all_data(a)
        import_all_data(json.loads(json.dumps(bundle)), b)
        assert dumps(export_all_data(b)) == dumps(bundle)
        assert [s.session_id for s in b.list_sessions(parent_session_id=ids[0])] == [ids[1]]
        assert len(b.search("kick-off")) == 1
        delete_all_data(b)
        assert b.list_sessions() == []


def test_command_line_reaches_postgresql_with_dsn(tmp_path, postgres_dsn, capsys):
    from activemirror_jupyter.cli import main

    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        ids = fill(mirror)
    assert main(["list", "--dsn", postgres_dsn, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert sorted(s["id"] for s in listed) == sorted(ids)
    backup = tmp_path / "backup.json"
    assert main(["backup", str(backup), "--dsn", postgres_dsn, "--no-vault"]) == 0
    db = tmp_path / "restored.db"
    assert main(["restore", str(backup), "--db", str(db)]) == 0
    with ActiveMirror("sqlite", db_path=db) as restored:
        assert sorted(s.session_id for s in restored.list_sessions()) == sorted(ids)


WRITER = """
import sys
from activemirror_jupyter import ActiveMirror
dsn, session_id, worker = sys.argv[1], sys.argv[2], sys.argv[3]
with ActiveMirror("postgresql", dsn=dsn, autosave=True) as mirror:
    session = mirror.load_session(session_id)
    for i in range(100):
        session.send(f"worker {worker} message {i}")
print("ok")
"""


def test_four_processes_autosave_into_one_session(tmp_path, postgres_dsn):
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        shared = mirror.create_session("Shared")
        shared.save()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, postgres_dsn, shared.id, str(w)],
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
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        session = mirror.load_session(shared.id)
        messages = session.get_messages()
        assert session.message_count == len(messages) == len({m.id for m in messages}) == 400
        for w in range(4):
            own = [m.content for m in messages if m.content.startswith(f"worker {w} ")]
            assert own == [f"worker {w} message {i}" for i in range(100)]  # each in its order
