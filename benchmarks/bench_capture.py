"""What autolog adds to a cell, measured in one run against the same cells with autolog off
(a real IPython shell, the magics' default SQLite store with autosave):

1. a cell with no output (``x = 1``): autolog off, on with ``--no-outputs``, and on with
   outputs — the added milliseconds; and one bare ``Session.send`` + save of such a message
   (the store's share of it). Goal: at most 5 ms inside autolog per such cell.
2. a cell drawing a 1-megapixel figure with the inline backend (the figure is encoded as PNG
   by the backend whether autolog is on or not) — a line plot, and an image of noise whose
   PNG hardly compresses: the added milliseconds, which include keeping the PNG as an
   attachment in the store.

Run: ``python benchmarks/bench_capture.py`` (under a minute; writes only to a temporary
folder). Besides the end-to-end medians, which a busy machine blurs, it times autolog's own
code per cell (its hooks and wrappers, and the store write inside them). The script exits
non-zero when the goal is missed.
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
FIGURE_RUNS = 30
# 1000 x 1000 pixels, shown once by the inline backend; a line plot compresses to a few
# tens of kB, an image of noise hardly compresses at all (the worst case for the PNG kept).
FIGURES = {
    "line plot": "plt.plot(range(100), [i * i for i in range(100)])",
    "image of noise": "plt.imshow(np.random.default_rng(0).random((800, 800)))",
}
FIGURE = "fig = plt.figure(figsize=(10, 10), dpi=100)\n{drawing}\nplt.show()\nplt.close(fig)\nNone"


class Stopwatch:
    """Time spent inside autolog's own code, in total: its cell hooks (``pre_run_cell``,
    ``post_run_cell``) and the recording wrappers (which encode the outputs), and of that,
    in ``Session.send`` (the store write). Installed on the classes before the extension
    loads, so the hooks it registers are the timed ones."""

    def __init__(self) -> None:
        from activemirror_jupyter.capture.outputs import OutputRecorder
        from activemirror_jupyter.core.session import Session
        from activemirror_jupyter.magics import MirrorMagics

        self.totals = {"autolog": 0.0, "store": 0.0}
        for cls, name, kind in (
            (MirrorMagics, "_pre_run_cell", "autolog"),
            (MirrorMagics, "_post_run_cell", "autolog"),
            (OutputRecorder, "_guard", "autolog"),
            (Session, "send", "store"),
        ):
            setattr(cls, name, self._timed(getattr(cls, name), kind))

    def _timed(self, function: Callable[..., Any], kind: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.totals[kind] += time.perf_counter() - start

        return timed

    def reset(self) -> None:
        self.totals = dict.fromkeys(self.totals, 0.0)


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
    shell.run_cell("import matplotlib.pyplot as plt\nimport numpy as np")


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


def measured(
    shell: Any, source: str, runs: int, modes: dict[str, str], watch: Stopwatch
) -> dict[str, float]:
    """Median seconds per cell for each autolog mode (its magic line), and the mean seconds
    per cell spent in autolog's code (``own``) and in the store write (``store``) with
    outputs on. The modes take turns, one cell each, so a machine that slows down or speeds
    up meanwhile weighs on all alike."""
    found: dict[str, list[float]] = {name: [] for name in modes}
    for line in modes.values():  # warm up (imports, the store's first write)
        quietly(shell, line)
        cell_times(shell, source, 3)
    own = store = 0.0
    for _ in range(runs):
        for name, line in modes.items():
            quietly(shell, line)
            watch.reset()
            found[name] += cell_times(shell, source, 1)
            if name == "outputs":
                own += watch.totals["autolog"]
                store += watch.totals["store"]
    quietly(shell, "%mirror_session autolog off")
    medians = {name: statistics.median(times) for name, times in found.items()}
    return {**medians, "own": own / runs, "store": store / runs}


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


def own_line(found: dict[str, float]) -> str:
    own, store = found["own"] * 1e3, found["store"] * 1e3
    return (
        f"  inside autolog, per cell: {own:.2f} ms = store write {store:.2f} ms + capture and "
        f"encoding {own - store:.2f} ms"
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["ACTIVEMIRROR_HOME"] = str(home)
        os.environ["IPYTHONDIR"] = str(home / "ipython")
        watch = Stopwatch()
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
            watch,
        )
        store = bare_send(home, SMALL_RUNS)
        inline_backend(shell)
        figures = {}
        for name, drawing in FIGURES.items():
            source = FIGURE.format(drawing=drawing)
            figures[name] = measured(
                shell,
                source,
                FIGURE_RUNS,
                {"off": "%mirror_session autolog off", "outputs": "%mirror_session autolog on"},
                watch,
            )
            quietly(shell, "%mirror_session autolog on")
            quietly(shell, source)
            figures[name]["png"] = logged_figure_bytes(shell)
            quietly(shell, "%mirror_session autolog off")

    ms = 1e3
    added = (small["outputs"] - small["off"]) * ms
    print(f"A cell with no output (x = 1), median of {SMALL_RUNS} runs:")
    print(f"  autolog off:              {small['off'] * ms:7.2f} ms")
    print(f"  autolog on --no-outputs:  {small['no-outputs'] * ms:7.2f} ms")
    print(f"  autolog on (outputs):     {small['outputs'] * ms:7.2f} ms  -> +{added:.2f} ms")
    print(own_line(small))
    print(f"  (one Session.send with autosave of such a message, alone: {store * ms:.2f} ms)")
    for name, figure in figures.items():
        fig_added = (figure["outputs"] - figure["off"]) * ms
        size = figure["png"] / 1e3
        print(f"A 1-megapixel inline figure, {name} ({size:,.0f} kB PNG), median of {FIGURE_RUNS}:")
        print(f"  autolog off:              {figure['off'] * ms:7.1f} ms")
        print(
            f"  autolog on (outputs):     {figure['outputs'] * ms:7.1f} ms  -> +{fig_added:.1f} ms"
        )
        print(own_line(figure))
    if small["own"] > 0.005:
        own = small["own"] * ms
        print(f"GOAL MISSED: autolog takes {own:.2f} ms of a cell with no output (> 5 ms)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
