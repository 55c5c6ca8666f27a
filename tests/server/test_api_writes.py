"""Writing through the HTTP API: a new session, a note added to one, refusals (sealed
sessions, bad bodies, huge bodies) — and Jupyter Server's XSRF rule for browsers that
authenticate with a cookie."""

from __future__ import annotations

import asyncio
import json
import re

import pytest
from waiting import DEADLINE

XSS = "<img src=x onerror=alert(1)>"
one_store = pytest.mark.parametrize("store", ["default"], indirect=True)
HEX64 = re.compile(r"[0-9a-f]{64}")


def saved_session(store, title="Notes", messages=0, **kwargs):
    mirror = store.open()
    session = mirror.create_session(title, **kwargs)
    for i in range(messages):
        session.send(f"message {i + 1}")
    session.save()
    return session


# -- POST /activemirror/api/sessions -------------------------------------------------------


async def test_a_new_session_is_saved_and_described(store, api_send, api):
    status, body, headers = await api_send(
        "POST", "sessions", json={"title": "Daily Planning", "tags": ["plan", "q3"]}
    )

    assert status == 201, body
    assert body["title"] == "Daily Planning"
    assert body["tags"] == ["plan", "q3"]
    assert body["message_count"] == 0 and body["sealed"] is False and body["head"] is None
    assert headers["Location"].endswith(f"/activemirror/api/sessions/{body['id']}")
    # Saved: a kernel opening the same store sees it, and so does the listing.
    assert store.open().load_session(body["id"]).tags == ("plan", "q3")
    _, listing, _ = await api("sessions")
    assert [s["id"] for s in listing["sessions"]] == [body["id"]]


async def test_a_new_session_can_be_a_child(store, api_send):
    parent = saved_session(store, "Project Alpha")

    status, body, _ = await api_send(
        "POST", "sessions", json={"title": "Sprint 1", "parent_session_id": parent.id}
    )

    assert status == 201, body
    assert body["parent_session_id"] == parent.id
    assert [c.session_id for c in store.open().load_session(parent.id).children()] == [body["id"]]


@one_store
async def test_an_unknown_parent_is_a_404_and_nothing_is_made(store, api_send, api):
    status, body, _ = await api_send(
        "POST", "sessions", json={"title": "Orphan", "parent_session_id": "session_NOPE"}
    )

    assert status == 404
    assert "session_NOPE" in body["message"]
    assert (await api("sessions"))[1]["total"] == 0


@one_store
async def test_markup_in_a_title_is_kept_as_text(store, api_send):
    status, body, _ = await api_send("POST", "sessions", json={"title": XSS})
    assert status == 201
    assert body["title"] == XSS


BAD_SESSION_BODIES = [
    ({}, "title is required"),
    ({"title": 5}, "title must be text"),
    ({"title": None}, "title must be text"),
    ({"title": ["a"]}, "title must be text"),
    ({"title": "x", "tags": "plan"}, "tags must be a list"),
    ({"title": "x", "tags": [1]}, "tag"),
    ({"title": "x", "tags": ["../etc"]}, "tag"),
    ({"title": "x", "parent_session_id": "../../etc"}, "parent session id"),
    ({"title": "x", "parent_session_id": 7}, "parent_session_id must be"),
    ({"title": "x", "owner": "root"}, "unknown field 'owner'"),
    ({"title": "nul\x00byte"}, "NUL"),
]


@one_store
@pytest.mark.parametrize(("body", "expected"), BAD_SESSION_BODIES, ids=lambda v: repr(v)[:40])
async def test_bad_session_bodies_are_a_400_naming_the_field(store, api_send, api, body, expected):
    status, answer, _ = await api_send("POST", "sessions", json=body)

    assert status == 400, answer
    assert expected in answer["message"]
    assert (await api("sessions"))[1]["total"] == 0


NOT_AN_OBJECT = [b"", b"not json", b"[1, 2]", b'"title"', b"null", b'{"title": NaN}', b"\xff\xfe{}"]


@one_store
@pytest.mark.parametrize("raw", NOT_AN_OBJECT, ids=repr)
async def test_a_body_that_is_not_a_json_object_is_a_400(store, api_send, raw):
    status, answer, _ = await api_send("POST", "sessions", body=raw)
    assert status == 400
    assert "JSON object" in answer["message"]


@one_store
async def test_deeply_nested_json_is_a_400_not_a_crash(store, api_send):
    status, answer, _ = await api_send("POST", "sessions", body=b"[" * 100_000 + b"]" * 100_000)
    assert status == 400
    assert "JSON object" in answer["message"]


