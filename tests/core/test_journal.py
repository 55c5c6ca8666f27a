"""The journal: chained messages on every store, checked by code that knows only the README's
description; verify finds changes made behind the API at the first message they touch;
seals and signatures; exports that carry hashes."""

from __future__ import annotations

import json
import sqlite3

import pytest
from test_readme import readme_check_chain

from activemirror_jupyter import ActiveMirror, VaultMemory, import_session
from activemirror_jupyter.core.errors import (
    InvalidImportError,
    SessionSealedError,
    VaultLockedError,
)
from activemirror_jupyter.core.models import Attachment
from activemirror_jupyter.core.transfer.imports import verify_export


def chained_session(mirror: ActiveMirror, title: str = "Chained"):
    session = mirror.create_session(title)
    session.send("first note", metadata={"n": 1.5, "é": ["x"]})
    session.send(
        "second, with a file",
        attachments=[Attachment.from_bytes("t.csv", "text/csv", b"a,b\n1,2\n")],
    )
    session.send("third", role="assistant")
    session.save()
    return session


def test_every_store_chains_messages_as_the_readme_says(mirror_factory):
    mirror = mirror_factory()
    session = chained_session(mirror)
    export = json.loads(mirror_factory().load_session(session.id).export("json"))
    readme_chain_check = readme_check_chain()
    assert readme_chain_check(export)
    assert session.head == export["messages"][-1]["hash"] == export["head"]
    stored = mirror_factory().load_session(session.id).get_messages()
    assert [m.hash for m in stored] == [m["hash"] for m in export["messages"]]
    export["messages"][1]["content"] = "edited"
    assert not readme_chain_check(export)


def test_hashes_are_none_until_saved_and_autosave_returns_them(mirror_factory):
    mirror = mirror_factory()
    session = mirror.create_session("Unsaved")
    assert session.send("not yet").hash is None and session.head is None
    session.save()
    auto = mirror_factory(autosave=True).create_session("Auto")
    message = auto.send("saved at once")
    assert message.hash is not None and auto.head == message.hash


def test_a_fresh_store_verifies(mirror_factory):
    mirror = mirror_factory()
    chained_session(mirror, "One")
    chained_session(mirror, "Two")
    mirror.create_session("Empty").save()
    report = mirror_factory().verify()
    assert report.ok and report.problems == []
    assert (report.sessions, report.messages) == (3, 6)
    assert report.lines() == ["verified: 3 sessions, 6 messages, no changes"]


# -- changes behind the API -------------------------------------------------------------------


def sqlite_tampered(tmp_path, change):
    db = tmp_path / "t.db"
    with ActiveMirror(db_path=db) as mirror:
        session = chained_session(mirror)
        ids = [m.id for m in session.get_messages()]
    with sqlite3.connect(db) as raw:
        change(raw, ids)
    raw.close()
    with ActiveMirror(db_path=db) as mirror:
        return mirror.verify(session.id), ids


@pytest.mark.parametrize(
    "change, kind, at",
    [
        (
            lambda db, ids: db.execute("UPDATE messages SET content = 'x' WHERE id = ?", (ids[1],)),
            "changed",
            1,
        ),
        (
            lambda db, ids: db.execute(
                "UPDATE messages SET metadata = '{\"n\": 2}' WHERE id = ?", (ids[0],)
            ),
            "changed",
            0,
        ),
        (lambda db, ids: db.execute("DELETE FROM messages WHERE id = ?", (ids[1],)), "missing", 2),
        (
            lambda db, ids: db.execute("DELETE FROM messages WHERE id = ?", (ids[2],)),
            "missing",
            None,
        ),
        (
            lambda db, ids: db.execute(
                "INSERT INTO messages (id, session_id, role, content, timestamp, seq) "
                "SELECT 'msg_forged', session_id, 'user', 'forged', timestamp, 3 FROM messages WHERE id = ?",
                (ids[2],),
            ),
            "inserted",
            "msg_forged",
        ),
        (
            lambda db, ids: db.execute(
                "INSERT INTO messages (id, session_id, role, content, timestamp) "
                "SELECT 'msg_raw', session_id, 'user', 'raw', timestamp FROM messages WHERE id = ?",
                (ids[0],),
            ),
            "inserted",
            "msg_raw",
        ),
        (
            lambda db, ids: db.executescript(
                f"UPDATE messages SET seq = 99 WHERE id = '{ids[0]}';"
                f"UPDATE messages SET seq = 0 WHERE id = '{ids[1]}';"
                f"UPDATE messages SET seq = 1 WHERE id = '{ids[0]}';"
            ),
            "reordered",
            1,
        ),
        (
            lambda db, ids: db.execute(
                "UPDATE attachments SET data = x'00' WHERE message_id = ?", (ids[1],)
            ),
            "changed",
            1,
        ),
        (
            lambda db, ids: db.execute(
                "UPDATE messages SET timestamp = substr(timestamp, 1, 25) || "
                "CASE substr(timestamp, 26, 1) WHEN '0' THEN '1' ELSE '0' END || 'Z' "
                "WHERE id = ?",
                (ids[2],),
            ),
            "changed",
            2,
        ),
    ],
    ids=[
        "content",
        "metadata",
        "deleted",
        "deleted-last",
        "inserted",
        "inserted-with-the-spec-columns",
        "reordered",
        "attachment",
        "timestamp-by-a-microsecond",
    ],
)
def test_sqlite_changes_behind_the_api_are_reported_where_they_start(tmp_path, change, kind, at):
    report, ids = sqlite_tampered(tmp_path, change)
    assert not report.ok
    first = report.problems[0]
    assert first.kind == kind
    expected = ids[at] if isinstance(at, int) else at
    assert first.message_id == expected


