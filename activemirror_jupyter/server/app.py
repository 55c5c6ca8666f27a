"""The server extension app: where the store is, and one worker thread that talks to it.

Configured like any Jupyter server extension, in ``jupyter_server_config.py``::

    c.MirrorServer.storage_type = "json"
    c.MirrorServer.storage_path = "/data/conversations"

or on the command line (``jupyter lab --MirrorServer.db_path=/data/conversations.db``).
Unset options fall back to ActiveMirror's defaults, i.e. ``$ACTIVEMIRROR_HOME`` or the
platform data folder — the same store the magics use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, TypeVar

from jupyter_server.extension.application import ExtensionApp
from traitlets import Enum, Unicode

from .. import __version__
from .handlers import route_table

if TYPE_CHECKING:
    from ..core.mirror import ActiveMirror

T = TypeVar("T")


class MirrorServer(ExtensionApp):
    """Serves saved sessions read-only over HTTP to the JupyterLab "Mirror" sidebar.

    The vault is never opened here: nothing in this extension can reach it.
    """

    name = "activemirror_jupyter"
    description = "Read-only HTTP API over activemirror sessions"
    version = __version__
    load_other_extensions = True

    storage_type = Enum(
        ["sqlite", "json", "memory", "postgresql"],
        default_value="sqlite",
        config=True,
        help="Which store to serve: 'sqlite' (default), 'json', 'memory' or 'postgresql'.",
    )
    db_path = Unicode(
        None,
        allow_none=True,
        config=True,
        help="SQLite database file (default: $ACTIVEMIRROR_HOME/conversations.db).",
    )
    storage_path = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Folder of the JSON store (default: $ACTIVEMIRROR_HOME/conversations).",
    )
    dsn = Unicode(
        None,
        allow_none=True,
        config=True,
        help="PostgreSQL connection string, for storage_type='postgresql' "
        "(e.g. 'postgresql://alice@dbhost/activemirror'; keep the password in ~/.pgpass).",
    )

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._mirror: ActiveMirror | None = None
        # Every store call runs on this one thread: the event loop never blocks on disk,
        # and the store sees one caller at a time whatever its own locking.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="activemirror")

    def initialize_handlers(self) -> None:
        self.handlers.extend(route_table(self))
        self.log.info(
            "activemirror_jupyter: serving %s sessions at /activemirror/api/", self.storage_type
        )

    async def call(self, fn: Callable[[ActiveMirror], T]) -> T:
        """Run ``fn(mirror)`` on the store thread, opening the store on first use."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._call, fn)

    def _call(self, fn: Callable[[ActiveMirror], T]) -> T:
        if self._mirror is None:
            from ..core.mirror import ActiveMirror

            self._mirror = ActiveMirror(
                storage_type=self.storage_type,
                db_path=self.db_path,
                storage_path=self.storage_path,
                dsn=self.dsn,
            )
        return fn(self._mirror)

    def _close(self) -> None:
        if self._mirror is not None:
            self._mirror.close()
            self._mirror = None

    async def stop_extension(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
