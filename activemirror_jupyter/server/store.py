"""The one worker thread that talks to the store on the server's behalf.

Every store call runs on this thread: the event loop never blocks on disk, and the store
sees one caller at a time whatever its own locking. The store is opened on first use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ..core.mirror import ActiveMirror

T = TypeVar("T")


class StoreThread:
    """Runs functions of an :class:`ActiveMirror` (made by ``opener`` on first use) on one
    worker thread."""

    def __init__(self, opener: Callable[[], ActiveMirror]) -> None:
        self._opener = opener
        self._mirror: ActiveMirror | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="activemirror")

    async def call(self, fn: Callable[[ActiveMirror], T]) -> T:
        """Run ``fn(mirror)`` on the store thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn)

    def _call(self, fn: Callable[[ActiveMirror], T]) -> T:
        if self._mirror is None:
            self._mirror = self._opener()
        return fn(self._mirror)

    def _close(self) -> None:
        if self._mirror is not None:
            self._mirror.close()
            self._mirror = None

    async def close(self) -> None:
        """Close the store (on its thread) and stop the thread."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
