"""Taking in what other devices wrote: one session at a time, its new state is a function
of everything any device said about it — so every device, whatever the order and timing of
its syncs, ends with the same session:

- messages: the union (by id), in one order — (clock, origin);
- title, tags, parent, info: the later change (its time, then device id);
- a delete removes the session when it had seen every message the session holds, else
  the session stays, whole;
- a seal (the first, by time then device, once every message it covers is here) seals
  the session as it covered it; later messages go, unchanged, into one child session
  ``"<title> (after seal)"`` with an id made from the session's.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

from ..errors import SessionSealedError, SyncError
from ..ids import ID_PATTERN
from ..journal import chain_tips
from ..models import SEALED, Attachment, Message, SessionMetadata
from ..redaction import redacted_form
from ..storage.base import Storage
from ..timeutil import from_iso, to_iso
from .records import SessionRecords, stamp
from .state import RemoteState

FIELDS = ("title", "tags", "parent", "info")
AFTER_SEAL = " (after seal)"


def fields_of(meta: SessionMetadata) -> dict[str, Any]:
    """A session's fields as sync compares and sends them."""
    metadata = {k: v for k, v in meta.metadata.items() if k != "seal"}
    return {
        "title": meta.title,
        "tags": list(meta.tags),
        "parent": meta.parent_session_id,
        "info": {
            "created": to_iso(meta.created_at),
            "user": meta.user_id,
            "status": "active" if meta.status == SEALED else meta.status,
            "metadata": metadata,
            "max_context": meta.max_context_messages,
        },
    }


def known_of(messages: list[Message], known: dict[str, int] | None = None) -> dict[str, int]:
    """Each device's largest clock among ``messages`` (over ``known``)."""
    found = dict(known or {})
    for m in messages:
        origin = str(m.origin)
        found[origin] = max(found.get(origin, 0), m.clock or 0)
    return found


def tips_by_device(messages: list[Message]) -> dict[str, str]:
    return {str(m.origin): str(m.hash) for m in messages}


def after_seal_id(session_id: str) -> str:
    """The id of a sealed session's "(after seal)" child: the same on every device."""
    candidate = f"{session_id}.after-seal"
    if ID_PATTERN.fullmatch(candidate):
        return candidate
    digest = hashlib.sha256(session_id.encode()).hexdigest()[:16]
    return f"{session_id[:100]}.after-seal-{digest}"


