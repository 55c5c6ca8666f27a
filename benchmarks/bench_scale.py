"""Scale: the costs that must stay flat at a million messages, measured in one run on the
store of ``million_store.py`` (1,000,000 messages in 10,000 sessions, plus sessions of
20,000 and 1,000 messages):

- opening the store (the migrations check), ``list_sessions(limit=50)``, a page at offset 0
  and near the end of the 20,000-message session, ``search`` of a rare word,
  ``count_search`` of a common one (about 100,000 hits) — each in ms (goal: a few ms);
- ``verify`` of the 1,000-message session against reading those messages, warm and on a
  store just reopened (goal: <= 3x both);
- ``verify()`` of the whole store, a JSON export of the 20,000-message session, and a
  backup bundle of the whole store: seconds and peak memory (goal: under 200 MB).

``-v`` prints ``EXPLAIN QUERY PLAN`` of every statement each figure runs.
Run: ``.venv/bin/python benchmarks/bench_scale.py [-v]`` (the first run builds the store).
"""

from __future__ import annotations

import io
import os
import sqlite3
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import million_store
from timing import median_of

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.transfer.bundles import write_bundle

VERBOSE = "-v" in sys.argv


def report(label: str, value: str) -> None:
    print(f"{label:<58} {value}")


def plans(db: Path, mirror: ActiveMirror, action: Callable[[], object]) -> None:
    """Print the query plan of every statement ``action`` runs on the store."""
    statements: list[str] = []
    mirror.store._db.set_trace_callback(statements.append)
    try:
        action()
    finally:
        mirror.store._db.set_trace_callback(None)
    with sqlite3.connect(db) as raw:
        for sql in statements:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            print(f"    {sql[:150]}")
            for row in raw.execute(f"EXPLAIN QUERY PLAN {sql}"):
                print(f"      {'  ' * (row[1] > 0)}{row[3]}")


def timed(
    label: str, db: Path, mirror: ActiveMirror, action: Callable[[], object], n: int
) -> float:
    seconds = median_of(action, n)
    report(label, f"{seconds * 1e3:.3f} ms")
    if VERBOSE:
        plans(db, mirror, action)
    return seconds


def peak(action: Callable[[], object]) -> tuple[float, float]:
    """(seconds, peak MB of Python allocations) of one run of ``action``."""
    tracemalloc.start()
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, top / 2**20


def main() -> None:
    db = million_store.build()
    opened = median_of(lambda: ActiveMirror(db_path=db).close(), 21)
    report("open the store (migrations check)", f"{opened * 1e3:.3f} ms")
    with ActiveMirror(db_path=db) as mirror:
        big = mirror.list_sessions(limit=3)
        by_title = {s.title: s.session_id for s in big}
        big_id = by_title[million_store.BIG_TITLE]
        thousand_id = by_title[million_store.THOUSAND_TITLE]
        total = mirror.count_sessions()
        report("sessions / messages in the store", f"{total:,} / {sum_messages(db):,}")
        timed("list_sessions(limit=50)", db, mirror, lambda: mirror.list_sessions(limit=50), 201)
        for offset in (0, million_store.BIG - 20):
            timed(
                f"a page of 20 at offset {offset:,} of {million_store.BIG:,}",
                db,
                mirror,
                lambda o=offset: mirror.load_session(big_id).get_messages(limit=20, offset=o),
                201,
            )
        rare = million_store.RARE_WORD
        hits = len(mirror.search(rare))
        timed(f"search of a rare word ({hits} hits)", db, mirror, lambda: mirror.search(rare), 101)
        common = million_store.COMMON_WORD
        count = mirror.count_search(common)
        timed(
            f"count_search of a common word ({count:,} hits)",
            db,
            mirror,
            lambda: mirror.count_search(common),
            21,
        )
        session = mirror.load_session(thousand_id)
        read = median_of(lambda: session.get_messages(limit=1000), 21)
        check = median_of(lambda: mirror.verify(thousand_id), 21)
        report(
            "verify of 1,000 messages vs reading them",
            f"{check * 1e3:.1f} ms vs {read * 1e3:.1f} ms = {check / read:.2f}x (goal <= 3x)",
        )
        cold_read = reopened(db, lambda m: m.load_session(thousand_id).get_messages(limit=1000))
        cold_check = reopened(db, lambda m: m.verify(thousand_id))
        report(
            "verify of 1,000 messages vs reading them, each on a store just reopened",
            f"{cold_check * 1e3:.1f} ms vs {cold_read * 1e3:.1f} ms = "
            f"{cold_check / cold_read:.2f}x (goal <= 3x)",
        )
        if VERBOSE:
            plans(db, mirror, lambda: mirror.verify(thousand_id))
        memory(mirror, big_id)


def reopened(db: Path, action: Callable[[ActiveMirror], object], runs: int = 11) -> float:
    """The median time of ``action`` on a store opened just before it: a new connection,
    with no statement prepared and SQLite's page cache empty (the OS's is warm)."""
    times = []
    for _ in range(runs):
        with ActiveMirror(db_path=db) as mirror:
            start = time.perf_counter()
            action(mirror)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def memory(mirror: ActiveMirror, big_id: str) -> None:
    seconds, mb = peak(lambda: mirror.load_session(big_id).export("json"))
    report("JSON export of the 20,000-message session", f"{seconds:.1f} s, peak {mb:.0f} MB")
    seconds, mb = peak(lambda: _check(mirror.verify()))
    report("verify() of the whole store", f"{seconds:.1f} s, peak {mb:.0f} MB (goal < 200 MB)")
    with open(os.devnull, "w", encoding="utf-8") as sink:
        seconds, mb = peak(lambda: write_bundle(mirror, sink))
    report("backup bundle of the whole store", f"{seconds:.1f} s, peak {mb:.0f} MB (goal < 200 MB)")


def _check(report: object) -> None:
    assert getattr(report, "ok", False), "the million-message store does not verify"


def sum_messages(db: Path) -> int:
    with sqlite3.connect(db) as raw:
        return raw.execute("SELECT sum(message_count) FROM sessions").fetchone()[0]


if __name__ == "__main__":
    sys.stdout = io.TextIOWrapper(sys.stdout.buffer, line_buffering=True)
    main()
