"""The team store (PostgreSQL) as a hub between a person's devices, under its row
security: the same guarantees as a folder, and nothing of one member reaches another."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import PostgresServer
from sync_devices import check_one_record, device, identities, sync_all

from activemirror_jupyter import ActiveMirror, Attachment, SyncError, SyncReport

psycopg = pytest.importorskip("psycopg")
from activemirror_jupyter.core.storage.postgresql import SETUP_SQL  # noqa: E402


def url(dsn: str) -> str:
    """The test server's DSN (key=value) as the postgresql:// URL users give sync."""
    from urllib.parse import quote

    p = psycopg.conninfo.conninfo_to_dict(dsn)
    return f"postgresql://{p['user']}@/{p['dbname']}?host={quote(p['host'])}&port={p['port']}"


@pytest.fixture
def team(postgres_server: PostgresServer) -> Iterator[dict[str, str]]:
    for role in ("activemirror_admin", "alice", "bob"):
        postgres_server.create_role(role)
    db = postgres_server.create_database(owner="activemirror_admin")
    ActiveMirror("postgresql", dsn=postgres_server.dsn(db, "activemirror_admin")).close()
    with postgres_server.connect(db) as conn:
        conn.execute(SETUP_SQL.read_text())
        conn.execute("GRANT activemirror_users TO alice, bob")
    yield {role: url(postgres_server.dsn(db, role)) for role in ("alice", "bob")}
    postgres_server.drop_database(db)


@pytest.fixture
def laptops(tmp_path: Path):
    ids = identities(tmp_path / "ids", 2)
    mirrors = [
        device(tmp_path, "sqlite", "laptop", ids[0]),
        device(tmp_path, "json", "desk", ids[1]),
    ]
    yield mirrors
    for m in mirrors:
        m.close()


def test_two_devices_share_one_record_through_the_team_store(team, laptops):
    a, b = laptops
    s = a.create_session("Assay 14", tags=["lab"])
    s.send("plate 3 discarded")
    s.send("fig", attachments=[Attachment.from_bytes("f.png", "image/png", b"\x89PNG hub")])
    report = a.sync(team["alice"])
    assert (report.pushed, report.pulled) == (2, 0)
    assert b.sync(team["alice"]).pulled == 2
    on_b = b.load_session(s.id)
    on_b.send("reading from the desk")
    on_b.title = "Assay 14 (final)"
    sync_all([a, b], team["alice"])
    record = check_one_record([a, b])
    assert record[s.id]["title"] == "Assay 14 (final)"
    assert [m[2] for m in record[s.id]["messages"]] == [
        "plate 3 discarded",
        "fig",
        "reading from the desk",
    ]
    hub = ActiveMirror("postgresql", dsn=team["alice"])
    assert hub.load_session(s.id).head == record[s.id]["head"] and hub.verify().ok
    for mirror in (a, b):
        assert mirror.sync(team["alice"]) == SyncReport(0, 0, mirror.last_sync()["remote"])


def test_messages_written_straight_into_the_team_store_come_down(team, laptops):
    a, _ = laptops
    s = a.create_session("shared")
    s.send("from the laptop")
    a.sync(team["alice"])
    hub = ActiveMirror("postgresql", dsn=team["alice"], autosave=True)
    hub.load_session(s.id).send("typed in the server's sidebar")
    hub.create_session("made on the hub").send("hello")
    assert a.sync(team["alice"]).pulled == 2
    assert [m.content for m in a.saved_messages(s.id)] == [
        "from the laptop",
        "typed in the server's sidebar",
    ]
    assert "made on the hub" in [m.title for m in a.list_sessions()]
    assert a.verify().ok


def test_another_member_sees_nothing_of_it(team, laptops):
    a, _ = laptops
    a.create_session("alice's").send("private")
    a.sync(team["alice"])
    bob = ActiveMirror("sqlite", db_path=Path(a.store.path).parent / "bob.db")
    assert bob.sync(team["bob"]).pulled == 0
    assert bob.list_sessions() == []


def test_deletes_and_seals_go_through_the_hub(team, laptops):
    a, b = laptops
    gone = a.create_session("to delete")
    gone.send("x")
    kept = a.create_session("to seal")
    kept.send("result")
    sync_all([a, b], team["alice"])
    a.delete_session(gone.id)
    a.load_session(kept.id).seal()
    sync_all([a, b], team["alice"])
    record = check_one_record([a, b])
    assert list(record) == [kept.id] and record[kept.id]["status"] == "sealed"


def test_the_password_of_a_dsn_is_never_shown(team, laptops, postgres_server):
    a, _ = laptops
    a.create_session("x").send("y")
    with_password = team["alice"].replace("alice@", "alice:hunter2-secret@", 1)
    report = a.sync(with_password)  # the test server trusts local roles: any password works
    assert "hunter2" not in report.remote and "hunter2" not in str(a.last_sync())
    with pytest.raises(SyncError) as caught:
        a.sync("postgresql://alice:hunter2-secret@127.0.0.1:1/nowhere?connect_timeout=2")
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in str(a.last_sync())


def test_a_role_without_grants_is_a_sync_error(team, laptops, postgres_server):
    a, _ = laptops
    postgres_server.create_role("mallory")  # a login role, not a member of the team
    a.create_session("x").send("y")
    stranger = team["alice"].replace("alice@", "mallory@", 1)
    with pytest.raises(SyncError, match="team store|permission|denied"):
        a.sync(stranger)
    assert a.sync(team["alice"]).pushed == 1  # nothing was lost meanwhile


def test_an_unreachable_hub_leaves_what_was_not_pushed_for_the_next_sync(team, laptops):
    a, b = laptops
    a.create_session("first").send("one")
    a.sync(team["alice"])
    a.create_session("second").send("two")
    with pytest.raises(SyncError, match="cannot reach"):
        a.sync("postgresql://alice@127.0.0.1:1/nowhere?connect_timeout=2")
    assert a.sync(team["alice"]).pushed == 1
    b.sync(team["alice"])
    assert sorted(m.title for m in b.list_sessions()) == ["first", "second"]


def test_a_seal_through_the_hub_keeps_late_messages_in_one_child(team, laptops):
    a, b = laptops
    s = a.create_session("Experiment 9")
    s.send("result")
    sync_all([a, b], team["alice"])
    a.load_session(s.id).seal()
    a.sync(team["alice"])
    late = b.load_session(s.id).send("late, before the desk had the seal")
    sync_all([b, a], team["alice"])
    record = check_one_record([a, b])
    assert [m[2] for m in record[s.id]["messages"]] == ["result"]
    (child,) = [r for r in record.values() if r["parent"] == s.id]
    assert child["title"] == "Experiment 9 (after seal)"
    assert [m[0] for m in child["messages"]] == [late.id]
    hub = ActiveMirror("postgresql", dsn=team["alice"])
    assert hub.verify().ok and len(hub.list_sessions()) == 2
