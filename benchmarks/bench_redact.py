"""Redacting one message in a 20,000-message session vs saving one message there, measured in
one run on the SQLite store (the default) and on a JSON folder.

A redaction is more than a save: on SQLite it empties the row and drops its index entries
and attachments in one write, then takes the removed bytes out of the file — it merges the
search indexes (FTS5 ``optimize``), rebuilds the file (``VACUUM``: pages rewritten before
may hold copies in their unused space and free pages) and empties the write-ahead log (a
``wal_checkpoint(TRUNCATE)``). The script prints what each of those costs here, so the
ratio can be read: nearly all of it is the file's rebuild, which grows with the file, not
with the message. On a JSON folder a redaction folds the journal and rewrites the session's
file and ``index.json``, which grows with the session.

Run: ``python benchmarks/bench_redact.py`` (about half a minute; writes only to a temporary
folder). It prints the figures and exits 0: there is no goal to miss, the ratio is reported.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.storage import sqlite_redact

MESSAGES = 20_000
BATCH = 1_000
RUNS = 7


def _filled(mirror: ActiveMirror) -> tuple[str, list[str]]:
    session = mirror.create_session("big")
    for b in range(MESSAGES // BATCH):
        for i in range(BATCH):
            n = b * BATCH + i
            session.send(f"note {n}: sample {n % 97} measured at station {n % 13}, all fine")
        session.save()
    ids = [m.id for m in mirror.saved_messages(session.id, 100, 100 + RUNS)]
    return session.id, ids


def _median_ms(times: list[float]) -> float:
    return statistics.median(times) * 1000


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measure(kind: str, root: Path) -> tuple[list[float], list[float]]:
    """The seconds of each save of one message and of each redaction of one, in one store."""
    options = {"db_path": root / "c.db"} if kind == "sqlite" else {"storage_path": root / "j"}
    with ActiveMirror(kind, **options) as mirror:
        sid, ids = _filled(mirror)
        session = mirror.load_session(sid)
        saves = []
        for i in range(RUNS):
            session.send(f"one more note {i}")
            saves.append(_timed(session.save))
        redactions = [_timed(lambda m=m: session.redact(m, "benchmark")) for m in ids]
        assert mirror.verify(sid).ok
    return saves, redactions


class Phases:
    """Time spent in each part of the SQLite redactions made while it is installed: the
    scrub as a whole, and in it VACUUM and the WAL checkpoint (the rest of the scrub is the
    index merge and the write that clears the pending mark)."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = {"scrub": [], "VACUUM": [], "checkpoint": []}
        self._scrub, self._pragma = sqlite_redact.scrub, sqlite_redact._pragma

        def scrub(conn: object) -> None:
            start = time.perf_counter()
            try:
                self._scrub(conn)
            finally:
                self.times["scrub"].append(time.perf_counter() - start)

        def pragma(conn: object, sql: str) -> object:
            start = time.perf_counter()
            try:
                return self._pragma(conn, sql)
            finally:
                key = "VACUUM" if sql == "VACUUM" else "checkpoint" if "checkpoint" in sql else None
                if key is not None:
                    self.times[key].append(time.perf_counter() - start)

        sqlite_redact.scrub, sqlite_redact._pragma = scrub, pragma

    def remove(self) -> None:
        sqlite_redact.scrub, sqlite_redact._pragma = self._scrub, self._pragma


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"A session of {MESSAGES:,} messages; medians of {RUNS} runs.")
        for kind in ("sqlite", "json"):
            (root / kind).mkdir()
            phases = Phases() if kind == "sqlite" else None
            try:
                saves, redactions = measure(kind, root / kind)
            finally:
                if phases is not None:
                    phases.remove()
            save, redact = _median_ms(saves), _median_ms(redactions)
            print(
                f"{kind:>6}: save of one message {save:7.2f} ms, redaction of one "
                f"{redact:8.2f} ms — {redact / save:6.1f}x a save"
            )
            if phases is not None:
                t = {k: _median_ms(v) for k, v in phases.times.items()}
                scrubs = phases.times["scrub"]
                write = _median_ms([r - s for r, s in zip(redactions, scrubs, strict=True)])
                size = (root / kind / "c.db").stat().st_size / 2**20
                print(
                    f"        of which taking the bytes out of the {size:.1f} MB file "
                    f"{t['scrub']:.1f} ms ({t['scrub'] / redact:.0%}): VACUUM {t['VACUUM']:.1f}, "
                    f"WAL checkpoint {t['checkpoint']:.1f}, index merge and the rest "
                    f"{t['scrub'] - t['VACUUM'] - t['checkpoint']:.1f}; the redacting write "
                    f"itself {write:.1f} ms"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
