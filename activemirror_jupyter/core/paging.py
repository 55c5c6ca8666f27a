"""Paging, decided once: checking ``limit``/``offset``, where a page sits among ``total``
items counted from the newest end (as :meth:`Session.get_messages` pages), and its caption.

The stores, the session, the magics, the widgets and the HTTP API all page through here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


def check_page(limit: object, offset: object) -> None:
    """Raise ValueError unless ``limit`` is None or an int ≥ 0 and ``offset`` an int ≥ 0."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a non-negative integer or None, not {limit!r}")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValueError(f"offset must be a non-negative integer, not {offset!r}")


def page_bounds(total: int, limit: int | None, offset: int) -> tuple[int, int]:
    """Chronological positions ``[start, stop)`` of the page ``limit`` items long that ends
    ``offset`` items before the newest end of ``total`` items."""
    stop = max(total - offset, 0)
    start = 0 if limit is None else max(stop - limit, 0)
    return start, stop


def page_count(total: int, page_size: int) -> int:
    """Pages needed for ``total`` items; an empty list still has one (empty) page."""
    return max(1, math.ceil(total / page_size))


@dataclass(frozen=True)
class Page:
    """Where a page of ``limit`` items at ``offset`` (counted from the newest end) sits
    among ``total`` items. Pages are numbered from 1, the newest first."""

    total: int
    limit: int
    offset: int

    @classmethod
    def numbered(cls, total: int, limit: int, number: int) -> Page:
        """Page ``number`` (1 is the newest)."""
        return cls(total, limit, (number - 1) * limit)

    @property
    def number(self) -> int:
        return self.offset // self.limit + 1

    @property
    def count(self) -> int:
        return page_count(self.total, self.limit)

    @property
    def first(self) -> int:
        """Chronological position (1-based) of the page's oldest item."""
        return page_bounds(self.total, self.limit, self.offset)[0] + 1

    @property
    def last(self) -> int:
        return page_bounds(self.total, self.limit, self.offset)[1]

    def caption(self, noun: str = "messages") -> str:
        """``page 1 of 3 · messages 41–60 of 60 (page 1 is the newest)``."""
        where = (
            f"{noun} {self.first}–{self.last} of {self.total}"
            if self.last >= self.first
            else f"no {noun} here ({self.total} in all)"
        )
        return f"page {self.number} of {self.count} · {where} (page 1 is the newest)"
