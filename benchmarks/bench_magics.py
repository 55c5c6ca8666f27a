"""The magics' overhead over the core API, measured in one run against its own baseline:

1. ``%%mirror_send`` with autosave (parse, send, write) vs a bare ``Session.send`` +
   ``save`` on the same kind of store (SQLite): the ratio, per message. Goal: under 3x.
2. ``%load_ext activemirror_jupyter`` in a fresh interpreter (imports included), vs the
   time to import IPython itself there (the baseline every extension pays).
3. ``%mirror_session messages`` (one page of 20, as a DataFrame) on a 10,000-message
   session, vs ``Session.get_messages(limit=20)`` alone. Goal: under 50 ms.

Run: ``python benchmarks/bench_magics.py`` (a few seconds; writes only to a temporary folder).
The script exits non-zero when a goal is missed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import best_of

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.magics import load_ipython_extension

SENDS = 300


def shell_with_extension(home: Path):  # noqa: ANN201 - IPython's shell
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    load_ipython_extension(shell)  # a second call keeps the magics already loaded
    shell.run_line_magic("config", f"MirrorMagics.db_path = {str(home / 'magics.db')!r}")
    return shell


def bench_send(home: Path) -> tuple[float, float]:
    """Seconds per message: (bare send + save, %%mirror_send with autosave)."""
    with ActiveMirror(db_path=home / "bare.db") as mirror:
        session = mirror.create_session("bare")
        session.save()

        def bare() -> None:
            for i in range(SENDS):
                session.send(f"note {i}")
                session.save()

        bare_time = best_of(bare, 3) / SENDS

    shell = shell_with_extension(home)
    shell.run_line_magic("mirror_session", "new magics")
    magics = shell.magics_manager.registry["MirrorMagics"]
    devnull = open(os.devnull, "w")  # noqa: SIM115 - the magic's one-line report goes here

    def magic() -> None:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            for i in range(SENDS):
                shell.run_cell_magic("mirror_send", "", f"note {i}")
        finally:
            sys.stdout = stdout

    magic_time = best_of(magic, 3) / SENDS
    assert magics.session.unsaved_count == 0
    devnull.close()
    return bare_time, magic_time


def bench_load_ext() -> tuple[float, float]:
    """Seconds in a fresh interpreter: (import IPython + make a shell, %load_ext)."""
    code = (
        "import time; t0 = time.perf_counter()\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "from traitlets.config import Config\n"
        "c = Config(); c.HistoryManager.hist_file = ':memory:'\n"
        "shell = InteractiveShell.instance(config=c)\n"
        "t1 = time.perf_counter()\n"
        "shell.run_line_magic('load_ext', 'activemirror_jupyter')\n"
        "t2 = time.perf_counter()\n"
        "print(t1 - t0, t2 - t1)\n"
    )
    runs = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        runs.append((float(out[0]), float(out[1])))
    return min(r[0] for r in runs), min(r[1] for r in runs)


def bench_messages(home: Path) -> tuple[float, float]:
    """Seconds for one page of 20 of a 10,000-message session: (core, magic + DataFrame)."""
    shell = shell_with_extension(home)
    with ActiveMirror(db_path=home / "magics.db") as mirror:
        big = mirror.create_session("big")
        for i in range(10_000):
            big.send(f"message number {i} with a few words of text")
        big.save()
        core_time = best_of(lambda: mirror.load_session(big.id).get_messages(limit=20), 20)
    shell.run_line_magic("mirror_session", f"load {big.id}")
    devnull = open(os.devnull, "w")  # noqa: SIM115

    def page() -> None:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            frame = shell.run_line_magic("mirror_session", "messages --page 3")
        finally:
            sys.stdout = stdout
        assert len(frame) == 20

    magic_time = best_of(page, 20)
    devnull.close()
    return core_time, magic_time


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["ACTIVEMIRROR_HOME"] = str(home)
        os.environ["IPYTHONDIR"] = str(home / "ipython")
        bare, magic = bench_send(home)
        ipython, load_ext = bench_load_ext()
        core_page, magic_page = bench_messages(home)

    ratio = magic / bare
    print(f"%%mirror_send + autosave: {magic * 1e3:.2f} ms/message")
    print(f"Session.send + save:      {bare * 1e3:.2f} ms/message  -> ratio {ratio:.2f}x")
    print(f"%load_ext activemirror_jupyter: {load_ext * 1e3:.0f} ms")
    print(f"  (import IPython + make a shell, the baseline: {ipython * 1e3:.0f} ms)")
    print(f"%mirror_session messages on 10,000 messages: {magic_page * 1e3:.1f} ms")
    print(f"  (Session.get_messages(limit=20) alone: {core_page * 1e3:.1f} ms)")
    failed = []
    if ratio > 3:
        failed.append(f"%%mirror_send overhead {ratio:.2f}x > 3x")
    if magic_page > 0.05:
        failed.append(f"messages page {magic_page * 1e3:.1f} ms > 50 ms")
    for problem in failed:
        print(f"GOAL MISSED: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