class Merger:
    """Merges what one sync read into the store, session by session."""

    def __init__(
        self, store: Storage, state: RemoteState, history: Callable[[str], SessionRecords]
    ) -> None:
        self.store = store
        self.state = state
        self.history = history
        self.pulled = 0

    def merge(self, sid: str, incoming: SessionRecords) -> None:
        prev = self.state.sessions.get(sid) or {}
        local_meta = self.store.get_session(sid)
        if local_meta is None and prev.get("gone"):
            incoming, prev = self.history(sid), {}  # deleted here: judged on everything
        elif prev.get("moving"):  # a sync died while moving late messages: take them again
            incoming = _joined(incoming, self.history(sid))
        local = self._messages(local_meta)
        have = {m.id for m in local}
        redactions = _unique([*prev.get("redactions", []), *incoming.redactions])
        union = {m.id: m for m in local}
        for m in _redacted(incoming.messages, redactions):  # never written in full here
            union.setdefault(m.id, m)
        messages = sorted(union.values(), key=lambda m: (m.clock or 0, str(m.origin)))
        fields = self._fields(prev, incoming, local_meta)
        deletes = _unique([*prev.get("deletes", []), *incoming.deletes])
        seals = _unique([*prev.get("seals", []), *incoming.seals, *_own_seal(local_meta, local)])
        entry: dict[str, Any] = {
            "known": known_of(messages),
            "f": fields,
            "deletes": deletes,
            "seals": seals,
            "redactions": redactions,
        }
        if local_meta is None and not messages and "info" not in fields:
            self.state.sessions[sid] = {**entry, "n": 0}  # nothing of it to make here (yet)
            return
        if any(_covers(d, messages) for d in deletes):
            if local_meta is not None:
                self.store.delete_session(sid)
            self.state.sessions[sid] = {**entry, "n": 0, "gone": True}
            return
        seal = _winning_seal(seals, messages)
        kept, late = _split(seal, messages)
        self.pulled += sum(1 for m in kept if m.id not in have)
        meta = self._meta(sid, fields, seal, kept, local_meta)
        if late and any(m.id in have for m in late) and self.state.store is not None:
            # Late messages leave this session before they are in the child: should the
            # process die between the two writes, the next sync reads them again.
            self.state.sessions[sid] = {**prev, "moving": True}
            self.state.save(self.store)
        self._write(meta, kept, local, local_meta)
        self._redact(sid, kept, redactions)
        if late:
            self._after_seal(meta, seal, late, have)
            self._redact(after_seal_id(sid), late, redactions)
        self.state.sessions[sid] = {**entry, "n": len(kept), "sealed": seal is not None}

    def _redact(self, sid: str, messages: list[Message], redactions: list[dict[str, Any]]) -> None:
        """Apply here the redactions of these messages made anywhere (the first stands)."""
        held = {m.id: m for m in messages}
        for r in sorted(redactions, key=lambda r: r["at"]):
            m = held.get(r["id"])
            if m is not None and m.redacted is None:
                self.store.redact(sid, m.id, from_iso(r["at"]), r["reason"])
                held[m.id] = dataclasses.replace(m, redacted={})

    def _messages(self, meta: SessionMetadata | None) -> list[Message]:
        if meta is None:
            return []
        return self.store.get_messages(meta.session_id, 0, meta.message_count)

    def _fields(
        self, prev: dict[str, Any], incoming: SessionRecords, local: SessionMetadata | None
    ) -> dict[str, list[Any]]:
        fields = dict(prev.get("f", {}))
        if local is not None:  # saved here after this sync's push: the oldest stamp
            for name, value in fields_of(local).items():
                fields.setdefault(name, [value, "", self.store.device_id])
        for name, value in incoming.fields.items():
            held = fields.get(name)
            if held is None or stamp(value) > stamp(held):
                fields[name] = value
        return fields

    def _meta(
        self,
        sid: str,
        fields: dict[str, list[Any]],
        seal: dict[str, Any] | None,
        kept: list[Message],
        local: SessionMetadata | None,
    ) -> SessionMetadata:
        info = _value(fields, "info", {})
        try:
            created = from_iso(info.get("created")) if info.get("created") else None
        except ValueError:
            created = None
        created = created or (local.created_at if local else kept[0].timestamp if kept else None)
        if created is None:
            raise SyncError(f"session {sid!r}: no device sent when it was made; sync again")
        times = [created, *(m.timestamp for m in kept)]
        if local is not None:
            times.append(local.updated_at)
        metadata = dict(info.get("metadata") or {})
        if seal is not None:
            metadata["seal"] = seal["seal"]
        return SessionMetadata(
            session_id=sid,
            title=str(seal["title"] if seal else _value(fields, "title", "")),
            user_id=info.get("user"),
            parent_session_id=_value(fields, "parent", None),
            status=SEALED if seal else str(info.get("status") or "active"),
            created_at=created,
            updated_at=max(times),
            message_count=len(kept),
            max_context_messages=info.get("max_context"),
            metadata=metadata,
            tags=tuple(seal["tags"] if seal else _value(fields, "tags", [])),
        )

    def _write(
        self,
        meta: SessionMetadata,
        kept: list[Message],
        local: list[Message],
        local_meta: SessionMetadata | None,
    ) -> None:
        sid = meta.session_id
        unchanged = [m.id for m in kept] == [m.id for m in local]
        if local_meta is not None and unchanged and _same(meta, local_meta):
            return
        hashes, _ = chain_tips(sid, {}, kept, self.store.device_id)
        for m, h in zip(kept, hashes, strict=True):
            if m.hash != h:
                raise SyncError(
                    f"message {m.id!r} of session {sid!r} (from device {m.origin}) does not "
                    "chain as its hash says: its device's earlier messages are missing or "
                    "changed; nothing of the session was taken in"
                )
        kept = _in_memory(kept, {m.id for m in local})  # the write replaces what they read
        if local_meta is not None and local_meta.sealed:
            self.store.delete_session(sid)  # a seal that won over this device's own
        try:
            self.store.save(meta, kept, replace=True)
        except SessionSealedError:
            raise SyncError(f"session {sid!r} was sealed here while syncing; sync again") from None

    def _after_seal(
        self, meta: SessionMetadata, seal: dict[str, Any], late: list[Message], have: set[str]
    ) -> None:
        child = after_seal_id(meta.session_id)
        at = str(seal["seal"].get("sealed_at", ""))
        by = str(seal.get("device", ""))
        defaults = fields_of(
            SessionMetadata(
                session_id=child,
                title=meta.title + AFTER_SEAL,
                user_id=meta.user_id,
                parent_session_id=meta.session_id,
                status="active",
                created_at=from_iso(at) if at else late[0].timestamp,
                updated_at=late[-1].timestamp,
                message_count=0,
            )
        )
        records = SessionRecords(
            fields={name: [value, at, by] for name, value in defaults.items()},
            messages=[dataclasses.replace(m, session_id=child, hash=None) for m in late],
        )
        pulled = self.pulled
        self.merge_child(child, records)
        self.pulled = pulled + sum(1 for m in late if m.id not in have)

    def merge_child(self, child: str, records: SessionRecords) -> None:
        """The "(after seal)" child: its late messages chained anew there."""
        prev = self.state.sessions.get(child) or {}
        local_meta = self.store.get_session(child)
        local = self._messages(local_meta)
        union = {m.id: m for m in local}
        for m in records.messages:
            union.setdefault(m.id, m)
        messages = sorted(union.values(), key=lambda m: (m.clock or 0, str(m.origin)))
        fields = self._fields(prev, records, local_meta)
        meta = self._meta(child, fields, None, messages, local_meta)
        if [m.id for m in messages] != [m.id for m in local] or local_meta is None:
            fresh = [dataclasses.replace(m, hash=None) for m in messages]
            self.store.save(meta, _in_memory(fresh, {m.id for m in local}), replace=True)
        self.state.sessions[child] = {
            **prev,
            "known": known_of(messages),
            "f": fields,
            "n": len(messages),
        }


