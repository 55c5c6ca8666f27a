"""Fault injection for the stores: run one store operation in a forked process in which
writing fails — a full disk (``RLIMIT_FSIZE``: no file may grow past a chosen size, so the
write that crosses it fails with ``EFBIG``, inside SQLite too), or a store the process may
only read (it runs as ``nobody``) — and bring back what that process saw.

A third fault kills the process at the n-th call that changes a file (:func:`killed_at`).

The contract every writing operation keeps, whatever write fails (tests/core/test_faults.py):
it either raises a :class:`StorageError` having changed nothing, or completes; the process
that saw it fail reads exactly what a process opening the store afresh reads; and doing it
again once the disk has room stores everything once, in order, with ``verify`` ok.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import pwd
import resource
import signal
import traceback
from collections.abc import Callable
from typing import Any

from waiting import DEADLINE

from activemirror_jupyter import ActiveMirror

FORK = multiprocessing.get_context("fork")


def snapshot(mirror: ActiveMirror) -> dict[str, Any]:
    """What a user can read of a store: every session's fields and messages (with their
    hashes and attachment bytes), what a search finds, and whether it verifies."""
    sessions = {}
    for meta in mirror.list_sessions():
        session = mirror.load_session(meta.session_id)
        sessions[meta.session_id] = {
            "title": meta.title,
            "tags": meta.tags,
            "status": meta.status,
            "parent": meta.parent_session_id,
            "count": meta.message_count,
            "head": meta.head,
            "messages": [
                (
                    m.id,
                    m.role,
                    m.content,
                    m.metadata,
                    m.hash,
                    [(a.name, a.read()) for a in m.attachments],
                )
                for m in session.get_messages()
            ],
        }
    report = mirror.verify()
    return {
        "sessions": sessions,
        "found": sorted(h.message.id for h in mirror.search_hits("fault", limit=1000)),
        "verify": (report.ok, [str(p) for p in report.problems]),
    }


def full_disk(limit: int) -> Callable[[], Any]:
    """While active, no file this process writes may grow past ``limit`` bytes."""

    @contextlib.contextmanager
    def active() -> Any:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail with EFBIG, don't kill
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))

    return active


#: The calls through which the JSON folder (and the vault) change files: a kill can land
#: before any one of them.
FILE_CALLS = ("replace", "fsync", "unlink", "rename")


def killed_at(n: int) -> Callable[[], Any]:
    """While active, the process dies (as by ``kill -9``: no cleanup, no flush) at the
    ``n``-th call that changes files (:data:`FILE_CALLS`), before it is made."""

    @contextlib.contextmanager
    def active() -> Any:
        count = 0
        originals = {name: getattr(os, name) for name in FILE_CALLS}

        def dying(name: str) -> Callable[..., Any]:
            def call(*args: Any, **kwargs: Any) -> Any:
                nonlocal count
                count += 1
                if count >= n:
                    os._exit(KILLED)
                return originals[name](*args, **kwargs)

            return call

        for name in FILE_CALLS:
            setattr(os, name, dying(name))
        try:
            yield
        finally:
            for name, original in originals.items():
                setattr(os, name, original)

    return active


#: What :func:`in_child` returns for a process that died before answering.
KILLED = 137


def read_only_user() -> None:
    """Become a user who may read the store but not write it (``nobody``); a no-op when
    this process is not root, for whom a folder without write permission does the same."""
    if os.geteuid() != 0:
        return
    nobody = pwd.getpwnam("nobody")
    os.setgroups([])
    os.setgid(nobody.pw_gid)
    os.setuid(nobody.pw_uid)


def in_child(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a forked process; returns its result or raises what it raised
    (as an AssertionError carrying the child's traceback)."""
    reader, writer = FORK.Pipe(duplex=False)

    def run() -> None:
        try:
            outcome = ("ok", fn(*args))
        except BaseException:
            outcome = ("error", traceback.format_exc())
        try:
            writer.send_bytes(pickle.dumps(outcome))
        finally:
            os._exit(0)

    process = FORK.Process(target=run)
    process.start()
    writer.close()
    try:
        if not reader.poll(DEADLINE):
            raise AssertionError(f"the faulty process gave no answer within {DEADLINE:g} s")
        try:
            kind, value = pickle.loads(reader.recv_bytes())
        except EOFError:  # it died without a word
            process.join(DEADLINE)
            return KILLED
    finally:
        process.join(DEADLINE)
        if process.is_alive():
            process.kill()
    if kind == "error":
        raise AssertionError(f"the faulty process failed:\n{value}")
    return value
