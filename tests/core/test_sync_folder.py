"""Sync through a shared folder: one record on every device, nothing readable in the
folder, and every bad folder refused or ignored as the contract says."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
from sync_devices import FAST, PASSWORD, check_one_record, device, devices, identities, sync_all

from activemirror_jupyter import (
    ActiveMirror,
    Attachment,
    Identity,
    SyncError,
    SyncReport,
    SyncWarning,
    VaultMemory,
)

KINDS = [["sqlite", "sqlite"], ["json", "json"], ["sqlite", "json"]]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "Dropbox"
    path.mkdir()
    return path


@pytest.fixture(params=KINDS, ids=lambda k: "+".join(k))
def pair(request, tmp_path: Path):
    mirrors = devices(tmp_path, request.param)
    yield mirrors
    for m in mirrors:
        m.close()


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_a_note_saved_on_one_device_is_on_the_other_after_a_sync(pair, folder):
    a, b = pair
    s = a.create_session("Rain in Norway", tags=["weather"])
    s.send("Oslo had a very wet autumn", metadata={"city": "Oslo"})
    s.send("plot", attachments=[Attachment.from_bytes("rain.png", "image/png", b"\x89PNG rain")])
    s.save()
    report = a.sync(folder)
    assert isinstance(report, SyncReport)
    assert (report.pushed, report.pulled, report.remote) == (2, 0, str(folder))
    assert b.sync(folder) == SyncReport(0, 2, str(folder))
    got = b.load_session(s.id)
    assert (got.title, got.tags) == ("Rain in Norway", ("weather",))
    messages = got.get_messages()
    assert [m.content for m in messages] == ["Oslo had a very wet autumn", "plot"]
    assert messages[0].metadata == {"city": "Oslo"}
    assert messages[1].attachments[0].read() == b"\x89PNG rain"
    assert all(m.origin == a.device_id for m in messages)
    assert got.head == a.load_session(s.id).head
    check_one_record(pair)


def test_concurrent_notes_end_in_one_order_on_both_devices(pair, folder):
    a, b = pair
    s = a.create_session("Shared")
    s.send("first, on A")
    s.save()
    sync_all([a, b], folder, rounds=1)
    on_b = b.load_session(s.id)
    on_b.send("second, on B after it had A's")
    on_b.save()
    on_a = a.load_session(s.id)
    on_a.send("meanwhile on A")
    on_a.save()
    sync_all([a, b], folder)
    record = check_one_record(pair)
    contents = [m[2] for m in record[s.id]["messages"]]
    assert contents[0] == "first, on A"  # both later messages were saved after it was seen
    assert set(contents[1:]) == {"second, on B after it had A's", "meanwhile on A"}
    assert len({m[5] for m in record[s.id]["messages"]}) == 2
    # the head of a session saved on two devices is not one message's hash
    assert record[s.id]["head"] not in {m[6] for m in record[s.id]["messages"]}
    # a message saved after its device had received another comes after it, on every device
    on_b.send("third, on B after everything")
    on_b.save()
    sync_all([a, b], folder)
    assert check_one_record(pair)[s.id]["messages"][-1][2] == "third, on B after everything"


def test_a_sync_with_nothing_new_writes_nothing_and_reports_zero(pair, folder):
    a, b = pair
    a.create_session("x").send("hello")
    sync_all([a, b], folder)
    before = files_of(folder)
    assert a.sync(folder) == SyncReport(0, 0, str(folder))
    assert b.sync(folder) == SyncReport(0, 0, str(folder))
    assert files_of(folder) == before


def test_the_folder_holds_nothing_readable(pair, folder):
    a, b = pair
    s = a.create_session("Secret project Zanzibar", tags=["zanzibar-tag"])
    s.send("the password is hunter2-xyzzy", metadata={"note": "metadata-plover"})
    s.send("fig", attachments=[Attachment.from_bytes("f.txt", "text/plain", b"bytes-quokka")])
    s.save()
    sync_all([a, b], folder)
    raw = b"".join(files_of(folder).values())
    for secret in (b"Zanzibar", b"zanzibar-tag", b"hunter2", b"plover", b"quokka", b"f.txt"):
        assert secret not in raw
    names = " ".join(files_of(folder))
    assert s.id not in names and "f.txt" not in names


def test_each_device_writes_only_new_files_of_its_own(pair, folder):
    a, b = pair
    s = a.create_session("x")
    s.send("one")
    a.sync(folder)
    first = files_of(folder)
    s.send("two")
    s.title = "y"
    a.sync(folder)
    b.sync(folder)
    b.load_session(s.id).send("from b")
    b.sync(folder)
    now = files_of(folder)
    assert all(now[name] == data for name, data in first.items())  # never rewritten
    mine = {a.device_id: set(), b.device_id: set()}
    for name in now:
        parts = Path(name).parts
        if len(parts) == 4:
            mine[parts[2]].add(parts[3])
    assert mine[a.device_id] and mine[b.device_id]


def test_title_and_tags_take_the_later_change_everywhere(pair, folder):
    a, b = pair
    s = a.create_session("original")
    s.send("x")
    sync_all([a, b], folder)
    on_a, on_b = a.load_session(s.id), b.load_session(s.id)
    on_a.title = "changed on A first"
    on_a.save()
    on_b.title = "changed on B later"
    on_b.tags = ["b-tag"]
    on_b.save()
    sync_all([b, a], folder)
    record = check_one_record(pair)
    assert record[s.id]["title"] == "changed on B later"
    assert record[s.id]["tags"] == ("b-tag",)


def test_a_delete_removes_the_session_everywhere(pair, folder):
    a, b = pair
    s = a.create_session("to go")
    s.send("x")
    keep = a.create_session("to keep")
    keep.send("y")
    sync_all([a, b], folder)
    assert b.delete_session(s.id)
    sync_all([a, b], folder)
    record = check_one_record(pair)
    assert list(record) == [keep.id]


def test_a_delete_never_loses_what_another_device_wrote_meanwhile(pair, folder):
    a, b = pair
    s = a.create_session("busy")
    s.send("from a")
    sync_all([a, b], folder)
    a.delete_session(s.id)
    on_b = b.load_session(s.id)
    on_b.send("written on B before it heard of the delete")
    on_b.save()
    sync_all([a, b], folder)
    record = check_one_record(pair)
    contents = [m[2] for m in record[s.id]["messages"]]
    assert contents == ["from a", "written on B before it heard of the delete"]


def test_a_seal_reaches_every_device_and_late_messages_go_to_one_child(pair, folder):
    a, b = pair
    s = a.create_session("Experiment 7")
    s.send("result")
    s.save()
    sync_all([a, b], folder)
    seal = a.load_session(s.id).seal()
    on_b = b.load_session(s.id)
    late = on_b.send("late result, before B had the seal", metadata={"k": 1})
    on_b.save()
    sync_all([a, b], folder)
    record = check_one_record(pair)
    assert record[s.id]["status"] == "sealed"
    assert record[s.id]["head"] == seal["head"]
    assert [m[2] for m in record[s.id]["messages"]] == ["result"]
    children = [sid for sid, r in record.items() if r["parent"] == s.id]
    assert len(children) == 1
    child = record[children[0]]
    assert child["title"] == "Experiment 7 (after seal)"
    assert [(m[0], m[2], m[4]) for m in child["messages"]] == [(late.id, late.content, {"k": 1})]


def test_a_changed_file_is_refused_by_name_and_nothing_of_it_enters(pair, folder):
    a, b = pair
    s = a.create_session("x")
    s.send("hello")
    a.sync(folder)
    segment = next(p for p in folder.rglob("s-*.ams"))
    data = bytearray(segment.read_bytes())
    data[-5] ^= 0x01
    segment.write_bytes(bytes(data))
    with pytest.raises(SyncError, match=segment.name):
        b.sync(folder)
    assert b.list_sessions() == []


def test_partial_files_are_waited_for_and_stray_files_ignored(pair, folder):
    a, b = pair
    s = a.create_session("x")
    s.send("hello")
    a.sync(folder)
    segment = next(p for p in folder.rglob("s-*.ams"))
    whole = segment.read_bytes()
    segment.write_bytes(whole[: len(whole) // 2])  # a copy still arriving
    root = segment.parent
    (root / "s-00000001-deadbeef.sync-conflict-20261207-101010-ABCDEFG.ams").write_bytes(b"junk")
    (root / f"{segment.stem} (conflicted copy 2026-12-07).ams").write_bytes(whole)
    (root.parent / "desktop.ini").write_text("[stray]")
    (root.parent / ("0" * 32)).mkdir()
    assert b.sync(folder).pulled == 0
    assert b.list_sessions() == []
    segment.write_bytes(whole)  # arrived
    assert b.sync(folder).pulled == 1
    check_one_record(pair)


def test_another_identitys_folder_is_refused(tmp_path, folder):
    (a,) = devices(tmp_path / "one", ["sqlite"])
    (stranger,) = devices(tmp_path / "two", ["sqlite"])
    a.create_session("x").send("hello")
    a.sync(folder)
    stranger.create_session("y").send("mine")
    with pytest.raises(SyncError, match="another identity"):
        stranger.sync(folder)
    assert [m.title for m in stranger.list_sessions()] == ["y"]
    assert len(list(folder.rglob("*.ams"))) == 1


def test_syncing_needs_an_identity_and_an_existing_folder(tmp_path, folder):
    plain = ActiveMirror("sqlite", db_path=tmp_path / "plain.db")
    with pytest.raises(SyncError, match="identity"):
        plain.sync(folder)
    (a,) = devices(tmp_path, ["sqlite"])
    with pytest.raises(SyncError, match="does not exist"):
        a.sync(tmp_path / "missing")
    with pytest.raises(SyncError, match="no remote"):
        a.sync()
    assert list(folder.iterdir()) == []


def test_a_store_copied_as_files_is_caught_and_new_device_id_fixes_it(tmp_path, folder):
    (a, b) = devices(tmp_path, ["sqlite", "sqlite"])
    s = a.create_session("x")
    s.send("before the copy")
    a.sync(folder)
    a.close()
    copy_path = tmp_path / "copy.db"
    copy_path.write_bytes((tmp_path / "device-0.db").read_bytes())
    a = device(tmp_path, "sqlite", "device-0", a.identity)
    copy = ActiveMirror("sqlite", db_path=copy_path, identity=a.identity, autosave=True)
    assert copy.device_id == a.device_id
    a.load_session(s.id).send("on the original")
    a.sync(folder)
    copy.load_session(s.id).send("on the copy")
    with pytest.raises(SyncError, match=r"new_device_id\(\)"):
        copy.sync(folder)
    old = copy.device_id
    assert copy.new_device_id() != old
    sync_all([a, copy, b], folder)
    record = check_one_record([a, copy, b])
    contents = [m[2] for m in record[s.id]["messages"]]
    assert sorted(contents) == ["before the copy", "on the copy", "on the original"]
    origins = {m[2]: m[5] for m in record[s.id]["messages"]}
    assert origins["before the copy"] == old == origins["on the original"]
    assert origins["on the copy"] == copy.device_id


def test_the_spec_sync_block_runs_as_written(tmp_path, folder):
    vault = VaultMemory(PASSWORD, tmp_path / "vault", kdf_iterations=FAST)
    Identity.create(vault, "Ada", remote=str(folder))
    other = ActiveMirror(
        "sqlite",
        db_path=tmp_path / "laptop.db",
        identity=Identity.join(
            VaultMemory(PASSWORD, tmp_path / "v2", kdf_iterations=FAST),
            Identity.load(vault).pairing_code(),
            remote=str(folder),
        ),
        sync_enabled=True,
    )
    mirror_dna_identity = Identity.load(vault)
    mirror = ActiveMirror(
        "sqlite", db_path=tmp_path / "desk.db", identity=mirror_dna_identity, sync_enabled=True
    )
    session = mirror.create_session("Synced")
    session.send("Available on all my devices")
    session.save()
    other.sync()
    assert [m.content for m in other.load_session(session.id).get_messages()] == [
        "Available on all my devices"
    ]


def test_sync_enabled_needs_an_identity_with_a_remote(tmp_path):
    with pytest.raises(ValueError, match="identity"):
        ActiveMirror("memory", sync_enabled=True)
    (identity,) = identities(tmp_path, 1)
    with pytest.raises(ValueError, match="remote"):
        ActiveMirror("memory", identity=identity, sync_enabled=True)


def test_a_failing_push_is_a_warning_and_the_save_stands(tmp_path, folder):
    (identity,) = identities(tmp_path, 1)
    identity.set_remote(str(tmp_path / "unplugged-usb-stick"))
    with pytest.warns(SyncWarning, match="does not exist"):
        mirror = ActiveMirror(
            "sqlite", db_path=tmp_path / "m.db", identity=identity, sync_enabled=True
        )
    with pytest.warns(SyncWarning):
        s = mirror.create_session("offline")
        s.send("kept")
        s.save()
    assert [m.content for m in mirror.saved_messages(s.id)] == ["kept"]
    identity.set_remote(str(folder))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert mirror.sync().pushed == 1  # the next sync catches up


def test_the_last_sync_is_recorded_in_the_store(tmp_path, folder):
    from activemirror_jupyter.core.sync.state import last_sync

    (a,) = devices(tmp_path, ["sqlite"])
    a.create_session("x").send("y")
    a.sync(folder)
    last = last_sync(a.store)
    assert (last["remote"], last["pushed"], last["pulled"], last["error"]) == (
        str(folder),
        1,
        0,
        None,
    )
    with pytest.raises(SyncError):
        a.sync(folder / "gone")
    assert "does not exist" in last_sync(a.store)["error"]
    assert json.dumps(last_sync(a.store))
    assert os.fspath(folder) in last_sync(a.store)["remote"]


def test_a_progress_bar_learns_the_size_and_reaches_it(pair, folder):
    import io

    from tqdm import tqdm

    a, b = pair
    s = a.create_session("many")
    for i in range(30):
        s.send(f"note {i}")
    with tqdm(total=0, file=io.StringIO()) as bar:
        a.sync(folder, progress=bar)
        assert (bar.total, bar.n) == (30, 30)
    with tqdm(total=0, file=io.StringIO()) as bar:
        b.sync(folder, progress=bar)
        assert (bar.total, bar.n) == (30, 30)


def test_a_redaction_syncs_to_every_device_and_to_one_that_joins_later(tmp_path, folder):
    a, b, c = devices(tmp_path, ["sqlite", "json", "sqlite"])
    s = a.create_session("notes")
    s.send("harmless")
    leaked = s.send(
        "api key sk-live-PLOVER-42",
        attachments=[Attachment.from_bytes("key.txt", "text/plain", b"sk-live-PLOVER-42")],
    )
    sync_all([a, b], folder)
    assert b.load_session(s.id).redact(leaked.id, "pasted a key").redacted["reason"] == (
        "pasted a key"
    )
    sync_all([a, b, c], folder)
    for mirror in (a, b, c):
        messages = mirror.saved_messages(s.id)
        assert [m.content for m in messages] == ["harmless", ""]
        assert messages[1].redacted["reason"] == "pasted a key"
        assert messages[1].attachments == ()
        assert mirror.search("PLOVER") == []
        assert mirror.verify().ok
    assert {m.load_session(s.id).head for m in (a, b, c)} == {a.load_session(s.id).head}
    # the store files keep nothing of it (the folder keeps only ciphertext)
    for path in [
        tmp_path / "device-0.db",
        tmp_path / "device-2.db",
        *(tmp_path / "device-1").rglob("*"),
    ]:
        if path.is_file():
            assert b"PLOVER" not in path.read_bytes(), path


SPEC_SYNC_BLOCK = """
# Automatic cross-device sync
mirror = ActiveMirror(
    identity=mirror_dna_identity,
    sync_enabled=True
)

