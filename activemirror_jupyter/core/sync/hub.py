"""``mirror.sync("postgresql://…")``: the team store of 0.1 as a hub between a person's
devices, under its row security — what the connecting role pushes is its own, and it pulls
only what it may read. The hub is a store like any other device's, so the exchange is the
folder's merge run both ways, session by session (:mod:`.merge`):

- push: every session changed here since the last sync is merged into the hub (messages a
  union, fields by the later change — the hub's fields count as changed when its session
  last was —, deletes only over what this device had seen, seals with their late
  messages in one "(after seal)" child);
- pull: every session of the hub changed since (its ``changes``) is merged here the
  same way; a session gone from the hub that this device had is a delete of what it
  had then.

Messages keep their ids, origins, clocks and hashes both ways; messages written straight
into the team store (its sidebar, a kernel on the server) are the hub's own device's.
"""

from __future__ import annotations

from typing import Any

from ..errors import ActiveMirrorError, SyncError
from ..models import SessionMetadata
from ..storage.base import Changes, Storage
from ..timeutil import from_iso, to_iso, utcnow
from .exchange import SyncReport, advance
from .merge import Merger, fields_of, known_of, seal_record
from .records import SessionRecords, redaction_record
from .remotes import remote_text
from .state import RemoteState, changed_sessions, redactions_since


def sync_hub(store: Storage, hub: Storage, dsn: str, progress: Any = None) -> SyncReport:
    shown = remote_text(dsn)
    state = RemoteState.load(store, f"hub {shown}")
    try:
        here = store.changes(state.version)  # tokens before reading: a change during
        pushed = _push(store, hub, state, here, progress)  # the sync is the next one's
        there = hub.changes(state.written[-1] if state.written else None)
        pulled = _pull(store, hub, state, there, progress)
    except ActiveMirrorError as exc:
        if isinstance(exc, SyncError):
            raise
        raise SyncError(f"sync with {shown} failed: {exc}") from None
    state.version = here.token
    state.applied = {"hub": 0}
    state.written = [there.token]  # the hub's, after this sync's push
    state.save(store)
    return SyncReport(pushed, pulled, shown)


def _records_of(store: Storage, meta: SessionMetadata) -> SessionRecords:
    """What ``store`` says of a session, as a device's segment would: its fields stamped
    with its last change, its messages, its seal and redactions."""
    stamp = [to_iso(meta.updated_at), store.device_id]
    fields = {name: [value, *stamp] for name, value in fields_of(meta).items()}
    messages = store.get_messages(meta.session_id, 0, meta.message_count)
    records = SessionRecords(fields=fields, messages=messages)
    if meta.sealed:
        records.seals.append(seal_record(meta, messages, store.device_id))
    records.redactions = [redaction_record(m) for m in messages if m.redacted is not None]
    return records


# -- push ------------------------------------------------------------------------------------


def _push(store: Storage, hub: Storage, state: RemoteState, changes: Changes, progress: Any) -> int:
    redactions = redactions_since(store, state.redactions_sent)
    if changes.none and not redactions:
        return 0
    into_hub = Merger(hub, RemoteState("hub", "hub"), lambda sid: SessionRecords())
    listed, gone = changed_sessions(store, changes, state.sessions)
    pushed = 0
    for meta in listed:
        entry = state.sessions.get(meta.session_id) or {}
        same = (entry.get("f"), entry.get("n"), entry.get("sealed", False)) == (
            fields_of(meta),
            meta.message_count,
            meta.sealed,
        )
        if same:
            continue
        records = _records_of(store, meta)
        _with_hub_stamps(into_hub, hub, meta.session_id)
        before = into_hub.pulled
        into_hub.merge(meta.session_id, records)
        pushed += into_hub.pulled - before
        advance(progress, into_hub.pulled - before)
        state.sessions[meta.session_id] = _entry(meta, records)
    for r in redactions:
        if hub.get_session(r["session"]) is not None:
            hub.redact(r["session"], r["id"], from_iso(r["at"]), r["reason"])
    for sid in gone:
        entry = state.sessions[sid]
        _delete_on_hub(hub, sid, entry)
        state.sessions[sid] = {**entry, "gone": True, "n": 0}
    state.redactions_sent += len(redactions)
    return pushed


def _with_hub_stamps(merger: Merger, hub: Storage, sid: str) -> None:
    """The hub's fields count as changed when its session last was (it keeps no stamps)."""
    meta = hub.get_session(sid)
    if meta is None:
        merger.state.sessions.pop(sid, None)
        return
    stamp = [to_iso(meta.updated_at), hub.device_id]
    fields = {name: [value, *stamp] for name, value in fields_of(meta).items()}
    merger.state.sessions[sid] = {"f": fields}


def _delete_on_hub(hub: Storage, sid: str, entry: dict[str, Any]) -> None:
    """Deleted here: gone from the hub too, unless it holds messages this device never
    had (then the session stays, and the pull brings it back whole)."""
    meta = hub.get_session(sid)
    if meta is None:
        return
    known = entry.get("known", {})
    messages = hub.get_messages(sid, 0, meta.message_count)
    if all((m.clock or 0) <= known.get(str(m.origin), 0) for m in messages):
        hub.delete_session(sid)


def _entry(meta: SessionMetadata, records: SessionRecords) -> dict[str, Any]:
    return {
        "n": meta.message_count,
        "f": fields_of(meta),
        "known": known_of(records.messages),
        "sealed": meta.sealed,
    }


# -- pull ------------------------------------------------------------------------------------


def _pull(store: Storage, hub: Storage, state: RemoteState, changes: Changes, progress: Any) -> int:
    if changes.none:
        return 0  # nothing saved, redacted or deleted on the hub since the last sync
    into_here = Merger(store, RemoteState(state.key, state.remote), lambda sid: SessionRecords())
    listed, gone = changed_sessions(hub, changes, state.sessions)
    for meta in listed:
        entry = state.sessions.get(meta.session_id) or {}
        here = store.get_session(meta.session_id)
        if here is not None and entry.get("n") == meta.message_count and _same(here, meta):
            continue
        records = _records_of(hub, meta)
        into_here.state.sessions[meta.session_id] = _stamped(entry, store)
        before = into_here.pulled
        into_here.merge(meta.session_id, records)
        advance(progress, into_here.pulled - before)
        merged = store.get_session(meta.session_id)
        if merged is not None:
            state.sessions[meta.session_id] = _entry(merged, records)
    for sid in gone:
        entry = state.sessions[sid]
        if store.get_session(sid) is not None:
            deleted = {
                "at": to_iso(utcnow()),
                "device": hub.device_id,
                "known": entry.get("known", {}),
            }
            into_here.state.sessions[sid] = _stamped(entry, store)
            into_here.merge(sid, SessionRecords(deletes=[deleted]))
            if store.get_session(sid) is None:
                state.sessions[sid] = {**entry, "gone": True, "n": 0}
    return into_here.pulled


def _stamped(entry: dict[str, Any], store: Storage) -> dict[str, Any]:
    """This device's fields as last synced, with the oldest stamp: a change made here since
    was pushed before this pull, so the hub holds it already."""
    fields = entry.get("f") or {}
    return {"f": {name: [value, "", store.device_id] for name, value in fields.items()}}


def _same(a: SessionMetadata, b: SessionMetadata) -> bool:
    return fields_of(a) == fields_of(b) and a.status == b.status and a.head == b.head
