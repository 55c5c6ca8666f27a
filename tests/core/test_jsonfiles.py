"""The JSON-folder store: the spec's layout on disk, the SDK's folders, durability, locking.

Behaviour shared with the other stores is tested in test_sessions.py (parametrised)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from spec_examples import SPEC_SESSION

from activemirror_jupyter import ActiveMirror, StorageError, import_session
from activemirror_jupyter.core.storage import jsonfiles
from activemirror_jupyter.core.storage.jsonfiles import JSONStorage
from activemirror_jupyter.core.storage.jsonfolder import INDEX_FILE
from activemirror_jupyter.core.storage.jsonjournal import FOLD_AT_ONCE_BYTES, JOURNAL_FILE


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(autouse=True, params=["folded at once", "journaled"])
def fold_at_once_bytes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every test runs twice: as a small folder (each save folded into the files at once) and
    as a big one (saves only appended to the journal until it is folded)."""
    limit = jsonfiles.FOLD_AT_ONCE_BYTES if request.param == "folded at once" else -1
    monkeypatch.setattr(jsonfiles, "FOLD_AT_ONCE_BYTES", limit)
    return limit


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "conversations"


def open_mirror(folder: Path, **kwargs) -> ActiveMirror:
    return ActiveMirror("json", storage_path=folder, **kwargs)


def test_layout_is_the_spec_s(folder):
    with open_mirror(folder) as mirror:
        session = mirror.create_session("Strategic Planning", user_id="user_001")
        session.send("Let's plan Q1")
        session.save()
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        INDEX_FILE,
        f"{session.id}.json",
    ]
    index = read_json(folder / INDEX_FILE)
    assert index["sessions"] == [session.id]
    assert index["updatedAt"].endswith("Z")
    data = read_json(folder / f"{session.id}.json")
    assert list(data)[:6] == ["id", "title", "userId", "createdAt", "updatedAt", "messageCount"]
    assert list(data)[-1] == "messages"
    assert data["title"] == "Strategic Planning"
    assert data["userId"] == "user_001"
    assert data["messageCount"] == 1
    assert data["createdAt"].endswith("Z") and data["updatedAt"].endswith("Z")
    [message] = data["messages"]
    assert message["role"] == "user"
    assert message["content"] == "Let's plan Q1"
    assert message["timestamp"].endswith("Z")
    assert message["sessionId"] == session.id


def test_folder_built_by_hand_from_the_spec_opens_and_lists(folder):
    write_json(folder / "session_123.json", SPEC_SESSION)
    write_json(
        folder / INDEX_FILE, {"sessions": ["session_123"], "updatedAt": "2024-01-15T14:30:00Z"}
    )
    with open_mirror(folder) as mirror:
        [meta] = mirror.list_sessions()
        assert meta.session_id == "session_123"
        assert meta.title == "Strategic Planning"
        assert meta.user_id == "user_001"
        assert meta.message_count == 1  # what the file holds, not the example's 24
        assert meta.created_at.isoformat() == "2024-01-15T10:00:00+00:00"
        assert meta.updated_at.isoformat() == "2024-01-15T14:30:00+00:00"
        session = mirror.load_session("session_123")
        [message] = session.get_messages()
        assert (message.id, message.role, message.content) == ("msg_1", "user", "Let's plan Q1")
        assert message.timestamp.isoformat() == "2024-01-15T10:01:00+00:00"
        session.send("Continue in Python")
        session.save()
    data = read_json(folder / "session_123.json")
    assert [m["content"] for m in data["messages"]] == ["Let's plan Q1", "Continue in Python"]
    assert read_json(folder / INDEX_FILE)["sessions"] == ["session_123"]