# -- POST /activemirror/api/sessions/{id}/messages -----------------------------------------


async def test_a_note_is_added_saved_and_chained(store, api_send, api):
    session = saved_session(store, messages=2)

    status, body, _ = await api_send(
        "POST", "sessions", session.id, "messages", json={"content": "Decided: ship it"}
    )

    assert status == 201, body
    assert body["content"] == "Decided: ship it"
    assert body["role"] == "user"
    assert body["session_id"] == session.id
    assert HEX64.fullmatch(body["hash"])
    assert body["attachments"] == []
    reopened = store.open().load_session(session.id)
    assert reopened.message_count == 3
    assert reopened.head == body["hash"]
    assert [m.content for m in reopened.get_messages(limit=1)] == ["Decided: ship it"]
    _, page, _ = await api("sessions", session.id, "messages", params={"limit": 1})
    assert page["messages"][0]["id"] == body["id"] and page["total"] == 3


@pytest.mark.parametrize("role", ["user", "assistant", "system"])
async def test_a_note_keeps_its_role(store, api_send, role):
    session = saved_session(store)
    status, body, _ = await api_send(
        "POST", "sessions", session.id, "messages", json={"content": "hi", "role": role}
    )
    assert status == 201 and body["role"] == role


async def test_a_sealed_session_refuses_a_note_with_a_409(store, api_send):
    session = saved_session(store, messages=1)
    session.seal()

    status, body, _ = await api_send(
        "POST", "sessions", session.id, "messages", json={"content": "too late"}
    )

    assert status == 409
    assert "sealed" in body["message"]
    assert store.open().load_session(session.id).message_count == 1


@one_store
async def test_a_session_sealed_by_another_process_after_loading_is_still_a_409(store, api_send):
    # The server's view is fresh per request: sealing elsewhere is seen at once.
    session = saved_session(store, messages=1)
    status, _, _ = await api_send("POST", "sessions", session.id, "messages", json={"content": "a"})
    assert status == 201
    store.open().load_session(session.id).seal()
    status, body, _ = await api_send(
        "POST", "sessions", session.id, "messages", json={"content": "b"}
    )
    assert status == 409, body


async def test_a_note_for_an_unknown_session_is_a_404(store, api_send):
    status, body, _ = await api_send(
        "POST", "sessions", "session_NOPE", "messages", json={"content": "hi"}
    )
    assert status == 404
    assert "session_NOPE" in body["message"]


BAD_MESSAGE_BODIES = [
    ({}, "content is required"),
    ({"content": 3}, "content must be text"),
    ({"content": None}, "content must be text"),
    ({"content": "x", "role": "admin"}, "role must be one of user, assistant, system"),
    ({"content": "x", "role": ["user"]}, "role must be text"),
    ({"content": "x", "metadata": {}}, "unknown field 'metadata'"),
    ({"content": "bad\x00"}, "NUL"),
]


@one_store
@pytest.mark.parametrize(("body", "expected"), BAD_MESSAGE_BODIES, ids=lambda v: repr(v)[:40])
async def test_bad_message_bodies_are_a_400(store, api_send, body, expected):
    session = saved_session(store)

    status, answer, _ = await api_send("POST", "sessions", session.id, "messages", json=body)

    assert status == 400, answer
    assert expected in answer["message"]
    assert store.open().load_session(session.id).message_count == 0


@one_store
async def test_a_huge_body_is_a_413_and_nothing_is_kept(store, api_send):
    session = saved_session(store)

    status, answer, _ = await api_send(
        "POST", "sessions", session.id, "messages", json={"content": "x" * (2**20 + 1)}
    )

    assert status == 413
    assert "bytes" in answer["message"]
    assert store.open().load_session(session.id).message_count == 0


