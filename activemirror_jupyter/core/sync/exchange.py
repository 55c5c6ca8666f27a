"""``mirror.sync(folder)``: push what this device has that the folder lacks (new segment
files of its own), then pull what the other devices wrote (their segments not applied
yet), merging it session by session (:mod:`.merge`). What was sent and applied is kept in
the store (:mod:`.state`), so a sync killed at any point is simply run again: a segment is
applied again as a no-op (merges are unions), and one written but not recorded is found
by its name and taken as written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidIdError, SyncError
from ..ids import validate_id
from ..models import Attachment, Message, SessionMetadata
from ..storage.base import Changes, Storage
from ..timeutil import to_iso, utcnow
from .folder import Folder
from .merge import FIELDS, Merger, fields_of, known_of, seal_record
from .records import (
    SEGMENT_FORMAT,
    SEGMENT_VERSION,
    Reader,
    SessionRecords,
    in_own_file,
    message_out,
)
from .state import RemoteState, changed_sessions, redactions_since

#: Messages per segment file (a first push of a big store is several files).
SEGMENT_MESSAGES = 2000


@dataclass(frozen=True)
class SyncReport:
    """What one sync did: messages sent to the remote and received from it."""

    pushed: int
    pulled: int
    remote: str


def sync_folder(store: Storage, folder: Folder, progress: Any = None) -> SyncReport:
    """Push, then pull; ``progress`` (a ``tqdm`` bar, say) learns each part's size as its
    ``total`` grows and is advanced by the messages sent and taken in."""
    folder.open()
    state = RemoteState.load(store, str(folder.path), key=f"folder {folder.folder_id}")
    _check_own_files(folder, state, store.device_id)
    changes = store.changes(state.version)  # before reading: a save during it is next time's
    pushed = _push(store, folder, state, changes, progress)
    merger = Merger(store, state, _History(folder).session)
    _pull(folder, state, store.device_id, merger, progress)
    state.version = changes.token
    state.pending = []
    own = folder.mark(store.device_id)
    if own is not None:
        state.seen[store.device_id] = own
    state.save(store)
    return SyncReport(pushed, merger.pulled, str(folder.path))


def _check_own_files(folder: Folder, state: RemoteState, device: str) -> None:
    """A segment in this device's folder that it did not write: the store was copied.
    (One it was writing when its process died is its own: taken as written.)"""
    mark = folder.mark(device)
    if mark is not None and state.seen.get(device) == mark:
        return  # not changed since this device last looked
    written = set(state.written)
    for _, name in folder.segments(device):
        if name in state.pending and name not in written:
            state.written.append(name)
        elif name not in written:
            raise SyncError(
                f"{folder.root / device / name} was written by another store with this "
                f"store's device id ({device}): this store was copied as files. Give this "
                "copy its own id with mirror.new_device_id() (its messages no sync has sent "
                "move to it), then sync again; nothing was synced"
            )


# -- push ------------------------------------------------------------------------------------


def _push(
    store: Storage, folder: Folder, state: RemoteState, changes: Changes, progress: Any
) -> int:
    redactions = redactions_since(store, state.redactions_sent)
    if changes.none and not redactions:
        return 0  # nothing saved, deleted or redacted here since the last sync
    device = store.device_id
    now = to_iso(utcnow())
    records: list[dict[str, Any]] = []
    listed, gone = changed_sessions(store, changes, state.sessions)
    for meta in listed:
        record = _changes(store, meta, state.sessions.get(meta.session_id), device, now)
        if record is not None:
            records.append(record)
    _add_redactions(records, [r for r in redactions if r["session"] in state.sessions])
    for sid in gone:
        deleted = {"at": now, "device": device, "known": state.sessions[sid].get("known", {})}
        records.append({"id": sid, "deleted": deleted})
    pushed = 0
    grow(progress, sum(len(r.get("messages", ())) for r in records))
    for part in _parts(records):
        sent = _write_segment(store, folder, state, part)
        pushed += sent
        advance(progress, sent)
    for record in records:
        _remember(state, record)
    state.redactions_sent += len(redactions)
    return pushed


def _add_redactions(records: list[dict[str, Any]], redactions: list[dict[str, Any]]) -> None:
    """The redactions made here since the last sync, each with its session's record."""
    by_id = {r["id"]: r for r in records}
    for r in redactions:
        record = by_id.get(r["session"])
        if record is None:
            record = by_id[r["session"]] = {"id": r["session"], "only": "redactions"}
            records.append(record)
        record.setdefault("redactions", []).append({k: r[k] for k in ("id", "at", "reason")})


def _changes(
    store: Storage, meta: SessionMetadata, prev: dict[str, Any] | None, device: str, now: str
) -> dict[str, Any] | None:
    prev = prev or {}
    held = prev.get("f", {})
    changed = to_iso(meta.updated_at)  # when the session last changed here
    fields = {
        name: [value, changed, device]
        for name, value in fields_of(meta).items()
        if name not in held or held[name][0] != value
    }
    start = min(prev.get("n", 0), meta.message_count)
    messages = store.get_messages(meta.session_id, start, meta.message_count)
    record: dict[str, Any] = {"id": meta.session_id, "n": meta.message_count}
    if fields and not meta.sealed:
        record["fields"] = fields
    if messages:
        record["messages"] = messages
    if meta.sealed and not prev.get("sealed"):
        everything = store.get_messages(meta.session_id, 0, meta.message_count)
        record["seal"] = seal_record(meta, everything, device)
    if len(record) == 2:
        return None
    return record