def seal_record(meta: SessionMetadata, messages: list[Message], device: str) -> dict[str, Any]:
    """A sealed session's seal as sync carries it: the seal, each device's last hash it
    covers (``messages``: all of the session's), and the fields it was sealed with."""
    return {
        "seal": meta.metadata.get("seal"),
        "tips": tips_by_device(messages),
        "title": meta.title,
        "tags": list(meta.tags),
        "device": device,
    }


def _own_seal(meta: SessionMetadata | None, messages: list[Message]) -> list[dict[str, Any]]:
    """The seal of the session as this store holds it (a hub learns of no seal otherwise)."""
    if meta is None or not meta.sealed or not isinstance(meta.metadata.get("seal"), dict):
        return []
    return [seal_record(meta, messages, "")]


def _in_memory(messages: list[Message], stored: set[str]) -> list[Message]:
    """``messages``, those in ``stored`` holding their attachments' bytes in memory."""
    return [
        dataclasses.replace(m, attachments=tuple(_held(a) for a in m.attachments))
        if m.id in stored and m.attachments
        else m
        for m in messages
    ]


def _held(attachment: Attachment) -> Attachment:
    data = attachment.read()
    a = attachment
    return Attachment.stored(a.name, a.mime_type, a.size, a.sha256, lambda: data)


def _redacted(messages: list[Message], redactions: list[dict[str, Any]]) -> list[Message]:
    """``messages`` with the redactions made of them anywhere (the first stands)."""
    first: dict[str, dict[str, Any]] = {}
    for r in sorted(redactions, key=lambda r: r["at"]):
        first.setdefault(r["id"], r)
    return [
        redacted_form(m, from_iso(first[m.id]["at"]), first[m.id]["reason"]) if m.id in first else m
        for m in messages
    ]


def _joined(a: SessionRecords, b: SessionRecords) -> SessionRecords:
    joined = SessionRecords(dict(a.fields), [*a.messages, *b.messages], [*a.seals, *b.seals])
    joined.deletes = [*a.deletes, *b.deletes]
    joined.redactions = [*a.redactions, *b.redactions]
    for name, value in b.fields.items():
        joined.add_field(name, value)
    return joined


def _value(fields: dict[str, list[Any]], name: str, default: Any) -> Any:
    held = fields.get(name)
    return default if held is None else held[0]


def _unique(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for item in items:
        seen.setdefault(repr(sorted(item.items())), item)
    return list(seen.values())


def _covers(delete: dict[str, Any], messages: list[Message]) -> bool:
    known = delete.get("known") or {}
    return all((m.clock or 0) <= known.get(str(m.origin), 0) for m in messages)


def _winning_seal(seals: list[dict[str, Any]], messages: list[Message]) -> dict[str, Any] | None:
    """The first seal (by time, then device) whose every covered message is here."""
    hashes = {m.hash for m in messages}
    ready = [s for s in seals if set((s.get("tips") or {}).values()) <= hashes]
    if not ready:
        return None
    return min(ready, key=lambda s: (str(s["seal"].get("sealed_at", "")), str(s.get("device"))))


def _split(
    seal: dict[str, Any] | None, messages: list[Message]
) -> tuple[list[Message], list[Message]]:
    """The messages a seal covers (each device's up to the last one it records) and the
    rest."""
    if seal is None:
        return messages, []
    tips = seal.get("tips") or {}
    last = {m.origin: m.clock or 0 for m in messages if tips.get(str(m.origin)) == m.hash}
    kept = [m for m in messages if (m.clock or 0) <= last.get(m.origin, 0)]
    late = [m for m in messages if (m.clock or 0) > last.get(m.origin, 0)]
    return kept, late


def _same(a: SessionMetadata, b: SessionMetadata) -> bool:
    keys = ("title", "tags", "parent_session_id", "status", "metadata", "user_id")
    return all(getattr(a, k) == getattr(b, k) for k in keys) and (
        a.max_context_messages == b.max_context_messages
    )
