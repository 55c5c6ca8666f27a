"""Search by meaning at scale (PRODUCT.md, "Scale 0.3"), ratios measured in one run:

- ``search_similar`` over 100,000 saved messages whose vectors exist: ≤ 50 ms; and the
  same search right after a save (the index reads what changed, not every message);
- making the vectors of 10,000 new messages ≤ 2x the model's own embedding of their texts
  (WordLlama's ``WordLlamaInference.embed``, normalised);
- and, for the choice of the SQLite store's vectors (see ``sqlite_vectors``), ranking 100,000
  vectors with ``sqlite-vec``'s ``vec_distance_cosine`` in SQL against one NumPy product.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.search.model import load_model

WORDS = (
    "rain sun wind model data plot grant meeting parser bug coffee Oslo Bergen experiment "
    "result sample protein cell growth paper draft review deadline server memory cache "
    "river mountain autumn winter budget figure table notebook kernel"
).split()


def texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(6, 24))) + f" #{i}" for i in range(n)]


def fill(mirror: ActiveMirror, items: list[str], per_session: int = 1000) -> None:
    for start in range(0, len(items), per_session):
        session = mirror.create_session(f"Log {start // per_session}")
        for text in items[start : start + per_session]:
            session.send(text)
        session.save()


def timed(fn, runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    model = load_model()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "conversations.db"
        with ActiveMirror("sqlite", db_path=db) as mirror:
            fill(mirror, texts(100_000, 1))
            mirror.search_similar("warm-up: makes the 100,000 vectors")
            search = timed(lambda: mirror.search_similar("how much rain falls in Norway"))
            print(f"search_similar over 100,000 messages: {search * 1000:.1f} ms (target ≤ 50 ms)")
            note = mirror.create_session("today")
            note.send("it rained all day in Bergen")
            note.save()

            def after_a_save() -> None:
                note.send("more rain")
                note.save()
                mirror.search_similar("how much rain falls in Norway")

            saved = timed(after_a_save)
            print(
                f"  the same search after a save (one new note): {saved * 1000:.1f} ms, "
                f"{saved / search:.1f}x an unchanged store's (only the saved session is read)"
            )
            vec_s, numpy_s = sqlite_vec_vs_numpy(db, mirror)
            if vec_s != vec_s:
                print("sqlite-vec: not loadable here (no extension loading, or not installed)")
            else:
                print(
                    f"ranking 100,000 vectors: sqlite-vec {vec_s * 1000:.1f} ms, NumPy product "
                    f"{numpy_s * 1000:.1f} ms: sqlite-vec / NumPy = {vec_s / numpy_s:.1f}x"
                )
        new = texts(10_000, 2)
        with ActiveMirror("sqlite", db_path=Path(tmp) / "fresh.db") as mirror:
            fill(mirror, new)
            t = time.perf_counter()
            mirror.search_similar("rain")  # makes the 10,000 vectors
            making = time.perf_counter() - t
        from tokenizers import Tokenizer
        from wordllama.inference import WordLlamaInference

        theirs = WordLlamaInference(model.table, Tokenizer.from_str(model.tokenizer.to_str()))
        own = timed(lambda: theirs.embed(new, norm=True), runs=3)
        print(
            f"making vectors for 10,000 new messages: {making:.2f} s; the model's own "
            f"embedding of their texts: {own:.2f} s: ratio {making / own:.2f}x (target ≤ 2x)"
        )


def sqlite_vec_vs_numpy(db: Path, mirror: ActiveMirror) -> tuple[float, float]:
    """The closest 10 of the stored vectors, in SQL with sqlite-vec and with NumPy."""
    try:
        import sqlite_vec
    except ImportError:
        return float("nan"), 1.0
    query = load_model().embed(["how much rain falls in Norway"])[0]
    raw = sqlite3.connect(db)
    if not hasattr(raw, "enable_load_extension"):  # Python built without extension loading
        return float("nan"), 1.0
    raw.enable_load_extension(True)
    sqlite_vec.load(raw)
    raw.create_function("f32", 1, lambda b: np.frombuffer(b, "<f2").astype("<f4").tobytes())
    raw.execute(
        "CREATE TEMP TABLE v AS SELECT message_id, f32(vector) AS vector FROM message_vectors"
    )
    blob = query.astype("<f4").tobytes()
    in_sql = timed(
        lambda: raw.execute(
            "SELECT message_id FROM v ORDER BY vec_distance_cosine(vector, ?) LIMIT 10", (blob,)
        ).fetchall(),
        runs=3,
    )
    matrix = mirror._meaning._columns.vectors
    in_numpy = timed(lambda: np.argpartition(-(matrix @ query), 10)[:10])
    return in_sql, in_numpy


if __name__ == "__main__":
    main()
