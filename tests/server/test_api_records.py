"""What the sidebar reads besides listings: one message and its place in the session,
attachments served inert, exports as downloads, the integrity report, and the change token."""

from __future__ import annotations

import json
import sqlite3

import pytest

from activemirror_jupyter.core.models import Attachment
from activemirror_jupyter.core.transfer.exports import EXPORT_FORMATS

one_store = pytest.mark.parametrize("store", ["default"], indirect=True)
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)
#: What a title may hide in a file name: every bidi control (U+202E shows "gnp.exe.html" as
#: "lmth.exe.png"), a zero-width space, a control character, a newline, DEL.
BIDI_AND_CONTROLS = [
    *"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c",
    "\u200b",
    "\x1b",
    "\n",
    "\x7f",
]
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><rect width="4"/></svg>'


def with_attachments(store):
    mirror = store.open()
    session = mirror.create_session("Figures")
    session.send("before")
    note = session.send(
        "a figure and its data",
        attachments=[
            Attachment.from_bytes("fig", "image/png", PNG),
            Attachment.from_bytes("drawing", "image/svg+xml", SVG),
            Attachment.from_bytes("df", "text/csv", "site,value\nÅ,1\n".encode()),
        ],
    )
    session.save()
    return session, note


# -- one message ---------------------------------------------------------------------------


async def test_a_message_comes_with_its_position_and_the_session_size(store, api):
    mirror = store.open()
    session = mirror.create_session("Long")
    sent = [session.send(f"message {i}") for i in range(45)]
    session.save()

    status, body, _ = await api("sessions", session.id, "messages", sent[3].id)

    assert status == 200
    assert body["message"]["content"] == "message 3"
    assert body["position"] == 3 and body["total"] == 45
    # The page that holds it, newest page first, 20 a page: (45 - 1 - 3) // 20 + 1 = 3
    page = (body["total"] - 1 - body["position"]) // 20 + 1
    _, shown, _ = await api(
        "sessions", session.id, "messages", params={"limit": 20, "offset": (page - 1) * 20}
    )
    assert sent[3].id in [m["id"] for m in shown["messages"]]


async def test_a_message_of_another_session_is_a_404(store, api):
    mirror = store.open()
    first = mirror.create_session("First")
    note = first.send("mine")
    first.save()
    second = mirror.create_session("Second")
    second.save()

    status, body, _ = await api("sessions", second.id, "messages", note.id)

    assert status == 404
    assert note.id in body["message"]


# -- attachments ---------------------------------------------------------------------------


async def test_message_json_describes_attachments_without_their_bytes(store, api):
    session, note = with_attachments(store)

    _, page, _ = await api("sessions", session.id, "messages")

    message = page["messages"][-1]
    assert message["id"] == note.id
    assert [a["name"] for a in message["attachments"]] == ["fig", "drawing", "df"]
    fig = message["attachments"][0]
    assert fig == {
        "name": "fig",
        "mime_type": "image/png",
        "size": len(PNG),
        "sha256": note.attachment("fig").sha256,
    }
    assert "data" not in json.dumps(message["attachments"])


async def test_attachments_are_served_with_their_type_and_inert(store, api):
    session, note = with_attachments(store)

    for name, data, mime in (("fig", PNG, "image/png"), ("drawing", SVG, "image/svg+xml")):
        status, body, headers = await api(
            "sessions", session.id, "messages", note.id, "attachments", name
        )
        assert status == 200
        assert headers["Content-Type"] == mime
        assert (body.encode() if isinstance(body, str) else body) == data
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Content-Security-Policy"] == "sandbox"
        assert headers["Content-Disposition"].startswith("inline")


@one_store
async def test_attachment_bytes_are_exact(store, jp_fetch):
    session, note = with_attachments(store)
    response = await jp_fetch(
        "activemirror", "api", "sessions", session.id, "messages", note.id, "attachments", "fig"
    )
    assert response.body == PNG
    download = await jp_fetch(
        "activemirror", "api", "sessions", session.id, "messages", note.id, "attachments", "df",
        params={"download": "1"},
    )  # fmt: skip
    assert download.body == "site,value\nÅ,1\n".encode()
    assert download.headers["Content-Type"] == "text/csv; charset=UTF-8"
    assert download.headers["Content-Disposition"] == 'attachment; filename="df.csv"'


