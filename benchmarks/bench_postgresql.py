"""PostgreSQL store benchmark: every figure is a ratio against a baseline measured in the same run.

    python benchmarks/bench_postgresql.py [--messages 10000] [--search-messages 100000]

The script starts its own throwaway PostgreSQL cluster (tests/postgres_server.py) on a loopback
TCP port with PostgreSQL's default, durable settings, set up as a team database (tables owned
by an admin role, postgresql_setup.sql, the store used by a member role under row-level
security), and removes it at the end.

* bulk save of 10,000 messages vs raw psycopg — ``COPY`` and ``executemany`` of the same rows
  (search words included, prepared outside the timing) into the same table by its owner
  (target: at least 0.5x, i.e. at most twice as long; the store also computes the words and
  works under row-level security, where COPY is not allowed);
* ``get_messages(limit=20, offset=9980)`` vs ``offset=0`` (target: within 3x);
* ``search()`` over 100,000 messages vs the same words with ``ILIKE`` (target: 20x faster);
* 4 concurrent writers (threads, each with its own store, saving after every message) —
  total throughput vs the SQLite store on a local file (reported; no target).

Exits non-zero when a target is missed.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from postgres_server import PostgresServer  # noqa: E402
from timing import median_of  # noqa: E402

from activemirror_jupyter import ActiveMirror  # noqa: E402
from activemirror_jupyter.core.storage.postgresql import SETUP_SQL  # noqa: E402
from activemirror_jupyter.core.storage.postgresql_schema import search_vector  # noqa: E402


class Words:
    """Deterministic Zipf-distributed text, so some words are common and most are rare."""

    def __init__(self, vocabulary: int = 5000, seed: int = 9) -> None:
        self.rng = random.Random(seed)
        letters = "abcdefghijklmnopqrstuvwxyz"
        self.vocab = list(
            dict.fromkeys(
                "".join(self.rng.choices(letters, k=self.rng.randint(4, 9)))
                for _ in range(vocabulary * 2)
            )
        )[:vocabulary]
        self.weights = [1 / (rank + 1) for rank in range(len(self.vocab))]

    def sentence(self, n: int = 12) -> str:
        return " ".join(self.rng.choices(self.vocab, self.weights, k=n)).capitalize() + "."


def team_database(server: PostgresServer) -> str:
    """A database set up as the README says; returns the member's dsn."""
    for role in ("bench_admin", "bench_member"):
        server.create_role(role)
    db = server.create_database(owner="bench_admin")
    ActiveMirror("postgresql", dsn=server.dsn(db, "bench_admin")).close()
    with server.connect(db) as conn:
        conn.execute(SETUP_SQL.read_text())
        conn.execute("GRANT activemirror_users TO bench_member")
    return server.dsn(db, "bench_member")


def filled_session(mirror: ActiveMirror, words: Words, n: int, title: str = "bench"):
    session = mirror.create_session(title)
    for _ in range(n):
        session.send(words.sentence())
    return session


def bench_bulk_save(server: PostgresServer, dsn: str, words: Words, n: int) -> float:
    with ActiveMirror("postgresql", dsn=dsn) as mirror:
        sessions = [filled_session(mirror, words, n) for _ in range(3)]
        sample = sessions[0].get_messages()
        unsaved = iter(sessions)  # each run saves a fresh session of n messages
        store_s = median_of(lambda: next(unsaved).save())

    # The baseline: the same rows, search words included (prepared outside the timing), written
    # straight into the same table by its owner (row security does not apply, so COPY works).
    columns = "id, session_id, role, content, timestamp, metadata, seq, search_vector"
    admin_dsn = psycopg.conninfo.make_conninfo(dsn, user="bench_admin")
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute("INSERT INTO sessions (id, title) VALUES ('raw', 'raw')")
        runs = iter(range(100))

        def rows() -> list[tuple]:
            run = next(runs)
            return [
                (f"{m.id}_{run}", "raw", m.role, m.content, m.timestamp, None, run * n + i, v)
                for i, (m, v) in enumerate(zip(sample, vectors, strict=True))
            ]

        vectors = [search_vector(m.content) for m in sample]
        batches = [rows() for _ in range(6)]

        def copy() -> None:
            with conn.transaction(), conn.cursor() as cur:
                with cur.copy(f"COPY messages ({columns}) FROM STDIN") as out:
                    for row in batches.pop():
                        out.write_row(row)

        def executemany() -> None:
            with conn.transaction(), conn.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO messages ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    batches.pop(),
                )

        copy_s = median_of(copy)
        many_s = median_of(executemany)
    print(f"bulk save of {n:,} messages: store {store_s * 1000:.0f} ms, raw COPY "
          f"{copy_s * 1000:.0f} ms ({copy_s / store_s:.2f}x), raw executemany "
          f"{many_s * 1000:.0f} ms ({many_s / store_s:.2f}x)")  # fmt: skip
    return copy_s / store_s


