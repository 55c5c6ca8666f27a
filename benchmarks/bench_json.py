"""JSON-folder store: listing from the index, appending to a big session, export/import.

Every figure is measured in this one run, against a baseline measured in the same run:

1. ``list_sessions()`` on a folder of 1,000 sessions vs opening and parsing every session
   file (what a store without ``sessionMeta`` in its index would have to do), with sessions
   of 5 and of 50 messages. Two figures for ours: index.json re-read (a fresh process, or
   another kernel just wrote) and index unchanged (a stat shows it; the parsed index is
   reused). Goal: ≥ 20x; the script fails if listing with an unchanged index misses it.
2. A one-message autosave into a 10,000-message session among 10,000 sessions (goal: under
   5 ms): ours appends a line to the journal; the baseline is the same save followed by a
   fold — rewriting the session file and ``index.json``, which is what every save did before
   the journal (0.1).
3. A one-message autosave into a small folder (21 sessions, the longest of 200 messages),
   where every save is folded into the files at once so they are always current: against
   the same save only journaled.
4. Export and import of a 10,000-message session (messages/s).

Run: ``python benchmarks/bench_json.py`` (a few seconds; writes only to a temporary folder).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from timing import best_of, median_of

from activemirror_jupyter import ActiveMirror, import_session
from activemirror_jupyter.core.storage import jsonfiles


def bench_listing(root: Path, messages_per_session: int) -> tuple[float, float]:
    """Returns (cold ratio, warm ratio) against opening every session file."""
    folder = root / f"listing-{messages_per_session}"
    # Set-up: one session saved through the API, copied to 1,000 session files (without
    # 2,000 fsyncs); opening the folder then builds index.json from them, as for a folder
    # the JavaScript SDK wrote.
    with ActiveMirror("json", storage_path=folder) as mirror:
        session = mirror.create_session("Session 0")
        for j in range(messages_per_session):
            session.send(f"message {j} of a session, with some words to search")
        session.save()
    template = json.loads((folder / f"{session.id}.json").read_bytes())
    for i in range(1, 1_000):
        sid = f"{session.id}_{i:04d}"
        copy = dict(template, id=sid, title=f"Session {i}")
        copy["messages"] = [dict(m, sessionId=sid) for m in template["messages"]]
        (folder / f"{sid}.json").write_text(json.dumps(copy, indent=2), encoding="utf-8")
    with ActiveMirror("json", storage_path=folder) as mirror:
        files = sorted(folder.glob("session_*.json"))

        def open_every_file() -> list:
            sessions = []
            for path in files:
                data = json.loads(path.read_bytes())
                data.pop("messages")
                sessions.append(data)
            sessions.sort(key=lambda s: s["updatedAt"], reverse=True)
            return sessions

        def list_cold() -> list:
            # As in a fresh process, or after another kernel wrote: index.json is re-read.
            mirror.store._folder.forget()
            mirror.store._view_cache = None
            return mirror.list_sessions()

        assert len(list_cold()) == len(open_every_file()) == 1_000
        baseline = best_of(open_every_file, 5)
        cold = best_of(list_cold, 5)
        warm = best_of(mirror.list_sessions, 20)  # index.json unchanged since the last call
    print(
        f"list_sessions(), 1,000 sessions of {messages_per_session} messages: opening every "
        f"file {baseline * 1e3:.1f} ms; index.json re-read {cold * 1e3:.1f} ms "
        f"({baseline / cold:.0f}x faster); index unchanged {warm * 1e3:.2f} ms "
        f"({baseline / warm:.0f}x faster)"
    )
    return baseline / cold, baseline / warm


def bench_autosave_at_scale(root: Path) -> float:
    """ms of a one-message autosave with the journal, and the ratio to rewriting the files."""
    folder = root / "scale"
    with ActiveMirror("json", storage_path=folder) as mirror:
        big = mirror.create_session("Big")
        for i in range(10_000):
            big.send(f"message number {i}: a typical note of about eighty characters long")
        big.save()
        small = mirror.create_session("Small")
        small.send("one of ten thousand sessions")
        small.save()
    template = json.loads((folder / f"{small.id}.json").read_bytes())
    for i in range(1, 10_000):  # copies, without 20,000 fsyncs; the next open indexes them
        sid = f"{small.id}_{i:05d}"
        copy = dict(
            template, id=sid, messages=[dict(m, sessionId=sid) for m in template["messages"]]
        )
        (folder / f"{sid}.json").write_text(json.dumps(copy), encoding="utf-8")
    with ActiveMirror("json", storage_path=folder, autosave=True) as mirror:
        assert mirror.count_sessions() == 10_001
        session = mirror.load_session(big.id)
        session.send("warm-up: the session file is parsed once")

        def journaled() -> None:
            session.send("one more thought")

        def rewritten() -> None:
            session.send("one more thought")
            with mirror.store._locked("fold"):
                mirror.store._fold()

        t_journal = median_of(journaled, 41)
        t_rewrite = median_of(rewritten, 11)
    print(
        f"one-message autosave, 10,000-message session among 10,000 sessions: journal "
        f"{t_journal * 1e3:.2f} ms vs rewriting the session file and index.json "
        f"{t_rewrite * 1e3:.1f} ms ({t_rewrite / t_journal:.0f}x faster; goal < 5 ms)"
    )
    return t_journal


def bench_autosave_small(root: Path) -> None:
    """ms of a one-message autosave in a small folder (folded at once) vs only journaled."""
    with ActiveMirror("json", storage_path=root / "small", autosave=True) as mirror:
        for i in range(20):
            other = mirror.create_session(f"Session {i}")
            for j in range(20):
                other.send(f"message number {j}: a typical note of about eighty characters")
        session = mirror.create_session("Target")
        for j in range(200):
            session.send(f"message number {j}: a typical note of about eighty characters")

        def send() -> None:
            session.send("one more thought")

        t_folded = median_of(send, 41)
        limit = jsonfiles.FOLD_AT_ONCE_BYTES
        jsonfiles.FOLD_AT_ONCE_BYTES = -1
        try:
            t_journal = median_of(send, 41)
        finally:
            jsonfiles.FOLD_AT_ONCE_BYTES = limit
    print(
        f"one-message autosave, small folder (files kept current): folded at once "
        f"{t_folded * 1e3:.2f} ms vs journal only {t_journal * 1e3:.2f} ms "
        f"({t_folded / t_journal:.1f}x; goal < 5 ms)"
    )


def bench_export_import(root: Path) -> tuple[float, float]:
    with ActiveMirror("json", storage_path=root / "export-src") as source:
        session = source.create_session("Ten thousand")
        for i in range(10_000):
            session.send(f"message number {i}: a typical note of about eighty characters long")
        session.save()
        loaded = source.load_session(session.id)
        start = time.perf_counter()
        text = loaded.export("json")
        export_s = time.perf_counter() - start
    with ActiveMirror("json", storage_path=root / "export-dst") as target:
        start = time.perf_counter()
        imported = import_session(text, target)
        import_s = time.perf_counter() - start
        assert imported.message_count == 10_000
    print(
        f"export 10,000 messages as JSON: {export_s * 1e3:.0f} ms "
        f"({10_000 / export_s:,.0f} messages/s, {len(text) / 1e6:.1f} MB); "
        f"import: {import_s * 1e3:.0f} ms ({10_000 / import_s:,.0f} messages/s)"
    )
    return export_s, import_s


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-json-") as tmp:
        root = Path(tmp)
        bench_listing(root, 5)
        cold, warm = bench_listing(root, 50)
        autosave = bench_autosave_at_scale(root)
        bench_autosave_small(root)
        bench_export_import(root)
    if warm < 20:
        print(f"FAIL: listing is only {warm:.1f}x faster than opening every file (goal 20x)")
        return 1
    if autosave > 0.005:
        print(f"NOTE: a one-message autosave took {autosave * 1e3:.1f} ms (goal < 5 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
