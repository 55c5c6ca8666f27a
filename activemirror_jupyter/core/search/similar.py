"""Search by meaning: every saved message has a vector (:mod:`.model`), kept by its store
beside its messages (a :class:`VectorShelf`), and :class:`MeaningIndex` ranks them by their
closeness (the cosine: vectors are unit length) to the query's vector.

Vectors are made when a search asks for them, for what is new — ``save()`` costs what it
did. Each is keyed by its message (session id, message id) and the SHA-256 of the text it
was made from, and labelled with the model that made it, so:

- a message whose text changed (an import that replaced it, an edit behind the API) is
  embedded again, and only it;
- a deleted message's vector is dropped, and a hit is only ever a message still stored;
- vectors of another model (another WordLlama version) are made again, never mixed: a
  store holds the vectors of one model, and the shelf drops the others on the first write.

Each write is one all-or-nothing step of the store's own (a transaction, an atomic file
replace), a batch of vectors at a time: a process killed while making them leaves whole
batches, which the next search keeps, and nothing half-written.

The index keeps a copy in RAM (a float32 matrix and the filter columns); a search asks the
store what changed since the last (:meth:`~..storage.base.Storage.changes`) and reads only
those sessions again, so a search of an unchanged store is one matrix product, and one
after a save reads that save's session.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np

from ..models import SearchHit
from ..storage.base import SearchQuery, SessionQuery, Storage
from .model import Model
from .words import search_words, snippet

#: (session id, message id): what a vector belongs to.
Key = tuple[str, str]
#: Texts embedded and written at a time (each batch is one write).
BATCH = 2000
#: From this many texts waiting, a progress bar shows the making of their vectors.
PROGRESS_FROM = 2000


@dataclass(frozen=True)
class Text:
    """A saved message as the index needs it: where it is, what it is, its text."""

    session_id: str
    message_id: str
    role: str
    timestamp: datetime
    content: str

    @property
    def key(self) -> Key:
        return (self.session_id, self.message_id)


class VectorShelf(Protocol):
    """Where a store keeps its messages' vectors, beside them (one per store kind).

    Every method raises :class:`~..errors.StorageError` naming the store when it cannot be
    read or written, and then has changed nothing."""

    def texts(self) -> Iterator[Text]:
        """Every saved message (a page at a time from disk)."""

    def keys(self, model: str) -> dict[Key, str]:
        """The messages with a vector made by ``model``, each with the SHA-256 (hex) of the
        text it was made from."""

    def read(self, model: str, keys: Sequence[Key]) -> dict[Key, np.ndarray]:
        """The vectors (float32) ``model`` made for ``keys`` (those it has)."""

    def put(
        self, model: str, rows: Sequence[tuple[Key, str, np.ndarray]], remove: Sequence[Key]
    ) -> None:
        """Keep ``rows`` (key, text hash, vector) and drop the vectors of ``remove`` and of
        every other model, all in one all-or-nothing write."""


def text_hash(text: str) -> str:
    """What a vector is keyed by besides its message: the SHA-256 of its text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class _Columns:
    """The index in RAM: one row per message, the filters as columns."""

    keys: list[Key] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    sessions: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    session_codes: dict[str, int] = field(default_factory=dict)
    roles: np.ndarray = field(default_factory=lambda: np.zeros(0, "<U9"))
    times: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))

    def row_of(self) -> dict[Key, int]:
        return {key: i for i, key in enumerate(self.keys)}


