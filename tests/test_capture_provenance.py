"""provenance(): the facts it records, git from real repositories in temporary folders, and
every way git can fail — missing, hanging, no commits, outside a work tree — as ``None``,
never as an error."""

from __future__ import annotations

import os
import platform
import shutil
import stat
import subprocess
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
from dependencies import missing_dependency
from waiting import wait_until

from activemirror_jupyter import provenance
from activemirror_jupyter.capture import provenance as provenance_module

KEYS = {"notebook", "python", "platform", "hostname", "user", "packages", "git"}


@pytest.fixture
def git() -> str:
    found = shutil.which("git")
    if found is None:
        missing_dependency("git (apt-get install git)")
    return found


def run_git(repo: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }
    done = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, git: str) -> Path:
    """A work tree with one commit on branch ``analysis``."""
    path = tmp_path / "repo"
    path.mkdir()
    run_git(path, "init", "-q", "-b", "analysis")
    (path / "study.ipynb").write_text("{}\n")
    run_git(path, "add", "study.ipynb")
    run_git(path, "commit", "-q", "-m", "first")
    return path


def test_the_record_has_the_contracts_facts(repo: Path) -> None:
    facts = provenance(repo)
    assert set(facts) == KEYS
    assert facts["python"] == platform.python_version()
    assert facts["platform"] == platform.platform()
    assert facts["hostname"] and isinstance(facts["hostname"], str)
    assert facts["user"] and isinstance(facts["user"], str)
    assert facts["notebook"] is None  # no notebook told this process its path
    packages = facts["packages"]
    assert packages["pandas"] == pd.__version__  # imported here, so recorded
    assert packages["pytest"] == pytest.__version__
    assert all(isinstance(v, str) and v for v in packages.values())
    assert "sys" not in packages and "os" not in packages  # the standard library is not a dist
    assert facts["git"] == {
        "commit": run_git(repo, "rev-parse", "HEAD"),
        "branch": "analysis",
        "dirty": False,
    }


def test_git_dirty_detached_and_subfolders(repo: Path) -> None:
    (repo / "untracked.txt").write_text("new")
    assert provenance(repo)["git"]["dirty"] is False  # untracked files do not count
    (repo / "study.ipynb").write_text('{"changed": true}\n')
    sub = repo / "data" / "raw"
    sub.mkdir(parents=True)
    git = provenance(sub)["git"]  # a folder inside the work tree
    assert git["dirty"] is True and git["branch"] == "analysis"
    assert provenance(repo / "study.ipynb")["git"] == git  # a file: its folder
    run_git(repo, "checkout", "-q", "--detach")
    detached = provenance(repo)["git"]
    assert detached["branch"] is None and len(detached["commit"]) == 40


def test_no_git_record_without_commits_or_outside_a_work_tree(tmp_path: Path, git: str) -> None:
    empty = tmp_path / "empty-repo"
    empty.mkdir()
    run_git(empty, "init", "-q")
    assert provenance(empty)["git"] is None  # no commit to name
    outside = tmp_path / "plain-folder"
    outside.mkdir()
    assert provenance(outside)["git"] is None
    assert provenance(tmp_path / "does" / "not" / "exist")["git"] is None


def test_git_missing_from_path_is_no_git_record(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nothing = tmp_path / "empty-bin"
    nothing.mkdir()
    monkeypatch.setenv("PATH", str(nothing))
    facts = provenance(repo)
    assert facts["git"] is None and facts["python"] == platform.python_version()


def fake_git(folder: Path, script: str) -> None:
    folder.mkdir(exist_ok=True)
    path = folder / "git"
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def running(pid: int) -> bool:
    """The process exists and is not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc to see the processes die")
def test_a_hanging_git_is_killed_with_everything_it_started(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A git that never answers (here: its child blocks opening a FIFO nobody writes to) is
    killed at the deadline, its child too, and the record simply has no git."""
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)
    pids = tmp_path / "pids"
    fake_git(
        tmp_path / "bin",
        f'cat "{fifo}" &\necho $! > "{pids}"\necho $$ >> "{pids}"\nwait\n',
    )
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    monkeypatch.setattr(provenance_module, "GIT_TIMEOUT", 0.5)
    assert provenance(repo)["git"] is None
    started = [int(line) for line in pids.read_text().split()]
    assert len(started) == 2
    for pid in started:
        wait_until(lambda pid=pid: not running(pid), f"process {pid} to be killed")


def test_a_failing_git_is_no_git_record(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_git(tmp_path / "bin", "echo 'fatal: detected dubious ownership' >&2\nexit 128\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:{os.environ['PATH']}")
    assert provenance(repo)["git"] is None


def test_the_notebook_path_comes_from_the_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/research/study.ipynb")
    assert provenance()["notebook"] == "/home/me/research/study.ipynb"


def install(site: Path, name: str, version: str) -> None:
    """What pip leaves for a one-module distribution: the module and its metadata folder."""
    (site / name).mkdir()
    (site / name / "__init__.py").write_text("")
    info = site / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{name}\n")


def test_a_package_installed_or_upgraded_in_the_kernel_is_in_the_next_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    assert "freshly_installed" not in provenance()["packages"]  # read once, then kept
    install(site, "freshly_installed", "1.0")
    monkeypatch.setitem(sys.modules, "freshly_installed", types.ModuleType("freshly_installed"))
    assert provenance()["packages"]["freshly_installed"] == "1.0"
    shutil.rmtree(site / "freshly_installed-1.0.dist-info")  # pip install -U: 1.0 → 2.0
    shutil.rmtree(site / "freshly_installed")
    install(site, "freshly_installed", "2.0")
    assert provenance()["packages"]["freshly_installed"] == "2.0"


def test_nothing_raises_when_the_machine_cannot_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass
    from importlib import metadata

    def no_user() -> str:
        raise KeyError("getpwuid(): uid not found: 4242")

    def broken() -> dict:
        raise OSError("site-packages is unreadable")

    monkeypatch.setattr(getpass, "getuser", no_user)
    monkeypatch.setattr(metadata, "distributions", broken)
    monkeypatch.syspath_prepend(str(tmp_path))  # a new path entry: the metadata is read again
    facts = provenance()
    assert facts["user"] == str(os.getuid())
    assert facts["packages"] == {}
