"""HTTP handlers: ``/activemirror/api/sessions`` and below, read-only, JSON.

Every id and parameter from the request is checked here before it reaches the store, so a
bad request is a 400 naming what is wrong, an unknown session a 404, never a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler

from ..core.errors import InvalidIdError, SessionNotFoundError, StorageError
from ..core.ids import validate_id
from ..core.mirror import ActiveMirror
from ..core.models import Message, SessionMetadata
from ..core.serialize import message_record, session_record
from ..core.session import Session
from .store import StoreThread

API_PREFIX = "/activemirror/api"
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000
MAX_OFFSET = 1_000_000_000
EXPORT_TYPES = {
    "markdown": ("text/markdown; charset=UTF-8", "md"),
    "json": ("application/json; charset=UTF-8", "json"),
    "txt": ("text/plain; charset=UTF-8", "txt"),
}
_DIGITS = re.compile(r"[0-9]{1,12}")  # ASCII only: int() would also take "٣" or "1_0"


def bad_request(message: str) -> tornado.web.HTTPError:
    # The message goes in args, never in the format string: user text may contain '%'.
    return tornado.web.HTTPError(400, "%s", message)


class MirrorHandler(APIHandler):
    """Base of the API's handlers: parameter checks and access to the store."""

    def initialize(self, store: StoreThread) -> None:
        self.store = store

    def int_argument(self, name: str, default: int, maximum: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None:
            return default
        if not _DIGITS.fullmatch(raw) or int(raw) > maximum:
            shown = raw if len(raw) <= 20 else raw[:20] + "…"
            raise bad_request(f"{name} must be a whole number from 0 to {maximum}, not {shown!r}")
        return int(raw)

    def page_arguments(self) -> tuple[int, int]:
        return (
            self.int_argument("limit", DEFAULT_LIMIT, MAX_LIMIT),
            self.int_argument("offset", 0, MAX_OFFSET),
        )

    def session_id(self, raw: str, what: str = "session id") -> str:
        try:
            return validate_id(raw, what)
        except InvalidIdError as error:
            raise bad_request(str(error)) from None

    async def call(self, fn: Any) -> Any:
        """``fn(mirror)`` on the store thread. A store that cannot be read is the server's
        problem (500), reported with the store's own explanation for whoever runs it."""
        try:
            return await self.store.call(fn)
        except StorageError as error:
            self.log.error("activemirror_jupyter: %s", error)
            raise tornado.web.HTTPError(500, "%s", f"The session store failed: {error}") from None

    async def load(self, session_id: str, fn: Any) -> Any:
        """``fn(session)`` on the store thread; 404 if there is no such session."""

        def run(mirror: ActiveMirror) -> Any:
            return fn(mirror.load_session(session_id))

        try:
            return await self.call(run)
        except SessionNotFoundError:
            raise tornado.web.HTTPError(404, "%s", f"No session {session_id!r}") from None

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        # APIHandler would send the raw format string ("%s"); send the formatted message.
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, tornado.web.HTTPError) and error.log_message and error.args:
            self.set_status(status_code)
            self.write_json({"message": error.log_message % error.args, "reason": error.reason})
            return
        super().write_error(status_code, **kwargs)

    def write_json(self, data: dict[str, Any]) -> None:
        self.finish(
            json.dumps(data, ensure_ascii=False), set_content_type="application/json; charset=UTF-8"
        )


class SessionsHandler(MirrorHandler):
    """``GET /activemirror/api/sessions?limit=&offset=[&parent=]``: newest update first."""

    @tornado.web.authenticated
    async def get(self) -> None:
        limit, offset = self.page_arguments()
        parent = self.get_query_argument("parent", None)
        if parent is not None:
            parent = self.session_id(parent, "parent session id")

        def page(mirror: ActiveMirror) -> tuple[list[SessionMetadata], int]:
            sessions = mirror.list_sessions(limit=limit, offset=offset, parent_session_id=parent)
            return sessions, mirror.count_sessions(parent_session_id=parent)

        sessions, total = await self.call(page)
        self.write_json(
            {
                "sessions": [session_record(s) for s in sessions],
                "total": total,
                "limit": limit,
                "offset": offset,
            }
        )


class SessionHandler(MirrorHandler):
    """``GET /activemirror/api/sessions/{id}``: one session's metadata."""

    @tornado.web.authenticated
    async def get(self, session_id: str) -> None:
        session_id = self.session_id(session_id)
        self.write_json(
            await self.load(session_id, lambda s: session_record(s.metadata_snapshot()))
        )


class MessagesHandler(MirrorHandler):
    """``GET /activemirror/api/sessions/{id}/messages?limit=&offset=``.

    Pages count from the newest end (offset 0 is the newest page), chronological inside.
    """

    @tornado.web.authenticated
    async def get(self, session_id: str) -> None:
        session_id = self.session_id(session_id)
        limit, offset = self.page_arguments()

        def page(session: Session) -> tuple[list[Message], int]:
            return session.get_messages(limit=limit, offset=offset), session.message_count

        messages, total = await self.load(session_id, page)
        self.write_json(
            {
                "session_id": session_id,
                "messages": [message_record(m) for m in messages],
                "total": total,
                "limit": limit,
                "offset": offset,
            }
        )


class ExportHandler(MirrorHandler):
    """``GET /activemirror/api/sessions/{id}/export?format=markdown|json|txt``: the export as
    a document of its own type (Markdown by default)."""

    @tornado.web.authenticated
    async def get(self, session_id: str) -> None:
        session_id = self.session_id(session_id)
        fmt = self.get_query_argument("format", "markdown")
        if fmt not in EXPORT_TYPES:
            shown = fmt if len(fmt) <= 20 else fmt[:20] + "…"
            raise bad_request(f"format must be one of {', '.join(EXPORT_TYPES)}, not {shown!r}")
        text = await self.load(session_id, lambda session: session.export(fmt))
        content_type, extension = EXPORT_TYPES[fmt]
        # The id is validated (letters, digits, '_', '.', '-'), so it is safe in a header.
        self.set_header("Content-Disposition", f'inline; filename="{session_id}.{extension}"')
        self.finish(text, set_content_type=content_type)  # APIHandler would say JSON


def route_table(store: StoreThread) -> list[tuple[str, type[MirrorHandler], dict[str, Any]]]:
    """The API's routes; ids are any one path segment, checked by the handlers."""
    kwargs = {"store": store}
    session = API_PREFIX + r"/sessions/([^/]+)"
    return [
        (API_PREFIX + r"/sessions/?", SessionsHandler, kwargs),
        (session + r"/?", SessionHandler, kwargs),
        (session + r"/messages/?", MessagesHandler, kwargs),
        (session + r"/export/?", ExportHandler, kwargs),
    ]