def test_folder_written_by_the_javascript_sdk_opens(folder):
    """The SDK's own shapes: ids with a timestamp and a random part, sessionId and metadata
    on messages, 'anonymous' users, an index of ids only, no parent links."""
    sid = "session_1705312800000_k3j4h5g6f"
    write_json(
        folder / f"{sid}.json",
        {
            "id": sid,
            "title": "Untitled",
            "userId": "anonymous",
            "createdAt": "2024-01-15T10:00:00.000Z",
            "updatedAt": "2024-01-15T10:05:00.000Z",
            "messageCount": 2,
            "messages": [
                {
                    "id": f"msg_1705312860000_{i}abcdefgh",
                    "sessionId": sid,
                    "role": role,
                    "content": text,
                    "timestamp": f"2024-01-15T10:0{i + 1}:00.000Z",
                    "metadata": {"source": "js"},
                }
                for i, (role, text) in enumerate([("user", "hello"), ("assistant", "hi")])
            ],
        },
    )
    write_json(folder / INDEX_FILE, {"sessions": [sid], "updatedAt": "2024-01-15T10:05:00.000Z"})
    with open_mirror(folder) as mirror:
        [meta] = mirror.list_sessions()
        assert (meta.session_id, meta.user_id, meta.parent_session_id) == (sid, "anonymous", None)
        messages = mirror.load_session(sid).get_messages()
        assert [m.content for m in messages] == ["hello", "hi"]
        assert messages[0].metadata == {"source": "js"}
        assert [m.content for m in mirror.search("HELLO")] == ["hello"]


def test_files_of_other_tools_keep_their_extra_keys(folder):
    data = dict(SPEC_SESSION, tags=["q1"], messages=[dict(SPEC_SESSION["messages"][0], mood="ok")])
    write_json(folder / "session_123.json", data)
    with open_mirror(folder) as mirror:
        session = mirror.load_session("session_123")
        session.send("more")
        session.save()
    saved = read_json(folder / "session_123.json")
    assert saved["tags"] == ["q1"]
    assert saved["messages"][0]["mood"] == "ok"


def test_listing_reads_only_the_index(folder):
    with open_mirror(folder) as mirror:
        for i in range(3):
            session = mirror.create_session(f"s{i}")
            session.send("body")
            session.save()
        # Session files that could not be parsed: listing must not need them.
        for path in folder.glob("session_*.json"):
            path.write_text("not read by list_sessions")
        assert [m.title for m in mirror.list_sessions()] == ["s2", "s1", "s0"]
        assert [m.message_count for m in mirror.list_sessions(limit=2, offset=1)] == [1, 1]
        assert mirror.count_sessions() == 3


def test_missing_index_is_rebuilt(folder):
    with open_mirror(folder) as mirror:
        ids = [mirror.create_session(f"s{i}").save() for i in range(3)]
    (folder / INDEX_FILE).unlink()
    with open_mirror(folder) as mirror:
        assert sorted(m.session_id for m in mirror.list_sessions()) == sorted(ids)
    assert sorted(read_json(folder / INDEX_FILE)["sessions"]) == sorted(ids)


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"sessions": 3}', b"[1, 2]"])
def test_damaged_index_is_rebuilt(folder, damage):
    with open_mirror(folder) as mirror:
        session = mirror.create_session("kept")
        session.send("still here")
        session.save()
    (folder / INDEX_FILE).write_bytes(damage)
    with open_mirror(folder) as mirror:
        assert [m.title for m in mirror.list_sessions()] == ["kept"]
        assert [m.content for m in mirror.load_session(session.id).get_messages()] == ["still here"]


def test_index_damaged_while_open_is_rebuilt(folder):
    with open_mirror(folder) as mirror:
        session = mirror.create_session("kept")
        session.save()
        (folder / INDEX_FILE).write_text("garbage")
        assert [m.title for m in mirror.list_sessions()] == ["kept"]


def test_damaged_session_file_is_named_and_others_still_load(folder):
    with open_mirror(folder) as mirror:
        good = mirror.create_session("good")
        good.send("fine")
        good.save()
        bad = mirror.create_session("bad")
        bad.send("lost")
        bad.save()
    (folder / f"{bad.id}.json").write_text('{"id": "truncat')
    with pytest.warns(RuntimeWarning, match=bad.id), open_mirror(folder) as mirror:
        assert [m.title for m in mirror.list_sessions()] == ["good"]
        assert [m.content for m in mirror.load_session(good.id).get_messages()] == ["fine"]
        with pytest.raises(StorageError, match=f"{bad.id}.json"):
            mirror.load_session(bad.id)


def test_session_file_damaged_while_open_names_it(folder):
    with open_mirror(folder) as mirror:
        session = mirror.create_session("s")
        session.send("x")
        session.save()
        (folder / f"{session.id}.json").write_text("nonsense")
        loaded = mirror.load_session(session.id)  # metadata comes from the index
        with pytest.raises(StorageError, match=f"{session.id}.json"):
            loaded.get_messages()


