"""A team's PostgreSQL store behind JupyterLab: the server connects as one member (bob), and
through every endpoint — reads, search, attachments, exports, verify, writes — bob sees and
changes only his own sessions, never alice's, whatever ids he sends."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from server_stores import Store

from activemirror_jupyter.core.mirror import ActiveMirror
from activemirror_jupyter.core.models import Attachment

psycopg = pytest.importorskip("psycopg")

MEMBERS = ("activemirror_admin", "alice", "bob")


@pytest.fixture
def store(team, activemirror_home) -> Iterator[Store]:
    """The server serves the team database as bob (overrides conftest's ``store``)."""
    result = Store("postgresql", activemirror_home, team["bob"])
    yield result
    result.close()


@pytest.fixture
def alice(team) -> Iterator[SimpleNamespace]:
    """Alice's session, with a child, a note holding an attachment, and a rare word."""
    with ActiveMirror("postgresql", dsn=team["alice"]) as mirror:
        session = mirror.create_session("Alice's plan", tags=["secret"])
        note = session.send(
            "apricot strategy",
            attachments=[Attachment.from_bytes("fig", "image/png", b"\x89PNG alice")],
        )
        session.save()
        child = mirror.create_session("Alice's sprint", session.id)
        child.send("apricot details")
        child.save()
        yield SimpleNamespace(id=session.id, child_id=child.id, note_id=note.id, mirror=mirror)


@pytest.fixture
def bob(team) -> Iterator[SimpleNamespace]:
    with ActiveMirror("postgresql", dsn=team["bob"]) as mirror:
        session = mirror.create_session("Bob's plan")
        session.send("blueberry strategy")
        session.save()
        yield SimpleNamespace(id=session.id, mirror=mirror)


async def test_listings_and_search_show_only_the_members_own_sessions(store, api, alice, bob):
    for params, expected in (
        ({}, [bob.id]),
        ({"roots": "1"}, [bob.id]),
        ({"tag": "secret"}, []),
        ({"parent": alice.id}, []),
    ):
        _, body, _ = await api("sessions", params=params)
        assert [s["id"] for s in body["sessions"]] == expected, params
        assert body["total"] == len(expected)

    _, hits, _ = await api("search", params={"q": "apricot"})
    assert hits == {"query": "apricot", "total": 0, "hits": [], "limit": 50, "offset": 0}
    _, own, _ = await api("search", params={"q": "blueberry"})
    assert own["total"] == 1

    _, report, _ = await api("verify")
    assert report["sessions"] == 1 and report["ok"] is True


@pytest.mark.parametrize(
    "path",
    [
        ("sessions", "{alice}"),
        ("sessions", "{alice}", "messages"),
        ("sessions", "{alice}", "messages", "{note}"),
        ("sessions", "{alice}", "messages", "{note}", "attachments", "fig"),
        ("sessions", "{alice}", "export"),
        ("sessions", "{child}", "export"),
    ],
)
async def test_another_members_session_is_a_404_everywhere(store, api, alice, bob, path):
    parts = [p.format(alice=alice.id, child=alice.child_id, note=alice.note_id) for p in path]

    status, body, _ = await api(*parts)

    assert status == 404, body
    assert "apricot" not in str(body) and "Alice's" not in str(body)


async def test_verify_of_another_members_session_is_a_404(store, api, alice, bob):
    status, body, _ = await api("verify", params={"session_id": alice.id})
    assert status == 404
    assert "apricot" not in str(body)


async def test_a_member_cannot_write_into_another_members_session(store, api_send, alice, bob):
    status, _, _ = await api_send(
        "POST", "sessions", alice.id, "messages", json={"content": "bob was here"}
    )
    child_status, _, _ = await api_send(
        "POST", "sessions", json={"title": "Bob under Alice", "parent_session_id": alice.id}
    )

    assert status == 404 and child_status == 404
    mine = alice.mirror.load_session(alice.id)
    assert [m.content for m in mine.get_messages()] == ["apricot strategy"]
    assert [c.title for c in mine.children()] == ["Alice's sprint"]


async def test_what_a_member_writes_through_the_server_is_theirs_alone(store, api_send, alice, bob):
    status, created, _ = await api_send("POST", "sessions", json={"title": "Bob's new idea"})
    assert status == 201
    status, note, _ = await api_send(
        "POST", "sessions", created["id"], "messages", json={"content": "cranberry plan"}
    )
    assert status == 201

    assert [m.content for m in bob.mirror.load_session(created["id"]).get_messages()] == [
        "cranberry plan"
    ]
    assert created["id"] not in [s.session_id for s in alice.mirror.list_sessions()]
    assert alice.mirror.search("cranberry") == []
