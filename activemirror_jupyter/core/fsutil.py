"""Durable file writes shared by the JSON store, the vault, exports and backups.

A file is replaced through a temporary file beside it, named
``.tmp-<host>-<pid>-<random>.tmp`` after the process writing it, so a later writer can
tell a file abandoned by a killed process (:func:`remove_abandoned`) from one another
process is still writing. Nothing here follows a symbolic link: the temporary file is
created new (``O_EXCL``) and renamed over the path, so a link planted at the path is
replaced, and its target never touched.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import socket
import stat
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

#: Temporary files start with this, so folder scans can tell them from real files.
TMP_PREFIX = ".tmp-"
#: ``mode`` of a file only its owner may read (the vault's and the JSON store's files).
PRIVATE = 0o600
#: ``mode`` of a file the user asked for (exports, reports, backups): the permissions of
#: the file it replaces, else those the user's umask gives a new file (0666 & ~umask).
LIKE_REPLACED = -1
#: A temporary file untouched for this long is abandoned, whoever wrote it.
ABANDONED_AFTER_SECONDS = 12 * 3600

_HOST = format(zlib.crc32(socket.gethostname().encode("utf-8", "replace")), "08x")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_WRITER = re.compile(r"\.tmp-([0-9a-f]{8})-([0-9]{1,10})-[0-9a-f]+\.tmp")


def fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(folder, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def replacing(path: Path, *, binary: bool = False, mode: int = PRIVATE) -> Iterator[IO[Any]]:
    """A stream (text: UTF-8 with ``\\n`` line ends; or ``binary``) whose content replaces
    ``path`` atomically and durably when the block ends without an error: written to a
    temporary file beside it, fsynced, renamed. On an error ``path`` is left as it was.

    ``mode`` is the new file's permissions: :data:`PRIVATE`, :data:`LIKE_REPLACED` or
    bits such as ``0o644``. The content is private until it is complete."""
    fd, tmp, final_mode = _create_temporary(path, mode)
    try:
        text = {} if binary else {"encoding": "utf-8", "newline": ""}
        with os.fdopen(fd, "wb" if binary else "w", **text) as out:
            yield out
            out.flush()
            if final_mode != PRIVATE:
                _chmod(out.fileno(), final_mode)
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


def atomic_write(path: Path, data: bytes, *, mode: int = PRIVATE) -> os.stat_result:
    """Replace ``path`` with ``data`` atomically and durably (``mode`` as in
    :func:`replacing`); returns the new file's stat."""
    with replacing(path, binary=True, mode=mode) as f:
        f.write(data)
        f.flush()
        st = os.fstat(f.fileno())
    return st


def _create_temporary(path: Path, mode: int) -> tuple[int, str, int]:
    """A new temporary file beside ``path`` (open, private for now) and the permissions the
    finished file gets."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    flags |= getattr(os, "O_BINARY", 0)
    # Created 0666 so the kernel applies the umask: how a new file of the user's looks.
    create = 0o666 if mode == LIKE_REPLACED else mode
    for _ in range(100):
        name = f"{TMP_PREFIX}{_HOST}-{os.getpid()}-{secrets.token_hex(4)}.tmp"
        tmp = os.path.join(path.parent, name)
        try:
            fd = os.open(tmp, flags, create)
        except FileExistsError:
            continue
        break
    else:
        raise FileExistsError(f"no free temporary file name in {path.parent}")
    if mode != LIKE_REPLACED:
        return fd, tmp, mode
    try:
        final = os.fstat(fd).st_mode & 0o777
        with contextlib.suppress(OSError):
            replaced = os.lstat(path)
            if stat.S_ISREG(replaced.st_mode):  # a link is replaced like a missing file
                final = replaced.st_mode & 0o777
        _chmod(fd, PRIVATE)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return fd, tmp, final


def remove_abandoned(folder: Path) -> int:
    """Remove the temporary files in ``folder`` that no one is writing any more: written by
    a process of this host that is gone, or untouched for :data:`ABANDONED_AFTER_SECONDS`.
    Another live process's temporary file is kept. Returns how many were removed."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    now = time.time()
    for entry in entries:
        if not entry.name.startswith(TMP_PREFIX):
            continue
        with contextlib.suppress(OSError):
            if entry.is_dir(follow_symlinks=False):
                continue
            old = now - entry.stat(follow_symlinks=False).st_mtime > ABANDONED_AFTER_SECONDS
            if old or _writer_is_gone(entry.name):
                os.unlink(entry.path)
                removed += 1
    return removed


def _writer_is_gone(name: str) -> bool:
    """Whether the process named in a temporary file's name (``.tmp-<host>-<pid>-…``) has
    ended: only known for this host's processes, and where a process can be probed."""
    writer = _WRITER.fullmatch(name)
    if writer is None or writer[1] != _HOST or os.name != "posix":
        return False
    pid = int(writer[2])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: nothing is sent, the process is only looked up
    except ProcessLookupError:
        return True
    except OSError:
        return False  # alive, someone else's (EPERM)
    return False


def _chmod(fd: int, mode: int) -> None:
    if hasattr(os, "fchmod"):  # not on Windows before Python 3.13, where modes mean little
        os.fchmod(fd, mode)