async def raw_post(port: int, headers: dict[str, str], body: bytes) -> bytes:
    """POST ``body`` to the sessions route over a plain socket with exactly these
    ``headers``; returns everything the server sends before it closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(f"POST /a%40b/activemirror/api/sessions HTTP/1.1\r\n{head}\r\n".encode())
    writer.write(body)
    await writer.drain()
    try:
        # Until the server closes: it must not wait for the rest of the body (which never
        # comes, so a server that waited would run into the deadline).
        return await asyncio.wait_for(reader.read(-1), timeout=DEADLINE)
    except ConnectionResetError:
        # The server closed with part of the body unread: TCP then resets the connection,
        # and the answer it sent may be lost on the way. It still refused without reading.
        return b""
    finally:
        writer.close()


@one_store
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_huge_body_is_refused_before_it_is_read(
    store, api, jp_http_port, jp_auth_header, framing
):
    await api("sessions")  # the server is up
    headers = {"Host": "127.0.0.1", **jp_auth_header, "Content-Type": "application/json"}
    if framing == "content-length":
        # 50 MB announced, two bytes sent: the answer cannot wait for the rest.
        headers["Content-Length"] = str(50 * 2**20)
        body = b'{"'
    else:
        # No length: refused once more than the limit has arrived, the end never sent.
        headers["Transfer-Encoding"] = "chunked"
        chunk = b"x" * 2**16
        body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(17))

    answer = await raw_post(jp_http_port, headers, body)

    if answer or framing == "content-length":  # nothing of the body is left unread there
        status_line, _, rest = answer.partition(b"\r\n")
        assert status_line.startswith(b"HTTP/1.1 413"), answer[:200]
        message = json.loads(rest.partition(b"\r\n\r\n")[2])["message"]
        assert "bytes" in message and f"{2**20:,}" in message
    assert store.open().list_sessions() == []


@one_store
async def test_a_lone_surrogate_is_a_400(store, api_send):
    session = saved_session(store)
    raw = b'{"content": "\\ud800"}'  # valid JSON, not valid Unicode text
    status, answer, _ = await api_send("POST", "sessions", session.id, "messages", body=raw)
    assert status == 400
    assert "surrogate" in answer["message"]


@one_store
@pytest.mark.parametrize("bad_id", ["..", "%2E%2E%2Fvault", "has%20space", "x" * 129])
async def test_unsafe_ids_in_write_paths_are_a_400(store, jp_fetch, bad_id):
    response = await jp_fetch(
        "activemirror",
        "api",
        "sessions",
        bad_id,
        "messages",
        method="POST",
        body='{"content": "x"}',
        raise_error=False,
    )
    # jp_fetch escapes the path; ".." may be collapsed before routing, which is a 404
    assert response.code in (400, 404)


# -- XSRF: browsers authenticated by a cookie must send the token -------------------------


async def login_cookies(http_server_client, jp_serverapp, base_url: str) -> dict[str, str]:
    """The cookies a browser holds after opening JupyterLab with its token: the login
    cookie and ``_xsrf``."""
    token = jp_serverapp.identity_provider.token
    cookies: dict[str, str] = {}
    for path in (f"api/status?token={token}", "login"):
        response = await http_server_client.fetch(base_url + path, raise_error=False)
        for header in response.headers.get_list("Set-Cookie"):
            name, _, rest = header.partition("=")
            cookies[name] = rest.split(";")[0]
    assert any(name.startswith("username-") for name in cookies) and "_xsrf" in cookies
    return cookies


@one_store
async def test_a_cookie_authenticated_write_without_the_xsrf_token_is_refused(
    store, http_server_client, jp_serverapp, jp_base_url
):
    session = saved_session(store)
    cookies = await login_cookies(http_server_client, jp_serverapp, jp_base_url)
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    url = f"{jp_base_url}activemirror/api/sessions/{session.id}/messages"
    body = '{"content": "forged"}'

    refused = await http_server_client.fetch(
        url, method="POST", body=body, headers={"Cookie": cookie}, raise_error=False
    )
    forged_token = await http_server_client.fetch(
        url,
        method="POST",
        body=body,
        headers={"Cookie": cookie, "X-XSRFToken": "2|00000000|" + "0" * 32 + "|1"},
        raise_error=False,
    )
    accepted = await http_server_client.fetch(
        url,
        method="POST",
        body='{"content": "from the browser"}',
        headers={"Cookie": cookie, "X-XSRFToken": cookies["_xsrf"]},
        raise_error=False,
    )

    assert refused.code == 403
    assert forged_token.code == 403
    assert accepted.code == 201, accepted.body
    contents = [m.content for m in store.open().load_session(session.id).get_messages()]
    assert contents == ["from the browser"]


@one_store
async def test_writes_without_any_credentials_are_refused(store, http_server_client, jp_base_url):
    session = saved_session(store)
    for path, body in (
        ("activemirror/api/sessions", '{"title": "x"}'),
        (f"activemirror/api/sessions/{session.id}/messages", '{"content": "x"}'),
    ):
        response = await http_server_client.fetch(
            jp_base_url + path, method="POST", body=body, raise_error=False
        )
        assert response.code == 403, path
    assert store.open().count_sessions() == 1
    assert store.open().load_session(session.id).message_count == 0
