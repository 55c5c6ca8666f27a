"""Storage benchmark: the SQLite store against raw ``sqlite3`` measured in the same run.

Run: ``.venv/bin/python benchmarks/bench_storage.py``. Prints one line per figure with the
ratio to its baseline (higher is better for throughput ratios, "x faster" for speed-ups).
"""

from __future__ import annotations

import random
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from timing import median_of

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.ids import new_id
from activemirror_jupyter.core.storage.rows import MESSAGE_COLUMNS, SESSION_COLUMNS
from activemirror_jupyter.core.timeutil import to_iso, utcnow

WORDS = (
    "focus plan idea data model notebook kernel result figure table sample error "
    "hypothesis method review draft decision question answer coffee sprint"
).split()


def raw_db(path: Path) -> sqlite3.Connection:
    """The plain baseline: the spec's 5-column messages table with the same pragmas as ours
    (WAL, synchronous=FULL), and nothing else — no triggers, no extra indexes, no search."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute(
        "CREATE TABLE messages (id TEXT PRIMARY KEY, session_id TEXT, role TEXT, content TEXT, "
        "timestamp TEXT)"
    )
    return db


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(12))


def report(label: str, value: str) -> None:
    print(f"{label:<62} {value}")


def bench_bulk_save(tmp: Path, rng: random.Random) -> None:
    """save() of 10,000 new messages — chained, searchable at once, pageable — against two
    baselines built before their clocks start: executemany of the same text into the plain
    table, and raw SQL making the same writes our schema needs (the rows with their seq,
    metadata and hash, the search index, the session row) with every value precomputed.
    The second ratio is the cost of the Python side of a save; the first adds the schema's."""
    n = 10_000
    texts = [sentence(rng) for _ in range(n)]

    def ours() -> float:
        with ActiveMirror(db_path=tmp / f"bulk-{random.random()}.db") as mirror:
            session = mirror.create_session("bulk")
            for text in texts:
                session.send(text)
            start = time.perf_counter()
            session.save()
            elapsed = time.perf_counter() - start
            assert mirror.count_search(texts[-1].split()[0]) > 0  # findable right after
            return elapsed

    def raw() -> float:
        db = raw_db(tmp / f"raw-bulk-{random.random()}.db")
        now = to_iso(utcnow())
        rows = [(new_id("msg"), "s1", "user", t, now) for t in texts]
        start = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.executemany("INSERT INTO messages VALUES (?,?,?,?,?)", rows)
        db.execute("COMMIT")
        elapsed = time.perf_counter() - start
        db.close()
        return elapsed

    def schema_sql() -> float:
        path = tmp / f"schema-bulk-{random.random()}.db"
        with ActiveMirror(db_path=path) as mirror:  # our schema, empty
            session = mirror.create_session("bulk")
            meta = session.metadata_snapshot()
        now = to_iso(utcnow())
        rows = [
            (new_id("msg"), meta.session_id, "user", t, now, "{}", f"{i:064x}", None, i + 1, i)
            for i, t in enumerate(texts)
        ]
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA synchronous=FULL")
        start = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        db.executemany(
            f"INSERT INTO messages ({MESSAGE_COLUMNS}, clock, seq) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        db.execute(
            "INSERT INTO messages_fts(rowid, content) SELECT rowid, content FROM messages "
            "WHERE rowid > 0"
        )
        db.execute(
            f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                meta.session_id,
                None,
                "bulk",
                now,
                now,
                "active",
                None,
                "{}",
                None,
                n,
                None,
                rows[-1][6],
            ),
        )
        db.execute("COMMIT")
        elapsed = time.perf_counter() - start
        db.close()
        return elapsed

    # interleaved: all three see the same machine
    times = [(ours(), raw(), schema_sql()) for _ in range(7)]
    t_ours = min(t[0] for t in times)
    t_raw = min(t[1] for t in times)
    t_schema = min(t[2] for t in times)
    report(
        "save() of 10,000 messages vs executemany into a plain table",
        f"{n / t_ours:,.0f} msg/s vs {n / t_raw:,.0f} msg/s = {t_raw / t_ours:.2f}x raw "
        "(target >= 0.5x)",
    )
    report(
        "save() of 10,000 messages vs raw SQL making the schema's writes",
        f"{n / t_ours:,.0f} msg/s vs {n / t_schema:,.0f} msg/s = {t_schema / t_ours:.2f}x "
        f"(target >= 0.8x; the schema's own floor vs the plain table: {t_raw / t_schema:.2f}x)",
    )


