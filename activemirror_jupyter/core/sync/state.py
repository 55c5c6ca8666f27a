"""What a store remembers of each remote it syncs with, kept in the store itself (so a
sync needs no process to stay alive, and a store copied as files takes it along):

- ``sync-<key>``: ``{"remote", "written", "applied", "version"}`` — the segments this
  device wrote there (in order), the last segment applied of every other device, and the
  store's changes token (:meth:`~..storage.base.Storage.changes`) when the last sync
  began: what changed after it is what the next push looks at;
- ``sync-<key>-part-<00…3f>``: per session, what the remote has of it — ``n`` (messages
  in the store when it was last synced), ``known`` (each device's largest clock), ``f``
  (each field as ``[value, at, device]``), ``sealed``, and ``gone`` (deleted everywhere) —
  in 64 parts by the CRC-32 of the session id, so a sync reads and writes the parts of the
  sessions it touches, not one record the size of the store (0.3's first syncs kept one
  ``sync-<key>-sessions`` record: it is read once and moved into the parts);
- ``sync-remotes``: the keys of every remote; ``sync-last``: the last sync, for surfaces.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Iterable, Iterator, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import StorageError, SyncError
from ..models import SessionMetadata
from ..storage.base import Changes, SessionQuery, Storage
from .records import redaction_record

REMOTES_KEY = "sync-remotes"
LAST_KEY = "sync-last"
REDACTIONS_KEY = "sync-redactions"
#: Parts of a remote's per-session state (:class:`SessionStates`).
PARTS = 64


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
    _sessions: SessionStates | None = None

    @property
    def sessions(self) -> SessionStates:
        """Per session, what the remote has of it (each part read when first needed: a sync
        with nothing new reads none)."""
        if self._sessions is None:
            self._sessions = SessionStates(self.store, self.key)
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
            self._sessions.save(store)
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


class SessionStates(MutableMapping[str, dict[str, Any]]):
    """A remote's per-session state, in :data:`PARTS` parts read as their sessions are
    asked for; :meth:`save` writes back the parts read (entries are changed in place)."""

    def __init__(self, store: Storage | None, key: str) -> None:
        self._store, self._key = store, key
        self._parts: dict[int, dict[str, dict[str, Any]]] = {}
        self._old: dict[str, dict[str, Any]] | None = None  # 0.3's first syncs' one record

    def _part(self, number: int) -> dict[str, dict[str, Any]]:
        part = self._parts.get(number)
        if part is None:
            if self._old is None:
                self._old = (self._store and _load(self._store, self._old_key)) or {}
            kept = self._store and _load(self._store, f"sync-{self._key}-part-{number:02x}")
            moved = {i: e for i, e in self._old.items() if part_of(i) == number}
            part = self._parts[number] = {**moved, **(kept or {})}
        return part

    @property
    def _old_key(self) -> str:
        return f"sync-{self._key}-sessions"

    def _every_part(self) -> list[dict[str, dict[str, Any]]]:
        return [self._part(number) for number in range(PARTS)]

    def __getitem__(self, sid: str) -> dict[str, Any]:
        return self._part(part_of(sid))[sid]

    def __setitem__(self, sid: str, entry: dict[str, Any]) -> None:
        self._part(part_of(sid))[sid] = entry

    def __delitem__(self, sid: str) -> None:
        del self._part(part_of(sid))[sid]

    def __contains__(self, sid: object) -> bool:
        return isinstance(sid, str) and sid in self._part(part_of(sid))

    def __iter__(self) -> Iterator[str]:
        return iter([sid for part in self._every_part() for sid in part])

    def __len__(self) -> int:
        return sum(len(part) for part in self._every_part())

    def save(self, store: Storage) -> None:
        if self._old:  # the one record is moved into the parts: every part is written
            self._every_part()
        for number, part in sorted(self._parts.items()):
            _dump(store, f"sync-{self._key}-part-{number:02x}", part)
        if self._old:
            _dump(store, self._old_key, {})
            self._old = {}


def part_of(session_id: str) -> int:
    return zlib.crc32(session_id.encode()) % PARTS


def changed_sessions(
    store: Storage, changes: Changes, known: SessionStates
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