class MeaningIndex:
    """Search by meaning over one store (one per :class:`~..mirror.ActiveMirror`)."""

    def __init__(self, store: Storage, shelf: VectorShelf, model: Model) -> None:
        self._store = store
        self._shelf = shelf
        self._model = model
        self._token: str | None = None
        self._columns = _Columns()

    # -- making vectors -----------------------------------------------------------------------

    def update(self, *, progress: bool = True) -> int:
        """Make the vectors of what is new or changed since the last update, drop those of
        deleted messages; returns how many were made. Nothing is read when the store has
        not changed since."""
        changes = self._store.changes(self._token)  # first: a change while updating is next
        if changes.none:
            return 0
        if self._token is None or changes.everything:
            made = self._rebuild()
        else:
            made = self._refresh({*changes.sessions, *changes.deleted})
        self._token = changes.token
        return made

    def _rebuild(self) -> int:
        """Every message read: vectors made for the new and changed, kept for the rest."""
        model = self._model.name
        texts = list(self._shelf.texts())
        stored = self._shelf.keys(model)
        old = self._columns
        old_rows = old.row_of()
        kept: dict[Key, np.ndarray] = {}
        to_read: list[tuple[Text, str]] = []
        waiting: list[tuple[Text, str]] = []
        for text in texts:
            digest = text_hash(text.content)
            if stored.get(text.key) != digest:
                waiting.append((text, digest))
            elif (row := old_rows.get(text.key)) is not None and old.hashes[row] == digest:
                kept[text.key] = old.vectors[row]
            else:
                to_read.append((text, digest))
        kept.update(self._shelf.read(model, [text.key for text, _ in to_read]))
        waiting += [(t, d) for t, d in to_read if t.key not in kept]  # unreadable: made again
        present = {text.key for text in texts}
        gone = [key for key in stored if key not in present]
        made = self._make(waiting, gone, kept)
        self._columns = _columns(texts, kept, self._model.dimensions)
        return made

    def _refresh(self, touched: set[str]) -> int:
        """Only the sessions changed since the last update (``touched``) are read again:
        their new and changed messages embedded and added, their deleted messages' rows
        and vectors dropped; the other rows stay where they are."""
        old = self._columns
        codes = np.asarray([old.session_codes[s] for s in touched if s in old.session_codes])
        rows = {old.keys[i]: int(i) for i in np.flatnonzero(np.isin(old.sessions, codes))}
        texts = [t for sid in sorted(touched) for t in session_texts(self._store, sid)]
        made: dict[Key, np.ndarray] = {}
        waiting: list[tuple[Text, str]] = []
        in_place: set[int] = set()
        for text in texts:
            digest = text_hash(text.content)
            row = rows.get(text.key)
            if row is not None and old.hashes[row] == digest:
                in_place.add(row)
            else:
                waiting.append((text, digest))
        present = {t.key for t in texts}
        dropped = [row for row in rows.values() if row not in in_place]
        gone = [old.keys[row] for row in dropped if old.keys[row] not in present]
        count = self._make(waiting, gone, made)
        new = _columns([t for t, _ in waiting], made, self._model.dimensions)
        self._columns = _with(old, dropped, new)
        return count

    def _make(
        self, waiting: list[tuple[Text, str]], gone: list[Key], into: dict[Key, np.ndarray]
    ) -> int:
        """Embed ``waiting`` a batch at a time, each batch written as it is made (the first
        write also drops ``gone``)."""
        if not waiting:
            if gone:
                self._shelf.put(self._model.name, [], gone)
            return 0
        bar = _progress(len(waiting)) if len(waiting) >= PROGRESS_FROM else None
        try:
            for start in range(0, len(waiting), BATCH):
                batch = waiting[start : start + BATCH]
                vectors = self._model.embed([text.content for text, _ in batch])
                rows = [(t.key, digest, v) for (t, digest), v in zip(batch, vectors, strict=True)]
                self._shelf.put(self._model.name, rows, gone if start == 0 else ())
                for key, _, vector in rows:
                    into[key] = vector
                if bar is not None:
                    bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
        return len(waiting)

    # -- searching ----------------------------------------------------------------------------

    def ranked(self, text: str, query: SearchQuery, limit: int) -> Iterator[tuple[Key, float]]:
        """Messages passing ``query``'s filters, closest to ``text`` first, with their
        scores (cosine similarity, -1 to 1); at most ``limit`` of them are asked for, but the
        caller may read on (a hit deleted meanwhile is skipped)."""
        self.update()
        columns = self._columns
        if not columns.keys or limit <= 0:
            return
        scores = columns.vectors @ self._model.embed([text])[0]
        allowed = self._allowed(query)
        candidates = np.flatnonzero(allowed) if allowed is not None else None
        if candidates is not None:
            scores = scores[candidates]
        taken = 0
        while taken < len(scores):
            step = min(len(scores), taken + max(limit, 16))
            best = np.argpartition(-scores, step - 1)[:step] if step < len(scores) else None
            order = np.arange(len(scores)) if best is None else best
            order = order[np.argsort(-scores[order], kind="stable")][taken:step]
            for i in order:
                row = candidates[i] if candidates is not None else i
                yield columns.keys[row], float(scores[i])
            taken = step
            limit *= 4  # the caller read on: look further at once

    def _allowed(self, query: SearchQuery) -> np.ndarray | None:
        """Which rows pass the query's filters (None: all of them)."""
        c = self._columns
        mask: np.ndarray | None = None

        def both(more: np.ndarray) -> None:
            nonlocal mask
            mask = more if mask is None else mask & more

        if query.session_id is not None:
            both(c.sessions == c.session_codes.get(query.session_id, -1))
        if query.tag is not None:
            tagged = self._store.list_sessions(SessionQuery(tag=query.tag))
            codes = [
                c.session_codes[m.session_id] for m in tagged if m.session_id in c.session_codes
            ]
            both(np.isin(c.sessions, np.asarray(codes, dtype=np.int64)))
        if query.role is not None:
            both(c.roles == query.role)
        if query.since is not None:
            both(c.times >= query.since.timestamp())
        if query.until is not None:
            both(c.times < query.until.timestamp())
        return mask


