"""A sync killed at any point — mid-push, mid-pull, by SIGKILL — is run again and loses
nothing, doubles nothing, and leaves every device with one record."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from faults import KILLED, in_child, killed_at
from sync_devices import check_one_record, device, identities, sync_all

from activemirror_jupyter import Attachment

KINDS = ["sqlite", "json"]


def fill(mirror, label: str, sessions: int = 2, messages: int = 3) -> set[str]:
    sent = set()
    autosave, mirror.autosave = mirror.autosave, False  # one save per session
    for i in range(sessions):
        s = mirror.create_session(f"{label} {i}", tags=[label])
        for j in range(messages):
            data = f"{label}-{i}-{j}".encode()
            files = [Attachment.from_bytes("d.bin", "application/octet-stream", data)]
            sent.add(s.send(f"{label} note {i}.{j}", attachments=files if j % 2 else None).id)
        s.save()
    mirror.autosave = autosave
    return sent


def held(mirror) -> set[str]:
    return {m.id for s in mirror.list_sessions() for m in mirror.saved_messages(s.session_id)}


def sync_dying_at(root: Path, kind: str, name: str, identity, folder: Path, n: int):
    def run():
        mirror = device(root, kind, name, identity)
        with killed_at(n)():
            report = mirror.sync(folder)
        return (report.pushed, report.pulled)

    return in_child(run)


@pytest.mark.parametrize("kind", KINDS)
def test_a_sync_killed_at_any_file_write_is_run_again_and_loses_nothing(tmp_path, kind):
    ids = identities(tmp_path / "ids", 2)
    for n in range(1, 200):
        root = tmp_path / f"kill-{n}"
        folder = root / "shared"
        folder.mkdir(parents=True)
        a, b = device(root, kind, "a", ids[0]), device(root, "sqlite", "b", ids[1])
        sent = fill(a, "a") | fill(b, "b", sessions=1)
        b.sync(folder)
        a.close()
        dying_push_and_pull = sync_dying_at(root, kind, "a", ids[0], folder, n)
        a = device(root, kind, "a", ids[0])
        sync_all([a, b], folder)
        check_one_record([a, b])
        assert held(a) == held(b) == sent
        a.close()
        b.close()
        if dying_push_and_pull != KILLED:
            break  # the sync made fewer than n file writes: every point was tried
    assert n > 2, "the sync should have been killed at several points"


SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from activemirror_jupyter import Identity, VaultMemory
from sync_devices import FAST, PASSWORD, device
identity = Identity.load(VaultMemory(PASSWORD, Path({vault!r}), kdf_iterations=FAST))
mirror = device(Path({root!r}), {kind!r}, {name!r}, identity)
print("syncing", flush=True)
mirror.sync(Path({folder!r}))
print("done", flush=True)
"""


def sync_killed_after(delay: float, root: Path, kind: str, name: str, folder: Path) -> bool:
    """Run a sync in a real process and SIGKILL it after ``delay`` s; True if it was
    killed before it finished."""
    script = SCRIPT.format(
        tests=str(Path(__file__).parents[1]),
        vault=str(root.parent / "ids" / f"vault-{0 if name == 'a' else 1}"),
        root=str(root),
        kind=kind,
        name=name,
        folder=str(folder),
    )
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "syncing"
    time.sleep(delay)
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)
    process.wait(60)
    return process.returncode == -signal.SIGKILL


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_mid_push_and_mid_pull_then_sync_again(tmp_path, kind):
    ids = identities(tmp_path / "ids", 2)
    root = tmp_path / "devices"
    folder = tmp_path / "shared"
    folder.mkdir()
    a, b = device(root, kind, "a", ids[0]), device(root, kind, "b", ids[1])
    sent = fill(a, "a", sessions=100, messages=40)
    a.close()
    b.close()
    delays = (0.0, 0.02, 0.08, 0.2)  # the first kills at once: a sync that never began
    killed = [sync_killed_after(d, root, kind, "a", folder) for d in delays]
    killed += [sync_killed_after(d, root, kind, "b", folder) for d in delays]
    assert any(killed[1:4]) and any(killed[5:]), "no sync was caught mid-way"
    a, b = device(root, kind, "a", ids[0]), device(root, kind, "b", ids[1])
    sync_all([a, b], folder)
    check_one_record([a, b])
    assert held(a) == held(b) == sent


