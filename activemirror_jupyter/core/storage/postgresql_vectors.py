"""The PostgreSQL store's vectors for search by meaning (:mod:`..search.similar`): the table
``message_vectors`` beside ``messages`` (migration m014), under the same row-level security
— each role reads and writes only its own rows (``owner``), as with every other table.

``message_vectors(owner, session_id, message_id, model, text_sha256, vector)``, ``vector``
the model's 256 numbers as little-endian float16 (``bytea``, 512 bytes). Each
:meth:`PostgreSQLVectors.put` is one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from ..search.model import DIMENSIONS
from ..search.similar import Key, Text, as_vectors, vector_bytes
from .postgresql_connections import Connections
from .postgresql_schema import OWN, as_utc


class PostgreSQLVectors:
    """The vectors of one role in a PostgreSQL store (:class:`..search.similar.VectorShelf`)."""

    def __init__(self, db: Connections) -> None:
        self._db = db

    def texts(self) -> Iterator[Text]:
        with self._db.connection("read the messages to embed") as conn:
            rows = conn.execute(
                f"SELECT session_id, id, role, timestamp, content FROM messages WHERE {OWN}"
            ).fetchall()
        for session_id, message_id, role, timestamp, content in rows:
            yield Text(session_id, message_id, role, as_utc(timestamp), content or "")

    def keys(self, model: str) -> dict[Key, str]:
        with self._db.connection("read the vectors' keys") as conn:
            rows = conn.execute(
                "SELECT session_id, message_id, text_sha256 FROM message_vectors "
                f"WHERE {OWN} AND model = %s",
                (model,),
            ).fetchall()
        return {(s, m): digest for s, m, digest in rows}

    def read(self, model: str, keys: Sequence[Key]) -> dict[Key, np.ndarray]:
        if not keys:
            return {}
        with self._db.connection("read vectors") as conn:
            rows = conn.execute(
                "SELECT v.session_id, v.message_id, v.vector FROM message_vectors v "
                "JOIN unnest(%s::text[], %s::text[]) AS k(s, m) "
                "ON v.session_id = k.s AND v.message_id = k.m "
                f"WHERE v.{OWN} AND v.model = %s",
                ([s for s, _ in keys], [m for _, m in keys], model),
            ).fetchall()
        return as_vectors((((s, m), bytes(v)) for s, m, v in rows), DIMENSIONS)

    def put(
        self, model: str, rows: Sequence[tuple[Key, str, np.ndarray]], remove: Sequence[Key]
    ) -> None:
        with self._db.connection("keep the vectors of search by meaning", write=True) as conn:
            conn.execute(f"DELETE FROM message_vectors WHERE {OWN} AND model <> %s", (model,))
            with conn.cursor() as cur:
                cur.executemany(
                    f"DELETE FROM message_vectors WHERE {OWN} AND session_id = %s "
                    "AND message_id = %s",
                    list(remove),
                )
                cur.executemany(
                    "INSERT INTO message_vectors "
                    "(session_id, message_id, model, text_sha256, vector) "
                    "VALUES (%s, %s, %s, %s, %s) "
                    "ON CONFLICT (owner, session_id, message_id) DO UPDATE SET "
                    "model = excluded.model, text_sha256 = excluded.text_sha256, "
                    "vector = excluded.vector",
                    [(s, m, model, digest, vector_bytes(v)) for (s, m), digest, v in rows],
                )