# Changes sync via MirrorDNA protocol
session.send("Available on all my devices")
"""


def test_the_spec_sync_block_runs_verbatim(tmp_path, folder):
    vault = VaultMemory(PASSWORD, tmp_path / "vault", kdf_iterations=FAST)
    Identity.create(vault, "Ada", remote=str(folder))
    mirror_dna_identity = Identity.load(vault)
    earlier = ActiveMirror(identity=mirror_dna_identity, sync_enabled=True, autosave=True)
    session = earlier.create_session("from the spec's earlier examples")
    namespace = {
        "ActiveMirror": ActiveMirror,
        "mirror_dna_identity": mirror_dna_identity,
        "session": session,
    }
    exec(compile(SPEC_SYNC_BLOCK, "<the spec's Sync (Future) block>", "exec"), namespace)
    assert namespace["mirror"].sync_enabled
    other = ActiveMirror(
        "json",
        storage_path=tmp_path / "elsewhere",
        identity=Identity.join(
            VaultMemory(PASSWORD, tmp_path / "v2", kdf_iterations=FAST),
            mirror_dna_identity.pairing_code(),
        ),
    )
    other.sync(folder)
    assert [m.content for m in other.saved_messages(session.id)] == ["Available on all my devices"]


def git(cwd: Path, *args: str) -> str:
    import subprocess

    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_a_git_repository_is_a_courier_without_merge_conflicts(tmp_path):
    """Two clones of one bare repository: each device's new files merge without conflict."""
    bare = tmp_path / "notes.git"
    git(tmp_path, "init", "-q", "--bare", str(bare))
    clones = [tmp_path / "clone-a", tmp_path / "clone-b"]
    for clone in clones:
        git(tmp_path, "clone", "-q", str(bare), str(clone))
    a, b = devices(tmp_path, ["sqlite", "json"])
    shared = a.create_session("kept in git")
    shared.send("from a")
    a.sync(clones[0])
    git(clones[0], "add", "-A")
    git(clones[0], "commit", "-qm", "a")
    git(clones[0], "push", "-q", "origin", "HEAD")
    git(clones[1], "pull", "-q", "origin", git(clones[0], "branch", "--show-current").strip())
    b.sync(clones[1])
    for mirror, clone, text in ((a, clones[0], "more from a"), (b, clones[1], "from b")):
        mirror.load_session(shared.id).send(text)  # both change the record at once
        mirror.sync(clone)
        git(clone, "add", "-A")
        git(clone, "commit", "-qm", text)
    branch = git(clones[0], "branch", "--show-current").strip()
    git(clones[0], "push", "-q", "origin", branch)
    git(clones[1], "pull", "-q", "--no-rebase", "--no-edit", "origin", branch)  # a merge
    git(clones[1], "push", "-q", "origin", branch)
    git(clones[0], "pull", "-q", "--no-rebase", "--no-edit", "origin", branch)
    assert "<<<<<<<" not in "".join(
        p.read_text("latin-1")
        for p in clones[0].rglob("*")
        if p.is_file() and ".git" not in p.parts
    )
    a.sync(clones[1])  # another clone (or mount) of the same folder is the same remote
    b.sync(clones[1])
    record = check_one_record([a, b])
    assert sorted(m[2] for m in record[shared.id]["messages"]) == [
        "from a",
        "from b",
        "more from a",
    ]


