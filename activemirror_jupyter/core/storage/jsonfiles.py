"""The JSON-folder store: the spec's layout, shared with the ActiveMirrorOS JavaScript SDK.

Layout::

    conversations/
      index.json           {"sessions": [ids], "updatedAt": "…Z",          <- what the SDK reads
                            "version": 2, "sessionMeta": {id: {…}}}        <- ours, for listing
      <session id>.json    {"id", "title", "userId", "createdAt", "updatedAt", "messageCount",
                            "parentSessionId", "status", "maxContextMessages", "metadata",
                            "tags", "head", "tips"?, "messages": [{"id", "sessionId", "role",
                            "content", "timestamp", "metadata", "hash", "origin"?,
                            "attachments"?, "seq", "clock"}, …]}
      attachments/<sha256> the bytes of attachments, named by their SHA-256 (stored once)
      .activemirror-journal.jsonl   saves not folded into the files above yet
      .activemirror-state.json      the folder's device id (:mod:`.jsonstate`)
      .activemirror-sync-*.json     what it sent to and took from each remote (sync)
      .activemirror.lock   empty file that serialises writers (filelock)

``sessionMeta`` holds each session's metadata plus its file's size and mtime and its
attachments' hashes, so listing opens no session file. On open, under the lock, a session
file new or changed since the index was written (a crash, or the JavaScript SDK) is read
again, an entry without its file dropped, a missing or damaged index rebuilt, and files
written before 0.2 chained. An index naming an unsafe id (``../x``) is refused.

Writes: a save appends one line to the journal (:mod:`.jsonjournal`), folded into the files
at once while the folder is small, when it grows, on close and on open. Every file is
replaced atomically (temporary file, fsync, ``os.replace``, folder fsync), under
``.activemirror.lock``, so two kernels never lose each other's saves.

The parts: :mod:`.jsoncodec`, :mod:`.jsonfolder`, :mod:`.jsonattachments`, the journal
(:mod:`.jsonjournal`) and its fold (:mod:`.jsonfold`), search (:mod:`.jsonsearch`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from os import PathLike, fspath
from pathlib import Path
from typing import Any

from filelock import FileLock
from filelock import Timeout as LockTimeout

from ..errors import StorageError
from ..journal import Row, UnreadableMessage, chain_tips, check_write, head_of, tips_kept, tips_of
from ..models import SEALED, Message, SessionMetadata
from . import jsonchanges, jsonredact
from .base import Changes, Saved, SearchQuery, SessionQuery
from .filters import listed, page_of, paged
from .jsoncodec import (
    DamagedFileError,
    Index,
    entry_from_header,
    last_clock,
    message_from_record,
    message_record,
    meta_from_entry,
    parse_session_file,
    salvage_records,
    session_header,
    with_tips,
)
from .jsonfold import fold
from .jsonfolder import Folder
from .jsonjournal import FOLD_AT_ONCE_BYTES, Journal, Pending
from .jsonsearch import Words
from .jsonstate import STATE_FILE, KeptState, State
from .jsonview import view_of
from .rows import clocks_after

LOCK_FILE = ".activemirror.lock"
LOCK_TIMEOUT_S = 30.0


class JSONStorage(KeptState):
    """Sessions as JSON files in one folder (see the module docstring)."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(fspath(path)).expanduser()
        self.description = f"JSON folder {self.path}"
        self._mutex = threading.RLock()
        self._closed = False
        self._view_cache: tuple[Any, Index] | None = None
        if self.path.exists() and not self.path.is_dir():
            raise StorageError(f"{self.description} is a file, not a folder")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {self.description}: {exc}") from None
        #: The folder cannot be written by this user (a read-only share, another user's
        #: folder): it is read without the writers' lock, and every write says so.
        self.read_only = not os.access(self.path, os.W_OK | os.X_OK)
        self._folder = Folder(self.path, read_only=self.read_only)
        self._state = State(self.path / STATE_FILE, read_only=self.read_only)
        self._words = Words(self._folder.attachments)
        self._journal = Journal(self.path)
        self._file_lock = FileLock(str(self.path / LOCK_FILE), timeout=LOCK_TIMEOUT_S)
        with self._locked("open the folder"):
            self._folder.reconcile()  # refuses a folder whose index names unsafe files
            self.device_id: str = self._state.device_id()
            if not self.read_only:
                if self._journal.pending:  # saves a process made before it stopped
                    self._fold()
                # Attachment bytes a save wrote before it was refused or killed.
                self._folder.collect_garbage(self._folder.index().entries)

    # -- plumbing ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def _writing(self, doing: str) -> Iterator[None]:
        """:meth:`_locked`, for a change: refused at once in a read-only folder."""
        if self.read_only:
            raise StorageError(
                f"cannot {doing}: {self.description} is read-only (this user may not write "
                "in it); it can be read, searched and exported, and nothing was written"
            )
        with self._locked(doing):
            yield

    @contextlib.contextmanager
    def _locked(self, doing: str) -> Iterator[None]:
        """Hold the in-process and cross-process locks, with the journal read up to date;
        OS errors become StorageErrors. (A read-only folder is read without the
        cross-process lock: writers replace whole files, so a reader sees each complete.)"""
        if self._closed:
            raise StorageError(f"{self.description} is closed")
        with self._mutex:
            try:
                if not self.read_only:
                    self._file_lock.acquire()
            except LockTimeout:
                raise StorageError(
                    f"{self.description} is busy: another process held its lock for more than "
                    f"{LOCK_TIMEOUT_S:.0f} s while trying to {doing}; nothing was written, "
                    "try again"
                ) from None
            try:
                if self._folder.torn:
                    self._folder.reconcile()
                self._journal.sync()
                yield
            except BaseException as exc:
                self._forget()  # what this process holds in memory may be ahead of the disk
                if isinstance(exc, OSError):
                    raise StorageError(f"cannot {doing} in {self.description}: {exc}") from None
                raise
            finally:
                if not self.read_only:
                    self._file_lock.release()

    def _forget(self) -> None:
        """Drop everything read or staged in memory: the next operation reads the folder
        (and the journal) again, as a process opening it would."""
        self._journal.forget()
        self._folder.forget()
        self._view_cache = None

    def _view(self) -> Index:
        """Every session as the files and the journal make it (:mod:`.jsonview`)."""
        index = self._folder.index()
        self._view_cache = view_of(index, self._journal, self._entry, self._view_cache)
        return self._view_cache[1]

    def _entry(self, session_id: str, index: Index | None = None) -> dict[str, Any] | None:
        """One session's entry as the files and the journal make it (None: no session)."""
        index = index or self._folder.index()
        pending = self._journal.pending.get(session_id)
        if pending is None:
            return index.entries.get(session_id)
        if pending.deleted or pending.header is None:
            return None
        folded = index.entries.get(session_id)
        base = 0 if pending.replaced or folded is None else folded["messageCount"]
        count = base + len(pending.records)
        return entry_from_header(session_id, pending.header, count, self._folder.file(session_id))

    def _records(self, session_id: str) -> tuple[list[Any], list[dict[str, Any]]]:
        """A session's message records: those in its file, and those in the journal."""
        pending = self._journal.pending.get(session_id, Pending())
        if pending.deleted:
            return [], []
        loaded = None if pending.replaced else self._folder.load(session_id)
        return (loaded.records if loaded is not None else []), pending.records

    def _message(self, session_id: str, record: Any, pos: int) -> Message:
        path = self._folder.file(session_id)
        reader = self._folder.attachments.reader
        return message_from_record(session_id, record, path, pos, reader, self.device_id)

    # -- the Storage protocol ---------------------------------------------------------------

    def save(
        self,
        session: SessionMetadata,
        new_messages: Sequence[Message],
        *,
        replace: bool = False,
        existing: bool = False,
    ) -> Saved:
        sid = session.session_id
        self._folder.file(sid)  # validates the id
        with self._writing(f"save session {sid!r}"):
            entry = self._entry(sid)
            stored_sealed = entry is not None and entry["status"] == SEALED
            old = entry if entry is not None and not replace else None
            known = set() if old is None else self._known_ids(sid)
            fresh = [m for m in dict((m.id, m) for m in new_messages).values() if m.id not in known]
            head = old["head"] if old is not None else None
            start = old["messageCount"] if old is not None else 0
            tips = tips_of(old.get("tips") if old is not None else None, head)
            hashes, tips = chain_tips(sid, tips, fresh, self.device_id)
            head = head_of(tips, self.device_id)
            check_write(stored_sealed, session, head, gone=existing and entry is None)
            clocks = clocks_after(last_clock(*self._records(sid), start) if old else 0, fresh)
            written: list[str] = []  # attachment files this save added (removed if it fails)
            try:
                for m in fresh:
                    for a in m.attachments:
                        if self._folder.attachments.write(a.sha256, a.read()):
                            written.append(a.sha256)
                kept = tips_kept(tips, head)
                self._write_save(session, fresh, hashes, clocks, old, (head, kept), replace)
            except BaseException:
                self._folder.attachments.remove(written)
                raise
        return Saved(start + len(fresh), head, tuple(hashes))

    def _write_save(
        self,
        session: SessionMetadata,
        fresh: list[Message],
        hashes: list[str],
        clocks: list[int],
        old: dict[str, Any] | None,
        chained: tuple[str | None, dict[str, str] | None],
        replace: bool,
    ) -> None:
        """Make a save durable: folded at once into a small folder's files, else one
        journal line (folded later). Either is all or nothing."""
        sid = session.session_id
        start = old["messageCount"] if old is not None else 0
        head, tips = chained
        records = [
            message_record(dataclasses.replace(m, hash=h), seq, self.device_id, clock)
            for seq, (m, h, clock) in enumerate(zip(fresh, hashes, clocks, strict=True), start)
        ]
        count = start + len(records)
        header = session_header(dataclasses.replace(session, head=head), count, old or {})
        header = with_tips(header, tips)
        entry = {"save": sid, "header": header, "messages": records, "replace": replace}
        small = self._folder.fits([sid, *self._journal.pending], FOLD_AT_ONCE_BYTES)
        if small and not self._journal.pending:
            self._journal.stage(entry)  # folded below: the files hold it, no line needed
            self._fold()  # all or nothing: a failure leaves the files as they were
            return
        self._journal.append(entry)
        if small or replace or self._journal.is_big:
            self._fold_after_append()

    def _fold_after_append(self) -> None:
        """Fold what was just appended to the journal. The journal line made the change
        durable, so a fold that fails (a full disk) is not the change failing: it is left
        to the next fold, and this process reads the folder again."""
        try:
            self._fold()
        except OSError:
            self._forget()

    def _known_ids(self, session_id: str) -> set[str]:
        pending = self._journal.pending.get(session_id, Pending())
        loaded = None if pending.replaced else self._folder.load(session_id)
        ids = set(loaded.message_ids()) if loaded is not None else set()
        return ids | {r["id"] for r in pending.records}

    def _fold(self) -> None:
        fold(self._folder, self._journal)

    def get_session(self, session_id: str) -> SessionMetadata | None:
        self._folder.file(session_id)  # validates the id
        with self._locked(f"read session {session_id!r}"):
            view = self._view()
            if session_id in view.entries:
                return view.meta(session_id)
            # Not in the index: a file another tool just wrote, or a damaged one (named).
            loaded = self._folder.load(session_id)
            if loaded is None:
                return None
            return meta_from_entry(session_id, self._folder.entry(session_id, loaded))

    def damaged_sessions(self) -> list[SessionMetadata]:
        with self._locked("list damaged sessions"):
            found = (self._folder.salvaged(i) for i in sorted(self._folder.damaged))
            return [meta for meta in found if meta is not None]

    def _listed(self, query: SessionQuery) -> tuple[Index, list[str]]:
        view = self._view()
        entries = view.entries
        return view, [
            i
            for i in view.newest_first()
            if listed(query, i, entries[i]["parentSessionId"], entries[i].get("tags", ()), entries)
        ]

    def list_sessions(self, query: SessionQuery) -> list[SessionMetadata]:
        with self._locked("list sessions"):
            view, ids = self._listed(query)
            return [view.meta(i) for i in paged(ids, query)]

    def count_sessions(self, query: SessionQuery) -> int:
        with self._locked("count sessions"):
            return len(self._listed(query)[1])

    def child_counts(self, session_ids: Sequence[str]) -> dict[str, int]:
        wanted = set(session_ids)
        with self._locked("count children"):
            parents = Counter(e["parentSessionId"] for e in self._view().entries.values())
        return {i: parents[i] for i in wanted if parents[i]}

    def count_messages(self, session_id: str) -> int:
        self._folder.file(session_id)
        with self._locked(f"count the messages of {session_id!r}"):
            entry = self._entry(session_id)
            if entry is not None:
                return entry["messageCount"]
            loaded = self._folder.load(session_id)
            return len(loaded.records) if loaded is not None else 0

    def get_messages(self, session_id: str, start: int, stop: int) -> list[Message]:
        self._folder.file(session_id)
        with self._locked(f"read the messages of {session_id!r}"):
            folded, journaled = self._records(session_id)
            stop = min(stop, len(folded) + len(journaled))
            return [
                self._message(
                    session_id,
                    folded[pos] if pos < len(folded) else journaled[pos - len(folded)],
                    pos,
                )
                for pos in range(max(start, 0), stop)
            ]

    def message_position(self, session_id: str, message_id: str) -> int | None:
        with self._locked(f"find a message of {session_id!r}"):
            folded, journaled = self._records(session_id)
            for pos, record in enumerate([*folded, *journaled]):
                if isinstance(record, dict) and record.get("id") == message_id:
                    return pos
            return None

    def stored_rows(self, session_id: str) -> Iterator[Row]:
        with self._locked(f"verify session {session_id!r}"):
            raw = self._folder.raw(session_id)
            pending = self._journal.pending.get(session_id, Pending())
            broken: tuple[str | None, bool] | None = None
            records: list[Any] = []
            if raw is not None and not pending.replaced:
                try:
                    records = parse_session_file(session_id, raw, self._folder.file(session_id))[1]
                except DamagedFileError:
                    records, bad_id, truncated = salvage_records(raw)
                    broken = (bad_id, truncated)
            rows = []
            for pos, record in enumerate([*records, *pending.records]):
                seq = record.get("seq") if isinstance(record, dict) else None
                message = self._message(session_id, record, pos)
                digests = [self._folder.attachments.digest(a.sha256) for a in message.attachments]
                rows.append((seq if isinstance(seq, int) else None, message, digests))
        yield from rows
        if broken is not None:
            bad_id, truncated = broken
            how = "is cut short" if truncated else "was edited"
            raise UnreadableMessage(
                bad_id, f"the session file {how}: this message cannot be read", truncated=truncated
            )

    redact = jsonredact.redact  # Storage.redact, in its own module

    def delete_session(self, session_id: str) -> bool:
        self._folder.file(session_id)
        with self._writing(f"delete session {session_id!r}"):
            existed = self._entry(session_id) is not None or self._folder.file(session_id).exists()
            self._journal.append({"delete": session_id})
            self._fold_after_append()  # the bytes only this session used are freed now
            return existed

    def message_owners(self, message_ids: Sequence[str]) -> dict[str, str]:
        return {}  # a message id need only be unique within its session file

    def set_device_id(self, device_id: str) -> None:
        with self._writing("give the folder a new device id"):
            self._state.set("deviceId", device_id)
            self.device_id = device_id
            self._view_cache = None

    def _found(self, query: SearchQuery) -> list[Message]:
        with self._locked("search"):
            view = self._view()
            return self._words.found(query, view, self._records, self._message, self._folder.load)

    def search(self, query: SearchQuery) -> list[Message]:
        return page_of(self._found(query), query)

    def count_search(self, query: SearchQuery) -> int:
        return len(self._found(query))

    def vectors(self) -> Any:
        """Where search by meaning keeps the vectors (:mod:`.json_vectors`)."""
        from ..search.similar import messages_texts  # NumPy only when searching by meaning
        from .json_vectors import JSONVectors

        return JSONVectors(self.path, lambda: messages_texts(self), self._writing, self.read_only)

    def changes(self, since: str | None) -> Changes:
        with self._locked("read changes"):
            view = self._view()
            journal = self._journal
            damaged = self._folder.damaged
            pending = {sid: p.at for sid, p in journal.pending.items()}
            return jsonchanges.changes(
                view, self._folder.index(), pending, journal.key, damaged, since
            )

    def close(self) -> None:
        with self._mutex:
            if self._closed:
                return
            with contextlib.suppress(StorageError), self._locked("fold the journal on close"):
                if self._journal.pending and not self.read_only:
                    self._fold()
            self._closed = True
            self._folder.forget()
            self._view_cache = None
