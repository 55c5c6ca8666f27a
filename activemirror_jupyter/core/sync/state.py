"""What a store remembers of each remote it syncs with, kept in the store itself (so a
sync needs no process to stay alive, and a store copied as files takes it along):

- ``sync-<key>``: ``{"remote", "written", "applied", "version"}`` — the segments this
  device wrote there (in order), the last segment applied of every other device, and the
  store's changes token (:meth:`~..storage.base.Storage.changes`) when the last sync
  began: what changed after it is what the next push looks at;
- ``sync-<key>-sessions``: per session, what the remote has of it — ``n`` (messages in
  the store when it was last synced), ``known`` (each device's largest clock), ``f`` (each
  field as ``[value, at, device]``), ``sealed``, and ``gone`` (deleted everywhere);
- ``sync-remotes``: the keys of every remote; ``sync-last``: the last sync, for surfaces.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import StorageError, SyncError
from ..models import SessionMetadata
from ..storage.base import Changes, SessionQuery, Storage
from .records import redaction_record

REMOTES_KEY = "sync-remotes"
LAST_KEY = "sync-last"
REDACTIONS_KEY = "sync-redactions"


def remote_key(remote: str) -> str:
    return hashlib.sha256(remote.encode()).hexdigest()[:16]


@dataclass
class RemoteState:
    key: str
    remote: str
    written: list[str] = field(default_factory=list)
    applied: dict[str, int] = field(default_factory=dict)
    version: str | None = None
    pending: list[str] = field(default_factory=list)  # a segment being written
    redactions_sent: int = 0  # how many of the store's noted redactions were sent here
    seen: dict[str, list[int]] = field(default_factory=dict)  # device -> its folder's mark
    store: Storage | None = None  # where the per-session part is read from when needed
    _sessions: dict[str, dict[str, Any]] | None = None

    @property
    def sessions(self) -> dict[str, dict[str, Any]]:
        """Per session, what the remote has of it (read when first needed: a sync with
        nothing new does not read it)."""
        if self._sessions is None:
            found = _load(self.store, f"sync-{self.key}-sessions") if self.store else None
            self._sessions = found or {}
        return self._sessions

    @classmethod
    def load(cls, store: Storage, remote: str, *, key: str | None = None) -> RemoteState:
        """What ``store`` remembers of ``remote`` (kept under ``key``, else the remote's
        own text: a folder is known by the id in its mark, whatever path reaches it)."""
        return cls.kept_under(store, remote_key(key or remote), remote)

    @classmethod
    def kept_under(cls, store: Storage, key: str, remote: str) -> RemoteState:
        head = _load(store, f"sync-{key}") or {}
        return cls(
            key,
            remote,
            list(head.get("written", [])),
            dict(head.get("applied", {})),
            head.get("version"),
            list(head.get("pending", [])),
            int(head.get("redactions_sent", 0)),
            dict(head.get("seen", {})),
            store,
        )

    def save(self, store: Storage, *, sessions: bool = True) -> None:
        if sessions and self._sessions is not None:  # read, so maybe changed
            _dump(store, f"sync-{self.key}-sessions", self._sessions)
        head = {
            "remote": self.remote,
            "written": self.written,
            "applied": self.applied,
            "version": self.version,
            "pending": self.pending,
            "redactions_sent": self.redactions_sent,
            "seen": self.seen,
        }
        _dump(store, f"sync-{self.key}", head)
        remotes = _load(store, REMOTES_KEY) or []
        if self.key not in remotes:
            _dump(store, REMOTES_KEY, [*remotes, self.key])


def changed_sessions(
    store: Storage, changes: Changes, known: dict[str, dict[str, Any]]
) -> tuple[list[SessionMetadata], list[str]]:
    """What ``changes`` says of ``store``: the metadata of the sessions changed (all of them
    when it says ``everything``), and the sessions of ``known`` (not ``gone``) that the
    store no longer holds — deleted since (a damaged session is not deleted)."""
    damaged = {m.session_id for m in store.damaged_sessions()}
    if changes.everything:
        listed = store.list_sessions(SessionQuery())
        candidates: Iterable[str] = known
    else:
        found = {sid: store.get_session(sid) for sid in changes.sessions}
        listed = [meta for meta in found.values() if meta is not None]
        candidates = [*changes.deleted, *(sid for sid, meta in found.items() if meta is None)]
    present = {m.session_id for m in listed} | damaged
    gone = [
        sid
        for sid in candidates
        if sid in known
        and not known[sid].get("gone")
        and sid not in present
        and (changes.everything or store.get_session(sid) is None)
    ]
    return listed, gone


def all_remotes(store: Storage) -> list[RemoteState]:
    """Every remote the store has synced with."""
    found = []
    for key in _load(store, REMOTES_KEY) or []:
        head = _load(store, f"sync-{key}") or {}
        if isinstance(head.get("remote"), str):
            found.append(RemoteState.kept_under(store, key, head["remote"]))
    return found


def note_redaction(store: Storage, session_id: str, message: Any) -> None:
    """Keep a redaction made here for the next sync of every remote to send
    (``sync-redactions``: ``[{"session", "id", "at", "reason"}, …]``, appended to)."""
    if _load(store, REMOTES_KEY) is None:
        return  # never synced: its messages go out as they are now, redacted
    redactions = _load(store, REDACTIONS_KEY) or []
    entry = {"session": session_id, **redaction_record(message)}
    _dump(store, REDACTIONS_KEY, [*redactions, entry])


def redactions_since(store: Storage, sent: int) -> list[dict[str, Any]]:
    return (_load(store, REDACTIONS_KEY) or [])[sent:]


def record_last(store: Storage, last: dict[str, Any]) -> None:
    _dump(store, LAST_KEY, last)


def last_sync(store: Storage) -> dict[str, Any] | None:
    return _load(store, LAST_KEY)


def _load(store: Storage, key: str) -> Any:
    text = store.read_state(key)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        raise SyncError(
            f"{store.description}: what it remembers of its syncs ({key}) is damaged; "
            "nothing was synced"
        ) from None


def _dump(store: Storage, key: str, value: Any) -> None:
    try:
        store.write_state(key, json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    except StorageError as exc:
        raise SyncError(f"cannot keep the sync's progress: {exc}") from None