def test_delete_all_data_on_a_syncing_store_deletes_every_session_everywhere(tmp_path, folder):
    from activemirror_jupyter import delete_all_data

    vault = VaultMemory(PASSWORD, tmp_path / "vault", kdf_iterations=FAST)
    me = Identity.create(vault, "Ada", remote=str(folder))
    mine = ActiveMirror("sqlite", db_path=tmp_path / "mine.db", identity=me, sync_enabled=True)
    other = ActiveMirror(
        "json",
        storage_path=tmp_path / "other",
        identity=Identity.join(
            VaultMemory(PASSWORD, tmp_path / "v2", kdf_iterations=FAST), me.pairing_code()
        ),
    )
    for title in ("one", "two"):
        s = mine.create_session(title)
        s.send(f"in {title}")
        s.save()
    other.sync(folder)
    assert len(other.list_sessions()) == 2
    assert delete_all_data(mine, vault)["sessions"] == 2
    other.sync(folder)
    assert other.list_sessions() == []


def test_a_sync_lists_only_the_device_folders_that_changed(pair, folder, monkeypatch):
    from activemirror_jupyter.core.sync.folder import Folder

    a, b = pair
    a.create_session("x").send("one")
    sync_all([a, b], folder)

    def settle() -> None:  # as if the last change were a minute ago
        for path in (folder / "activemirror-sync" / "v1").iterdir():
            if path.is_dir():
                st = path.stat()
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - 60 * 10**9))

    settle()
    sync_all([a, b], folder)  # the marks of settled folders are kept
    listed = []
    original = Folder.segments
    monkeypatch.setattr(Folder, "segments", lambda self, d: listed.append(d) or original(self, d))
    assert a.sync(folder) == SyncReport(0, 0, str(folder))
    assert listed == []  # nothing changed: no device's folder was listed
    b.load_session(a.list_sessions()[0].session_id).send("two")
    b.sync(folder)  # b's folder changes now: a lists it again, whatever the marks
    assert a.sync(folder).pulled == 1
    assert b.device_id in listed