CONCURRENT = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from activemirror_jupyter import Identity, VaultMemory
from sync_devices import FAST, PASSWORD, device
identity = Identity.load(VaultMemory(PASSWORD, Path({vault!r}), kdf_iterations=FAST))
mirror = device(Path({root!r}), "sqlite", "a", identity)
for i in range(15):
    s = mirror.create_session(f"{{sys.argv[1]}} {{i}}")
    s.send(f"note {{i}} from process {{sys.argv[1]}}")
    mirror.sync(Path({folder!r}))
"""


@pytest.mark.slow
def test_two_processes_syncing_one_store_at_once_lose_nothing(tmp_path):
    ids = identities(tmp_path / "ids", 2)
    root = tmp_path / "devices"
    folder = tmp_path / "shared"
    folder.mkdir()
    device(root, "sqlite", "a", ids[0]).close()
    script = CONCURRENT.format(
        tests=str(Path(__file__).parents[1]),
        vault=str(tmp_path / "ids" / "vault-0"),
        root=str(root),
        folder=str(folder),
    )
    workers = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in range(2)]
    assert [w.wait(300) for w in workers] == [0, 0]
    a, b = device(root, "sqlite", "a", ids[0]), device(root, "sqlite", "b", ids[1])
    sync_all([a, b], folder)
    check_one_record([a, b])
    assert len(held(b)) == 30


TWO_DEVICES = """
import sys
sys.path.insert(0, {tests!r})
from pathlib import Path
from activemirror_jupyter import Identity, VaultMemory
from sync_devices import FAST, PASSWORD, device
name, vault = sys.argv[1], sys.argv[2]
identity = Identity.load(VaultMemory(PASSWORD, Path(vault), kdf_iterations=FAST))
mirror = device(Path({root!r}), "sqlite", name, identity)
shared = mirror.load_session({shared!r})
for i in range(20):
    shared.send(f"{{name}} note {{i}} in the shared session")
    mirror.create_session(f"{{name}} {{i}}").send(f"{{name}} alone {{i}}")
    mirror.sync(Path({folder!r}))
"""


@pytest.mark.slow
def test_two_devices_in_two_processes_sync_one_folder_at_once(tmp_path):
    ids = identities(tmp_path / "ids", 2)
    root = tmp_path / "devices"
    folder = tmp_path / "shared"
    folder.mkdir()
    a, b = device(root, "sqlite", "a", ids[0]), device(root, "json", "b", ids[1])
    shared = a.create_session("written on both at once")
    shared.send("first")
    sync_all([a, b], folder)
    a.close()
    b.close()
    script = TWO_DEVICES.format(
        tests=str(Path(__file__).parents[1]), root=str(root), shared=shared.id, folder=str(folder)
    )
    vaults = [str(tmp_path / "ids" / f"vault-{i}") for i in range(2)]
    script_a = script
    script_b = script.replace('"sqlite", name', '"json", name')
    workers = [
        subprocess.Popen([sys.executable, "-c", script_a, "a", vaults[0]]),
        subprocess.Popen([sys.executable, "-c", script_b, "b", vaults[1]]),
    ]
    assert [w.wait(300) for w in workers] == [0, 0]
    a, b = device(root, "sqlite", "a", ids[0]), device(root, "json", "b", ids[1])
    sync_all([a, b], folder)
    record = check_one_record([a, b])
    assert len(record) == 41 and len(record[shared.id]["messages"]) == 41