@one_store
@pytest.mark.parametrize(
    ("message", "name", "expected"),
    [("note", "missing", "no attachment 'missing'"), ("msg_NOPE", "fig", "msg_NOPE")],
)
async def test_unknown_messages_and_attachments_are_a_404(store, api, message, name, expected):
    session, note = with_attachments(store)
    message_id = note.id if message == "note" else message

    status, body, _ = await api("sessions", session.id, "messages", message_id, "attachments", name)

    assert status == 404
    assert expected in body["message"]


@one_store
@pytest.mark.parametrize(
    "tail",
    [
        "/messages/..%2F..%2Fvault/attachments/fig",
        "/messages/MSG/attachments/..%2F..%2Fvault",
        "/messages/MSG/attachments/%2Eenv",
        "/messages/MSG/attachments/a%20b",
        "/messages/MSG/attachments/fig?download=maybe",
    ],
)
async def test_unsafe_attachment_paths_are_a_400(store, raw_get, tail):
    session, note = with_attachments(store)
    status, body, _ = await raw_get(
        f"/activemirror/api/sessions/{session.id}" + tail.replace("MSG", note.id)
    )
    assert status == 400, body
    assert body["message"]


@one_store
async def test_an_attachment_changed_behind_the_api_is_refused_not_served(
    store, raw_get, activemirror_home
):
    session, note = with_attachments(store)
    db = sqlite3.connect(activemirror_home / "conversations.db")
    db.execute("UPDATE attachments SET data = ? WHERE name = 'fig'", (b"tampered",))
    db.commit()
    db.close()

    status, body, _ = await raw_get(
        f"/activemirror/api/sessions/{session.id}/messages/{note.id}/attachments/fig"
    )

    assert status == 500
    assert "not the ones recorded" in body["message"]


# -- exports -------------------------------------------------------------------------------


@one_store
async def test_an_unknown_export_format_is_a_400_listing_every_format(store, api):
    session, _ = with_attachments(store)
    status, body, _ = await api("sessions", session.id, "export", params={"format": "pdf"})
    assert status == 400
    for fmt in EXPORT_FORMATS:
        assert fmt in body["message"]


@one_store
async def test_exports_are_named_after_the_title(store, api):
    mirror = store.open()
    session = mirror.create_session('Résumé "Q3" / plan')
    session.save()

    _, _, headers = await api("sessions", session.id, "export", params={"format": "json"})

    disposition = headers["Content-Disposition"]
    assert disposition.startswith('inline; filename="R_sum_ _Q3_ _ plan.json"')
    assert "filename*=UTF-8''R%C3%A9sum%C3%A9%20%22Q3%22%20_%20plan.json" in disposition
    assert "\n" not in disposition and "\r" not in disposition


@one_store
@pytest.mark.parametrize("control", BIDI_AND_CONTROLS)
async def test_download_names_hold_no_bidi_or_control_characters(store, api, control):
    mirror = store.open()
    session = mirror.create_session(f"{control}gnp.exe")
    session.save()

    _, _, headers = await api("sessions", session.id, "export", params={"format": "html"})

    disposition = headers["Content-Disposition"]
    assert disposition == "attachment; filename=\"gnp.exe.html\"; filename*=UTF-8''gnp.exe.html"


@one_store
@pytest.mark.skipif("html" not in EXPORT_FORMATS, reason="the HTML report is not built yet")
async def test_the_html_report_is_a_download_that_cannot_run_script(store, api):
    session, _ = with_attachments(store)

    status, text, headers = await api("sessions", session.id, "export", params={"format": "html"})

    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert headers["Content-Disposition"].startswith('attachment; filename="Figures.html"')
    csp = headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp and "sandbox" in csp
    assert "Figures" in text


