"""Where and with what an analysis ran: :func:`provenance`.

Everything here is read, never written, and nothing raises: a fact that cannot be found is
``None`` (or empty). Git is asked once (``git status --porcelain=v2 --branch``) with a
deadline, in its own process group, so a hanging git (a network file system, a credential
prompt) is killed and costs at most :data:`GIT_TIMEOUT` seconds.
"""

from __future__ import annotations

import getpass
import inspect
import os
import platform
import re
import signal
import socket
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

#: The most seconds provenance waits for git.
GIT_TIMEOUT = 2.0

_COMMIT = re.compile(r"[0-9a-f]{40}")


def provenance(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Where this kernel runs and with what::

        {"notebook": "/home/me/study.ipynb" | None,   # the notebook, if the kernel knows it
         "python": "3.11.7", "platform": "Linux-6.1.0-x86_64-with-glibc2.36",
         "hostname": "lab-3", "user": "me",
         "packages": {"numpy": "2.1.0", "pandas": "2.2.3", …},
         "git": {"commit": "<40 hex>", "branch": "main" | None, "dirty": False} | None}

    ``packages``: the installed distributions that the modules imported in this process
    belong to. ``git``: the repository holding ``path`` (a folder, or a file's folder),
    else the notebook's folder, else the working directory — ``None`` outside a work tree,
    in a repository without commits, without git, or when git does not answer within
    :data:`GIT_TIMEOUT` seconds. ``branch`` is None on a detached head; ``dirty`` is
    whether tracked files differ from the commit (untracked files do not count).
    Never raises."""
    notebook = notebook_path()
    where = Path(path) if path is not None else Path(notebook).parent if notebook else Path.cwd()
    return {
        "notebook": notebook,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "user": _user(),
        "packages": imported_packages(),
        "git": git_state(where),
    }


def notebook_path() -> str | None:
    """The running notebook's path as the kernel knows it (Jupyter Server and VS Code tell
    it), or None."""
    candidates: list[Any] = []
    shell = _shell()
    if shell is not None:
        ns = shell.user_ns
        candidates += [ns.get("__session__"), ns.get("__vsc_ipynb_file__")]
    candidates.append(os.environ.get("JPY_SESSION_NAME"))
    for candidate in candidates:
        if isinstance(candidate, str) and candidate.strip():
            return candidate
    return None


def _shell() -> Any:
    if "IPython" not in sys.modules:  # not in IPython: no kernel namespace to ask
        return None
    from IPython import get_ipython

    return get_ipython()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError, ImportError):  # no passwd entry (containers) and no $USER
        return str(os.getuid()) if hasattr(os, "getuid") else ""


def imported_packages() -> dict[str, str]:
    """``{distribution: version}`` for every installed distribution that provides a module
    imported in this process, sorted by name."""
    try:
        owners = _module_owners()
    except Exception:  # a broken installation's metadata must not stop a record
        return {}
    top_level = {name.partition(".")[0] for name in list(sys.modules)}
    found = dict(dist for module in top_level & set(owners) for dist in owners[module])
    return dict(sorted(found.items(), key=lambda item: item[0].lower()))


def git_state(where: str | os.PathLike[str], timeout: float | None = None) -> dict[str, Any] | None:
    """``{"commit", "branch", "dirty"}`` of the git work tree holding ``where``, or None
    (see :func:`provenance`); git gets ``timeout`` seconds (default :data:`GIT_TIMEOUT`)."""
    folder = Path(where)
    if not folder.is_dir():
        folder = folder.parent
    if not folder.is_dir():
        return None
    output = _run_git(
        ["status", "--porcelain=v2", "--branch", "--untracked-files=no", "--ignore-submodules"],
        folder,
        GIT_TIMEOUT if timeout is None else timeout,
    )
    return None if output is None else _parse_status(output)


def _parse_status(output: str) -> dict[str, Any] | None:
    commit = branch = None
    dirty = False
    for line in output.splitlines():
        if line.startswith("# branch.oid "):
            commit = line.split(" ", 2)[2].strip()
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2].strip()
            branch = None if head == "(detached)" else head
        elif line and not line.startswith("#"):
            dirty = True
    if commit is None or not _COMMIT.fullmatch(commit):  # "(initial)": no commit yet
        return None
    return {"commit": commit, "branch": branch, "dirty": dirty}


def _run_git(args: list[str], folder: Path, timeout: float) -> str | None:
    """git's output, or None if it is missing, fails, or does not finish in time."""
    env = {
        **os.environ,
        "GIT_OPTIONAL_LOCKS": "0",  # status must not take the index lock of a busy repo
        "GIT_TERMINAL_PROMPT": "0",
        "LC_ALL": "C",
    }
    try:
        process = subprocess.Popen(
            ["git", *args],
            cwd=folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=os.name == "posix",
        )
    except OSError:  # no git on PATH, or not executable
        return None
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        return None
    if process.returncode != 0:
        return None
    return output.decode("utf-8", "replace")


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill git and anything it started (its process group), and reap it without reading
    its output (a child that left the group could hold the pipe open)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
    except OSError:
        pass
    if process.stdout is not None:
        process.stdout.close()
    process.wait()


_METADATA_FOLDERS = (".dist-info", ".egg-info")
#: What :func:`_module_owners` last read, and the state of ``sys.path`` it read it from.
_owners_read: tuple[tuple[Any, ...], dict[str, list[tuple[str, str]]]] | None = None


def _module_owners() -> dict[str, list[tuple[str, str]]]:
    """``{top-level module: [(distribution, version), …]}``, read again only when something
    was installed, upgraded or removed (reading every distribution's metadata takes ~0.1 s;
    checking costs a folder listing per ``sys.path`` entry)."""
    global _owners_read
    state = _installed_state()
    if _owners_read is None or _owners_read[0] != state:
        _owners_read = (state, _read_module_owners())
    return _owners_read[1]


def _installed_state() -> tuple[Any, ...]:
    """The metadata folders on ``sys.path`` (their names carry the versions): they change
    whenever a distribution is installed, upgraded or removed."""
    state = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # a zip file, or a folder that is gone
            names = []
        state.append((entry, tuple(sorted(n for n in names if n.endswith(_METADATA_FOLDERS)))))
    return tuple(state)


def _read_module_owners() -> dict[str, list[tuple[str, str]]]:
    """:func:`_module_owners` read from the installed metadata, as Python 3.11+'s
    ``packages_distributions()`` reads it: from ``top_level.txt``, or, for a distribution
    without one (pandas, for one), from the files its ``RECORD`` lists — which Python 3.10
    does not do, so it would leave such packages out. A distribution installed twice counts
    where ``sys.path`` finds it first, as ``import`` does."""
    owners: dict[str, list[tuple[str, str]]] = {}
    seen: set[str] = set()
    for dist in metadata.distributions():
        name, version = dist.metadata["Name"], dist.version
        if not name or not version or name in seen:
            continue
        seen.add(name)
        for module in (dist.read_text("top_level.txt") or "").split() or _top_level_files(dist):
            owners.setdefault(module, []).append((name, version))
    return owners


def _top_level_files(dist: metadata.Distribution) -> set[str]:
    """The importable top-level names among a distribution's files: ``pkg/…`` → ``pkg``,
    ``mod.py`` → ``mod``."""
    names = set()
    for file in dist.files or ():
        top = file.parts[0] if len(file.parts) > 1 else inspect.getmodulename(file.name)
        if top and "." not in top and top != "__pycache__":
            names.add(top)
    return names