def test_crash_between_session_file_and_index_is_repaired(folder):
    """The session file is written before the index: a session saved just before a crash
    is found at the next open, with its new messages."""
    with open_mirror(folder) as mirror:
        session = mirror.create_session("s")
        session.send("one")
        session.save()
        old_index = (folder / INDEX_FILE).read_bytes()
        session.send("two")
        session.save()
        other = mirror.create_session("other")
        other.save()
    (folder / INDEX_FILE).write_bytes(old_index)  # as if the last index writes never happened
    with open_mirror(folder) as mirror:
        assert {m.title: m.message_count for m in mirror.list_sessions()} == {"s": 2, "other": 0}


def test_deleted_session_file_is_dropped_from_the_index(folder):
    with open_mirror(folder) as mirror:
        keep = mirror.create_session("keep").save()
        gone = mirror.create_session("gone").save()
    (folder / f"{gone}.json").unlink()
    with open_mirror(folder) as mirror:
        assert [m.session_id for m in mirror.list_sessions()] == [keep]
    assert read_json(folder / INDEX_FILE)["sessions"] == [keep]


@pytest.mark.parametrize("entry", ["../x.json", "../x", "/abs", "a\u0000b", "sub/../../x"])
def test_index_naming_a_file_outside_the_folder_is_refused(tmp_path, folder, entry):
    outside = tmp_path / "x.json"
    write_json(outside, dict(SPEC_SESSION, id="x"))
    before = outside.read_bytes()
    write_json(folder / INDEX_FILE, {"sessions": [entry], "updatedAt": "2024-01-15T10:00:00Z"})
    index_before = (folder / INDEX_FILE).read_bytes()
    listing_before = sorted(p.name for p in tmp_path.rglob("*"))
    with pytest.raises(StorageError, match="unsafe"):
        open_mirror(folder)
    assert outside.read_bytes() == before
    assert (folder / INDEX_FILE).read_bytes() == index_before
    assert sorted(p.name for p in tmp_path.rglob("*") if p.name != ".activemirror.lock") == [
        n for n in listing_before if n != ".activemirror.lock"
    ]


def test_files_that_are_not_sessions_are_ignored(folder):
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("not ours")
    (folder / "my notes.json").write_text("{}")  # not a name we would write
    with open_mirror(folder) as mirror:
        assert mirror.list_sessions() == []
    assert (folder / "notes.txt").read_text() == "not ours"


def test_a_file_path_is_not_a_folder(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(StorageError, match="not a folder"):
        JSONStorage(path)


def test_writes_leave_no_temporary_files(folder):
    with open_mirror(folder) as mirror:
        session = mirror.create_session("s")
        for i in range(5):
            session.send(f"m{i}")
            session.save()
        mirror.delete_session(mirror.create_session("t").save())
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]


def test_leftover_temporary_files_are_removed_on_open(folder):
    folder.mkdir(parents=True)
    (folder / ".tmp-abc123.tmp").write_text("half a file")
    open_mirror(folder).close()
    assert not (folder / ".tmp-abc123.tmp").exists()


def test_use_after_close_is_a_clear_error(folder):
    mirror = open_mirror(folder)
    mirror.close()
    with pytest.raises(StorageError, match="closed"):
        mirror.list_sessions()
    mirror.close()  # twice is fine


def test_appending_keeps_earlier_messages_and_positions(folder):
    with open_mirror(folder) as mirror:
        session = mirror.create_session("big")
        for i in range(250):
            session.send(f"message {i}")
        session.save()
        for i in range(250, 260):
            session.send(f"message {i}")
            session.save()
    with open_mirror(folder) as mirror:
        loaded = mirror.load_session(session.id)
        assert loaded.message_count == 260
        assert [m.content for m in loaded.get_messages(limit=3)] == [
            "message 257",
            "message 258",
            "message 259",
        ]
        assert [m.content for m in loaded.get_messages(limit=2, offset=258)] == [
            "message 0",
            "message 1",
        ]


def test_changes_by_another_mirror_are_seen_without_reopening(folder):
    with open_mirror(folder) as a, open_mirror(folder) as b:
        session = a.create_session("shared")
        session.send("from a")
        session.save()
        assert [m.title for m in b.list_sessions()] == ["shared"]
        other = b.load_session(session.id)
        other.send("from b")
        other.save()
        assert [m.content for m in a.load_session(session.id).get_messages()] == [
            "from a",
            "from b",
        ]


