"""The server extension app: where the store is (:class:`~..settings.StoreSettings`), and
the worker thread that talks to it.

Configured like any Jupyter server extension, in ``jupyter_server_config.py``::

    c.MirrorServer.storage_type = "json"
    c.MirrorServer.storage_path = "/data/conversations"

or on the command line (``jupyter lab --MirrorServer.db_path=/data/conversations.db``).
Unset options fall back to ActiveMirror's defaults, i.e. ``$ACTIVEMIRROR_HOME`` or the
platform data folder — the same store the magics use.
"""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp

from .._version import __version__
from ..settings import StoreSettings
from .handlers import route_table
from .store import StoreThread


class MirrorServer(ExtensionApp, StoreSettings):
    """Serves saved sessions over HTTP to the JupyterLab "Mirror" sidebar.

    The vault is never opened here: nothing in this extension can reach it.
    """

    name = "activemirror_jupyter"
    description = "HTTP API over activemirror sessions"
    version = __version__
    load_other_extensions = True

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.store = StoreThread(self.open_mirror)

    def initialize_handlers(self) -> None:
        self.handlers.extend(route_table(self.store))
        self.log.info(
            "activemirror_jupyter: serving %s sessions at /activemirror/api/", self.storage_type
        )

    async def stop_extension(self) -> None:
        await self.store.close()
