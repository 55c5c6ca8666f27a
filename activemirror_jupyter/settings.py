"""Which store to open: the traitlets options the magics and the server extension share.

``StoreSettings`` is a mixin of configurable traits. Set them per class
(``c.MirrorMagics.db_path``, ``c.MirrorServer.storage_type``) or for both at once
(``c.StoreSettings.db_path``); unset options fall back to ActiveMirror's defaults, i.e.
``$ACTIVEMIRROR_HOME`` or the platform data folder, so the magics and the sidebar see the
same store unless told otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from traitlets import Enum, Unicode
from traitlets.config import Configurable

from .core.mirror import ActiveMirror
from .core.storage import BACKENDS


class StoreSettings(Configurable):
    storage_type = Enum(
        list(BACKENDS),
        default_value="sqlite",
        help=f"Where sessions are kept: {', '.join(BACKENDS)}.",
    ).tag(config=True)
    db_path = Unicode(
        None, allow_none=True, help="SQLite file (default $ACTIVEMIRROR_HOME/conversations.db)."
    ).tag(config=True)
    storage_path = Unicode(
        None, allow_none=True, help="JSON folder (default $ACTIVEMIRROR_HOME/conversations)."
    ).tag(config=True)
    dsn = Unicode(
        None,
        allow_none=True,
        help="PostgreSQL connection string, for storage_type='postgresql' "
        "(e.g. 'postgresql://alice@dbhost/activemirror'; keep the password in ~/.pgpass).",
    ).tag(config=True)

    #: The options above, by name: observing them tells when the store must be reopened.
    STORE_TRAITS = ("storage_type", "db_path", "storage_path", "dsn")

    def open_mirror(self, **options: Any) -> ActiveMirror:
        """An :class:`ActiveMirror` over the configured store (``options``: autosave, …)."""
        return ActiveMirror(
            self.storage_type,
            db_path=expand_path(self.db_path),
            storage_path=expand_path(self.storage_path),
            dsn=self.dsn,
            **options,
        )


def expand_path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None
