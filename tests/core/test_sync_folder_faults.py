"""Bad folders and faults during a sync: each is a SyncError saying what to do (or is
waited for), and the store loses nothing."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from faults import full_disk, in_child, read_only_user
from sync_devices import check_one_record, devices, sync_all

from activemirror_jupyter import SyncError
from activemirror_jupyter.core.sync.folder import Folder
from activemirror_jupyter.core.sync.records import SEGMENT_FORMAT


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "shared"
    path.mkdir()
    return path


@pytest.fixture
def trio(tmp_path: Path):
    mirrors = devices(tmp_path, ["sqlite", "json", "sqlite"])
    for i, m in enumerate(mirrors):
        m.create_session(f"on device {i}").send(f"note of device {i}")
    yield mirrors
    for m in mirrors:
        m.close()


def messages_of(mirror) -> list[str]:
    return sorted(
        m.content for s in mirror.list_sessions() for m in mirror.saved_messages(s.session_id)
    )


def test_a_folder_replaced_by_a_file_is_refused(trio, tmp_path):
    a = trio[0]
    path = tmp_path / "not-a-folder"
    path.write_text("x")
    with pytest.raises(SyncError, match="not a folder"):
        a.sync(path)
    assert messages_of(a) == ["note of device 0"]


def test_a_read_only_folder_is_a_sync_error_and_loses_nothing():
    # a folder every user can reach (pytest's are private), whose stores and vaults this
    # test's other user may write, and a sync folder it may only read
    root = Path(tempfile.mkdtemp(prefix="activemirror-sync-ro-"))
    try:
        a, b = devices(root, ["sqlite", "json"])
        for i, m in enumerate((a, b)):
            m.create_session(f"on device {i}").send(f"note of device {i}")
        folder = root / "shared"
        folder.mkdir()
        b.sync(folder)
        for path in [root, *root.rglob("*")]:
            path.chmod(0o777 if path.is_dir() else 0o666)
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)

        def run():
            read_only_user()
            try:
                a.sync(folder)
            except SyncError as exc:
                return str(exc)
            return "synced"

        message = in_child(run)
        for path in [folder, *folder.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        if os.geteuid() == 0:  # as root nothing is read-only: the check is the other user's
            assert "cannot write" in message, message
        sync_all([a, b], folder)
        check_one_record([a, b])
        assert messages_of(a) == ["note of device 0", "note of device 1"]
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_a_full_disk_is_a_sync_error_and_the_next_sync_catches_up(trio, folder):
    a, b, _ = trio
    for i in range(20):
        a.load_session(a.list_sessions()[0].session_id).send("x" * 2000 + str(i))

    def run():
        with full_disk(4096)():
            try:
                a.sync(folder)
            except SyncError as exc:
                return str(exc)
        return "synced"

    assert "cannot" in in_child(run)
    sync_all([a, b], folder)
    check_one_record([a, b])
    assert len(messages_of(b)) == 22


def test_a_file_moved_into_another_devices_folder_is_refused_by_name(trio, folder):
    a, b, c = trio
    a.sync(folder)
    b.sync(folder)
    root = folder / "activemirror-sync" / "v1"
    theirs = next((root / a.device_id).glob("s-*.ams"))
    moved = root / b.device_id / "s-00000002-0badf00d.ams"
    shutil.copy(theirs, moved)
    with pytest.raises(SyncError, match=moved.name):
        c.sync(folder)
    assert messages_of(c) == ["note of device 2"]


def test_a_segment_of_another_format_version_is_refused(trio, folder):
    a, b, _ = trio
    a.sync(folder)
    doc = {"format": SEGMENT_FORMAT, "version": 99, "device": a.device_id, "seq": 2, "sessions": []}
    Folder(folder, a.identity).write(
        a.device_id, "s-00000002-00000000.ams", json.dumps(doc).encode()
    )
    with pytest.raises(SyncError, match="format version 99"):
        b.sync(folder)
    assert messages_of(b) == ["note of device 1"]


def test_a_locked_vault_is_a_sync_error(trio, folder):
    a = trio[0]
    a.identity._vault.lock()
    with pytest.raises(SyncError, match="unlock"):
        a.sync(folder)
    assert list(folder.iterdir()) == []
