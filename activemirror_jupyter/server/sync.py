"""``GET /activemirror/api/sync``: the store's last sync, for the sidebar's status line —
``{"last": {"at", "remote", "pushed", "pulled", "error"} | null}``.

Read from the store (:meth:`ActiveMirror.last_sync`), where every sync records itself,
whichever process ran it (a kernel, the command line): the server never syncs, it only
tells. ``at`` is ISO 8601 UTC; ``remote`` the folder (or DSN) as the sync was given it;
``error`` the failed sync's message, or null when it worked.
"""

from __future__ import annotations

from typing import Any

import tornado.web

from ..core.errors import SyncError
from ..core.mirror import ActiveMirror
from .base import MirrorHandler, without_paths


def change_token(mirror: ActiveMirror) -> str:
    """``GET …/changes``' token: the store's version and the time of its last sync. A sync
    that changed no session (it only pushed, or it failed) is news for the sync line too,
    and a JSON folder's version does not move for it."""
    try:
        last = mirror.last_sync()
    except SyncError:  # a damaged record: GET …/sync says so; the poll goes on
        last = None
    at = last.get("at") if isinstance(last, dict) else None
    version = mirror.changes().token
    return version if not isinstance(at, str) else f"{version}@{at}"


#: The fields of ``last``, whatever else a future version records beside them.
FIELDS = ("at", "remote", "pushed", "pulled", "error")


class SyncHandler(MirrorHandler):
    """``GET /activemirror/api/sync`` → ``{"last": {…} | null}``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        def last(mirror: ActiveMirror) -> dict[str, Any] | None:
            return mirror.last_sync()

        try:
            found = await self.call(last)
        except SyncError as error:  # the record is damaged: the store's problem, said so
            self.log.error("activemirror_jupyter: %s", error)
            raise tornado.web.HTTPError(500, "%s", without_paths(str(error))) from None
        if not isinstance(found, dict):
            self.write_json({"last": None})
            return
        self.write_json({"last": {name: found.get(name) for name in FIELDS}})
