"""``GET /activemirror/api/verify[?session_id=]``: check the hash chains, heads and seals
(of one session, or of the whole store) and answer the report as JSON:
``{"ok", "sessions", "messages", "problems": [{"session_id", "message_id", "kind",
"detail"}]}``. A report with problems is still a 200: the check itself worked."""

from __future__ import annotations

import tornado.web

from ..core.errors import SessionNotFoundError
from ..core.mirror import ActiveMirror
from .base import MirrorHandler, not_found


class VerifyHandler(MirrorHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        session_id = self.get_query_argument("session_id", None) or None
        if session_id is not None:
            session_id = self.valid_id(session_id)

        def verify(mirror: ActiveMirror) -> dict:
            return mirror.verify(session_id).to_json()

        try:
            report = await self.call(verify)
        except SessionNotFoundError:
            raise not_found(f"No session {session_id!r}") from None
        self.write_json(report)
