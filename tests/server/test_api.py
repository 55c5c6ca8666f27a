"""The HTTP API behind the JupyterLab sidebar, against a real server and a real store."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from waiting import wait_for_clock_past

XSS = "<img src=x onerror=alert(1)>"
# Input checks happen before the store is touched: one store is enough for them.
one_store = pytest.mark.parametrize("store", ["default"], indirect=True)
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def seed_sessions(store, count: int, messages: int = 1) -> list[str]:
    """``count`` saved sessions, created (and so updated) one after another; returns ids
    oldest first."""
    mirror = store.open()
    ids = []
    for i in range(count):
        session = mirror.create_session(f"Session {i}")
        for j in range(messages):
            session.send(f"note {j} of session {i}")
        session.save()
        ids.append(session.id)
        wait_for_clock_past(session.updated_at)  # so "newest first" is well defined
    return ids


def seed_long_session(store, count: int, title: str = "Long") -> str:
    mirror = store.open()
    session = mirror.create_session(title)
    for i in range(1, count + 1):
        session.send(f"message {i}", role="user" if i % 2 else "assistant")
    session.save()
    return session.id


# -- GET /activemirror/api/sessions --------------------------------------------------------


async def test_sessions_are_listed_newest_first_with_a_total(store, api):
    ids = seed_sessions(store, 5)

    status, body, headers = await api("sessions", params={"limit": 2})

    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert body["total"] == 5
    assert (body["limit"], body["offset"]) == (2, 0)
    assert [s["id"] for s in body["sessions"]] == [ids[4], ids[3]]
    first = body["sessions"][0]
    assert first["title"] == "Session 4"
    assert first["message_count"] == 1
    assert ISO_Z.fullmatch(first["updated_at"]) and ISO_Z.fullmatch(first["created_at"])


async def test_paging_through_sessions_visits_each_once(store, api):
    ids = seed_sessions(store, 7)

    seen = []
    for offset in range(0, 8, 3):
        status, body, _ = await api("sessions", params={"limit": 3, "offset": offset})
        assert status == 200 and body["total"] == 7
        seen += [s["id"] for s in body["sessions"]]

    assert seen == list(reversed(ids))
    status, body, _ = await api("sessions", params={"offset": 100})
    assert status == 200 and body["sessions"] == [] and body["total"] == 7


async def test_an_empty_store_lists_nothing(store, api):
    status, body, _ = await api("sessions")
    assert status == 200
    assert body == {"sessions": [], "total": 0, "limit": 50, "offset": 0}


async def test_sessions_saved_after_the_server_started_show_up(store, api):
    seed_sessions(store, 1)
    assert (await api("sessions"))[1]["total"] == 1

    # A notebook kernel saves another session while JupyterLab is running.
    later = store.open().create_session("Saved later")
    later.send("hello")
    later.save()

    status, body, _ = await api("sessions")
    assert body["total"] == 2
    assert body["sessions"][0]["title"] == "Saved later"


async def test_children_can_be_listed_by_parent(store, api):
    mirror = store.open()
    parent = mirror.create_session("Project")
    parent.save()
    child = mirror.create_session("Sprint 1", parent.id)
    child.save()
    mirror.create_session("Unrelated").save()

    status, body, _ = await api("sessions", params={"parent": parent.id})

    assert status == 200
    assert body["total"] == 1
    assert body["sessions"][0]["id"] == child.id
    assert body["sessions"][0]["parent_session_id"] == parent.id


# -- GET /activemirror/api/sessions/{id} ---------------------------------------------------


async def test_one_session_is_described(store, api):
    session_id = seed_long_session(store, 3, title="Daily Planning")

    status, body, _ = await api("sessions", session_id)

    assert status == 200
    assert body["id"] == session_id
    assert body["title"] == "Daily Planning"
    assert body["message_count"] == 3
    assert body["status"] == "active"
    assert ISO_Z.fullmatch(body["updated_at"])


async def test_markup_in_titles_and_messages_comes_back_as_plain_json_text(store, api):
    mirror = store.open()
    session = mirror.create_session(XSS)
    session.send(XSS)
    session.save()

    _, summary, headers = await api("sessions", session.id)
    _, page, _ = await api("sessions", session.id, "messages")

    assert headers["Content-Type"].startswith("application/json")
    assert summary["title"] == XSS
    assert page["messages"][0]["content"] == XSS


# -- GET /activemirror/api/sessions/{id}/messages ------------------------------------------


async def test_messages_page_from_the_newest_end(store, api):
    session_id = seed_long_session(store, 45)

    status, newest, _ = await api("sessions", session_id, "messages", params={"limit": 20})
    _, middle, _ = await api("sessions", session_id, "messages", params={"limit": 20, "offset": 20})
    _, oldest, _ = await api("sessions", session_id, "messages", params={"limit": 20, "offset": 40})

    assert status == 200
    assert newest["total"] == 45 and newest["session_id"] == session_id
    contents = [[m["content"] for m in page["messages"]] for page in (newest, middle, oldest)]
    assert contents[0] == [f"message {i}" for i in range(26, 46)]
    assert contents[1] == [f"message {i}" for i in range(6, 26)]
    assert contents[2] == [f"message {i}" for i in range(1, 6)]
    message = newest["messages"][-1]
    assert message["role"] == "user" and message["session_id"] == session_id
    assert ISO_Z.fullmatch(message["timestamp"])
    assert message["id"].startswith("msg_")


async def test_messages_default_page_is_the_newest_fifty(store, api):
    session_id = seed_long_session(store, 60)

    _, body, _ = await api("sessions", session_id, "messages")

    assert body["limit"] == 50 and body["total"] == 60
    assert body["messages"][0]["content"] == "message 11"
    assert body["messages"][-1]["content"] == "message 60"


# -- GET /activemirror/api/sessions/{id}/export --------------------------------------------


async def test_markdown_export_is_the_default(store, api):
    session_id = seed_long_session(store, 2, title="Weekly Review")

    status, text, headers = await api("sessions", session_id, "export")

    assert status == 200
    assert headers["Content-Type"].startswith("text/markdown")
    assert "Weekly Review" in text
    assert "message 1" in text and "message 2" in text


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("markdown", "text/markdown"), ("json", "application/json"), ("txt", "text/plain")],
)
async def test_each_export_format(store, api, fmt, content_type):
    session_id = seed_long_session(store, 2, title="Exported")
    expected = store.open().load_session(session_id).export(fmt)

    status, body, headers = await api("sessions", session_id, "export", params={"format": fmt})

    assert status == 200
    assert headers["Content-Type"].startswith(content_type)
    if fmt == "json":
        assert body == json.loads(expected)
    else:
        assert body == expected


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("tail", [(), ("messages",), ("export",)])
async def test_an_unknown_session_is_a_404(store, api, tail):
    seed_sessions(store, 1)

    status, body, _ = await api("sessions", "session_DOES_NOT_EXIST", *tail)

    assert status == 404
    assert "session_DOES_NOT_EXIST" in body["message"]


BAD_IDS = [
    "..",
    "%2E%2E",
    "..%2F..%2Fetc%2Fpasswd",
    "%2E%2E%2Fvault",
    ".hidden",
    "-rf",
    "has%20space",
    "nul%00byte",
    "%3Cscript%3E",
    "x" * 129,
]


@one_store
@pytest.mark.parametrize("bad_id", BAD_IDS)
@pytest.mark.parametrize("tail", ["", "/messages", "/export"])
async def test_unsafe_ids_are_a_400(store, raw_get, bad_id, tail):
    status, body, _ = await raw_get(f"/activemirror/api/sessions/{bad_id}{tail}")

    assert status == 400, body
    assert "session id" in body["message"]


@one_store
async def test_path_segments_cannot_climb_out_of_the_api(store, raw_get):
    seed_sessions(store, 1)
    for path in (
        "/activemirror/api/sessions/../../api/contents",
        "/activemirror/api/sessions/x/../../..",
        "/activemirror/api/sessions/x/messages/extra",
    ):
        status, _, _ = await raw_get(path)
        assert status in (400, 404), path


BAD_PAGES = [
    {"limit": "-1"},
    {"limit": "abc"},
    {"limit": "1.5"},
    {"limit": "1e3"},
    {"limit": "0x10"},
    {"limit": "\u0663"},  # ARABIC-INDIC DIGIT THREE: int() would accept it
    {"limit": "1001"},
    {"limit": "99999999999999999999999"},
    {"limit": ""},
    {"offset": "-5"},
    {"offset": "ten"},
    {"offset": "10000000000"},
]


@one_store
@pytest.mark.parametrize("params", BAD_PAGES, ids=lambda p: repr(p))
async def test_bad_paging_parameters_are_a_400(store, api, params):
    session_id = seed_long_session(store, 3)

    for parts in (("sessions",), ("sessions", session_id, "messages")):
        status, body, _ = await api(*parts, params=params)
        assert status == 400, (parts, params, body)
        name = next(iter(params))
        assert name in body["message"]


@one_store
async def test_limits_at_the_edges_are_accepted(store, api):
    seed_sessions(store, 3)
    for params in ({"limit": "0"}, {"limit": "1000"}, {"offset": "1000000000"}):
        status, body, _ = await api("sessions", params=params)
        assert status == 200, params
        assert body["total"] == 3


@one_store
async def test_a_bad_parent_id_is_a_400(store, api):
    status, body, _ = await api("sessions", params={"parent": "../etc"})
    assert status == 400
    assert "parent session id" in body["message"]


async def test_requests_without_credentials_are_refused(store, raw_get):
    session_id = seed_long_session(store, 1, title="Private notes")

    for path in (
        "/activemirror/api/sessions",
        f"/activemirror/api/sessions/{session_id}",
        f"/activemirror/api/sessions/{session_id}/messages",
        f"/activemirror/api/sessions/{session_id}/export",
    ):
        status, body, _ = await raw_get(path, auth=False)
        assert status == 403, path
        assert "Private notes" not in str(body)
        assert "message 1" not in str(body)


async def test_the_vault_is_not_reachable(store, api, raw_get, activemirror_home):
    from activemirror_jupyter.core.vault import VaultMemory

    vault = VaultMemory("correct horse", kdf_iterations=1000)
    vault.store("api_key", "sk-TOP-SECRET-VALUE")
    seed_sessions(store, 1)

    for path in (
        "/activemirror/api/vault",
        "/activemirror/api/vault/api_key",
        "/activemirror/api/sessions/vault",
        "/activemirror/api/sessions/.vault_index.enc",
        "/activemirror/vault",
    ):
        status, body, _ = await raw_get(path)
        assert status in (400, 404), path
        assert "TOP-SECRET" not in str(body)
    _, listing, _ = await api("sessions")
    assert "TOP-SECRET" not in json.dumps(listing)
    assert "api_key" not in json.dumps(listing)


@pytest.mark.parametrize("store", ["folder-as-db"], indirect=True)
async def test_a_store_that_cannot_open_is_reported_not_hidden(store, api):
    status, body, _ = await api("sessions")

    assert status == 500
    assert "session store failed" in body["message"]
    assert "folder" in body["message"]
    # The answer names the file, never the folders above it (they are in the server's log).
    home = Path(store.options["db_path"])
    assert home.name in body["message"] and str(home.parent) not in body["message"]
    assert "/" not in body["message"]