def test_a_small_folder_s_files_are_current_after_every_save(folder, monkeypatch):
    """What tools that read only the spec's files (the JavaScript SDK) see while a kernel
    keeps the store open."""
    monkeypatch.setattr(jsonfiles, "FOLD_AT_ONCE_BYTES", FOLD_AT_ONCE_BYTES)
    with open_mirror(folder, autosave=True) as mirror:
        session = mirror.create_session("Open")
        for text in ["one", "two"]:
            session.send(text)
            data = read_json(folder / f"{session.id}.json")
            assert data["messages"][-1]["content"] == text
            assert read_json(folder / INDEX_FILE)["sessions"] == [session.id]
            assert (folder / JOURNAL_FILE).stat().st_size == 0


def test_a_big_folder_journals_saves_and_its_files_catch_up_on_close(folder, monkeypatch):
    monkeypatch.setattr(jsonfiles, "FOLD_AT_ONCE_BYTES", FOLD_AT_ONCE_BYTES)
    with open_mirror(folder, autosave=True) as mirror:
        session = mirror.create_session("Big")
        session.send("x" * FOLD_AT_ONCE_BYTES)  # folded: the files were small before it
        session.send("after")  # the session file is big now: only the journal grows
        assert read_json(folder / f"{session.id}.json")["messageCount"] == 1
        assert (folder / JOURNAL_FILE).stat().st_size > 0
        assert [m.content for m in session.get_messages()][-1] == "after"
        assert mirror.load_session(session.id).message_count == 2
    assert read_json(folder / f"{session.id}.json")["messageCount"] == 2
    assert (folder / JOURNAL_FILE).stat().st_size == 0


def _writer(folder: str, name: str, count: int, ready, go, fold_at_once_bytes: int) -> None:
    jsonfiles.FOLD_AT_ONCE_BYTES = fold_at_once_bytes  # a new process: as the test runs
    mirror = ActiveMirror("json", storage_path=folder)
    ready.set()
    assert go.wait(120), "never told to go"
    for i in range(count):
        session = mirror.create_session(f"{name}-{i}")
        session.send(f"{name} says {i}")
        session.save()
    mirror.close()


def test_two_processes_writing_one_folder_lose_nothing(folder, fold_at_once_bytes):
    """Two kernels on one folder: each saves sessions as fast as it can; the index ends up
    with every session of both."""
    folder.mkdir(parents=True)
    ctx = multiprocessing.get_context("spawn")
    count = 40
    go = ctx.Event()
    readies = [ctx.Event(), ctx.Event()]
    procs = [
        ctx.Process(target=_writer, args=(str(folder), name, count, ready, go, fold_at_once_bytes))
        for name, ready in zip(["a", "b"], readies, strict=True)
    ]
    for p in procs:
        p.start()
    try:
        for ready in readies:
            assert ready.wait(120)
        go.set()
        for p in procs:
            p.join(120)
            assert p.exitcode == 0
    finally:
        for p in procs:  # a failing test leaves no writer running
            if p.is_alive():
                p.kill()
                p.join()
    index = read_json(folder / INDEX_FILE)
    assert len(index["sessions"]) == 2 * count
    with open_mirror(folder) as mirror:
        titles = {m.title for m in mirror.list_sessions()}
    assert titles == {f"{n}-{i}" for n in "ab" for i in range(count)}


# -- hardening: refused saves, damaged files, reserved names, leftovers ----------------------


def _two_refused_sends(folder: str) -> dict:
    """The adversarial pass's case: a full disk refuses two autosaved sends."""
    from faults import full_disk, snapshot

    from activemirror_jupyter import StorageError

    mirror = ActiveMirror("json", storage_path=folder, autosave=True)
    by_title = {s.title: s.session_id for s in mirror.list_sessions()}
    session = mirror.load_session(by_title["Kept"])
    other = mirror.load_session(by_title["Other"])
    errors = []
    with full_disk(4096)():
        for text in ("fault refused one " + "r" * 5000, "fault refused two " + "r" * 5000):
            try:
                session.send(text)
            except StorageError as exc:
                errors.append(str(exc))
    seen = snapshot(mirror)
    exported = mirror.load_session(session.id).export("json")  # what the store holds
    other.send("an unrelated note")  # the next save of anything writes nothing refused
    with ActiveMirror("json", storage_path=folder) as fresh:
        reopened = snapshot(fresh)
    session.save()  # the disk has room again: both are kept, once each, in order
    mirror.close()
    return {"errors": errors, "seen": seen, "exported": exported, "reopened": reopened}


