"""History import benchmark: ``import_from("ipython")`` of 10,000 history lines against
``save()`` of the same 10,000 messages into the same kind of store, measured in one run.

Run: ``.venv/bin/python benchmarks/bench_import.py``. The history file has IPython's own
schema (made by IPython's ``HistoryAccessor``) and its rows as IPython writes them (one
line in ten with a logged output). The baseline is the messages the import makes — the
same text, metadata and ``out-1`` attachments, in the same sessions — sent before its
clock starts and then saved; the import's clock covers reading the file, too. The ratio
is baseline time / import time (target: ≥ 0.5x).
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from pathlib import Path

from activemirror_jupyter import ActiveMirror, Attachment

LINES = 10_000
WORDS = "df plot model fit result x y mean groupby merge print len sum".split()


def history_file(path: Path, sessions: int, rng: random.Random) -> Path:
    """``history.sqlite`` with ``LINES`` inputs over ``sessions`` IPython sessions."""
    from IPython.core.history import HistoryAccessor

    with HistoryAccessor(hist_file=path):  # IPython makes its tables
        pass
    per = LINES // sessions
    with sqlite3.connect(path) as db:
        for number in range(1, sessions + 1):
            db.execute(
                "INSERT INTO sessions VALUES (?, ?, NULL, NULL, '')",
                (number, f"2024-05-{1 + number % 28:02d} 10:{number % 60:02d}:00.000000"),
            )
            lines = [(number, i, cell(rng)) for i in range(1, per + 1)]
            db.executemany("INSERT INTO history VALUES (?, ?, ?, ?)", [(*r, r[2]) for r in lines])
            db.executemany(
                "INSERT INTO output_history VALUES (?, ?, ?)",
                [(n, i, repr(text[:40])) for n, i, text in lines if i % 10 == 0],
            )
    return path


def cell(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(8))


def baseline(store: Path, source: ActiveMirror) -> float:
    """save() of exactly the messages the import made, in sessions of the same sizes."""
    sessions = [
        (s.title, source.saved_messages(s.session_id)) for s in source.list_sessions(tag="ipython")
    ]
    with ActiveMirror(db_path=store) as mirror:
        ready = []
        for title, messages in sessions:
            session = mirror.create_session(title, tags=["ipython"])
            for m in messages:
                attachments = [
                    Attachment.from_bytes(a.name, a.mime_type, a.read()) for a in m.attachments
                ]
                session.send(m.content, "system", metadata=m.metadata, attachments=attachments)
            ready.append(session)
        start = time.perf_counter()
        for session in ready:
            session.save()
        return time.perf_counter() - start


def compare(tmp: Path, sessions: int, rng: random.Random) -> None:
    history = history_file(tmp / f"history-{sessions}.sqlite", sessions, rng)
    runs = iter(range(1_000))  # a fresh store for every run

    def imported() -> float:
        with ActiveMirror(db_path=tmp / f"import-{sessions}-{next(runs)}.db") as mirror:
            start = time.perf_counter()
            report = mirror.import_from("ipython", history)
            elapsed = time.perf_counter() - start
            assert report.messages == LINES, report
            return elapsed

    def saved() -> float:
        with ActiveMirror(db_path=tmp / f"source-{sessions}-{next(runs)}.db") as source:
            source.import_from("ipython", history)
            return baseline(tmp / f"save-{sessions}-{next(runs)}.db", source)

    # interleaved, best of five: both see the same machine
    times = [(imported(), saved()) for _ in range(5)]
    ours = min(t[0] for t in times)
    base = min(t[1] for t in times)
    label = f"import {LINES:,} IPython lines ({sessions} session{'s' * (sessions > 1)}), SQLite"
    print(
        f"{label:<58} {ours * 1e3:7.1f} ms vs save() {base * 1e3:7.1f} ms = {base / ours:.2f}x "
        "(target >= 0.5x)"
    )


def main() -> None:
    rng = random.Random(26)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        compare(tmp, 1, rng)
        compare(tmp, 100, rng)


if __name__ == "__main__":
    main()