@one_store
@pytest.mark.skipif("ipynb" not in EXPORT_FORMATS, reason="the notebook export is not built yet")
async def test_the_notebook_export_is_a_download(store, api):
    session, _ = with_attachments(store)

    status, body, headers = await api("sessions", session.id, "export", params={"format": "ipynb"})

    assert status == 200
    assert headers["Content-Disposition"].startswith('attachment; filename="Figures.ipynb"')
    notebook = json.loads(body) if isinstance(body, str) else body
    assert notebook["nbformat"] == 4


# -- integrity and changes -----------------------------------------------------------------


async def test_verify_reports_an_intact_store(store, api):
    session, _ = with_attachments(store)

    status, one, _ = await api("verify", params={"session_id": session.id})
    _, everything, _ = await api("verify")

    assert status == 200
    assert one == {"ok": True, "sessions": 1, "messages": 2, "problems": []}
    assert everything["ok"] is True and everything["sessions"] == 1


@one_store
async def test_verify_names_the_message_changed_behind_the_api(store, api, activemirror_home):
    mirror = store.open()
    session = mirror.create_session("Record")
    notes = [session.send(f"note {i}") for i in range(3)]
    session.save()
    db = sqlite3.connect(activemirror_home / "conversations.db")
    db.execute("UPDATE messages SET content = 'rewritten' WHERE id = ?", (notes[1].id,))
    db.commit()
    db.close()

    status, report, _ = await api("verify", params={"session_id": session.id})

    assert status == 200
    assert report["ok"] is False
    problem = report["problems"][0]
    assert problem["kind"] == "changed"
    assert problem["message_id"] == notes[1].id
    assert problem["session_id"] == session.id


async def test_sealed_sessions_say_so(store, api):
    mirror = store.open()
    session = mirror.create_session("Final")
    session.send("done")
    session.save()
    seal = session.seal()

    _, body, _ = await api("sessions", session.id)
    _, listing, _ = await api("sessions")

    assert body["sealed"] is True and body["status"] == "sealed"
    assert body["head"] == seal["head"] and len(body["head"]) == 64
    assert body["metadata"]["seal"]["head"] == seal["head"]
    assert listing["sessions"][0]["sealed"] is True
    _, report, _ = await api("verify", params={"session_id": session.id})
    assert report["ok"] is True


@one_store
@pytest.mark.parametrize("params", [{"session_id": "../x"}, {"session_id": "session_NOPE"}])
async def test_verify_of_a_bad_or_unknown_session(store, api, params):
    status, body, _ = await api("verify", params=params)
    assert status == (404 if params["session_id"] == "session_NOPE" else 400)
    assert "session" in body["message"]


async def test_the_change_token_moves_on_every_save_by_anyone(store, api, api_send):
    _, first, _ = await api("changes")
    assert set(first) == {"version"} and isinstance(first["version"], str)
    assert (await api("changes"))[1] == first  # nothing happened: the same token

    # A kernel saves a session.
    mirror = store.open()
    session = mirror.create_session("Kernel notes")
    session.send("hello")
    session.save()
    _, second, _ = await api("changes")
    assert second != first

    # The server itself saves a note.
    await api_send("POST", "sessions", session.id, "messages", json={"content": "from lab"})
    _, third, _ = await api("changes")
    assert third != second

    mirror.delete_session(session.id)
    _, fourth, _ = await api("changes")
    assert fourth != third


@one_store
async def test_an_export_can_take_the_whole_family(store, api):
    mirror = store.open()
    parent = mirror.create_session("Project")
    parent.send("the plan")
    parent.save()
    child = mirror.create_session("Sprint", parent.id)
    child.send("the sprint notes")
    child.save()

    status, alone, _ = await api("sessions", parent.id, "export", params={"format": "markdown"})
    _, family, _ = await api(
        "sessions", parent.id, "export", params={"format": "markdown", "children": "1"}
    )

    assert status == 200
    assert "the sprint notes" not in alone
    assert "the plan" in family and "the sprint notes" in family
    status, body, _ = await api("sessions", parent.id, "export", params={"children": "maybe"})
    assert status == 400 and "children" in body["message"]
