"""The JSON folder's journal: saves appended to one file, folded into the session files and
``index.json`` later.

The spec's layout keeps a session in one file and every session in ``index.json``, so a save
that rewrote both would cost as much as the session and the folder are big (about 45 ms for
one message in a 10,000-message session among 10,000 sessions). Instead a save appends one
line to ``.activemirror-journal.jsonl`` and fsyncs it::

    {"save": "<session id>", "header": {<the session file's top-level fields>},
     "messages": [<message records>], "replace": false}
    {"delete": "<session id>"}

The store reads the journal on top of the files it folds into. It is folded — the touched
session files and ``index.json`` rewritten atomically, then the journal emptied — at once
while that is cheap (index and session files under :data:`FOLD_AT_ONCE_BYTES` together: a
small folder's files are always current, as 0.1 wrote them; a save into an empty journal
is then not written to it at all, since the atomic file replaces make it durable and a
crash between them is repaired when the folder is opened), when it grows past
:data:`FOLD_BYTES`, when the store is closed, when a store opens the folder (so a crash
loses nothing), and at once for deletes and replacing imports. Tools that read only the
spec's files (the JavaScript SDK) see a save once it is folded.

Only a complete line counts: a line cut short by a crash is ignored, and cut off before the
next append. Everything here runs holding the folder's writer lock.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from ..fsutil import atomic_write

JOURNAL_FILE = ".activemirror-journal.jsonl"
#: Fold the journal once it is this big.
FOLD_BYTES = 4 * 2**20
#: Bytes of the journal remembered before the read offset (see Journal._same_file).
TAIL_BYTES = 64
#: Fold after every save while the files a fold rewrites are this small (a few milliseconds).
FOLD_AT_ONCE_BYTES = 128 * 2**10


@dataclass
class Pending:
    """What the journal holds for one session since the last fold."""

    header: dict[str, Any] | None = None  # the latest top-level fields
    records: list[dict[str, Any]] = field(default_factory=list)  # messages appended since
    replaced: bool = False  # the file's messages are replaced by ``records``
    deleted: bool = False
    at: int = 0  # where in the journal its last line ends (what changed after a point)


class Journal:
    """The journal file of a folder, as read so far."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / JOURNAL_FILE
        self.pending: dict[str, Pending] = {}
        self._inode: int | None = None
        self._offset = 0  # bytes read and applied (always the end of a complete line)
        self._size = 0
        self._mtime = 0
        self._last = b""  # the bytes just before ``_offset``: tells a new file in our inode

    @property
    def key(self) -> tuple[int | None, int]:
        """Changes whenever the journal does."""
        return self._inode, self._offset

    @property
    def is_big(self) -> bool:
        return self._offset >= FOLD_BYTES

    def sync(self) -> None:
        """Apply the lines other processes appended since the last look."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            if self._inode is not None:
                self.forget()
            return
        if st.st_ino != self._inode or st.st_size < self._offset:
            self.forget()  # folded (a new file) since we looked
            self._inode = st.st_ino
        self._size = st.st_size
        if st.st_size == self._offset and st.st_mtime_ns == self._mtime:
            return
        with open(self.path, "rb") as f:
            if self._offset and not self._same_file(f):
                # A fold made a new journal that reuses the old one's inode number: it is
                # not the file we read, so it is read from its start.
                self.forget()
                self._inode = st.st_ino
            f.seek(self._offset)
            tail = f.read()
            self._mtime = os.fstat(f.fileno()).st_mtime_ns
        end = tail.rfind(b"\n") + 1  # a last line without its newline is not written yet
        at = self._offset
        for line in tail[:end].splitlines(keepends=True):
            at += len(line)
            self._apply(json.loads(line), at)
        self._advance(tail[:end])

    def _same_file(self, f: BinaryIO) -> bool:
        """Whether the bytes before our offset are the ones we read there."""
        f.seek(self._offset - len(self._last))
        return f.read(len(self._last)) == self._last

    def _advance(self, data: bytes) -> None:
        self._offset += len(data)
        self._last = (self._last + data)[-TAIL_BYTES:]

    def append(self, entry: dict[str, Any]) -> None:
        """Write ``entry`` as one durable line (after :meth:`sync`), and apply it."""
        line = json.dumps(entry, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        data = (line + "\n").encode("utf-8")
        with open(self.path, "ab") as f:
            if self._size > self._offset:  # a line a crashed writer left unfinished
                f.truncate(self._offset)
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            st = os.fstat(f.fileno())
            self._inode, self._mtime = st.st_ino, st.st_mtime_ns
        self._advance(data)
        self._size = self._offset
        self._apply(entry, self._offset)

    def stage(self, entry: dict[str, Any]) -> None:
        """Apply ``entry`` without writing it: for a save folded at once into an empty
        journal's files, which the fold itself makes durable."""
        self._apply(entry, self._offset)

    def clear(self) -> None:
        """Empty the journal (after a fold): a new, empty file, unless it is one already."""
        if self._inode is not None and self._size == 0:
            self.pending = {}
            return
        st = atomic_write(self.path, b"")
        self.forget()
        self._inode, self._mtime = st.st_ino, st.st_mtime_ns

    def forget(self) -> None:
        """Drop what was read: the next :meth:`sync` reads the whole file again."""
        self.pending = {}
        self._inode = None
        self._offset = self._size = self._mtime = 0
        self._last = b""

    def _apply(self, entry: dict[str, Any], at: int) -> None:
        if "delete" in entry:
            self.pending[entry["delete"]] = Pending(deleted=True, at=at)
            return
        pending = self.pending.setdefault(entry["save"], Pending())
        pending.at = at
        if entry.get("replace") or pending.deleted:
            pending.records, pending.replaced, pending.deleted = [], True, False
        pending.header = entry["header"]
        pending.records.extend(entry["messages"])
