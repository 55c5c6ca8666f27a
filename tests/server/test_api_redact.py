"""``POST /activemirror/api/sessions/{id}/messages/{mid}/redact``: a message removed for good
through the HTTP API — every bad input a 4xx with a JSON message, XSRF as for every write."""

from __future__ import annotations

import pytest
from test_api_writes import login_cookies, saved_session

one_store = pytest.mark.parametrize("store", ["default"], indirect=True)


async def test_a_message_is_redacted_and_shown_as_redacted(store, api_send, api):
    session = saved_session(store, "Keys", messages=3)
    target = session.get_messages()[1]

    status, body, _ = await api_send(
        "POST",
        "sessions",
        session.id,
        "messages",
        target.id,
        "redact",
        json={"reason": "pasted a key"},
    )

    assert status == 200, body
    assert body["id"] == target.id and body["content"] == ""
    assert body["redacted"]["reason"] == "pasted a key" and body["redacted"]["at"].endswith("Z")
    assert body["hash"] == target.hash and body["attachments"] == []
    _, page, _ = await api("sessions", session.id, "messages")
    shown = {m["id"]: m for m in page["messages"]}
    assert shown[target.id]["redacted"]["reason"] == "pasted a key"
    assert all("redacted" not in m for i, m in shown.items() if i != target.id)
    _, report, _ = await api("verify", params={"session_id": session.id})
    assert report["ok"] is True and report["redacted"] == 1
    mirror = store.open()
    assert mirror.load_session(session.id).get_messages()[1].content == ""

    again, body, _ = await api_send(
        "POST",
        "sessions",
        session.id,
        "messages",
        target.id,
        "redact",
        json={"reason": "another reason"},
    )
    assert again == 200 and body["redacted"]["reason"] == "pasted a key"


@one_store
async def test_bad_input_is_a_4xx_with_a_message(store, api_send):
    session = saved_session(store, "Keys", messages=1)
    mid = session.get_messages()[0].id
    path = ("sessions", session.id, "messages", mid, "redact")
    cases = [
        (path, {"reason": ""}, 400),
        (path, {"reason": "   "}, 400),
        (path, {}, 400),
        (path, {"reason": 3}, 400),
        (("sessions", session.id, "messages", "msg_nope", "redact"), {"reason": "x"}, 404),
        (("sessions", "session_nope", "messages", mid, "redact"), {"reason": "x"}, 404),
        (("sessions", session.id, "messages", "bad id!", "redact"), {"reason": "x"}, 400),
    ]
    for parts, body, expected in cases:
        status, answer, _ = await api_send("POST", *parts, json=body)
        assert status == expected, (parts, body, answer)
        assert isinstance(answer, dict) and answer["message"], (parts, body, answer)
    status, answer, _ = await api_send("POST", *path, body=b"not json")
    assert status == 400 and answer["message"]
    assert store.open().load_session(session.id).get_messages()[0].content == "message 1"


@one_store
async def test_a_sealed_session_can_be_redacted(store, api_send, api):
    session = saved_session(store, "Sealed", messages=2)
    session.seal()
    mid = session.get_messages()[0].id
    status, body, _ = await api_send(
        "POST", "sessions", session.id, "messages", mid, "redact", json={"reason": "personal"}
    )
    assert status == 200, body
    _, report, _ = await api("verify", params={"session_id": session.id})
    assert report["ok"] is True, report


@one_store
async def test_a_cookie_authenticated_redaction_needs_the_xsrf_token(
    store, http_server_client, jp_serverapp, jp_base_url
):
    session = saved_session(store, messages=1)
    mid = session.get_messages()[0].id
    cookies = await login_cookies(http_server_client, jp_serverapp, jp_base_url)
    cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
    url = f"{jp_base_url}activemirror/api/sessions/{session.id}/messages/{mid}/redact"
    body = '{"reason": "forged"}'

    refused = await http_server_client.fetch(
        url, method="POST", body=body, headers={"Cookie": cookie}, raise_error=False
    )
    assert refused.code == 403
    assert store.open().load_session(session.id).get_messages()[0].redacted is None
    accepted = await http_server_client.fetch(
        url,
        method="POST",
        body='{"reason": "from the browser"}',
        headers={"Cookie": cookie, "X-XSRFToken": cookies["_xsrf"]},
        raise_error=False,
    )
    assert accepted.code == 200, accepted.body
    redacted = store.open().load_session(session.id).get_messages()[0].redacted
    assert redacted["reason"] == "from the browser"
