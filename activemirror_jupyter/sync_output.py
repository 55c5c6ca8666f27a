"""What a sync shows, in a notebook (``%mirror_session sync``) and on the command line
(``activemirror sync``): its one line, "pushed N, pulled M ↔ remote", and a progress bar
that appears only for a sync of thousands of messages.

``mirror.sync(progress=bar)`` sets ``bar.total`` as it learns how many messages a push and a
pull carry, and advances it by what it sent and took in. :class:`GrowingBar` takes those
calls and makes the real ``tqdm`` bar only once the total reaches :data:`SHOWN_FROM`, so
the everyday sync of a few messages prints its line and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .core.sync.remotes import remote_text

__all__ = ["SHOWN_FROM", "GrowingBar", "remote_text", "report_line"]

#: A sync that moves at least this many messages shows a progress bar.
SHOWN_FROM = 1_000


def report_line(report: Any) -> str:
    """``pushed 3, pulled 5 ↔ /home/ada/Dropbox/activemirror``."""
    return f"pushed {report.pushed:,}, pulled {report.pulled:,} ↔ {remote_text(report.remote)}"


class GrowingBar:
    """A progress bar for ``mirror.sync(progress=…)`` that is made (by ``make(total)``, a
    ``tqdm`` bar) only once its total reaches ``shown_from`` (default :data:`SHOWN_FROM`);
    until then it only counts. Use it as a context manager, or call :meth:`close`."""

    def __init__(self, make: Callable[[int], Any], shown_from: int | None = None) -> None:
        self._make = make
        self._shown_from = SHOWN_FROM if shown_from is None else shown_from
        self._total = 0
        self._done = 0
        self.bar: Any = None  # the tqdm bar, once shown

    @property
    def total(self) -> int:
        return self._total

    @total.setter
    def total(self, value: int) -> None:
        self._total = value
        if self.bar is not None:
            self.bar.total = value
        elif value >= self._shown_from:
            self.bar = self._make(value)
            if self._done:
                self.bar.update(self._done)

    @property
    def n(self) -> int:
        """Messages moved so far."""
        return self._done

    def update(self, n: int = 1) -> None:
        self._done += n
        if self.bar is not None:
            self.bar.update(n)

    def refresh(self) -> None:
        if self.bar is not None:
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    def __enter__(self) -> GrowingBar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
