"""Devices (0.3): every store has a device id, kept in it; every message records the device
that first saved it (``origin``), which exports and imports carry unchanged; a store copied
as files becomes a second device with ``new_device_id()``; stores written by 0.2 get their
device id and origins from a migration, losing nothing."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3

import pytest

from activemirror_jupyter import ActiveMirror, StorageError, import_session, verify_export
from activemirror_jupyter.core.storage.jsonstate import STATE_FILE
from activemirror_jupyter.core.storage.sqlite_schema import MIGRATIONS

DEVICE = re.compile(r"[0-9a-f]{32}")


def test_every_store_has_a_device_id_kept_in_it(mirror_factory, storage_type):
    first = mirror_factory()
    assert DEVICE.fullmatch(first.device_id)
    session = first.create_session("Notes")
    sent = session.send("hello")
    session.save()
    again = mirror_factory()
    assert again.device_id == first.device_id  # the same store, reopened
    (stored,) = again.load_session(session.id).get_messages()
    assert sent.origin == stored.origin == first.device_id


@pytest.mark.parametrize("kind", ["sqlite", "json"])
def test_another_store_is_another_device(kind, tmp_path):
    options = [
        {"db_path": tmp_path / f"{n}.db"} if kind == "sqlite" else {"storage_path": tmp_path / n}
        for n in ("a", "b")
    ]
    with ActiveMirror(kind, **options[0]) as a, ActiveMirror(kind, **options[1]) as b:
        assert a.device_id != b.device_id
    assert ActiveMirror("memory").device_id != ActiveMirror("memory").device_id


@pytest.mark.parametrize("kind", ["sqlite", "json", "memory"])
def test_a_copied_store_becomes_a_second_device_and_keeps_everything(kind, tmp_path):
    original = tmp_path / "original"
    copy = tmp_path / "copy"
    where = (
        (lambda p: {"db_path": p / "c.db"})
        if kind == "sqlite"
        else (lambda p: {"storage_path": p / "conversations"})
    )
    if kind == "memory":
        where = lambda p: {}  # noqa: E731
    with ActiveMirror(kind, **where(original)) as mirror:
        session = mirror.create_session("Copied")
        session.send("before the copy")
        session.save()
        old = mirror.device_id
        if kind != "memory":
            shutil.copytree(original, copy)
        else:
            copied = mirror
        if kind != "memory":
            copied = ActiveMirror(kind, **where(copy))
        assert copied.device_id == old  # one device id on two machines
        new = copied.new_device_id()
        assert DEVICE.fullmatch(new) and new != old and copied.device_id == new
        # what it saved under the old id (sent nowhere yet) moves to the new one
        moved = copied.load_session(session.id)
        assert [m.origin for m in moved.get_messages()] == [new]
        moved.send("after the copy")
        moved.save()
        assert [m.origin for m in copied.load_session(session.id).get_messages()] == [new, new]
        assert copied.verify().ok
        if kind != "memory":
            copied.close()
            with ActiveMirror(kind, **where(copy)) as reopened:
                assert reopened.device_id == new
            assert mirror.device_id == old  # the original is untouched
            assert [m.origin for m in mirror.load_session(session.id).get_messages()] == [old]


def test_exports_and_imports_carry_origin_unchanged(tmp_path):
    with (
        ActiveMirror("sqlite", db_path=tmp_path / "a.db") as a,
        ActiveMirror("json", storage_path=tmp_path / "b") as b,
    ):
        session = a.create_session("Travels")
        session.send("from device a")
        session.save()
        export = session.export("json")
        assert json.loads(export)["messages"][0]["origin"] == a.device_id
        assert verify_export(export).ok
        copy = import_session(export, b)
        (message,) = copy.get_messages()
        assert message.origin == a.device_id != b.device_id  # a's, in b's store
        copy.send("from device b")
        copy.save()
        assert [m.origin for m in b.load_session(session.id).get_messages()] == [
            a.device_id,
            b.device_id,
        ]
        assert json.loads(b.load_session(session.id).export("json")) == json.loads(
            copy.export("json")
        )
    with ActiveMirror("json", storage_path=tmp_path / "b") as b:
        assert [m.origin for m in b.load_session(session.id).get_messages()][0] == a.device_id


def test_an_export_without_origins_is_the_importing_store_s_own(tmp_path):
    with ActiveMirror("sqlite", db_path=tmp_path / "a.db") as a:
        session = a.create_session("Old")
        session.send("from 0.2")
        session.save()
        doc = json.loads(session.export("json"))
    for m in doc["messages"]:
        del m["origin"]  # as 0.2 wrote it
    with ActiveMirror("sqlite", db_path=tmp_path / "b.db") as b:
        copy = import_session(doc, b)
        assert [m.origin for m in copy.get_messages()] == [b.device_id]
        assert b.verify().ok


def test_a_bad_origin_in_an_import_is_refused_naming_it(tmp_path):
    from activemirror_jupyter import InvalidImportError

    doc = {
        "id": "s1",
        "title": "x",
        "createdAt": "2025-01-01T00:00:00Z",
        "messages": [
            {
                "id": "m1",
                "role": "user",
                "content": "x",
                "timestamp": "2025-01-01T00:00:00Z",
                "origin": "../not-a-device",
            }
        ],
    }
    with ActiveMirror("sqlite", db_path=tmp_path / "a.db") as mirror:
        with pytest.raises(InvalidImportError, match=r"messages\[0\]\.origin"):
            import_session(doc, mirror)
        assert mirror.list_sessions() == []


def test_a_sqlite_store_written_by_0_2_gets_its_device_id_and_origins(tmp_path):
    db = tmp_path / "old.db"
    with ActiveMirror("sqlite", db_path=db) as mirror:
        session = mirror.create_session("Before 0.3")
        for text in ("one", "two"):
            session.send(text)
        session.save()
        head = mirror.load_session(session.id).head
    with sqlite3.connect(db) as raw:  # back to what 0.2 wrote
        raw.execute("DROP TABLE activemirror_state")
        raw.execute("ALTER TABLE messages DROP COLUMN origin")
        raw.execute("DELETE FROM activemirror_migrations WHERE name = 'm008_devices'")
    with ActiveMirror("sqlite", db_path=db) as mirror:
        assert "m008_devices" in [n for n, _ in MIGRATIONS]
        assert DEVICE.fullmatch(mirror.device_id)
        reopened = mirror.load_session(session.id)
        assert [m.content for m in reopened.get_messages()] == ["one", "two"]
        assert [m.origin for m in reopened.get_messages()] == [mirror.device_id] * 2
        assert reopened.head == head and mirror.verify().ok


def test_a_json_folder_written_by_0_2_gets_its_device_id_and_keeps_its_files(tmp_path):
    folder = tmp_path / "conversations"
    with ActiveMirror("json", storage_path=folder) as mirror:
        session = mirror.create_session("Before 0.3")
        session.send("one")
        session.save()
    (folder / STATE_FILE).unlink()  # 0.2 kept no device id
    before = (folder / f"{session.id}.json").read_bytes()
    assert b'"origin"' not in before  # the folder's own messages carry none
    with ActiveMirror("json", storage_path=folder) as mirror:
        assert DEVICE.fullmatch(mirror.device_id)
        assert [m.origin for m in mirror.load_session(session.id).get_messages()] == [
            mirror.device_id
        ]
        assert mirror.verify().ok
        device = mirror.device_id
    assert (folder / f"{session.id}.json").read_bytes() == before
    assert json.loads((folder / STATE_FILE).read_text())["deviceId"] == device


def test_a_damaged_state_file_is_a_clear_error(tmp_path):
    folder = tmp_path / "conversations"
    ActiveMirror("json", storage_path=folder).close()
    (folder / STATE_FILE).write_text('{"deviceId": "../../etc"}')
    with pytest.raises(StorageError, match="damaged"):
        ActiveMirror("json", storage_path=folder)


def test_the_team_store_keeps_its_device_id(postgres_dsn):
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        device = mirror.device_id
        session = mirror.create_session("Team")
        session.send("hello")
        session.save()
        with pytest.raises(StorageError, match="team store"):
            mirror.new_device_id()
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        assert mirror.device_id == device
        assert [m.origin for m in mirror.load_session(session.id).get_messages()] == [device]