def test_what_a_store_remembers_of_a_folder_is_read_in_parts_and_0_3s_one_record_moves(
    pair, folder
):
    a, b = pair
    sessions = [a.create_session(f"note {i}") for i in range(40)]
    for s in sessions:
        s.send("first")
    sync_all([a, b], folder)
    key = next(k for k in _state_keys(a) if k.endswith("-part-00")).rsplit("-part-", 1)[0]
    parts = {k: json.loads(a.store.read_state(k)) for k in _state_keys(a) if "-part-" in k}
    assert sum(len(p) for p in parts.values()) == 40 and len(parts) > 1
    # As the first 0.3 syncs kept it: one record of every session, no parts.
    a.store.write_state(
        f"{key}-sessions", json.dumps({i: e for p in parts.values() for i, e in p.items()})
    )
    for k in parts:
        a.store.write_state(k, "{}")
    assert a.sync(folder) == SyncReport(0, 0, str(folder))  # nothing sent twice
    sessions[0].send("second")
    assert a.sync(folder).pushed == 1 and b.sync(folder).pulled == 1
    assert json.loads(a.store.read_state(f"{key}-sessions")) == {}
    moved = {k: json.loads(a.store.read_state(k)) for k in parts}
    assert sum(len(p) for p in moved.values()) == 40
    check_one_record([a, b])


def _state_keys(mirror) -> list[str]:
    """The sync keys a store keeps (read back through its own files or table)."""
    store = mirror.store
    if hasattr(store, "_read"):
        rows = store._read("SELECT key FROM activemirror_state WHERE key LIKE 'x-sync-%'")
        return [r[0][2:] for r in rows]
    return [p.name[len(".activemirror-") : -5] for p in store.path.glob(".activemirror-sync-*")]