def _parts(records: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    part: list[dict[str, Any]] = []
    size = 0
    for record in records:
        part.append(record)
        size += len(record.get("messages", ())) + 1
        if size >= SEGMENT_MESSAGES:
            yield part
            part, size = [], 0
    if part:
        yield part


def _write_segment(
    store: Storage, folder: Folder, state: RemoteState, records: list[dict[str, Any]]
) -> int:
    device = store.device_id
    seq = len(state.written) + 1
    sessions = []
    count = 0
    for record in records:
        out = {k: v for k, v in record.items() if k not in ("messages", "n", "only")}
        messages: list[Message] = record.get("messages", [])
        if messages:
            out["messages"] = [message_out(m) for m in messages]
            count += len(messages)
            for m in messages:
                for a in m.attachments:
                    if in_own_file(a):
                        _write_attachment(folder, device, a)
        sessions.append(out)
    doc = {
        "format": SEGMENT_FORMAT,
        "version": SEGMENT_VERSION,
        "device": device,
        "seq": seq,
        "sessions": sessions,
    }
    name = f"s-{seq:08d}-{os.urandom(4).hex()}.ams"
    state.pending = [name]
    state.save(store, sessions=False)  # the name first: a file found there later is ours
    folder.write(device, name, json.dumps(doc, ensure_ascii=False).encode())
    state.written.append(name)
    return count


def _write_attachment(folder: Folder, device: str, attachment: Attachment) -> None:
    name = folder.attachment_name(attachment.sha256)
    if not folder.exists(device, name):
        folder.write(device, name, attachment.read())


def _remember(state: RemoteState, record: dict[str, Any]) -> None:
    sid = record["id"]
    entry = state.sessions.setdefault(sid, {})
    if record.get("only") == "redactions":
        return
    if "deleted" in record:
        entry["gone"] = True
        entry["deletes"] = [*entry.get("deletes", []), record["deleted"]]
        entry["n"] = 0
        return
    entry["n"] = record["n"]
    entry["known"] = known_of(record.get("messages", []), entry.get("known"))
    entry["f"] = {**entry.get("f", {}), **record.get("fields", {})}
    if "seal" in record:
        entry["sealed"] = True
        entry["seals"] = [*entry.get("seals", []), record["seal"]]


# -- pull ------------------------------------------------------------------------------------


def _pull(folder: Folder, state: RemoteState, device: str, merger: Merger, progress: Any) -> None:
    incoming: dict[str, SessionRecords] = {}
    advanced: dict[str, int] = {}
    marks: dict[str, list[int]] = {}
    for other in folder.devices():
        if other == device:
            continue
        mark = folder.mark(other)
        if mark is not None and state.seen.get(other) == mark:
            continue  # nothing new there since every segment in it was applied
        start = state.applied.get(other, 0)
        whole = True
        for seq, name in folder.segments(other):
            if seq <= start:
                continue
            if seq != start + 1 or not _read_segment(folder, other, seq, name, incoming):
                whole = False
                break  # still arriving: the rest of this device's waits for it
            start = seq
        advanced[other] = start
        if whole and mark is not None:
            marks[other] = mark
    grow(progress, sum(len(r.messages) for r in incoming.values()))
    for sid in sorted(incoming):
        merger.merge(sid, incoming[sid])
        advance(progress, len(incoming[sid].messages))
    state.applied.update(advanced)  # only once all of it is in the store
    state.seen.update(marks)


def _read_segment(
    folder: Folder, device: str, seq: int, name: str, into: dict[str, SessionRecords]
) -> bool:
    """Read one segment into ``into``; False (nothing taken) while any part of it is still
    arriving."""
    doc = folder.read_json(device, name)
    if doc is None:
        return False
    reader = Reader(str(folder.root / device / name), lambda a: _bytes_of(folder, device, a))
    read: dict[str, SessionRecords] = {}
    for raw in reader.segment(doc, device, seq):
        try:
            sid = validate_id(raw.get("id"), "session id")
        except InvalidIdError as exc:
            raise reader.fail(str(exc)) from None
        reader.session_into(raw, read.setdefault(sid, SessionRecords()), sid)
    for records in read.values():
        for m in records.messages:
            for a in m.attachments:
                name = folder.attachment_name(a.sha256)
                if in_own_file(a) and not folder.complete(device, name):
                    return False
    for sid, records in read.items():
        target = into.setdefault(sid, SessionRecords())
        for field in FIELDS:
            if field in records.fields:
                target.add_field(field, records.fields[field])
        target.messages.extend(records.messages)
        target.seals.extend(records.seals)
        target.deletes.extend(records.deletes)
        target.redactions.extend(records.redactions)
    return True


def grow(progress: Any, n: int) -> None:
    """Tell ``progress`` (a ``tqdm`` bar, say) that ``n`` more messages are coming."""
    if progress is not None and n and hasattr(progress, "total"):
        progress.total = (progress.total or 0) + n
        if hasattr(progress, "refresh"):
            progress.refresh()


def advance(progress: Any, n: int) -> None:
    if progress is not None and n:
        progress.update(n)


def _bytes_of(folder: Folder, device: str, attachment: Attachment) -> Any:
    def read() -> bytes:
        data = folder.read(device, folder.attachment_name(attachment.sha256))
        if data is None:
            raise SyncError(
                f"the bytes of attachment {attachment.name!r} are not in {folder.root / device} "
                "yet (still arriving?): sync again later"
            )
        return data

    return read


class _History:
    """Everything the folder says about one session (read once, when a merge needs it)."""

    def __init__(self, folder: Folder) -> None:
        self.folder = folder
        self._all: dict[str, SessionRecords] | None = None

    def session(self, sid: str) -> SessionRecords:
        if self._all is None:
            self._all = {}
            for device in self.folder.devices():
                for seq, name in self.folder.segments(device):
                    if not _read_segment(self.folder, device, seq, name, self._all):
                        break
        return self._all.get(sid, SessionRecords())
