"""What ``sync_enabled=True`` adds to an autosaved ``send()``: a push (and a look for
what other devices sent) after every save. Measured in one run, the two stores taking turns
send by send so both see the same machine.

Run: ``.venv/bin/python benchmarks/bench_sync_enabled.py``. Autosave on; SQLite stores,
empty and holding 5,000 earlier sessions, then JSON folders holding 5,000.

- plain: ``session.send(text)`` on ``ActiveMirror(autosave=True)``;
- synced: the same on ``ActiveMirror(identity=…, sync_enabled=True, autosave=True)`` whose
  identity's remote is a folder that already holds another device's history (2,000
  messages in 20 segments, pulled when the store opened), as a real shared folder would.

Each does 20 sends to warm up, then 200 measured; the figures are the median and the 95th
percentile per send, in ms, and the ratio of the medians. The contract: a push per save
stays well under what a person notices (~100 ms).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sync_devices import identities  # noqa: E402

from activemirror_jupyter import ActiveMirror  # noqa: E402

WARM_UP = 20
SENDS = 200
OTHER_DEVICE_MESSAGES = 2_000
OTHER_DEVICE_SEGMENTS = 20
NOTICEABLE_MS = 100.0
#: Earlier sessions in the store for the second and third figures: a push after one save
#: reads what changed (``Storage.changes``), not every session.
STORED = 5_000


def text(i: int) -> str:
    return f"note {i}: the sensor read {i * 0.37:.2f} and the plan is unchanged"


def fill_other_device(mirror: ActiveMirror, folder: Path) -> None:
    """Another device's history in the folder: one sync per segment."""
    per_segment = OTHER_DEVICE_MESSAGES // OTHER_DEVICE_SEGMENTS
    for n in range(OTHER_DEVICE_SEGMENTS):
        session = mirror.create_session(f"other device {n}")
        for i in range(per_segment):
            session.send(text(i))
        session.save()
        mirror.sync(folder)


def per_send(times: list[float]) -> tuple[float, float]:
    """Median and 95th percentile, in ms."""
    ms = sorted(t * 1e3 for t in times)
    return statistics.median(ms), ms[int(0.95 * (len(ms) - 1))]


def stock(mirror: ActiveMirror, count: int) -> None:
    """``count`` sessions of one message each, saved before the measured sends."""
    mirror.autosave = False
    for n in range(count):
        session = mirror.create_session(f"earlier {n}")
        session.send(text(n))
        session.save()
    mirror.autosave = True


def open_store(kind: str, path: Path, **options: object) -> ActiveMirror:
    if kind == "sqlite":
        return ActiveMirror("sqlite", db_path=path.with_suffix(".db"), **options)
    return ActiveMirror("json", storage_path=path, **options)


def measure(kind: str, stored: int) -> None:
    """Both stores hold ``stored`` earlier sessions; each then sends into a new one."""
    root = Path(tempfile.mkdtemp(prefix="bench-sync-enabled-"))
    folder = root / "shared"
    folder.mkdir()
    me, other = identities(root, 2)
    with ActiveMirror("sqlite", db_path=root / "other.db", identity=other) as elsewhere:
        fill_other_device(elsewhere, folder)
    me.set_remote(folder)

    plain = open_store(kind, root / "plain", autosave=True)
    synced = open_store(kind, root / "synced", identity=me, sync_enabled=True, autosave=True)
    pulled = synced.last_sync()
    assert pulled is not None and pulled["error"] is None, pulled
    assert pulled["pulled"] == OTHER_DEVICE_MESSAGES, pulled
    stock(plain, stored)
    stock(synced, stored)
    synced.sync()  # the earlier sessions are in the folder before the measured sends
    sessions = {"plain": plain.create_session("notes"), "synced": synced.create_session("notes")}
    times: dict[str, list[float]] = {"plain": [], "synced": []}
    for i in range(WARM_UP + SENDS):
        for name, session in sessions.items():
            start = time.perf_counter()
            session.send(text(i))
            elapsed = time.perf_counter() - start
            if i >= WARM_UP:
                times[name].append(elapsed)

    last = synced.last_sync()
    assert last is not None and last["error"] is None and last["pushed"] == 1, last
    segments = len(list(folder.rglob("s-*.ams")))
    plain.close()
    synced.close()

    plain_median, plain_p95 = per_send(times["plain"])
    synced_median, synced_p95 = per_send(times["synced"])
    print(
        f"autosaved send(), {kind}, {stored:,} earlier sessions in the store, {SENDS} sends "
        f"each after {WARM_UP} to warm up"
    )
    print(f"  without sync:                {plain_median:6.2f} ms median, {plain_p95:6.2f} ms p95")
    print(
        f"  sync_enabled, folder remote: {synced_median:6.2f} ms median, {synced_p95:6.2f} ms p95"
    )
    print(f"  ratio (medians) {synced_median / plain_median:.1f}x")
    print(
        f"  the push per save: {synced_median - plain_median:.2f} ms (median), "
        f"{'well under' if synced_p95 < NOTICEABLE_MS / 2 else 'NOT well under'} "
        f"the ~{NOTICEABLE_MS:.0f} ms a person notices"
    )
    print(f"  (the folder ends with {segments} segment files from 2 devices)")


def main() -> None:
    for kind, stored in (("sqlite", 0), ("sqlite", STORED), ("json", STORED)):
        measure(kind, stored)


if __name__ == "__main__":
    main()
