"""Waiting for a condition with a deadline — never for a length of time.

A loaded machine makes everything slower, but not in any predictable way: tests wait for the
state they need (a process said it is ready, the clock moved past a timestamp) and give up,
loudly, only after a generous deadline.
"""

from __future__ import annotations

import select
import subprocess
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TypeVar

T = TypeVar("T")

#: Seconds before a wait gives up: generous for two busy cores.
DEADLINE = 120.0


def wait_until(
    condition: Callable[[], T],
    what: str,
    *,
    timeout: float = DEADLINE,
    interval: float = 0.01,
) -> T:
    """Call ``condition`` until it returns something true and return that; fail naming
    ``what`` if ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def wait_for_clock_past(moment: datetime) -> None:
    """Return once the UTC clock reads later than ``moment``, so the next timestamp the code
    takes is strictly newer (timestamps have microsecond resolution: this is rarely a wait)."""
    wait_until(
        lambda: datetime.now(timezone.utc) > moment,
        f"the clock to pass {moment.isoformat()}",
        interval=0.0001,
    )


def read_line(process: subprocess.Popen[str], what: str, *, timeout: float = DEADLINE) -> str:
    """The next line ``process`` prints on its stdout (a pipe); fail naming ``what`` if none
    comes within ``timeout`` seconds, or if the process exits first."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
    line = process.stdout.readline()  # type: ignore[union-attr]
    if not line:
        raise AssertionError(f"the process exited ({process.wait()}) before {what}")
    return line
