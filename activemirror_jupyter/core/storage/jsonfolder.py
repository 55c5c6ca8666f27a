"""The JSON folder's files: ``index.json``, one file per session, and ``attachments/`` —
read (parsed files cached while unchanged on disk) and written atomically. The store that
puts the journal on top of them is :mod:`.jsonfiles`; the formats are :mod:`.jsoncodec`.

A fold rewrites several files; inside :meth:`Folder.transaction` every new file is written
to a temporary file first, and only when all of them are written (a full disk fails here,
changing nothing) are they renamed into place, the index last. Attachment bytes are removed
only when no session file could still use them: while any session file cannot be read,
nothing is removed.

Everything that writes runs holding the folder's writer lock (the store takes it).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InvalidIdError, StorageError
from ..fsutil import TMP_PREFIX, atomic_write, fsync_dir
from ..ids import validate_id
from ..journal import chain
from ..models import SessionMetadata
from ..timeutil import to_iso, utcnow
from .jsonattachments import Attachments
from .jsonchanges import numbered
from .jsoncodec import (
    INDEX_VERSION,
    DamagedFileError,
    DamagedIndex,
    Index,
    attachment_shas,
    dumps,
    entry_from_header,
    message_from_record,
    meta_from_entry,
    parse_index,
    parse_session_file,
    render_session_file,
    salvage_header,
    stat_key,
)

INDEX_FILE = "index.json"
#: Session ids whose file name is taken by the folder's own files (any case: a
#: case-insensitive file system would open ``index.json`` for ``Index``).
RESERVED_IDS = frozenset({"index"})
ATTACHMENTS = "attachments"
# Parsed session files kept in memory (pages and appends of recent sessions cost no parse).
CACHE_SESSIONS = 32
CACHE_MESSAGES = 200_000


@dataclass
class Loaded:
    """A parsed session file, kept while the file on disk is unchanged."""

    key: tuple[int, int, int]
    header: dict[str, Any]  # every top-level field but "messages", in file order
    records: list[Any]  # the messages as parsed, unknown keys and all
    lines: list[str] | None = None  # records serialised, filled on the first append
    ids: set[str] | None = None
    words: list[frozenset[str]] | None = None  # each record's search words, once searched

    def message_ids(self) -> set[str]:
        if self.ids is None:
            self.ids = {r.get("id") for r in self.records if isinstance(r, dict)}
        return self.ids

    def message_lines(self) -> list[str]:
        if self.lines is None:
            self.lines = [dumps(r) for r in self.records]
        return self.lines


@dataclass
class _Step:
    """One change a transaction makes at its end: rename ``tmp`` to ``path`` (or, with no
    ``tmp``, remove ``path``), then run ``done``."""

    path: Path
    tmp: str | None
    done: Callable[[], None] | None


class Folder:
    """The files of one JSON folder."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self.read_only = read_only  # what reconcile finds is kept in memory only
        self.index_path = path / INDEX_FILE
        self.attachments = Attachments(path / ATTACHMENTS)
        self._cache: OrderedDict[str, Loaded] = OrderedDict()
        self._index: Index | None = None
        #: Session files that could not be read when the folder was reconciled.
        self.damaged: set[str] = set()
        self._staged: list[_Step] | None = None  # inside a transaction
        #: A transaction failed while renaming: the files must be reconciled with the index.
        self.torn = False

    def file(self, session_id: str) -> Path:
        validate_id(session_id, "session id")
        if session_id.lower() in RESERVED_IDS:
            raise InvalidIdError(
                f"session id {session_id!r} is reserved in a JSON folder (its file would be "
                f"{INDEX_FILE}): import the session with on_conflict='new_id'"
            )
        return self.path / f"{session_id}.json"

    def fits(self, session_ids: Iterable[str], limit: int) -> bool:
        """Whether ``index.json`` and these sessions' files (what a fold rewrites) come to at
        most ``limit`` bytes; it stops looking once they do not (a journal may hold
        thousands of sessions: a save must not look at each)."""
        total = 0
        for path in itertools.chain([self.index_path], map(self.file, session_ids)):
            with contextlib.suppress(OSError):
                total += os.stat(path).st_size
            if total > limit:
                return False
        return True

    # -- writing several files as one --------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Writes and removals inside the block take effect together at its end: each file
        is written in full to a temporary file first, and nothing is renamed or removed
        until every one is. On an error nothing on disk has changed (the temporary files
        are removed) and the caches are dropped."""
        if self._staged is not None:
            yield  # already inside one
            return
        self._staged = []
        try:
            yield
            staged, self._staged = self._staged, None
        except BaseException:
            staged, self._staged = self._staged, None
            for step in staged:
                if step.tmp is not None:
                    with contextlib.suppress(OSError):
                        os.unlink(step.tmp)
            self.forget()
            raise
        try:
            for step in staged:
                if step.tmp is not None:
                    os.replace(step.tmp, step.path)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(step.path)
        except BaseException:
            self.forget()  # some renamed, some not: reconciled before the next step
            self.torn = True
            raise
        fsync_dir(self.path)
        for step in staged:
            if step.done is not None:
                step.done()

    def _write(
        self, path: Path, data: bytes, done: Callable[[], None] | None = None
    ) -> os.stat_result:
        """Write ``path`` atomically, at once or (in a transaction) at its end, and return
        the new file's stat (a rename keeps it); ``done`` runs once the file is in place."""
        if self._staged is None:
            st = atomic_write(path, data)
            if done is not None:
                done()
            return st
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
                st = os.fstat(f.fileno())
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._staged.append(_Step(path, tmp, done))
        return st

    def _remove(self, path: Path, done: Callable[[], None]) -> None:
        if self._staged is None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                fsync_dir(path.parent)
            done()
            return
        self._staged.append(_Step(path, None, done))

    # -- the index --------------------------------------------------------------------------

    def read_index(self) -> Index | None:
        """The index as on disk now (cached while unchanged); None if missing or damaged."""
        try:
            st = os.stat(self.index_path)
        except FileNotFoundError:
            return None
        if self._index is not None and self._index.key == stat_key(st):
            return self._index
        try:
            with open(self.index_path, "rb") as f:
                key = stat_key(os.fstat(f.fileno()))
                index = parse_index(f.read(), key, self.index_path)
        except (FileNotFoundError, DamagedIndex):
            return None
        self._index = index
        return index

    def write_index(self, order: list[str], entries: dict[str, dict], extra: dict) -> None:
        """Write ``index.json``: ``order``'s entries, each made anew numbered as a change
        (:mod:`.jsonchanges`), and ``extra``'s keys kept."""
        extra = numbered(self._index, order, entries, extra)
        data = {
            **extra,
            "sessions": order,
            "updatedAt": to_iso(utcnow()),
            "version": INDEX_VERSION,
            "sessionMeta": {i: entries[i] for i in order},
        }
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        index = Index(None, order, entries, extra)
        if self.read_only:  # stands for the file on disk while that is unchanged
            with contextlib.suppress(FileNotFoundError):
                index.key = stat_key(os.stat(self.index_path))
            self._index = index
            return

        def done() -> None:
            self._index = index

        index.key = stat_key(self._write(self.index_path, text.encode("utf-8"), done))

    def index(self) -> Index:
        """The folded index; a missing or damaged one is rebuilt first."""
        index = self.read_index()
        if index is None or len(index.entries) != len(index.order):
            # Missing, damaged, or rewritten by a tool that keeps ids only.
            self.reconcile()
            index = self.read_index()
        assert index is not None
        return index

    def entry(self, session_id: str, loaded: Loaded) -> dict[str, Any]:
        """The index entry of a session file as loaded."""
        entry = entry_from_header(
            session_id, loaded.header, len(loaded.records), self.file(session_id)
        )
        entry["attachments"] = sorted(attachment_shas(loaded.records))
        entry["fileSize"] = loaded.key[2]
        entry["fileMtimeNs"] = loaded.key[1]
        return entry

    def reconcile(self) -> None:
        """Bring the index in line with the session files, chaining the messages of files
        written before 0.2 (whose index had an older version)."""
        index = self.read_index()
        files = self._session_files()
        listed = index.order if index is not None else []
        known = index.entries if index is not None else {}
        order = [i for i in listed if i in files]
        order += sorted(set(files) - set(order))
        entries: dict[str, dict] = {}
        for session_id in order:
            st = files[session_id]
            entry = known.get(session_id)
            if entry is not None and (entry.get("fileSize"), entry.get("fileMtimeNs")) == (
                st.st_size,
                st.st_mtime_ns,
            ):
                entries[session_id] = entry
                continue
            try:
                loaded = self.load(session_id)
                if loaded is not None and (index is None or index.version < INDEX_VERSION):
                    loaded = self._chain_unhashed(session_id, loaded)
                if loaded is not None:
                    entries[session_id] = self.entry(session_id, loaded)
            except DamagedFileError as exc:
                # Left out of the index (the file stays as it is); loading it says why.
                warnings.warn(str(exc), RuntimeWarning, stacklevel=4)
                self.damaged.add(session_id)
        self.torn = False
        order = [i for i in order if i in entries]
        extra = index.extra if index is not None else {}
        if index is None or order != index.order or entries != index.entries:
            self.write_index(order, entries, extra)

    def _session_files(self) -> dict[str, os.stat_result]:
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
                with contextlib.suppress(InvalidIdError):  # not a name we would write
                    self.file(name[:-5])
                    files[name[:-5]] = item.stat()
        return files

    def _chain_unhashed(self, session_id: str, loaded: Loaded) -> Loaded:
        """A session file written before 0.2 (no message hashes) gets its chain."""
        records = loaded.records
        if not records or any(isinstance(r, dict) and "hash" in r for r in records):
            return loaded
        path = self.file(session_id)
        messages = [
            message_from_record(session_id, r, path, i, self.attachments.reader)
            for i, r in enumerate(records)
        ]
        hashes = chain(session_id, messages)
        updated = [
            {**r, "hash": h, "seq": i} for i, (r, h) in enumerate(zip(records, hashes, strict=True))
        ]
        header = {**loaded.header, "head": hashes[-1]}
        if self.read_only:  # chained in memory; the file is chained where it can be written
            return Loaded(loaded.key, header, updated)
        return self.write_session(session_id, header, updated, [dumps(r) for r in updated])

    # -- session files ----------------------------------------------------------------------

    def load(self, session_id: str) -> Loaded | None:
        """The parsed session file (cached while unchanged), None if there is none.

        A file that is not a session file raises DamagedFileError naming it."""
        path = self.file(session_id)
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
        return self._remember(session_id, Loaded(key, header, records))

    def salvaged(self, session_id: str) -> SessionMetadata | None:
        """A damaged session file's metadata, as far as it can be made out (for verify)."""
        raw = self.raw(session_id)
        if raw is None:
            return None
        header = {**salvage_header(raw), "id": session_id}
        header.setdefault("createdAt", "1970-01-01T00:00:00Z")
        try:
            count = header.get("messageCount")
            count = count if isinstance(count, int) and not isinstance(count, bool) else 0
            entry = entry_from_header(session_id, header, count, self.file(session_id))
        except DamagedFileError:
            return None
        return meta_from_entry(session_id, entry)

    def raw(self, session_id: str) -> bytes | None:
        """The session file's bytes as they are (for verify), None if there is none."""
        try:
            return self.file(session_id).read_bytes()
        except FileNotFoundError:
            return None

    def write_session(
        self, session_id: str, header: dict[str, Any], records: list[Any], lines: list[str]
    ) -> Loaded:
        header = {**header, "messageCount": len(records)}
        data = render_session_file(header, lines)
        loaded = Loaded((0, 0, 0), header, records, lines)
        loaded.key = stat_key(
            self._write(self.file(session_id), data, lambda: self._remember(session_id, loaded))
        )
        return loaded

    def remove_session(self, session_id: str) -> None:
        self._remove(self.file(session_id), lambda: self._cache.pop(session_id, None))

    def _remember(self, session_id: str, loaded: Loaded) -> Loaded:
        self._cache[session_id] = loaded
        self._cache.move_to_end(session_id)
        while len(self._cache) > 1 and (
            len(self._cache) > CACHE_SESSIONS
            or sum(len(c.records) for c in self._cache.values()) > CACHE_MESSAGES
        ):
            self._cache.popitem(last=False)
        return loaded

    def forget(self) -> None:
        self._cache.clear()
        self._index = None

    def collect_garbage(self, entries: dict[str, dict[str, Any]]) -> int:
        """Remove the attachment files that no session file uses, given the index
        ``entries`` just written; returns how many were removed.

        A session file that differs from its entry (written by another tool, edited, cut
        short) is read for what it uses; while any session file cannot be read nothing is
        removed, since a repaired copy of it may need any of the bytes."""
        if not self.attachments.path.is_dir():
            return 0
        keep = {sha for e in entries.values() for sha in e.get("attachments", ())}
        for session_id, st in self._session_files().items():
            entry = entries.get(session_id)
            if entry is not None and (entry.get("fileSize"), entry.get("fileMtimeNs")) == (
                st.st_size,
                st.st_mtime_ns,
            ):
                continue
            try:
                loaded = self.load(session_id)
            except (DamagedFileError, StorageError):
                self.damaged.add(session_id)
                return 0
            if loaded is not None:
                keep |= attachment_shas(loaded.records)
        return self.attachments.remove_all_but(keep)