def test_the_same_instant_written_another_way_is_not_a_change(tmp_path):
    """The hash covers the time, not how a tool chose to write it."""
    report, _ = sqlite_tampered(
        tmp_path,
        lambda db, ids: db.execute(
            "UPDATE messages SET timestamp = replace(timestamp, 'Z', '+00:00') WHERE id = ?",
            (ids[0],),
        ),
    )
    assert report.ok, report.lines()


def test_an_edited_json_file_is_reported_at_the_message_it_touches(tmp_path):
    folder = tmp_path / "conversations"
    with ActiveMirror("json", storage_path=folder) as mirror:
        session = chained_session(mirror)
        ids = [m.id for m in session.get_messages()]
    path = folder / f"{session.id}.json"
    text = path.read_text()
    path.write_text(text.replace("second, with a file", "second, edited"))
    with ActiveMirror("json", storage_path=folder) as mirror:
        report = mirror.verify()
    assert [(p.kind, p.message_id) for p in report.problems] == [("changed", ids[1])]


def test_messages_swapped_in_a_json_file_are_reordered_not_missing(tmp_path):
    folder = tmp_path / "conversations"
    with ActiveMirror("json", storage_path=folder) as mirror:
        session = chained_session(mirror)
        ids = [m.id for m in session.get_messages()]
    path = folder / f"{session.id}.json"
    data = json.loads(path.read_text())
    data["messages"][0], data["messages"][1] = data["messages"][1], data["messages"][0]
    path.write_text(json.dumps(data))
    with ActiveMirror("json", storage_path=folder) as mirror:
        report = mirror.verify()
    assert report.problems[0].kind == "reordered"
    assert report.problems[0].message_id in ids[:2]
    assert {p.kind for p in report.problems} == {"reordered"}


def test_a_truncated_json_file_is_reported_at_the_first_message_it_cuts(tmp_path):
    folder = tmp_path / "conversations"
    with ActiveMirror("json", storage_path=folder) as mirror:
        session = chained_session(mirror)
        ids = [m.id for m in session.get_messages()]
    path = folder / f"{session.id}.json"
    raw = path.read_bytes()
    cut = raw.index(ids[2].encode()) + 40  # inside the third message's line
    path.write_bytes(raw[:cut])
    with (
        pytest.warns(RuntimeWarning, match="damaged"),
        ActiveMirror("json", storage_path=folder) as mirror,
    ):
        report = mirror.verify(session.id)
    assert not report.ok
    assert (report.problems[0].kind, report.problems[0].message_id) == ("missing", ids[2])


def test_changed_attachment_bytes_in_the_json_folder(tmp_path):
    folder = tmp_path / "conversations"
    with ActiveMirror("json", storage_path=folder) as mirror:
        session = chained_session(mirror)
        ids = [m.id for m in session.get_messages()]
    (file,) = (folder / "attachments").iterdir()
    file.write_bytes(b"other bytes")
    with ActiveMirror("json", storage_path=folder) as mirror:
        report = mirror.verify()
    assert [(p.kind, p.message_id) for p in report.problems] == [("changed", ids[1])]


def test_postgresql_changes_behind_the_api(postgres_dsn):
    import psycopg

    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        session = chained_session(mirror)
        ids = [m.id for m in session.get_messages()]
    with psycopg.connect(postgres_dsn, autocommit=True) as raw:
        raw.execute("UPDATE messages SET content = 'x' WHERE id = %s", (ids[0],))
        raw.execute(
            "INSERT INTO messages (id, session_id, role, content) VALUES ('msg_forged', %s, 'user', 'f')",
            (session.id,),
        )
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        report = mirror.verify()
    assert [(p.kind, p.message_id) for p in report.problems] == [
        ("changed", ids[0]),
        ("inserted", "msg_forged"),
    ]