def _columns(texts: Sequence[Text], vectors: dict[Key, np.ndarray], dimensions: int) -> _Columns:
    """The RAM index of ``texts`` (those with a vector)."""
    texts = [t for t in texts if t.key in vectors]
    codes: dict[str, int] = {}
    sessions = np.fromiter(
        (codes.setdefault(t.session_id, len(codes)) for t in texts), np.int64, len(texts)
    )
    matrix = np.zeros((len(texts), dimensions), dtype=np.float32)
    for i, text in enumerate(texts):
        matrix[i] = vectors[text.key]
    return _Columns(
        keys=[t.key for t in texts],
        hashes=[text_hash(t.content) for t in texts],
        vectors=matrix,
        sessions=sessions,
        session_codes=codes,
        roles=np.asarray([t.role for t in texts], dtype="<U9"),
        times=np.fromiter((t.timestamp.timestamp() for t in texts), np.float64, len(texts)),
    )


def _with(old: _Columns, dropped: list[int], new: _Columns) -> _Columns:
    """``old`` without its rows ``dropped``, then ``new``'s rows (the big matrix is copied
    once: a save of new messages drops nothing)."""
    keep = np.setdiff1d(np.arange(len(old.keys)), dropped) if dropped else None

    def kept(column: np.ndarray) -> np.ndarray:
        return column if keep is None else column[keep]

    keys = old.keys if keep is None else [old.keys[i] for i in keep]
    hashes = old.hashes if keep is None else [old.hashes[i] for i in keep]
    codes = dict(old.session_codes)
    recoded = np.fromiter(  # new's session codes as the merged columns number them
        (codes.setdefault(sid, len(codes)) for sid in new.session_codes), np.int64
    )
    return _Columns(
        keys=keys + new.keys,
        hashes=hashes + new.hashes,
        vectors=np.concatenate([kept(old.vectors), new.vectors]),
        sessions=np.concatenate([kept(old.sessions), recoded[new.sessions]]),
        session_codes=codes,
        roles=np.concatenate([kept(old.roles), new.roles]),
        times=np.concatenate([kept(old.times), new.times]),
    )


def _progress(total: int) -> object:
    """A tqdm bar (the notebook's where one is running) over ``total`` texts."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="activemirror: vectors", unit="msg", file=sys.stderr)


def messages_texts(store: Storage) -> Iterator[Text]:
    """Every saved message of ``store`` through the storage protocol, a page at a time: the
    shelves of stores without a quicker way (the JSON folder, memory) use it."""
    for meta in store.list_sessions(SessionQuery()):
        yield from session_texts(store, meta.session_id)


def session_texts(store: Storage, session_id: str) -> Iterator[Text]:
    """The saved messages of one session, a page at a time."""
    count = store.count_messages(session_id)
    for start in range(0, count, 1000):
        for m in store.get_messages(session_id, start, min(start + 1000, count)):
            yield Text(m.session_id, m.id, m.role, m.timestamp, m.content)


#: How a vector is kept on disk: little-endian float16 (half the room of float32; the
#: rounding, below 0.001, does not change what is closest).
DISK_DTYPE = np.dtype("<f2")


def vector_bytes(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=DISK_DTYPE).tobytes()


def as_vectors(rows: Iterable[tuple[Key, bytes | None]], dimensions: int) -> dict[Key, np.ndarray]:
    """Vectors kept as :data:`DISK_DTYPE` bytes, checked for their length (a damaged one is
    left out: it is made again)."""
    out = {}
    for key, data in rows:
        if data is not None and len(data) == DISK_DTYPE.itemsize * dimensions:
            out[key] = np.frombuffer(data, dtype=DISK_DTYPE).astype(np.float32)
    return out


def similar_hits(
    index: MeaningIndex, store: Storage, text: str, query: SearchQuery, limit: int
) -> list[SearchHit]:
    """The ``limit`` saved messages closest to ``text`` that pass ``query``'s filters, best
    first, as hits: a snippet of each message's start (or of where it shares a word with
    ``text``), its score."""
    words = tuple(dict.fromkeys(search_words(text[:10_000])))
    titles: dict[str, str] = {}
    hits: list[SearchHit] = []
    for (session_id, message_id), score in index.ranked(text, query, limit):
        if len(hits) >= limit:
            break
        position = store.message_position(session_id, message_id)
        found = (
            store.get_messages(session_id, position, position + 1) if position is not None else []
        )
        if not found or found[0].id != message_id:
            continue  # deleted since the index was read
        if session_id not in titles:
            meta = store.get_session(session_id)
            titles[session_id] = meta.title if meta is not None else ""
        excerpt, highlights = snippet(found[0].content, words)
        hits.append(SearchHit(found[0], titles[session_id], excerpt, highlights, score))
    return hits