def bench_paging(dsn: str, words: Words, n: int) -> float:
    with ActiveMirror("postgresql", dsn=dsn) as mirror:
        session = filled_session(mirror, words, n, "paging")
        session.save()
        session = mirror.load_session(session.id)
        far_offset = n - 20

        def page(offset: int) -> Callable[[], object]:
            return lambda: [session.get_messages(limit=20, offset=offset) for _ in range(200)]

        page(0)()  # warm up the pool and the plan
        newest = median_of(page(0))
        oldest = median_of(page(far_offset))
        assert session.get_messages(limit=20, offset=far_offset)[0].content
    ratio = oldest / newest
    print(f"get_messages(limit=20): offset={far_offset} {oldest / 200 * 1e3:.2f} ms, "
          f"offset=0 {newest / 200 * 1e3:.2f} ms per page ({ratio:.2f}x)")  # fmt: skip
    return ratio


def bench_search(dsn: str, words: Words, total: int) -> float:
    batch = 10_000
    with ActiveMirror("postgresql", dsn=dsn) as mirror:
        existing = sum(s.message_count for s in mirror.list_sessions())
        for i in range(max(0, total - existing) // batch):
            filled_session(mirror, words, batch, f"search {i}").save()
        with psycopg.connect(dsn, autocommit=True) as conn:
            (count,) = conn.execute("SELECT count(*) FROM messages").fetchone()  # type: ignore[misc]
        # moderately rare single words and a pair of commoner ones: what people look for
        queries = [words.vocab[300], words.vocab[700], words.vocab[1500],
                   f"{words.vocab[40]} {words.vocab[90]}"]  # fmt: skip
        found = {q: len(mirror.search(q)) for q in queries}
        fts = median_of(lambda: [mirror.search(q) for q in queries], repeat=5)

    with psycopg.connect(dsn, autocommit=True) as conn:

        def ilike() -> None:
            for q in queries:
                terms = q.split()
                where = " AND ".join("content ILIKE %s" for _ in terms)
                conn.execute(
                    "SELECT id, session_id, role, content, timestamp, metadata FROM messages "
                    f"WHERE {where} ORDER BY timestamp DESC, id DESC LIMIT 50",
                    [f"%{t}%" for t in terms],
                ).fetchall()

        ilike()
        scan = median_of(ilike, repeat=5)
    ratio = scan / fts
    print(f"search over {count:,} messages ({len(queries)} queries, "
          f"{', '.join(str(v) for v in found.values())} hits): tsvector/GIN "
          f"{fts / len(queries) * 1e3:.2f} ms, ILIKE {scan / len(queries) * 1e3:.1f} ms "
          f"per query ({ratio:.0f}x faster)")  # fmt: skip
    return ratio


def concurrent_writers(open_mirror: Callable[[], ActiveMirror], words: Words, per: int) -> float:
    """Messages per second written by 4 threads, each saving after every message."""
    texts = [words.sentence() for _ in range(per)]
    mirrors = [open_mirror() for _ in range(4)]
    barrier = threading.Barrier(5)

    def write(mirror: ActiveMirror) -> None:
        session = mirror.create_session("writer")
        barrier.wait()
        for text in texts:
            session.send(text)
            session.save()

    threads = [threading.Thread(target=write, args=(m,)) for m in mirrors]
    for t in threads:
        t.start()
    barrier.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    for m in mirrors:
        m.close()
    return 4 * per / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--search-messages", type=int, default=100_000)
    parser.add_argument("--writes", type=int, default=250, help="saves per concurrent writer")
    args = parser.parse_args()
    words = Words()
    missed = []
    with PostgresServer(tcp=True, durable=True) as server, tempfile.TemporaryDirectory() as tmp:
        print(f"PostgreSQL on 127.0.0.1:{server.port} (durable settings), member role under RLS")
        dsn = team_database(server)
        if bench_bulk_save(server, dsn, words, args.messages) < 0.5:
            missed.append("bulk save below 0.5x of raw COPY")
        if bench_paging(dsn, words, args.messages) > 3:
            missed.append("deep page more than 3x the first page")
        if bench_search(dsn, words, args.search_messages) < 20:
            missed.append("search less than 20x faster than ILIKE")

        pg = concurrent_writers(lambda: ActiveMirror("postgresql", dsn=dsn), words, args.writes)
        db = Path(tmp) / "conversations.db"
        lite = concurrent_writers(lambda: ActiveMirror("sqlite", db_path=db), words, args.writes)
        print(f"4 concurrent writers, a save per message: PostgreSQL {pg:.0f} msg/s, "
              f"SQLite {lite:.0f} msg/s ({pg / lite:.2f}x)")  # fmt: skip
    for line in missed:
        print("MISSED:", line)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
