"""``POST /activemirror/api/sessions/{id}/messages/{message_id}/redact``: a saved message's
content, metadata and attachments removed for good (:meth:`Session.redact`)."""

from __future__ import annotations

import tornado.web

from ..core.errors import MessageNotFoundError
from ..core.models import Message
from ..core.serialize import message_record
from ..core.session import Session
from .base import MirrorHandler, bad_request, not_found


class RedactHandler(MirrorHandler):
    """``POST`` ``{"reason"}``: redact the message; 200 and the message as it now is (its
    ``redacted`` is ``{"at", "reason"}``). Redacting it again changes nothing (the first
    reason stays). A sealed session can be redacted. 400 for a missing or empty reason, 404
    for an unknown session or message. Writes follow Jupyter Server's XSRF rule, as every
    ``POST`` of the API does."""

    @tornado.web.authenticated
    async def post(self, session_id: str, message_id: str) -> None:
        session_id = self.valid_id(session_id)
        message_id = self.valid_id(message_id, "message id")
        body = self.json_body({"reason": (str,)}, required=("reason",))

        def redact(session: Session) -> Message:
            return session.redact(message_id, body["reason"])

        try:
            message = await self.load(session_id, redact)
        except MessageNotFoundError:
            raise not_found(f"No message {message_id!r} in session {session_id!r}") from None
        except (ValueError, TypeError) as error:  # the reason, or a message not saved yet
            raise bad_request(str(error)) from None
        self.write_json(message_record(message))
