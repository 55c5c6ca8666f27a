"""Folder sync benchmark, every figure a ratio measured in one run.

Run: ``.venv/bin/python benchmarks/bench_sync.py``. SQLite stores, one identity.

- push: ``sync(folder)`` of 10,000 new messages (100 sessions, one in ten with a small
  attachment) against ``export_all_data`` of the same store written to one file
  (ratio = export time / push time; target ≥ 0.25x);
- pull: a second device's ``sync(folder)`` taking them in against a plain ``save()`` of
  the same messages into a fresh store (ratio = save time / pull time; target ≥ 0.5x);
- nothing new: ``sync()`` of a store of 10,000 sessions with a folder of 1,000 segment
  files against listing that folder (target: within a few ms of the listing).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sync_devices import identities  # noqa: E402

from activemirror_jupyter import ActiveMirror, Attachment, export_all_data  # noqa: E402

MESSAGES = 10_000
SESSIONS = 100


def fill(mirror: ActiveMirror) -> list:
    sessions = []
    for i in range(SESSIONS):
        s = mirror.create_session(f"session {i}", tags=["bench"])
        for j in range(MESSAGES // SESSIONS):
            files = (
                [Attachment.from_bytes("out.txt", "text/plain", f"out {i} {j}".encode())]
                if j % 10 == 0
                else None
            )
            s.send(f"note {j} of session {i}: the reading was {j * 0.37:.2f}", attachments=files)
        s.save()
        sessions.append(s)
    return sessions


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    a_id, b_id, c_id = identities(root, 3)
    folder = root / "shared"
    folder.mkdir()
    a = ActiveMirror("sqlite", db_path=root / "a.db", identity=a_id)
    fill(a)

    def export() -> None:
        (root / "bundle.json").write_text(json.dumps(export_all_data(a)))

    export_s = timed(export)
    push_s = timed(lambda: a.sync(folder))
    print(f"push 10,000 messages: {push_s:.2f} s; export_all_data to a file: {export_s:.2f} s")
    print(f"  ratio {export_s / push_s:.2f}x (target >= 0.25x)")

    b = ActiveMirror("sqlite", db_path=root / "b.db", identity=b_id)
    pull_s = timed(lambda: b.sync(folder))
    plain = ActiveMirror("sqlite", db_path=root / "plain.db")
    copies = []
    for meta in a.list_sessions():
        s = plain.create_session(meta.title, tags=list(meta.tags))
        for m in a.saved_messages(meta.session_id):
            files = [Attachment.from_bytes(x.name, x.mime_type, x.read()) for x in m.attachments]
            s.send(m.content, attachments=files or None)
        copies.append(s)
    save_s = timed(lambda: [s.save() for s in copies])
    print(f"pull 10,000 messages: {pull_s:.2f} s; save() of them: {save_s:.2f} s")
    print(f"  ratio {save_s / pull_s:.2f}x (target >= 0.5x)")

    # nothing new: a store of 10,000 sessions, a folder of 1,000 files
    c = ActiveMirror("sqlite", db_path=root / "c.db", identity=c_id)
    for i in range(10_000):
        c.create_session(f"s{i}").save()
    small = ActiveMirror("sqlite", db_path=root / "small.db", identity=a_id)
    for i in range(1_000 - len(list(folder.rglob("*.ams")))):
        small.create_session(f"f{i}").save()
        small.sync(folder)
    c.sync(folder)
    c.sync(folder)
    files = len(list(folder.rglob("*.ams")))

    def listing() -> None:
        for entry in os.scandir(folder / "activemirror-sync" / "v1"):
            if entry.is_dir():
                os.listdir(entry.path)

    list_s = min(timed(listing) for _ in range(5))
    noop_s = min(timed(lambda: c.sync(folder)) for _ in range(5))
    print(
        f"sync with nothing new (10,000 sessions, {files} files): {noop_s * 1000:.1f} ms; "
        f"listing the folder: {list_s * 1000:.1f} ms; {(noop_s - list_s) * 1000:.1f} ms more"
    )


if __name__ == "__main__":
    main()
