"""The JSON-folder store: the spec's layout, shared with the ActiveMirrorOS JavaScript SDK.

Layout::

    conversations/
      index.json           {"sessions": [ids], "updatedAt": "…Z",          <- what the SDK reads
                            "version": 1, "sessionMeta": {id: {…}}}        <- ours, for listing
      <session id>.json    {"id", "title", "userId", "createdAt", "updatedAt", "messageCount",
                            "parentSessionId", "status", "maxContextMessages", "metadata",
                            "messages": [{"id", "sessionId", "role", "content", "timestamp",
                                          "metadata"}, …]}
      .activemirror.lock   empty file that serialises writers (filelock)

``sessionMeta`` holds each session's metadata (camelCase, as in the session file) plus the
size and mtime of the session file it was taken from, so :meth:`JSONStorage.list_sessions`
opens no session file. On open, the folder is reconciled with the index under the lock: a
session file that is new or changed since the index was written (a crash between the two
writes, or the JavaScript SDK, which keeps only ``sessions`` and ``updatedAt``) is read
again, an index entry without its file is dropped, and a missing or damaged ``index.json``
is rebuilt from the session files. An index that names an unsafe id (``../x``) is refused:
the folder is not opened and nothing is written.

Writes: every file goes to a temporary file in the folder (``.tmp-…``), is flushed, fsynced
and ``os.replace``-d over its target, then the folder is fsynced. A save writes the session
file first and the index second; a delete removes the session file first. Writers hold
``.activemirror.lock`` and re-read the index under it, so two kernels never lose each
other's sessions. Readers take no lock: they only ever see whole files.

Cost: the spec's layout keeps a session in one file, so a save rewrites that file — it
grows with the session's size in bytes. The already-serialised message lines are kept in
memory between saves, so an append costs one write of the file, not a parse and re-encode.
Unknown keys in session files and messages (from other tools) are kept as they are.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from os import PathLike, fspath
from pathlib import Path
from typing import Any

from filelock import FileLock
from filelock import Timeout as LockTimeout

from ..errors import InvalidIdError, StorageError
from ..fsutil import TMP_PREFIX, atomic_write, fsync_dir
from ..ids import validate_id
from ..models import Message, SessionMetadata
from ..search import search_words
from ..timeutil import to_iso, utcnow
from .jsoncodec import (
    INDEX_VERSION,
    DamagedFileError,
    DamagedIndex,
    Index,
    dumps,
    entry_from_header,
    message_from_record,
    message_record,
    meta_from_entry,
    parse_index,
    parse_session_file,
    render_session_file,
    session_header,
    stat_key,
)

INDEX_FILE = "index.json"
LOCK_FILE = ".activemirror.lock"
LOCK_TIMEOUT_S = 30.0
# Parsed session files kept in memory (pages and appends of recent sessions cost no parse).
CACHE_SESSIONS = 32
CACHE_MESSAGES = 200_000


@dataclass
class _Loaded:
    """A parsed session file, kept while the file on disk is unchanged."""

    key: tuple[int, int, int]
    header: dict[str, Any]  # every top-level field but "messages", in file order
    records: list[Any]  # the messages as parsed, unknown keys and all
    lines: list[str] | None = None  # records serialised, filled on the first append
    ids: set[str] | None = None
    words: list[frozenset[str]] | None = None

    def message_lines(self) -> list[str]:
        if self.lines is None:
            self.lines = [dumps(r) for r in self.records]
        return self.lines

    def message_ids(self) -> set[str]:
        if self.ids is None:
            self.ids = {r.get("id") for r in self.records if isinstance(r, dict)}
        return self.ids


# ---------------------------------------------------------------------------------------------


class JSONStorage:
    """Sessions as JSON files in one folder (see the module docstring)."""

    def __init__(self, path: str | PathLike[str]) -> None:
        self.path = Path(fspath(path)).expanduser()
        self.description = f"JSON folder {self.path}"
        self._index_path = self.path / INDEX_FILE
        self._mutex = threading.RLock()
        self._cache: OrderedDict[str, _Loaded] = OrderedDict()
        self._index_cache: Index | None = None
        self._closed = False
        if self.path.exists() and not self.path.is_dir():
            raise StorageError(f"{self.description} is a file, not a folder")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create {self.description}: {exc}") from None
        self._file_lock = FileLock(str(self.path / LOCK_FILE), timeout=LOCK_TIMEOUT_S)
        with self._writing("open the folder"):
            self._reconcile()

    # -- plumbing ---------------------------------------------------------------------------

    def _file(self, session_id: str) -> Path:
        return self.path / f"{validate_id(session_id, 'session id')}.json"

    @contextlib.contextmanager
    def _writing(self, doing: str) -> Iterator[None]:
        """Hold the in-process and cross-process locks; OS errors become StorageErrors."""
        if self._closed:
            raise StorageError(f"{self.description} is closed")
        with self._mutex:
            try:
                self._file_lock.acquire()
            except LockTimeout:
                raise StorageError(
                    f"{self.description} is busy: another process held its lock for more than "
                    f"{LOCK_TIMEOUT_S:.0f} s while trying to {doing}; nothing was written, "
                    "try again"
                ) from None
            try:
                yield
            except OSError as exc:
                raise StorageError(f"cannot {doing} in {self.description}: {exc}") from None
            finally:
                self._file_lock.release()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(f"{self.description} is closed")

    # -- the index --------------------------------------------------------------------------

    def _read_index(self) -> Index | None:
        """The index as on disk now (cached while unchanged); None if missing or damaged."""
        try:
            st = os.stat(self._index_path)
        except FileNotFoundError:
            return None
        cached = self._index_cache
        if cached is not None and cached.key == stat_key(st):
            return cached
        try:
            with open(self._index_path, "rb") as f:
                st = os.fstat(f.fileno())
                raw = f.read()
            index = parse_index(raw, stat_key(st), self._index_path)
        except FileNotFoundError:
            return None
        except DamagedIndex:
            return None
        self._index_cache = index
        return index

    def _index(self) -> Index:
        """The current index; a missing or damaged one is rebuilt first."""
        self._check_open()
        index = self._read_index()
        if index is None or len(index.entries) != len(index.order):
            # Missing, damaged, or rewritten by a tool that keeps ids only.
            with self._writing("rebuild index.json"):
                self._reconcile()
                index = self._read_index()
        assert index is not None
        return index

    def _write_index(self, order: list[str], entries: dict[str, dict], extra: dict) -> None:
        data = {
            **extra,
            "sessions": order,
            "updatedAt": to_iso(utcnow()),
            "version": INDEX_VERSION,
            "sessionMeta": {i: entries[i] for i in order},
        }
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        st = atomic_write(self._index_path, text.encode("utf-8"))
        self._index_cache = Index(stat_key(st), order, entries, extra)

    def _reconcile(self) -> None:
        """Bring the index in line with the session files (called holding the lock)."""
        index = self._read_index()
        files: dict[str, os.stat_result] = {}
        with os.scandir(self.path) as it:
            for item in it:
                name = item.name
                if name.startswith(TMP_PREFIX):
                    # A writer that died mid-write left it; we hold the lock, so no one is
                    # writing now.
                    with contextlib.suppress(OSError):
                        os.unlink(item.path)
                    continue
                if not name.endswith(".json") or name == INDEX_FILE or not item.is_file():
                    continue
                try:
                    files[validate_id(name[:-5])] = item.stat()
                except InvalidIdError:
                    continue  # not a name we would ever write; not a session of ours
        listed = index.order if index is not None else []
        known = index.entries if index is not None else {}
        order = [i for i in listed if i in files]
        order += sorted(set(files) - set(order))
        entries: dict[str, dict] = {}
        for session_id in order:
            st = files[session_id]
            entry = known.get(session_id)
            if (
                entry is not None
                and entry.get("fileSize") == st.st_size
                and entry.get("fileMtimeNs") == st.st_mtime_ns
            ):
                entries[session_id] = entry
                continue
            try:
                loaded = self._load(session_id)
                assert loaded is not None
                entries[session_id] = self._entry(session_id, loaded)
            except DamagedFileError as exc:
                # Left out of the index (the file stays as it is); loading it says why.
                warnings.warn(str(exc), RuntimeWarning, stacklevel=4)
            except FileNotFoundError:
                pass
        order = [i for i in order if i in entries]
        extra = index.extra if index is not None else {}
        if index is None or order != index.order or entries != index.entries:
            self._write_index(order, entries, extra)

    def _entry(self, session_id: str, loaded: _Loaded) -> dict[str, Any]:
        entry = entry_from_header(
            session_id, loaded.header, len(loaded.records), self._file(session_id)
        )
        entry["fileSize"] = loaded.key[2]
        entry["fileMtimeNs"] = loaded.key[1]
        return entry

    # -- session files ----------------------------------------------------------------------

    def _load(self, session_id: str) -> _Loaded | None:
        """The parsed session file (cached while unchanged), None if there is none.

        A file that is not a session file raises DamagedFileError naming it."""
        path = self._file(session_id)
        with self._mutex:
            try:
                with open(path, "rb") as f:
                    key = stat_key(os.fstat(f.fileno()))
                    cached = self._cache.get(session_id)
                    if cached is not None and cached.key == key:
                        self._cache.move_to_end(session_id)
                        return cached
                    raw = f.read()
            except FileNotFoundError:
                return None
            except OSError as exc:
                raise StorageError(f"cannot read session file {path}: {exc}") from None
            header, records = parse_session_file(session_id, raw, path)
            loaded = _Loaded(key, header, records)
            self._remember(session_id, loaded)
            return loaded

    def _remember(self, session_id: str, loaded: _Loaded) -> None:
        self._cache[session_id] = loaded
        self._cache.move_to_end(session_id)
        while len(self._cache) > 1 and (
            len(self._cache) > CACHE_SESSIONS
            or sum(len(c.records) for c in self._cache.values()) > CACHE_MESSAGES
        ):
            self._cache.popitem(last=False)

    # -- the Storage protocol ---------------------------------------------------------------

    def save(
        self, session: SessionMetadata, new_messages: Sequence[Message], *, replace: bool = False
    ) -> int:
        session_id = session.session_id
        path = self._file(session_id)
        with self._writing(f"save session {session_id!r}"):
            index = self._read_index()
            if index is None:
                self._reconcile()
                index = self._read_index()
                assert index is not None
            # Replacing starts from nothing: the one file write swaps old for new.
            loaded = None if replace else self._load(session_id)
            old: dict[str, Any] = loaded.header if loaded is not None else {}
            # Saving the same message twice writes it once (as on the other stores).
            known = loaded.message_ids() if loaded is not None else set()
            fresh: list[Message] = []
            seen: set[str] = set()
            for m in new_messages:
                if m.id not in known and m.id not in seen:
                    seen.add(m.id)
                    fresh.append(m)
            fresh_records = [message_record(m) for m in fresh]
            old_records = loaded.records if loaded is not None else []
            records = [*old_records, *fresh_records]
            old_lines = loaded.message_lines() if loaded is not None else []
            lines = [*old_lines, *map(dumps, fresh_records)]
            header = session_header(session, len(records), old)
            st = atomic_write(path, render_session_file(header, lines))
            saved = _Loaded(stat_key(st), header, records, lines)
            self._remember(session_id, saved)
            entries = dict(index.entries)
            entries[session_id] = self._entry(session_id, saved)
            order = index.order if session_id in index.entries else [*index.order, session_id]
            order = [i for i in order if i in entries]
            self._write_index(order, entries, index.extra)
            return len(records)

    def get_session(self, session_id: str) -> SessionMetadata | None:
        self._file(session_id)  # validates the id
        index = self._index()
        if session_id in index.entries:
            return index.meta(session_id)
        # Not (yet) in the index: a session file another tool just wrote, or a damaged one
        # (left out of the index), whose error names the file.
        loaded = self._load(session_id)
        if loaded is None:
            return None
        return meta_from_entry(session_id, self._entry(session_id, loaded))

    def list_sessions(
        self, limit: int | None, offset: int, parent_session_id: str | None
    ) -> list[SessionMetadata]:
        index = self._index()
        ids = index.newest_first()
        if parent_session_id is not None:
            ids = [i for i in ids if index.entries[i]["parentSessionId"] == parent_session_id]
        page = ids[offset:] if limit is None else ids[offset : offset + limit]
        return [index.meta(i) for i in page]

    def count_sessions(self, parent_session_id: str | None) -> int:
        index = self._index()
        if parent_session_id is None:
            return len(index.entries)
        return sum(1 for e in index.entries.values() if e["parentSessionId"] == parent_session_id)

    def count_messages(self, session_id: str) -> int:
        self._file(session_id)
        entry = self._index().entries.get(session_id)
        if entry is not None:
            return entry["messageCount"]
        loaded = self._load(session_id)
        return len(loaded.records) if loaded is not None else 0

    def get_messages(self, session_id: str, start: int, stop: int) -> list[Message]:
        self._check_open()
        loaded = self._load(session_id)
        if loaded is None:
            return []
        path = self._file(session_id)
        return [
            message_from_record(session_id, loaded.records[pos], path, pos)
            for pos in range(max(start, 0), min(stop, len(loaded.records)))
        ]

    def delete_session(self, session_id: str) -> bool:
        path = self._file(session_id)
        with self._writing(f"delete session {session_id!r}"):
            index = self._read_index()
            existed = path.exists() or (index is not None and session_id in index.entries)
            # The file goes first: a crash before the index write leaves an entry without a
            # file, which the next open drops (the other order would bring the session back).
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                fsync_dir(self.path)
            self._cache.pop(session_id, None)
            if index is not None and session_id in index.entries:
                entries = {i: e for i, e in index.entries.items() if i != session_id}
                self._write_index([i for i in index.order if i != session_id], entries, index.extra)
            return existed

    def message_owners(self, message_ids: Sequence[str]) -> dict[str, str]:
        return {}  # a message id need only be unique within its session file

    def search(self, words: Sequence[str], session_id: str | None, limit: int) -> list[Message]:
        if not words:
            return []
        wanted = set(words)
        index = self._index()
        ids = [session_id] if session_id is not None else list(index.order)
        found: list[Message] = []
        for sid in ids:
            try:
                loaded = self._load(sid)
            except DamagedFileError as exc:
                warnings.warn(f"search skipped a session: {exc}", RuntimeWarning, stacklevel=3)
                continue
            if loaded is None:
                continue
            if loaded.words is None:
                loaded.words = [
                    frozenset(search_words(r.get("content", "")))
                    if isinstance(r, dict) and isinstance(r.get("content"), str)
                    else frozenset()
                    for r in loaded.records
                ]
            path = self._file(sid)
            for pos, message_words in enumerate(loaded.words):
                if wanted <= message_words:
                    found.append(message_from_record(sid, loaded.records[pos], path, pos))
        found.sort(key=lambda m: (m.timestamp, m.id), reverse=True)
        return found[:limit]

    def close(self) -> None:
        with self._mutex:
            self._closed = True
            self._cache.clear()
            self._index_cache = None
