"""Redaction on every store: a saved message's content, metadata and attachments removed for
good, its place in the journal kept (verify holds, and counts it), and nothing of it left in
search, exports, or — for the file stores — any byte of the store's files."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

from activemirror_jupyter import (
    ActiveMirror,
    ActiveMirrorError,
    Attachment,
    MessageNotFoundError,
    import_session,
    verify_export,
)

SECRET = "Zq7sekretTOKEN"  # one word, so search would find it
META_SECRET = "Zq7sekretMETA"
FILE_SECRET = b"Zq7sekretFILE in a text attachment"


def _session_with_secret(mirror: ActiveMirror, *, before: int = 2, after: int = 2):
    session = mirror.create_session("lab notes")
    for i in range(before):
        session.send(f"note {i} before")
    secret = session.send(
        f"my key is {SECRET} oops",
        metadata={"pasted": META_SECRET},
        attachments=[Attachment.from_bytes("key.txt", "text/plain", FILE_SECRET)],
    )
    for i in range(after):
        session.send(f"note {i} after", role="assistant")
    session.save()
    return session, secret


def test_a_redacted_message_keeps_its_place_and_the_journal_verifies(mirror_factory):
    mirror = mirror_factory()
    session, secret = _session_with_secret(mirror)
    saved = session.get_messages()[2]
    redacted = session.redact(secret.id, "an API key pasted by mistake")

    assert redacted.content == "" and redacted.attachments == () and redacted.metadata == {}
    assert redacted.redacted["reason"] == "an API key pasted by mistake"
    at = redacted.redacted["at"]
    assert isinstance(at, datetime) and at.tzinfo is not None
    assert abs((datetime.now(timezone.utc) - at).total_seconds()) < 60
    assert set(redacted.redacted) == {"at", "reason"}
    for name in ("id", "session_id", "role", "timestamp", "origin", "hash"):
        assert getattr(redacted, name) == getattr(saved, name), name

    messages = session.get_messages()
    assert [m.id for m in messages] == [m.id for m in mirror.saved_messages(session.id)]
    assert messages[2].redacted == redacted.redacted and messages[2].content == ""
    assert all(m.redacted is None for i, m in enumerate(messages) if i != 2)
    report = mirror.verify()
    assert report.ok, report.problems
    assert report.redacted == 1 and report.messages == 5
    assert report.to_json()["redacted"] == 1

    reopened = mirror_factory()
    again = reopened.load_session(session.id).get_messages()[2]
    assert again.redacted == redacted.redacted and again.hash == saved.hash
    assert reopened.verify(session.id).ok


def test_search_exports_and_reports_never_show_it_again(mirror, tmp_path):
    session, secret = _session_with_secret(mirror)
    assert mirror.search(SECRET) and mirror.search("Zq7sekretFILE")
    session.redact(secret.id, "secret")

    assert mirror.search(SECRET) == [] and mirror.search("Zq7sekretFILE") == []
    assert mirror.count_search(SECRET) == 0
    for fmt in ("json", "markdown", "txt", "html", "ipynb"):
        text = session.export(fmt)
        assert SECRET not in text and META_SECRET not in text, fmt
        assert base64.b64encode(FILE_SECRET).decode() not in text, fmt
    exported = session.export("json")
    report = verify_export(exported)
    assert report.ok and report.redacted == 1
    record = json.loads(exported)["messages"][2]
    assert record["redacted"]["reason"] == "secret" and record["content"] == ""
    assert record["hash"] == secret.hash or record["hash"]  # the hash is exported

    other = ActiveMirror("sqlite", db_path=tmp_path / "other.db")
    imported = import_session(exported, other)
    kept = imported.get_messages()[2]
    assert kept.redacted["reason"] == "secret" and kept.content == ""
    assert other.verify().ok and other.verify().redacted == 1
    assert "redacted: secret" in session.export("markdown")
    other.close()


def test_a_sealed_session_can_be_redacted_and_its_seal_still_verifies(mirror):
    session, secret = _session_with_secret(mirror)
    session.seal()
    session.redact(secret.id, "personal data")
    report = mirror.verify(session.id)
    assert report.ok, report.problems
    assert report.redacted == 1
    assert mirror.load_session(session.id).sealed


def test_bad_input_is_refused_and_a_second_redaction_keeps_the_first(mirror):
    session, secret = _session_with_secret(mirror)
    with pytest.raises(MessageNotFoundError) as unknown:
        session.redact("msg_nope", "reason")
    assert "msg_nope" in str(unknown.value)
    assert isinstance(unknown.value, (KeyError, ValueError, ActiveMirrorError))
    for empty in ("", "   "):
        with pytest.raises(ValueError, match="reason"):
            session.redact(secret.id, empty)
    with pytest.raises(ValueError):
        session.redact("../etc/passwd", "reason")
    unsaved = session.send("not saved yet")
    with pytest.raises(ValueError, match="not saved"):
        session.redact(unsaved.id, "reason")
    # A message of another session is not this session's to redact.
    other = mirror.create_session("other")
    other.send("x")
    other.save()
    with pytest.raises(MessageNotFoundError):
        other.redact(secret.id, "reason")
    assert mirror.saved_messages(session.id)[2].content.startswith("my key")

    first = session.redact(secret.id, "first reason")
    second = session.redact(secret.id, "second reason")
    assert second.redacted == first.redacted
    assert session.get_messages(limit=1, offset=3)[0].redacted["reason"] == "first reason"
    assert mirror.verify(session.id).ok


def test_shared_attachment_bytes_stay_with_the_other_message(mirror):
    session = mirror.create_session("shared")
    shared = b"the same bytes in two messages"
    first = session.send("one", attachments=[Attachment.from_bytes("a.txt", "text/plain", shared)])
    second = session.send("two", attachments=[Attachment.from_bytes("b.txt", "text/plain", shared)])
    session.save()
    session.redact(first.id, "one must go")
    kept = mirror.load_session(session.id).get_messages()[1]
    assert kept.id == second.id and kept.attachments[0].read() == shared
    assert mirror.search("bytes") and mirror.search("bytes")[0].id == second.id
    assert mirror.verify().ok


def test_a_change_behind_the_api_is_still_reported(tmp_path):
    path = tmp_path / "c.db"
    mirror = ActiveMirror("sqlite", db_path=path)
    session, secret = _session_with_secret(mirror)
    session.redact(secret.id, "secret")
    others = [m for m in session.get_messages() if m.id != secret.id]
    with sqlite3.connect(path) as db:
        db.execute("UPDATE messages SET content = 'put back' WHERE id = ?", (secret.id,))
        db.execute("UPDATE messages SET content = '' WHERE id = ?", (others[0].id,))
    report = mirror.verify(session.id)
    kinds = {(p.message_id, p.kind) for p in report.problems}
    assert (secret.id, "changed") in kinds and (others[0].id, "changed") in kinds
    with sqlite3.connect(path) as db:
        db.execute("UPDATE messages SET content = '' WHERE id = ?", (secret.id,))
        db.execute("DELETE FROM redactions WHERE message_id = ?", (secret.id,))
    report = mirror.verify(session.id)
    assert (secret.id, "changed") in {(p.message_id, p.kind) for p in report.problems}
    mirror.close()


def test_a_changed_json_record_of_a_redacted_message_is_reported(tmp_path):
    folder = tmp_path / "j"
    mirror = ActiveMirror("json", storage_path=folder)
    session, secret = _session_with_secret(mirror)
    session.redact(secret.id, "secret")
    mirror.close()
    path = folder / f"{session.id}.json"
    path.write_text(path.read_text().replace('"content": ""', '"content": "back again"', 1))
    report = ActiveMirror("json", storage_path=folder).verify(session.id)
    assert [(p.message_id, p.kind) for p in report.problems] == [(secret.id, "changed")]


def _store_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _holding(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for path in _store_files(root):
        data = path.read_bytes().lower()
        found += [f"{path.name}: {n!r}" for n in needles if n.lower() in data]
    return found


NEEDLES = [b"zq7sekret", SECRET.encode(), META_SECRET.encode(), FILE_SECRET]


@pytest.mark.parametrize("kind", ["sqlite", "json"])
@pytest.mark.parametrize("big", [False, True], ids=["small", "big"])
def test_the_secret_bytes_are_gone_from_every_file_of_the_store(kind, big, tmp_path):
    """Grep every file of the store — the SQLite file and its write-ahead log, the JSON
    folder's session files, journal, index and attachment files — for the removed text and
    bytes, in any case (the search index keeps words lower-cased). ``big``: the secret was
    saved among thousands of messages in many saves (page splits, index merges, a JSON
    journal that is not folded at once)."""
    root = tmp_path / "store"
    options = {"db_path": root / "c.db"} if kind == "sqlite" else {"storage_path": root}
    mirror = ActiveMirror(kind, **options)
    session = mirror.create_session("big" if big else "small")
    rounds = 40 if big else 1
    for r in range(rounds):
        for i in range(50):
            session.send(f"round {r} note {i} about the weather and lab work " * 3)
        session.save()
        if r == rounds // 2:
            secret = session.send(
                f"my key is {SECRET} " * 40,  # long: spills into an overflow page
                metadata={"pasted": META_SECRET},
                attachments=[Attachment.from_bytes("key.txt", "text/plain", FILE_SECRET)],
            )
            session.save()
    reader = ActiveMirror(kind, **options)  # another process's connection stays open
    assert reader.search(SECRET)
    assert _holding(root, NEEDLES)  # the test can see the secret before
    session.redact(secret.id, "leaked key")
    assert _holding(root, NEEDLES) == []
    assert reader.search(SECRET) == [] and reader.verify().ok
    mirror.close()
    reader.close()
    assert _holding(root, NEEDLES) == []
    if kind == "sqlite":
        assert not (root / "c.db-wal").exists() or (root / "c.db-wal").stat().st_size < 2**20


def test_a_session_holding_a_redacted_message_can_be_replaced_and_deleted(mirror_factory):
    mirror = mirror_factory()
    session, secret = _session_with_secret(mirror)
    session.redact(secret.id, "a key")
    meta = mirror.session_metadata(session.id)
    messages = mirror.saved_messages(session.id)
    mirror.store_session(meta, messages, replace=True)  # as a sync's merge does
    again = mirror.saved_messages(session.id)
    assert [(m.id, m.content, m.hash) for m in again] == [
        (m.id, m.content, m.hash) for m in messages
    ]
    assert again[2].redacted is not None and mirror.verify().ok
    assert mirror.search("note") and mirror.delete_session(session.id)
    assert mirror.list_sessions() == [] and mirror.verify().ok