def test_a_refused_save_leaves_the_folder_as_it_was_and_a_retry_keeps_each_once(folder):
    from faults import in_child

    with open_mirror(folder) as mirror:
        for title in ("Kept", "Other"):
            session = mirror.create_session(title)
            session.send(f"{title} first")
            session.save()
        session_id = {s.title: s.session_id for s in mirror.list_sessions()}["Kept"]
    result = in_child(_two_refused_sends, str(folder))
    assert len(result["errors"]) == 2, result["errors"]
    assert "refused" not in json.dumps(result["seen"]) and "refused" not in result["exported"]
    assert "refused" not in json.dumps(result["reopened"])
    assert result["reopened"]["verify"] == (True, [])
    with open_mirror(folder) as mirror:
        contents = [m.content[:18] for m in mirror.load_session(session_id).get_messages()]
        assert contents == ["Kept first", "fault refused one ", "fault refused two "]
        assert mirror.verify().ok
        assert "an unrelated note" in [
            m.content
            for s in mirror.list_sessions()
            for m in mirror.load_session(s.session_id).get_messages()
        ]


def test_deleting_a_session_keeps_the_bytes_a_damaged_session_file_uses(folder):
    from activemirror_jupyter import Attachment

    with open_mirror(folder) as mirror:
        a = mirror.create_session("A")
        a.send(
            "with a file",
            attachments=[Attachment.from_bytes("a.bin", "application/octet-stream", b"A" * 500)],
        )
        a.save()
        b = mirror.create_session("B")
        b.send(
            "with another",
            attachments=[Attachment.from_bytes("b.bin", "application/octet-stream", b"B" * 500)],
        )
        b.save()
    path = folder / f"{a.id}.json"
    good = path.read_bytes()
    path.write_bytes(good[: len(good) // 2])  # cut short: a careless edit, a partial copy
    with pytest.warns(RuntimeWarning, match="damaged"), open_mirror(folder) as mirror:
        assert mirror.delete_session(b.id)
    path.write_bytes(good)  # restored from a copy
    with open_mirror(folder) as mirror:
        restored = mirror.load_session(a.id).get_messages()[0]
        assert restored.attachments[0].read() == b"A" * 500
        assert mirror.verify().ok
        assert mirror.delete_session(a.id)  # now nothing could use them: both are freed
    assert list((folder / "attachments").iterdir()) == []


@pytest.mark.parametrize("reserved", ["index", "Index", "INDEX"])
def test_the_session_id_index_is_refused_clearly_and_the_folder_stays_sound(folder, reserved):
    from activemirror_jupyter import InvalidIdError, InvalidImportError, import_session

    doc = {"id": reserved, "title": "Clash", "createdAt": "2025-01-01T00:00:00Z", "messages": []}
    with open_mirror(folder) as mirror:
        mirror.create_session("Fine").save()
        with pytest.raises(InvalidImportError, match=r"^session.id: .*reserved in a JSON folder"):
            import_session(doc, mirror)
        copy = import_session(doc, mirror, on_conflict="new_id")  # what the error suggests
        assert copy.id != reserved
        with pytest.raises(InvalidIdError, match="reserved"):
            mirror.load_session(reserved)
    with open_mirror(folder) as mirror:
        assert sorted(s.title for s in mirror.list_sessions()) == ["Clash", "Fine"]
        assert mirror.verify().ok


def test_leftovers_of_a_killed_save_are_removed_on_open_and_nothing_used_is(folder):
    from activemirror_jupyter import Attachment

    with open_mirror(folder) as mirror:
        session = mirror.create_session("Files")
        session.send("kept", attachments=[Attachment.from_bytes("k", "text/plain", b"kept bytes")])
        session.save()
    attachments = folder / "attachments"
    # What a save killed between writing its bytes and its journal line leaves behind.
    (attachments / ("0" * 64)).write_bytes(b"orphan bytes")
    (attachments / ".tmp-abc.tmp").write_bytes(b"half an attachment")
    (folder / ".tmp-def.tmp").write_bytes(b"half a session file")
    with open_mirror(folder) as mirror:
        assert (
            mirror.load_session(session.id).get_messages()[0].attachments[0].read() == b"kept bytes"
        )
    assert len(list(attachments.iterdir())) == 1
    assert not list(folder.glob(".tmp-*"))


KILLED_SAVER = """
import os, sys
from activemirror_jupyter import ActiveMirror, Attachment
from activemirror_jupyter.core.storage import jsonfiles
from activemirror_jupyter.core.storage.base import SessionQuery
if sys.argv[2] == "journal":
    jsonfiles.FOLD_AT_ONCE_BYTES = -1
mirror = ActiveMirror("json", storage_path=sys.argv[1], autosave=True)
session = mirror.create_session("Killed")
print("ready", flush=True)
i = 0
while True:
    session.send(f"note {i}", attachments=[Attachment.from_bytes("f", "application/octet-stream", os.urandom(200_000))])
    i += 1
"""


def test_kill_9_during_saves_with_attachments_leaves_no_orphan_bytes(
    folder, tmp_path, fold_at_once_bytes
):
    import signal
    import subprocess
    import sys

    from waiting import read_line, wait_until

    script = tmp_path / "saver.py"
    script.write_text(KILLED_SAVER)
    mode = "journal" if fold_at_once_bytes == -1 else "small"
    for _ in range(3):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(folder), mode], stdout=subprocess.PIPE, text=True
        )
        read_line(proc, "the saver to start")
        wait_until(lambda: len(list((folder / "attachments").glob("*"))) >= 3, "a few saves")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with open_mirror(folder) as mirror:
        used = {
            a.sha256
            for s in mirror.list_sessions()
            for m in mirror.load_session(s.session_id).get_messages()
            for a in m.attachments
        }
        assert mirror.verify().ok
    assert {p.name for p in (folder / "attachments").iterdir()} == used


