"""The five guarantees of sync, over random schedules: three devices (SQLite and JSON
folders) sending notes with attachments, renaming, tagging, deleting, sealing and
syncing in any order; then every device syncs twice and all must hold one record."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sync_devices import check_one_record, device, identities

from activemirror_jupyter import Attachment, SyncReport

KINDS = ("sqlite", "json", "sqlite")

devices_ = st.integers(0, len(KINDS) - 1)
which = st.integers(0, 5)
operation = st.one_of(
    st.tuples(st.just("new"), devices_, st.text("abcxyz ", min_size=1, max_size=8)),
    st.tuples(st.just("send"), devices_, which, st.booleans()),
    st.tuples(st.just("title"), devices_, which, st.text("abcxyz", min_size=1, max_size=6)),
    st.tuples(st.just("tag"), devices_, which, st.sampled_from(["red", "blue", "green"])),
    st.tuples(st.just("delete"), devices_, which),
    st.tuples(st.just("seal"), devices_, which),
    st.tuples(st.just("redact"), devices_, which, which),
    st.tuples(st.just("sync"), devices_),
    st.tuples(st.just("sync"), devices_),
)


@pytest.fixture(scope="module")
def ids(tmp_path_factory):
    return identities(tmp_path_factory.mktemp("identities"), len(KINDS))


class World:
    """Three devices and one folder, and what the schedule did to them."""

    def __init__(self, ids) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sync-prop-"))
        self.folder = self.root / "shared"
        self.folder.mkdir()
        self.mirrors = [device(self.root, k, f"d{i}", ids[i]) for i, k in enumerate(KINDS)]
        self.sent: dict[str, str] = {}  # message id -> session id it was sent to
        self.deleted: set[str] = set()
        self.redacted: set[str] = set()
        self.count = 0

    def close(self) -> None:
        for m in self.mirrors:
            m.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def session(self, d: int, k: int, *, open_only: bool = False):
        metas = sorted(self.mirrors[d].list_sessions(), key=lambda m: m.session_id)
        if open_only:
            metas = [m for m in metas if not m.sealed]
        if not metas:
            return None
        return self.mirrors[d].load_session(metas[k % len(metas)].session_id)

    def run(self, op: tuple) -> None:
        kind, d = op[0], op[1]
        mirror = self.mirrors[d]
        if kind == "new":
            s = mirror.create_session(op[2])
            self.note(s, f"first of {op[2]}", False)
        elif kind == "sync":
            mirror.sync(self.folder)
        elif kind == "send":
            s = self.session(d, op[2], open_only=True)
            if s is not None:
                self.note(s, f"note {self.count}", op[3])
        elif kind in ("title", "tag"):
            s = self.session(d, op[2], open_only=True)
            if s is not None and kind == "title":
                s.title = op[3]
            elif s is not None:
                s.tags = [op[3]]
        elif kind == "delete":
            s = self.session(d, op[2])
            if s is not None:
                self.deleted.add(s.id)
                mirror.delete_session(s.id)
        elif kind == "redact":
            s = self.session(d, op[2])
            messages = s.get_messages() if s is not None else []
            if messages:
                self.redacted.add(s.redact(messages[op[3] % len(messages)].id, "leak").id)
        elif kind == "seal":
            s = self.session(d, op[2], open_only=True)
            if s is not None:
                s.seal()

    def note(self, s, text: str, attach: bool) -> None:
        self.count += 1
        files = [Attachment.from_bytes("f.bin", "application/octet-stream", text.encode())]
        m = s.send(text, attachments=files if attach else None)
        self.sent[m.id] = s.id


@given(schedule=st.lists(operation, min_size=1, max_size=40))
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_any_schedule_ends_in_one_record_on_every_device(ids, schedule):
    world = World(ids)
    try:
        for op in schedule:
            world.run(op)
        for _ in range(2):  # (1)-(4): every device has synced twice
            for mirror in world.mirrors:
                mirror.sync(world.folder)
        record = check_one_record(world.mirrors)
        held = {m[0] for session in record.values() for m in session["messages"]}
        for message_id, sid in world.sent.items():
            if sid not in world.deleted:
                assert message_id in held, "a message was lost"
        for session in record.values():  # a redaction reached every device
            for m in session["messages"]:
                assert m[2] == "" or m[0] not in world.redacted
        for mirror in world.mirrors:  # (5): nothing new, nothing moved
            assert mirror.sync(world.folder) == SyncReport(0, 0, str(world.folder))
    finally:
        world.close()