def test_verify_of_an_unknown_session_names_it(mirror):
    from activemirror_jupyter.core.errors import SessionNotFoundError

    with pytest.raises(SessionNotFoundError):
        mirror.verify("session_nope")


# -- seals and signatures ------------------------------------------------------------------------


def test_a_sealed_session_reads_but_never_changes(mirror_factory):
    mirror = mirror_factory()
    session = chained_session(mirror)
    seal = session.seal()
    assert seal["head"] == session.head and session.sealed and session.status == "sealed"
    again = mirror_factory().load_session(session.id)
    assert again.sealed and again.metadata["seal"]["head"] == seal["head"]
    for change in (
        lambda s: s.send("after the seal"),
        lambda s: setattr(s, "title", "retitled"),
        lambda s: setattr(s, "tags", ["late"]),
        lambda s: s.seal(),
    ):
        with pytest.raises(SessionSealedError) as raised:
            change(again)
        assert str(raised.value) == (
            f"session 'Chained' ({session.id}) is sealed: it can be read, exported and "
            "deleted, not changed"
        )
        assert raised.value.session_id == session.id and raised.value.title == "Chained"
    assert again.message_count == 3 and again.export("markdown")
    assert mirror_factory().verify(session.id).ok
    assert mirror_factory().delete_session(session.id)


def test_another_process_cannot_write_into_a_sealed_session(mirror_factory):
    mirror = mirror_factory()
    session = chained_session(mirror)
    stale = mirror_factory(autosave=True).load_session(session.id)  # opened before the seal
    session.seal()
    with pytest.raises(SessionSealedError, match=f"'{session.id}' is sealed: it can be read"):
        stale.send("written by a kernel that did not know")
    assert stale.message_count == 3 and stale.sealed
    assert mirror_factory().load_session(session.id).message_count == 3


def test_replacing_a_sealed_session_by_import_is_refused(mirror_factory):
    mirror = mirror_factory()
    session = chained_session(mirror)
    export = json.loads(session.export("json"))
    session.seal()
    with pytest.raises(SessionSealedError) as raised:
        import_session(export, mirror, on_conflict="replace")
    assert str(raised.value) == (
        f"session {session.id!r} in {mirror.store.description} is sealed: it cannot be "
        "replaced (import a copy with on_conflict='new_id'); nothing was written"
    )
    assert mirror_factory().load_session(session.id).sealed


def test_only_a_saved_session_with_nothing_unsaved_seals(mirror):
    session = mirror.create_session("Half")
    session.send("unsaved")
    with pytest.raises(ValueError, match="unsaved"):
        session.seal()
    session.save()
    session.send("another")
    with pytest.raises(ValueError, match="1 unsaved"):
        session.seal()
    assert not session.sealed


def test_a_signed_seal_verifies_and_keeps_verifying_without_the_key(mirror_factory, tmp_path):
    vault = VaultMemory("pw-sign", tmp_path / "vault", kdf_iterations=1000)
    mirror = mirror_factory()
    session = chained_session(mirror)
    seal = session.seal(sign_with=vault)
    assert seal["algorithm"] == "ed25519" and len(seal["signature"]) == 128
    assert mirror_factory().verify(session.id).ok
    assert vault.delete("activemirror.signing-key")  # the key is gone; the seal carries it
    assert mirror_factory().verify(session.id).ok


def test_signing_with_a_locked_vault_seals_nothing(mirror, tmp_path):
    vault = VaultMemory("pw", tmp_path / "vault", kdf_iterations=1000)
    vault.lock()
    session = chained_session(mirror)
    with pytest.raises(VaultLockedError):
        session.seal(sign_with=vault)
    assert not session.sealed and not mirror.load_session(session.id).sealed


def test_the_signing_key_never_leaves_the_vault(tmp_path):
    vault = VaultMemory("pw", tmp_path / "vault", kdf_iterations=1000)
    public, signature = vault.sign(b"payload")
    entry = next(e for e in vault.list_entries() if e.key == "activemirror.signing-key")
    assert entry.metadata["public_key"] == public and entry.value is None
    with pytest.raises(Exception, match="never leaves"):
        vault.retrieve("activemirror.signing-key")
    found = vault.search("signing")
    assert [e.value for e in found] == [None]
    assert vault.sign(b"again")[0] == public  # one key, made on first use