def test_a_new_journal_in_a_reused_inode_is_read_from_its_start(folder):
    """A fold replaces the journal with a new file, whose inode number the file system may
    give again to a later journal: a process that read the old one to some offset must not
    read the new one from there."""
    from activemirror_jupyter.core.storage.jsonjournal import Journal

    folder.mkdir(parents=True)
    reader, writer = Journal(folder), Journal(folder)
    writer.append({"save": "s1", "header": {"title": "one"}, "messages": [], "replace": False})
    reader.sync()
    assert list(reader.pending) == ["s1"]
    # The journal is emptied and written again in place of the same inode, as a reused
    # inode number would look: same inode, more bytes than the reader's offset.
    with open(writer.path, "r+b") as f:
        f.truncate(0)
        f.write(
            b'{"delete":"s0"}\n{"save":"s2","header":{"title":"two"},"messages":[],"replace":false}\n'
        )
    reader.sync()
    assert sorted(reader.pending) == ["s0", "s2"]


def test_what_a_process_lists_after_each_save_is_what_a_new_process_reads(folder):
    """Saves into a big folder only append to the journal, and the open store brings what
    it lists up to date by the appended lines alone: step by step, it must list what was
    done, and at the end what a process opening the folder (reading it all) lists."""
    with open_mirror(folder) as mirror:
        expected: dict[str, tuple[str, int]] = {}
        made = []

        def check() -> None:
            listed = {m.session_id: (m.title, m.message_count) for m in mirror.list_sessions()}
            assert listed == expected
            found = {h.session_id for h in mirror.search("note")}
            assert found == {sid for sid, (title, _) in expected.items() if title != "empty"}

        for i in range(8):
            session = mirror.create_session(f"s{i}")
            session.send(f"note {i}")
            session.save()
            made.append(session)
            expected[session.id] = (f"s{i}", 1)
            check()
        made[3].send("another note")
        made[3].title = "renamed"
        made[3].save()
        expected[made[3].id] = ("renamed", 2)
        check()
        exported = made[2].export("json")
        mirror.delete_session(made[2].id)
        del expected[made[2].id]
        check()
        import_session(exported, mirror)  # it comes back
        expected[made[2].id] = ("s2", 1)
        check()
        made[5].send("one more note")
        made[5].save()
        expected[made[5].id] = ("s5", 2)
        check()
        ours = [(m.session_id, m.title, m.message_count) for m in mirror.list_sessions()]
        with open_mirror(folder) as fresh:
            assert [(m.session_id, m.title, m.message_count) for m in fresh.list_sessions()] == ours
