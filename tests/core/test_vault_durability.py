"""Crashes and concurrency, with real processes: two writers on one vault lose nothing; a
process killed between writing an entry and writing the index leaves the vault readable,
and its leftovers are never shown and are cleaned up by the next write."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from waiting import DEADLINE, wait_until

from activemirror_jupyter import VaultMemory

FAST = 1_000
ROOT = Path(__file__).resolve().parents[2]


def run_python(code: str, *args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str], timeout: float = DEADLINE) -> int:
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:  # timed out, or the test is failing: leave nothing running
            proc.kill()
            proc.communicate()
    assert "Traceback" not in err, err
    return proc.returncode


WRITER = """
    import os, sys, time
    from pathlib import Path
    from activemirror_jupyter import VaultMemory
    path, prefix, count, go = sys.argv[1:]
    Path(f"{go}-{prefix}-ready").touch()
    deadline = time.monotonic() + 120
    while not os.path.exists(go):  # start together: both create the vault, then write
        if time.monotonic() > deadline:
            sys.exit("never told to go")
        time.sleep(0.001)
    vault = VaultMemory("pw", path, kdf_iterations=1000)
    for i in range(int(count)):
        vault.store(f"{prefix}{i}", {"writer": prefix, "i": i}, metadata={"tags": [prefix]})
        vault.store("shared", prefix)
"""


def test_two_processes_writing_one_vault_lose_nothing(tmp_path: Path) -> None:
    vault_dir = tmp_path / "vault"
    go = tmp_path / "go"
    count = 40
    # both processes also race to *create* the vault: exactly one creation must win
    procs = [run_python(WRITER, str(vault_dir), p, str(count), str(go)) for p in ("a", "b")]
    try:
        ready = [tmp_path / f"go-{p}-ready" for p in ("a", "b")]
        wait_until(lambda: all(r.exists() for r in ready), "both writers to start")
        go.touch()
    finally:
        codes = [finish(p) for p in procs]
    assert codes == [0, 0]

    vault = VaultMemory("pw", vault_dir)
    expected = {f"{p}{i}" for p in "ab" for i in range(count)} | {"shared"}
    assert {e.key for e in vault.list_entries()} == expected
    for p in "ab":
        for i in range(count):
            assert vault.retrieve(f"{p}{i}") == {"writer": p, "i": i}
    assert vault.retrieve("shared") in ("a", "b")
    assert len(list(vault_dir.glob("*.vault"))) == len(expected)  # no file left behind


CRASH = """
    import os, pathlib, sys
    from activemirror_jupyter import VaultMemory
    path, when = sys.argv[1:]
    vault = VaultMemory("pw", path)
    real_replace, real_unlink, real_path_unlink = os.replace, os.unlink, pathlib.Path.unlink

    def replace(src, dst):
        if when == "before-index" and str(dst).endswith(".vault_index.enc"):
            os._exit(17)  # killed after the entry file is durable, before the index
        real_replace(src, dst)

    def unlink(path, *a, **k):
        if when == "before-cleanup" and str(path).endswith(".vault"):
            os._exit(17)  # killed after the index, before the old file is removed
        real_unlink(path, *a, **k)

    def path_unlink(self, *a, **k):  # before 3.11, Path.unlink does not go through os.unlink
        if when == "before-cleanup" and self.name.endswith(".vault"):
            os._exit(17)
        real_path_unlink(self, *a, **k)

    os.replace, os.unlink, pathlib.Path.unlink = replace, unlink, path_unlink
    vault.store("kept", "new value")
    vault.store("added", 1)
"""


def entry_names(folder: Path) -> set[str]:
    return {p.name for p in folder.glob("*.vault")}


def test_killed_before_the_index_write_leaves_the_old_state_and_an_ignored_orphan(
    tmp_path: Path,
) -> None:
    vault_dir = tmp_path / "vault"
    vault = VaultMemory("pw", vault_dir, kdf_iterations=FAST)
    vault.store("kept", "old value")
    vault.store("other", 2)
    before = entry_names(vault_dir)

    assert finish(run_python(CRASH, str(vault_dir), "before-index")) == 17

    leftovers = set(os.listdir(vault_dir)) - before - {".vault_index.enc", ".vault.lock"}
    assert len(leftovers) == 2  # the new entry file and the index's temporary file
    reopened = VaultMemory("pw", vault_dir)
    assert reopened.retrieve("kept") == "old value"
    assert [e.key for e in reopened.list_entries()] == ["kept", "other"]
    assert [e.key for e in reopened.search("")] == ["kept", "other"]

    reopened.store("after", 3)  # the next write sweeps what the crash left
    assert set(os.listdir(vault_dir)) & leftovers == set()
    assert len(entry_names(vault_dir)) == 3
    assert reopened.retrieve("other") == 2


def test_killed_after_the_index_write_keeps_the_new_value(tmp_path: Path) -> None:
    vault_dir = tmp_path / "vault"
    vault = VaultMemory("pw", vault_dir, kdf_iterations=FAST)
    vault.store("kept", "old value")

    assert finish(run_python(CRASH, str(vault_dir), "before-cleanup")) == 17

    assert len(entry_names(vault_dir)) == 2  # the old version's file is still there
    assert vault.retrieve("kept") == "new value"
    assert [e.key for e in vault.list_entries()] == ["kept"]
    VaultMemory("pw", vault_dir).store("x", 1)
    assert len(entry_names(vault_dir)) == 2  # "kept" and "x": the orphan is gone


def test_a_failed_index_write_leaves_the_vault_as_it_was(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk while writing the index: the store raises, the old index stays in force
    in this process and on disk, and the unused entry file is swept by the next write."""
    vault_dir = tmp_path / "vault"
    vault = VaultMemory("pw", vault_dir, kdf_iterations=FAST)
    vault.store("a", 1)
    index_before = (vault_dir / ".vault_index.enc").read_bytes()
    real_replace = os.replace

    def full_disk(src: str, dst: str) -> None:
        if str(dst).endswith(".vault_index.enc"):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OSError, match="No space"):
        vault.store("a", 2)
    monkeypatch.setattr(os, "replace", real_replace)

    assert (vault_dir / ".vault_index.enc").read_bytes() == index_before
    assert vault.retrieve("a") == 1
    assert VaultMemory("pw", vault_dir).retrieve("a") == 1
    assert len(entry_names(vault_dir)) == 2  # the unused new file, not yet swept
    assert not [p for p in vault_dir.iterdir() if p.name.startswith(".tmp-")]
    vault.store("b", 2)
    assert len(entry_names(vault_dir)) == 2  # "a" and "b"
