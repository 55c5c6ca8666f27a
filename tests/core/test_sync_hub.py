"""The team store (PostgreSQL) as a hub between a person's devices, under its row
security: the same guarantees as a folder, and nothing of one member reaches another."""

from __future__ import annotations

from pathlib import Path

import pytest
from sync_devices import check_one_record, device, identities, sync_all

from activemirror_jupyter import ActiveMirror, Attachment, SyncError, SyncReport

psycopg = pytest.importorskip("psycopg")


def url(dsn: str) -> str:
    """The test server's DSN (key=value) as the postgresql:// URL users give sync."""
    from urllib.parse import quote

    p = psycopg.conninfo.conninfo_to_dict(dsn)
    return f"postgresql://{p['user']}@/{p['dbname']}?host={quote(p['host'])}&port={p['port']}"


@pytest.fixture
def hub(team: dict[str, str]) -> dict[str, str]:
    """The team database's members as the postgresql:// URLs users give sync."""
    return {role: url(team[role]) for role in ("alice", "bob")}


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


def test_two_devices_share_one_record_through_the_team_store(hub, laptops):
    a, b = laptops
    s = a.create_session("Assay 14", tags=["lab"])
    s.send("plate 3 discarded")
    s.send("fig", attachments=[Attachment.from_bytes("f.png", "image/png", b"\x89PNG hub")])
    report = a.sync(hub["alice"])
    assert (report.pushed, report.pulled) == (2, 0)
    assert b.sync(hub["alice"]).pulled == 2
    on_b = b.load_session(s.id)
    on_b.send("reading from the desk")
    on_b.title = "Assay 14 (final)"
    sync_all([a, b], hub["alice"])
    record = check_one_record([a, b])
    assert record[s.id]["title"] == "Assay 14 (final)"
    assert [m[2] for m in record[s.id]["messages"]] == [
        "plate 3 discarded",
        "fig",
        "reading from the desk",
    ]
    with ActiveMirror("postgresql", dsn=hub["alice"]) as server:
        assert server.load_session(s.id).head == record[s.id]["head"] and server.verify().ok
    for mirror in (a, b):
        assert mirror.sync(hub["alice"]) == SyncReport(0, 0, mirror.last_sync()["remote"])


def test_messages_written_straight_into_the_team_store_come_down(hub, laptops):
    a, _ = laptops
    s = a.create_session("shared")
    s.send("from the laptop")
    a.sync(hub["alice"])
    with ActiveMirror("postgresql", dsn=hub["alice"], autosave=True) as server:
        server.load_session(s.id).send("typed in the server's sidebar")
        server.create_session("made on the hub").send("hello")
    assert a.sync(hub["alice"]).pulled == 2
    assert [m.content for m in a.saved_messages(s.id)] == [
        "from the laptop",
        "typed in the server's sidebar",
    ]
    assert "made on the hub" in [m.title for m in a.list_sessions()]
    assert a.verify().ok


def test_another_member_sees_nothing_of_it(hub, laptops):
    a, _ = laptops
    a.create_session("alice's").send("private")
    a.sync(hub["alice"])
    with ActiveMirror("sqlite", db_path=Path(a.store.path).parent / "bob.db") as bob:
        assert bob.sync(hub["bob"]).pulled == 0
        assert bob.list_sessions() == []


def test_deletes_and_seals_go_through_the_hub(hub, laptops):
    a, b = laptops
    gone = a.create_session("to delete")
    gone.send("x")
    kept = a.create_session("to seal")
    kept.send("result")
    sync_all([a, b], hub["alice"])
    a.delete_session(gone.id)
    a.load_session(kept.id).seal()
    sync_all([a, b], hub["alice"])
    record = check_one_record([a, b])
    assert list(record) == [kept.id] and record[kept.id]["status"] == "sealed"


def test_the_password_of_a_dsn_is_never_shown(hub, laptops, postgres_server):
    a, _ = laptops
    a.create_session("x").send("y")
    with_password = hub["alice"].replace("alice@", "alice:hunter2-secret@", 1)
    report = a.sync(with_password)  # the test server trusts local roles: any password works
    assert "hunter2" not in report.remote and "hunter2" not in str(a.last_sync())
    with pytest.raises(SyncError) as caught:
        a.sync("postgresql://alice:hunter2-secret@127.0.0.1:1/nowhere?connect_timeout=2")
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in str(a.last_sync())


def test_a_role_without_grants_is_a_sync_error(hub, laptops, postgres_server):
    a, _ = laptops
    postgres_server.create_role("mallory")  # a login role, not a member of the team
    a.create_session("x").send("y")
    stranger = hub["alice"].replace("alice@", "mallory@", 1)
    with pytest.raises(SyncError, match="team store|permission|denied"):
        a.sync(stranger)
    assert a.sync(hub["alice"]).pushed == 1  # nothing was lost meanwhile


def test_an_unreachable_hub_leaves_what_was_not_pushed_for_the_next_sync(hub, laptops):
    a, b = laptops
    a.create_session("first").send("one")
    a.sync(hub["alice"])
    a.create_session("second").send("two")
    with pytest.raises(SyncError, match="cannot reach"):
        a.sync("postgresql://alice@127.0.0.1:1/nowhere?connect_timeout=2")
    assert a.sync(hub["alice"]).pushed == 1
    b.sync(hub["alice"])
    assert sorted(m.title for m in b.list_sessions()) == ["first", "second"]


def test_a_seal_through_the_hub_keeps_late_messages_in_one_child(hub, laptops):
    a, b = laptops
    s = a.create_session("Experiment 9")
    s.send("result")
    sync_all([a, b], hub["alice"])
    a.load_session(s.id).seal()
    a.sync(hub["alice"])
    late = b.load_session(s.id).send("late, before the desk had the seal")
    sync_all([b, a], hub["alice"])
    record = check_one_record([a, b])
    assert [m[2] for m in record[s.id]["messages"]] == ["result"]
    (child,) = [r for r in record.values() if r["parent"] == s.id]
    assert child["title"] == "Experiment 9 (after seal)"
    assert [m[0] for m in child["messages"]] == [late.id]
    with ActiveMirror("postgresql", dsn=hub["alice"]) as server:
        assert server.verify().ok and len(server.list_sessions()) == 2
