"""The research record's costs, each against a baseline measured in the same run.

1. Paging a session of 200 messages that each carry a 1 MB attachment
   (``get_messages(limit=20)`` after reopening) vs the same session without attachments,
   on SQLite and the JSON folder (goal: within 1.5x — paging never reads the bytes).
2. ``search_hits`` with two filters (role and tag) over 100,000 messages vs a plain
   ``search`` of the same word.
3. ``verify(session_id)`` of a 1,000-message session vs ``get_messages(limit=1000)`` of it
   (goal: at most 3x), on SQLite and the JSON folder.

Run: ``.venv/bin/python benchmarks/bench_record.py`` (a minute or so; temporary folders).
"""

from __future__ import annotations

import os
import random
import tempfile
from pathlib import Path

from timing import median_of

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.models import Attachment

WORDS = "plan idea data model kernel result figure table sample error method review".split()


def report(label: str, value: str) -> None:
    print(f"{label:<66} {value}")


def options(kind: str, folder: Path) -> dict:
    if kind == "sqlite":
        return {"storage_type": "sqlite", "db_path": folder / "c.db"}
    return {"storage_type": "json", "storage_path": folder / "conversations"}


def bench_paging_with_attachments(root: Path) -> None:
    blob = os.urandom(2**20)
    for kind in ("sqlite", "json"):
        ids = {}
        for label, attach in (("plain", False), ("attached", True)):
            folder = root / f"paging-{kind}-{label}"
            with ActiveMirror(**options(kind, folder)) as mirror:
                session = mirror.create_session(label)
                for i in range(200):
                    files = (
                        [
                            Attachment.from_bytes(
                                "data.bin", "application/octet-stream", blob[i:] + blob[:i]
                            )
                        ]
                        if attach
                        else []
                    )
                    session.send(f"message {i}", attachments=files)
                    if i % 20 == 19:
                        session.save()
                ids[label] = (folder, session.id)
        times = {}
        for label, (folder, session_id) in ids.items():
            with ActiveMirror(**options(kind, folder)) as mirror:
                times[label] = median_of(
                    lambda m=mirror, s=session_id: m.load_session(s).get_messages(limit=20), 101
                )
        report(
            f"{kind}: a page of 20 of 200 messages with 1 MB attachments vs without",
            f"{times['attached'] * 1e3:.2f} ms vs {times['plain'] * 1e3:.2f} ms = "
            f"{times['attached'] / times['plain']:.2f}x (goal <= 1.5x)",
        )


def bench_filtered_search(root: Path) -> None:
    rng = random.Random(3)
    with ActiveMirror(db_path=root / "search.db") as mirror:
        mirror.store._db.execute("PRAGMA synchronous=OFF")  # set-up only
        for i in range(1_000):
            session = mirror.create_session(f"s{i}", tags=["field"] if i % 4 == 0 else [])
            for j in range(100):
                words = " ".join(rng.choice(WORDS) for _ in range(10))
                rare = " zeppelin" if rng.random() < 0.002 else ""
                session.send(words + rare, role="assistant" if j % 2 else "user")
            session.save()
    with ActiveMirror(db_path=root / "search.db") as mirror:
        plain = median_of(lambda: mirror.search("zeppelin"), 51)
        filtered = median_of(
            lambda: mirror.search_hits("zeppelin", role="assistant", tag="field"), 51
        )
        hits = len(mirror.search_hits("zeppelin", role="assistant", tag="field"))
        total = mirror.count_search("zeppelin")
    report(
        f"search_hits, role+tag filters, 100,000 messages ({hits} of {total} hits) vs search",
        f"{filtered * 1e3:.3f} ms vs {plain * 1e3:.3f} ms = {filtered / plain:.2f}x",
    )


def bench_verify(root: Path) -> None:
    for kind in ("sqlite", "json"):
        folder = root / f"verify-{kind}"
        with ActiveMirror(**options(kind, folder)) as mirror:
            session = mirror.create_session("Thousand")
            for i in range(1_000):
                session.send(f"message {i}: " + " ".join(WORDS))
            session.save()
        with ActiveMirror(**options(kind, folder)) as mirror:
            loaded = mirror.load_session(session.id)
            assert mirror.verify(session.id).ok
            read = median_of(lambda s=loaded: s.get_messages(limit=1000), 21)
            check = median_of(lambda m=mirror, i=session.id: m.verify(i), 21)
        report(
            f"{kind}: verify(session_id) of 1,000 messages vs get_messages(limit=1000)",
            f"{check * 1e3:.1f} ms vs {read * 1e3:.1f} ms = {check / read:.2f}x (goal <= 3x)",
        )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-record-") as tmp:
        root = Path(tmp)
        bench_paging_with_attachments(root)
        bench_filtered_search(root)
        bench_verify(root)


if __name__ == "__main__":
    main()