def test_a_forged_seal_or_signature_is_reported(tmp_path):
    db = tmp_path / "s.db"
    vault = VaultMemory("pw", tmp_path / "vault", kdf_iterations=1000)
    with ActiveMirror(db_path=db) as mirror:
        session = chained_session(mirror)
        seal = session.seal(sign_with=vault)
    forged = {**seal, "signature": "00" * 64}
    with sqlite3.connect(db) as raw:
        raw.execute(
            "UPDATE sessions SET metadata = ? WHERE id = ?",
            (json.dumps({"seal": forged}), session.id),
        )
    raw.close()
    with ActiveMirror(db_path=db) as mirror:
        assert [p.kind for p in mirror.verify().problems] == ["signature"]
    with sqlite3.connect(db) as raw:
        raw.execute(
            "UPDATE sessions SET metadata = ? WHERE id = ?",
            (json.dumps({"seal": {**seal, "head": "0" * 64}}), session.id),
        )
    raw.close()
    with ActiveMirror(db_path=db) as mirror:
        assert [p.kind for p in mirror.verify().problems] == ["seal", "signature"]


# -- exports -----------------------------------------------------------------------------------


def test_exports_carry_hashes_and_the_seal_and_verify_without_a_store(mirror, tmp_path):
    session = chained_session(mirror)
    session.seal()
    text = session.export("json")
    export = json.loads(text)
    assert export["head"] == session.head and export["metadata"]["seal"]["head"] == session.head
    assert all(m["hash"] for m in export["messages"])
    path = tmp_path / "export.json"
    path.write_text(text)
    for given in (text, export, path):
        report = verify_export(given)
        assert report.ok and (report.sessions, report.messages) == (1, 3)


def test_a_changed_export_is_reported_and_refused(mirror):
    session = chained_session(mirror)
    export = json.loads(session.export("json"))
    export["messages"][2]["content"] = "rewritten"
    report = verify_export(export)
    assert [(p.kind, p.message_id) for p in report.problems] == [
        ("changed", export["messages"][2]["id"])
    ]
    with pytest.raises(InvalidImportError, match=r"messages\[2\]\.hash"):
        import_session(export, mirror, on_conflict="new_id")


def test_changed_attachment_bytes_in_an_export_are_refused(mirror):
    import base64

    session = chained_session(mirror)
    export = json.loads(session.export("json"))
    export["messages"][1]["attachments"][0]["data"] = base64.b64encode(b"other").decode()
    with pytest.raises(InvalidImportError, match=r"attachments\[0\]"):
        import_session(export, mirror, on_conflict="new_id")
    assert not verify_export(export).ok


def test_exports_without_hashes_import_and_are_chained(mirror):
    session = chained_session(mirror)
    export = json.loads(session.export("json"))
    del export["head"]
    for m in export["messages"]:
        del m["hash"]
    assert verify_export(export).ok  # nothing claims anything
    copy = import_session(export, mirror, on_conflict="new_id")
    assert copy.head is not None and mirror.verify(copy.id).ok


@pytest.mark.parametrize(
    "change, where",
    [
        (lambda e: e["messages"][0].update(hash=123), r"messages\[0\]\.hash"),
        (lambda e: e["messages"][0].update(hash="ab"), r"messages\[0\]\.hash"),
        (lambda e: e["messages"][0].update(hash="Z" * 64), r"messages\[0\]\.hash"),
        (lambda e: e.update(head=["x"]), r"head"),
        (lambda e: e["messages"][0]["attachments"].append("x"), r"attachments"),
    ],
)
def test_hostile_hash_fields_are_refused_naming_the_field(mirror, change, where):
    session = mirror.create_session("Hostile")
    session.send("a", attachments=[Attachment.from_bytes("a", "text/plain", b"a")])
    session.save()
    export = json.loads(session.export("json"))
    change(export)
    with pytest.raises(InvalidImportError, match=where):
        import_session(export, mirror, on_conflict="new_id")


def test_a_seal_on_an_export_without_messages(mirror):
    session = mirror.create_session("Empty but sealed")
    session.save()
    session.seal()
    export = json.loads(session.export("json"))
    assert verify_export(export).ok
    export["metadata"]["seal"]["head"] = "f" * 64
    assert [p.kind for p in verify_export(export).problems] == ["seal"]
    with pytest.raises(InvalidImportError, match="seal"):
        import_session(export, mirror, on_conflict="new_id")


def test_a_sealed_export_imports_sealed_and_a_copy_under_new_ids_unsealed(mirror_factory):
    source = mirror_factory()
    session = chained_session(source)
    session.seal()
    text = session.export("json")
    copy = import_session(text, source, on_conflict="new_id")
    assert not copy.sealed and source.verify(copy.id).ok
    source.delete_session(session.id)
    restored = import_session(text, source)
    assert restored.sealed and restored.head == session.head and source.verify(restored.id).ok
