"""A SQLite store of 1,000,000 messages in 10,000 sessions (100 each), plus one session of
20,000 messages and one of 1,000, for the scale benchmarks — written through the store's own
save, so every message is chained and indexed exactly as a user's would be.

Building takes a minute or two, so the file is cached between runs under
``benchmarks/.cache/`` (ignored by git), keyed by the code that writes the store and the
schema's migrations: a change to either builds a new store.
``python benchmarks/million_store.py`` builds it and prints its path.
"""

from __future__ import annotations

import hashlib
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.ids import new_id
from activemirror_jupyter.core.models import Message, SessionMetadata
from activemirror_jupyter.core.storage.sqlite_schema import MIGRATIONS
from activemirror_jupyter.core.timeutil import utcnow

CACHE = Path(__file__).resolve().parent / ".cache"
SESSIONS = 10_000
PER_SESSION = 100
BIG = 20_000
BIG_TITLE = "The big session"
THOUSAND = 1_000
THOUSAND_TITLE = "A thousand messages"
#: In one message in 100,000 (about ten in all).
RARE_WORD = "zeppelin"
#: In one message in ten (about 100,000).
COMMON_WORD = "notebook"
WORDS = (
    "plan idea data model kernel result figure table sample error hypothesis method review "
    "draft decision question answer coffee sprint weather city reading cleaning mean"
).split()


def key() -> str:
    """What the store's bytes depend on: the code that writes a SQLite store (the storage
    package, the journal, the models). A commit that leaves them alone reuses the cache."""
    core = Path(__file__).resolve().parent.parent / "activemirror_jupyter" / "core"
    digest = hashlib.sha256()
    for path in sorted([*core.glob("storage/*.py"), core / "journal.py", core / "models.py"]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return f"{digest.hexdigest()[:12]}-{len(MIGRATIONS)}"


def build(path: Path | None = None) -> Path:
    """The path of the million-message store, built if it is not cached yet."""
    path = path or CACHE / f"million-{key()}.db"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    for leftover in path.parent.glob(partial.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    rng = random.Random(1)
    with ActiveMirror(db_path=partial) as mirror:
        store = mirror.store
        store._db.execute("PRAGMA synchronous=OFF")  # building a benchmark fixture only
        t0 = utcnow() - timedelta(days=400)
        for i in range(SESSIONS):
            _save(store, f"Session {i}", PER_SESSION, t0 + timedelta(minutes=i), rng, i)
        _save(store, BIG_TITLE, BIG, t0 + timedelta(minutes=SESSIONS + 1), rng, SESSIONS)
        _save(store, THOUSAND_TITLE, THOUSAND, t0 + timedelta(minutes=SESSIONS + 2), rng, 0)
    partial.rename(path)
    for name in ("-wal", "-shm"):
        Path(str(partial) + name).unlink(missing_ok=True)
    if path.parent == CACHE:  # one cached store at a time: each is ~400 MB
        for older in CACHE.glob("million-*.db"):
            if older != path:
                older.unlink()
    print(f"built {path} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def _save(store, title: str, n: int, when, rng: random.Random, number: int) -> None:
    session_id = new_id("session")
    messages = []
    for j in range(n):
        words = [rng.choice(WORDS) for _ in range(12)]
        if j % 10 == 3:
            words.append(COMMON_WORD)
        if (number * PER_SESSION + j) % 100_000 == 7:
            words.append(RARE_WORD)
        messages.append(
            Message(
                new_id("msg"),
                session_id,
                "assistant" if j % 2 else "user",
                " ".join(words),
                when + timedelta(milliseconds=j),
            )
        )
    meta = SessionMetadata(session_id, title, None, None, "active", when, messages[-1].timestamp, 0)
    store.save(meta, messages)


if __name__ == "__main__":
    print(build())
