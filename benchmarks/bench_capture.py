"""What autolog adds to a cell, measured in one run against the same cells with autolog off
(a real IPython shell, the magics' default SQLite store with autosave):

1. a cell with no output (``x = 1``): autolog off, on with ``--no-outputs``, and on with
   outputs — the added milliseconds; and one bare ``Session.send`` + save of such a message
   (the store's share of it). Goal: at most 5 ms added (median).
2. a cell drawing a 1-megapixel figure with the inline backend (the figure is encoded as PNG
   by the backend whether autolog is on or not): the added milliseconds, which include
   keeping the PNG as an attachment in the store.

Run: ``python benchmarks/bench_capture.py`` (about a minute; writes only to a temporary
folder). The script exits non-zero when the goal is missed.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from activemirror_jupyter import ActiveMirror

SMALL_RUNS = 300
FIGURE_RUNS = 15
FIGURE = (
    "fig = plt.figure(figsize=(10, 10), dpi=100)  # 1000 x 1000 pixels\n"
    "plt.plot(range(100), [i * i for i in range(100)])\n"
    "plt.title('one megapixel')\n"
    "None"
)


def make_shell(home: Path) -> Any:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "activemirror_jupyter")
    shell.run_line_magic("config", f"MirrorMagics.db_path = {str(home / 'bench.db')!r}")
    return shell


def inline_backend(shell: Any) -> None:
    """matplotlib's inline backend, as ipykernel sets it up (the plain shell has no GUI loop
    for ``%matplotlib inline`` to enable)."""
    from IPython.core.pylabtools import activate_matplotlib
    from matplotlib_inline.backend_inline import configure_inline_support

    inline = "module://matplotlib_inline.backend_inline"
    activate_matplotlib(inline)  # what %matplotlib inline does before it enables a GUI loop
    configure_inline_support(shell, inline)
    shell.run_cell("import matplotlib.pyplot as plt")


def cell_times(shell: Any, source: str, runs: int) -> list[float]:
    """Seconds for each of ``runs`` executions of ``source`` as a notebook cell (what the
    cell prints goes to /dev/null, as it would go to the front end)."""
    times = []
    with open(os.devnull, "w") as devnull:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            for _ in range(runs):
                start = time.perf_counter()
                result = shell.run_cell(source, store_history=True)
                times.append(time.perf_counter() - start)
                assert result.success, result.error_in_exec
        finally:
            sys.stdout = stdout
    return times


def quietly(shell: Any, line: str) -> None:
    with open(os.devnull, "w") as devnull:
        stdout, sys.stdout = sys.stdout, devnull
        try:
            shell.run_cell(line, store_history=True)
        finally:
            sys.stdout = stdout


def measured(shell: Any, source: str, runs: int, modes: dict[str, str]) -> dict[str, float]:
    """Median seconds per cell for each autolog mode (its magic line)."""
    found = {}
    for name, line in modes.items():
        quietly(shell, line)
        cell_times(shell, source, 3)  # warm up (imports, the store's first write)
        found[name] = statistics.median(cell_times(shell, source, runs))
    quietly(shell, "%mirror_session autolog off")
    return found


def bare_send(home: Path, runs: int) -> float:
    """Median seconds of one Session.send with autosave of a cell-sized message."""
    metadata = {"kind": "cell", "execution_count": 1, "duration_s": 0.0, "status": "ok"}
    with ActiveMirror(db_path=home / "bare.db", autosave=True) as mirror:
        session = mirror.create_session("bare")
        send: Callable[[], object] = lambda: session.send("x = 1", "system", metadata)  # noqa: E731
        send()
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            send()
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def logged_figure_bytes(shell: Any) -> int:
    magics = shell.magics_manager.registry["MirrorMagics"]
    last = magics.session.get_messages(limit=1)[0]
    return sum(a.size for a in last.attachments if a.mime_type == "image/png")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["ACTIVEMIRROR_HOME"] = str(home)
        os.environ["IPYTHONDIR"] = str(home / "ipython")
        shell = make_shell(home)
        quietly(shell, "%mirror_session new Benchmark")
        small = measured(
            shell,
            "x = 1",
            SMALL_RUNS,
            {
                "off": "%mirror_session autolog off",
                "no-outputs": "%mirror_session autolog on --no-outputs",
                "outputs": "%mirror_session autolog on",
            },
        )
        store = bare_send(home, SMALL_RUNS)
        inline_backend(shell)
        figure = measured(
            shell,
            FIGURE,
            FIGURE_RUNS,
            {"off": "%mirror_session autolog off", "outputs": "%mirror_session autolog on"},
        )
        quietly(shell, "%mirror_session autolog on")
        quietly(shell, FIGURE)
        png = logged_figure_bytes(shell)

    ms = 1e3
    added = (small["outputs"] - small["off"]) * ms
    print("A cell with no output (x = 1), median of", SMALL_RUNS, "runs:")
    print(f"  autolog off:              {small['off'] * ms:6.2f} ms")
    print(f"  autolog on --no-outputs:  {small['no-outputs'] * ms:6.2f} ms")
    print(f"  autolog on (outputs):     {small['outputs'] * ms:6.2f} ms  -> +{added:.2f} ms")
    print(f"  (one Session.send with autosave of such a message: {store * ms:.2f} ms)")
    fig_added = (figure["outputs"] - figure["off"]) * ms
    print(f"A 1-megapixel inline figure, median of {FIGURE_RUNS} runs ({png / 1e3:.0f} kB PNG):")
    print(f"  autolog off:              {figure['off'] * ms:6.1f} ms")
    print(f"  autolog on (outputs):     {figure['outputs'] * ms:6.1f} ms  -> +{fig_added:.1f} ms")
    if added > 5:
        print(f"GOAL MISSED: autolog adds {added:.2f} ms to a cell with no output (> 5 ms)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
