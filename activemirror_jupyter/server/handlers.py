"""The API's routes: ``/activemirror/api/…``, JSON in and out (exports and attachments are
served as their own types). What each handler does is in the module named after it:

- :mod:`.sessions` — ``sessions`` (list, create), ``sessions/{id}``, ``changes``
- :mod:`.messages` — ``sessions/{id}/messages`` (page, add), ``…/messages/{message_id}``,
  ``…/messages/{message_id}/attachments/{name}``
- :mod:`.redactions` — ``…/messages/{message_id}/redact``
- :mod:`.exports` — ``sessions/{id}/export``
- :mod:`.search` — ``search``
- :mod:`.integrity` — ``verify``
- :mod:`.sync` — ``sync`` (the store's last sync)

Every id and parameter is checked before it reaches the store (:mod:`.base`), so a bad
request is a 400 naming what is wrong and an unknown session a 404, never a 500. Nothing
here can reach the vault.
"""

from __future__ import annotations

from typing import Any

from .base import API_PREFIX, MirrorHandler
from .exports import ExportHandler
from .integrity import VerifyHandler
from .messages import AttachmentHandler, MessageHandler, MessagesHandler
from .redactions import RedactHandler
from .search import SearchHandler
from .sessions import ChangesHandler, SessionHandler, SessionsHandler
from .store import StoreThread
from .sync import SyncHandler


def route_table(store: StoreThread) -> list[tuple[str, type[MirrorHandler], dict[str, Any]]]:
    """The API's routes; ids are any one path segment, checked by the handlers."""
    kwargs = {"store": store}
    session = API_PREFIX + r"/sessions/([^/]+)"
    message = session + r"/messages/([^/]+)"
    return [
        (API_PREFIX + r"/sessions/?", SessionsHandler, kwargs),
        (session + r"/?", SessionHandler, kwargs),
        (session + r"/messages/?", MessagesHandler, kwargs),
        (message + r"/?", MessageHandler, kwargs),
        (message + r"/attachments/([^/]+)/?", AttachmentHandler, kwargs),
        (message + r"/redact/?", RedactHandler, kwargs),
        (session + r"/export/?", ExportHandler, kwargs),
        (API_PREFIX + r"/search/?", SearchHandler, kwargs),
        (API_PREFIX + r"/verify/?", VerifyHandler, kwargs),
        (API_PREFIX + r"/changes/?", ChangesHandler, kwargs),
        (API_PREFIX + r"/sync/?", SyncHandler, kwargs),
    ]
