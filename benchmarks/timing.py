"""Timing helpers shared by the benchmark scripts (run as ``python benchmarks/bench_x.py``)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def run_times(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall time of each of ``repeat`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    """The fastest of ``repeat`` runs (the least disturbed by other processes)."""
    return min(run_times(fn, repeat))


def median_of(fn: Callable[[], object], repeat: int = 3) -> float:
    """The median of ``repeat`` runs."""
    return statistics.median(run_times(fn, repeat))
