"""The SQLite store's vectors for search by meaning (:mod:`..search.similar`): the table
``message_vectors`` beside ``messages``, made by migration m011.

``message_vectors(session_id, message_id, model, text_sha256, vector)`` — one row per
message, ``vector`` the model's 256 numbers as little-endian float16 (512 bytes). Each
:meth:`SQLiteVectors.put` is one ``BEGIN IMMEDIATE`` transaction, so a process killed while
writing leaves the table as the last finished write left it.

Why plain rows and NumPy, not ``sqlite-vec``: a search ranks the vectors kept in RAM with one
matrix product (16 ms for 100,000 messages, ``benchmarks/bench_similar.py``), needs no
loadable extension — and this machine's Python cannot load one at all (its ``sqlite3`` has
no ``enable_load_extension``), so sqlite-vec could not even be measured here; the benchmark
compares the two where it can.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ..search.model import DIMENSIONS
from ..search.similar import Key, Text, as_vectors, vector_bytes
from ..timeutil import from_iso
from .sqlite_connection import Connection

#: Keys asked for in one statement (SQLite limits a statement's parameters).
_CHUNK = 400


class SQLiteVectors:
    """The vectors of one SQLite store (:class:`..search.similar.VectorShelf`)."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def texts(self) -> Iterator[Text]:
        rows = self._conn.read(
            "SELECT session_id, id, role, timestamp, content FROM messages",
            doing="read the messages to embed",
        )
        for session_id, message_id, role, timestamp, content in rows:
            yield Text(session_id, message_id, role, from_iso(timestamp), content or "")

    def keys(self, model: str) -> dict[Key, str]:
        rows = self._conn.read(
            "SELECT session_id, message_id, text_sha256 FROM message_vectors WHERE model = ?",
            (model,),
            "read the vectors' keys",
        )
        return {(s, m): digest for s, m, digest in rows}

    def read(self, model: str, keys: Sequence[Key]) -> dict[Key, np.ndarray]:
        found: list[tuple[Key, bytes]] = []
        for at in range(0, len(keys), _CHUNK):
            chunk = keys[at : at + _CHUNK]
            pairs = ",".join("(?, ?)" for _ in chunk)
            rows = self._conn.read(
                "SELECT session_id, message_id, vector FROM message_vectors "
                f"WHERE model = ? AND (session_id, message_id) IN (VALUES {pairs})",
                (model, *[part for key in chunk for part in key]),
                "read vectors",
            )
            found += [((s, m), v) for s, m, v in rows]
        return as_vectors(found, DIMENSIONS)

    def put(
        self, model: str, rows: Sequence[tuple[Key, str, np.ndarray]], remove: Sequence[Key]
    ) -> None:
        if self._conn.read_only:
            return  # kept in RAM only: this process cannot write the file
        with self._conn.write("keep the vectors of search by meaning") as db:
            db.execute("DELETE FROM message_vectors WHERE model != ?", (model,))
            db.executemany(
                "DELETE FROM message_vectors WHERE session_id = ? AND message_id = ?", remove
            )
            db.executemany(
                "INSERT OR REPLACE INTO message_vectors VALUES (?, ?, ?, ?, ?)",
                [(s, m, model, digest, vector_bytes(v)) for (s, m), digest, v in rows],
            )