def bench_autosave_send(tmp: Path) -> None:
    """One autosaved send() (a durable commit each) against a raw 1-row INSERT + COMMIT."""
    n = 300
    with ActiveMirror(db_path=tmp / "autosave.db", autosave=True) as mirror:
        session = mirror.create_session("autosave")
        start = time.perf_counter()
        for i in range(n):
            session.send(f"note {i}")
        t_ours = (time.perf_counter() - start) / n
    db = raw_db(tmp / "raw-autosave.db")
    now = to_iso(utcnow())
    start = time.perf_counter()
    for i in range(n):
        db.execute(
            "INSERT INTO messages VALUES (?,?,?,?,?)", (new_id("m"), "s", "user", f"note {i}", now)
        )
    t_raw = (time.perf_counter() - start) / n
    db.close()
    report(
        "autosaved send() vs 1-row INSERT + COMMIT, plain table",
        f"{t_ours * 1e3:.3f} ms vs {t_raw * 1e3:.3f} ms = {t_raw / t_ours:.2f}x raw "
        "(target >= 0.3x)",
    )


def bench_lazy_load(tmp: Path, rng: random.Random) -> None:
    path = tmp / "lazy.db"
    with ActiveMirror(db_path=path) as mirror:
        session = mirror.create_session("big")
        for _ in range(10_000):
            session.send(sentence(rng))
        session_id = session.save()
    mirror = ActiveMirror(db_path=path)

    def page(offset: int) -> Callable[[], object]:
        return lambda: mirror.load_session(session_id).get_messages(limit=20, offset=offset)

    t_page = median_of(page(0), 200)
    t_deep = median_of(page(9980), 200)
    t_all = median_of(lambda: mirror.load_session(session_id).get_messages(), 10)
    report(
        "load_session + get_messages(limit=20) vs loading all 10,000",
        f"{t_page * 1e3:.3f} ms vs {t_all * 1e3:.1f} ms = {t_all / t_page:.0f}x faster",
    )
    report(
        "get_messages(limit=20, offset=9980) vs offset=0",
        f"{t_deep * 1e3:.3f} ms vs {t_page * 1e3:.3f} ms = {t_deep / t_page:.2f}x",
    )
    mirror.close()


def bench_list_and_search(tmp: Path, rng: random.Random) -> None:
    path = tmp / "many.db"
    with ActiveMirror(db_path=path) as mirror:
        # Setup only: skip the per-commit fsync so 10,000 saves take seconds, not minutes.
        mirror.store._db.execute("PRAGMA synchronous=OFF")
        for i in range(10_000):
            s = mirror.create_session(f"session {i}")
            for _ in range(10):
                s.send(sentence(rng) + (" zeppelin" if rng.random() < 0.001 else ""))
            s.save()
    mirror = ActiveMirror(db_path=path)
    t_list = median_of(lambda: mirror.list_sessions(limit=50), 50)
    report("list_sessions(limit=50) over 10,000 sessions", f"{t_list * 1e3:.3f} ms")

    raw = sqlite3.connect(path)
    t_search = median_of(lambda: mirror.search("zeppelin"), 20)
    t_like = median_of(
        lambda: raw.execute(
            "SELECT id, content FROM messages WHERE content LIKE '%zeppelin%' LIMIT 50"
        ).fetchall(),
        5,
    )
    hits = len(mirror.search("zeppelin"))
    report(
        f"search() over 100,000 messages ({hits} hits) vs LIKE scan",
        f"{t_search * 1e3:.3f} ms vs {t_like * 1e3:.1f} ms = {t_like / t_search:.0f}x faster",
    )
    raw.close()
    mirror.close()


def bench_import_time() -> None:
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import activemirror_jupyter"],
        capture_output=True,
        text=True,
        check=True,
    )
    total_us = 0
    for line in out.stderr.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == "activemirror_jupyter":
            total_us = int(parts[1])
    first_use = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import activemirror_jupyter as a; a.ActiveMirror",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    cumulative = sum(
        int(line.split("|")[0].split(":")[1])
        for line in first_use.stderr.splitlines()
        if "activemirror_jupyter" in line and "|" in line
    )
    report(
        "import activemirror_jupyter (-X importtime)",
        f"{total_us / 1e3:.2f} ms; with the core (ActiveMirror) {cumulative / 1e3:.1f} ms",
    )


def main() -> None:
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        bench_bulk_save(tmp, rng)
        bench_autosave_send(tmp)
        bench_lazy_load(tmp, rng)
        bench_list_and_search(tmp, rng)
    bench_import_time()


if __name__ == "__main__":
    main()
