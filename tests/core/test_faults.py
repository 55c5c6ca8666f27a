"""Every operation that writes, on every store that writes files, with a write made to fail:
a full disk at several sizes (so a different write fails each time) and a store the process
may only read. Whatever fails, the operation raises a StorageError having changed nothing
(or completes), the failing process reads what a fresh one reads, and doing it again stores
everything once, with verify ok. The harness is tests/faults.py."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from faults import KILLED, full_disk, in_child, killed_at, read_only_user, snapshot

from activemirror_jupyter import (
    ActiveMirror,
    Attachment,
    StorageError,
    import_all_data,
    import_session,
)
from activemirror_jupyter.core.storage import jsonfiles

STORES = ["sqlite", "json", "json-journal"]
#: File sizes past which writing fails: each makes a different write of an operation fail.
LIMITS = [0, 700, 5_000, 40_000, 200_000]
BLOB = bytes(range(256)) * 40  # a 10 KiB attachment


def options_for(kind: str, root: Path) -> dict[str, Any]:
    if kind == "sqlite":
        return {"storage_type": "sqlite", "db_path": str(root / "c.db")}
    return {"storage_type": "json", "storage_path": str(root / "conversations")}


def build_store(kind: str, root: Path) -> dict[str, str]:
    with ActiveMirror(**options_for(kind, root)) as mirror:
        return _fill(mirror)


def _fill(mirror: ActiveMirror) -> dict[str, str]:
    """Three sessions with messages and attachments; returns their ids."""
    a = mirror.create_session("Alpha")
    a.send(
        "fault first note",
        attachments=[Attachment.from_bytes("a.bin", "application/octet-stream", BLOB)],
    )
    a.send("second note", "assistant", {"n": 2})
    a.tags = ["one"]
    a.save()
    b = mirror.create_session("Beta")
    b.metadata = {"k": "v"}
    b.send(
        "fault in beta",
        attachments=[Attachment.from_bytes("b.txt", "text/plain", b"beta bytes fault")],
    )
    b.save()
    c = mirror.create_session("Gamma")
    c.send("gamma note")
    c.save()
    return {"a": a.id, "b": b.id, "c": c.id}


# Each operation: given the mirror and the store's ids, returns (do, again): the operation,
# and what a user does once the disk has room (for a failed send: save what was kept).


def send(mirror: ActiveMirror, ids: dict[str, str]) -> tuple[Callable, Callable]:
    mirror.autosave = True
    session = mirror.load_session(ids["a"])

    def do() -> None:
        session.send(
            "fault added",
            metadata={"x": [1, 2]},
            attachments=[
                Attachment.from_bytes("new.bin", "application/octet-stream", BLOB[::-1]),
                Attachment.from_bytes("same.bin", "application/octet-stream", BLOB),
            ],
        )

    return do, session.save


def save_several(mirror: ActiveMirror, ids: dict[str, str]) -> tuple[Callable, Callable]:
    session = mirror.load_session(ids["b"])
    for i in range(3):
        session.send(f"fault batch {i} " + "x" * 3000)
    return session.save, session.save


def new_session(mirror: ActiveMirror, ids: dict[str, str]) -> tuple[Callable, Callable]:
    session = mirror.create_session("Delta")
    session.metadata = {"fresh": True}
    session.send(
        "fault in a new session",
        attachments=[Attachment.from_bytes("d", "text/plain", b"d" * 9000)],
    )
    return session.save, session.save


def retitle(mirror: ActiveMirror, ids: dict[str, str]) -> tuple[Callable, Callable]:
    session = mirror.load_session(ids["a"])

    def do() -> None:
        session.title = "Alpha renamed " + "y" * 2000
        session.tags = ["one", "two"]
        session.save()

    return do, session.save


def seal(mirror: ActiveMirror, ids: dict[str, str]) -> tuple[Callable, Callable]:
    session = mirror.load_session(ids["a"])

    def again() -> None:
        if not mirror.load_session(ids["a"]).sealed:
            mirror.load_session(ids["a"]).seal()

    return session.seal, again


def delete(mirror: ActiveMirror, ids: dict[str, str]) -> tuple[Callable, Callable]:
    def do() -> None:
        mirror.delete_session(ids["b"])

    return do, do


def import_replacing(mirror: ActiveMirror, ids: dict[str, str]) -> tuple[Callable, Callable]:
    doc = json.loads(mirror.load_session(ids["c"]).export("json"))
    doc["title"] = "Gamma imported"
    doc["messages"].append(
        {
            "id": "msg_imported",
            "role": "user",
            "content": "fault imported " + "z" * 4000,
            "timestamp": "2025-01-01T00:00:00Z",
        }
    )
    for m in doc["messages"]:
        m.pop("hash", None)
    doc.pop("head", None)

    def do() -> None:
        import_session(doc, mirror, on_conflict="replace")

    return do, do


def import_bundle(mirror: ActiveMirror, ids: dict[str, str]) -> tuple[Callable, Callable]:
    sessions = []
    for n in range(2):
        sessions.append(
            {
                "id": f"imported_{n}",
                "title": f"Imported {n}",
                "createdAt": "2025-01-01T00:00:00Z",
                "messages": [
                    {
                        "id": f"msg_i{n}",
                        "role": "user",
                        "content": "fault " + "w" * 6000,
                        "timestamp": "2025-01-01T00:00:01Z",
                    }
                ],
            }
        )
    bundle = {"format": "activemirror-bundle", "version": 1, "sessions": sessions}

    def do() -> None:
        import_all_data(bundle, mirror, on_conflict="replace")

    return do, do


def redact(mirror: ActiveMirror, ids: dict[str, str]) -> tuple[Callable, Callable]:
    session = mirror.load_session(ids["a"])
    first = session.get_messages()[0]  # the only message holding BLOB: its bytes go too

    def do() -> None:
        session.redact(first.id, "fault: pasted by mistake")

    return do, do


OPERATIONS = {
    f.__name__: f
    for f in (
        send,
        save_several,
        new_session,
        retitle,
        seal,
        delete,
        import_replacing,
        import_bundle,
        redact,
    )
}


def run(options: dict, ids: dict[str, str], operation: str, fault: Callable | None) -> dict:
    """In a child process: the operation under the fault; what that process reads after it;
    what a fresh mirror reads; and what it reads after the operation is done again."""
    if options.pop("journal", False):
        jsonfiles.FOLD_AT_ONCE_BYTES = -1
    mirror = ActiveMirror(**options)
    before = snapshot(mirror)
    do, again = OPERATIONS[operation](mirror, ids)
    error = None
    with fault() if fault is not None else _nothing():
        try:
            do()
        except StorageError as exc:
            error = str(exc)
    seen = snapshot(mirror)
    with ActiveMirror(**options) as fresh:
        reopened = snapshot(fresh)
    again()
    after = snapshot(mirror)
    mirror.close()
    return {"error": error, "before": before, "seen": seen, "reopened": reopened, "after": after}


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def shape(snap: dict) -> list:
    """A snapshot without what differs between runs (generated ids, hashes, times)."""
    return sorted(
        (
            s["title"],
            s["tags"],
            s["status"],
            s["count"],
            [(m[1], m[2], m[3], m[5]) for m in s["messages"]],
        )
        for s in snap["sessions"].values()
    )


@pytest.fixture
def world_readable() -> Iterator[Path]:
    """A folder every user can read (pytest's own are private to their owner)."""
    path = Path(tempfile.mkdtemp(prefix="activemirror-faults-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def prepared(kind: str, root: Path) -> tuple[dict, dict[str, str]]:
    options = options_for(kind, root)
    ids = build_store(kind, root)
    if kind == "json-journal":
        options["journal"] = True
    return options, ids


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("kind", STORES)
def test_a_full_disk_changes_nothing_and_a_retry_stores_everything_once(kind, operation, tmp_path):
    reference = None
    failures = 0
    for limit in [None, *LIMITS]:
        root = tmp_path / f"limit-{limit}"
        options, ids = prepared(kind, root)
        fault = None if limit is None else full_disk(limit)
        result = in_child(run, dict(options), ids, operation, fault)
        where = f"{kind}, {operation}, files limited to {limit} bytes"
        if limit is None:
            assert result["error"] is None
            reference = shape(result["after"])
        elif result["error"] is not None:
            failures += 1
            assert str(root) in result["error"] or "disk" in result["error"], where
            assert result["seen"] == result["before"], f"{where}: the failed process reads a change"
        assert result["seen"] == result["reopened"], f"{where}: a fresh process reads otherwise"
        assert result["after"]["verify"] == (True, []), where
        assert shape(result["after"]) == reference, f"{where}: the retry did not store it all once"
        with ActiveMirror(**{k: v for k, v in options.items() if k != "journal"}) as mirror:
            assert snapshot(mirror) == result["after"], f"{where}: reopened after the retry"
            if kind != "sqlite":
                assert not list(Path(options["storage_path"]).rglob(".tmp-*")), where
    assert failures, f"{kind}, {operation}: no limit made the operation fail"


def read_only_run(options: dict, ids: dict[str, str], operation: str) -> dict:
    read_only_user()
    mirror = ActiveMirror(**options)
    before = snapshot(mirror)
    do, _ = OPERATIONS[operation](mirror, ids)
    try:
        do()
        error = None
    except StorageError as exc:
        error = str(exc)
    return {"error": error, "before": before, "seen": snapshot(mirror)}


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("kind", ["sqlite", "json"])
def test_a_read_only_store_is_read_and_refuses_writes_clearly(kind, operation, world_readable):
    options, ids = prepared(kind, world_readable)
    for path in [world_readable, *world_readable.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    if os.geteuid() != 0:
        for path in [world_readable, *world_readable.rglob("*")]:
            path.chmod(0o555 if path.is_dir() else 0o444)
    with ActiveMirror(**options) as mirror:
        expected = snapshot(mirror)
    result = in_child(read_only_run, dict(options), ids, operation)
    assert result["before"] == expected
    assert result["error"] is not None and "read-only" in result["error"], result["error"]
    assert result["seen"] == expected
    with ActiveMirror(**options) as mirror:
        assert snapshot(mirror) == expected


def killed_run(options: dict, ids: dict[str, str], operation: str, n: int) -> str:
    if options.pop("journal", False):
        jsonfiles.FOLD_AT_ONCE_BYTES = -1
    mirror = ActiveMirror(**options)
    do, _ = OPERATIONS[operation](mirror, ids)
    with killed_at(n)():
        do()
    return "done"


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("kind", ["json", "json-journal"])
def test_a_kill_before_any_file_change_leaves_the_old_state_or_the_new(kind, operation, tmp_path):
    """The JSON folder changes files through a few calls; the process is killed before the
    first, the second, … until the operation completes. Each time the folder opens to the
    state before or the state after, verifies, and holds no leftovers."""
    options, ids = prepared(kind, tmp_path / "reference")
    reference = shape(in_child(run, dict(options), ids, operation, None)["after"])
    n = 1
    while True:
        root = tmp_path / f"killed-{n}"
        options, ids = prepared(kind, root)
        plain = {k: v for k, v in options.items() if k != "journal"}
        with ActiveMirror(**plain) as mirror:
            before = shape(snapshot(mirror))
        outcome = in_child(killed_run, dict(options), ids, operation, n)
        with ActiveMirror(**plain) as mirror:
            state = snapshot(mirror)
            assert state["verify"] == (True, []), f"{kind}, {operation}, killed at call {n}"
            where = f"{kind}, {operation}, killed at call {n}"
            if operation == "import_bundle":  # each session of a bundle is saved whole
                assert all(x in before or x in reference for x in shape(state)), where
            else:
                assert shape(state) in (before, reference), where
            used = {
                hashlib.sha256(data).hexdigest()
                for s in state["sessions"].values()
                for m in s["messages"]
                for _, data in m[5]
            }
        folder = Path(plain["storage_path"])
        assert not list(folder.rglob(".tmp-*")), f"{kind}, {operation}, killed at call {n}"
        attachments = folder / "attachments"
        stored = {p.name for p in attachments.iterdir()} if attachments.exists() else set()
        assert stored == used, f"{kind}, {operation}, killed at call {n}: orphan bytes"
        if outcome != KILLED:
            break
        n += 1
    assert n > 1, f"{operation} changed no file"


def pg_options(dsn: str) -> dict:
    return {"storage_type": "postgresql", "dsn": dsn}


@pytest.mark.parametrize("operation", OPERATIONS)
def test_a_read_only_postgresql_connection_refuses_writes_and_changes_nothing(
    operation, postgres_dsn
):
    """The team store where the server refuses writes (a hot standby, a read-only role or
    database): every operation is a StorageError and nothing changes."""
    with ActiveMirror(**pg_options(postgres_dsn)) as mirror:
        ids = _fill(mirror)
        expected = snapshot(mirror)
    read_only = postgres_dsn + " options='-c default_transaction_read_only=on'"
    with ActiveMirror(**pg_options(read_only)) as mirror:
        assert snapshot(mirror) == expected  # reading works
        do, _ = OPERATIONS[operation](mirror, ids)
        with pytest.raises(StorageError, match="read-only"):
            do()
        assert snapshot(mirror) == expected
    with ActiveMirror(**pg_options(postgres_dsn)) as mirror:
        assert snapshot(mirror) == expected
