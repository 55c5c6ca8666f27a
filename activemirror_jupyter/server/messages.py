"""``/activemirror/api/sessions/{id}/messages``: a page of a session's messages, adding a
note to it, one message with its place in the session, and an attachment's bytes."""

from __future__ import annotations

import mimetypes

import tornado.web

from ..core.mime import bare_type, is_text, parameter
from ..core.models import ROLES, Message
from ..core.serialize import message_record
from ..core.session import Session
from .base import MirrorHandler, bad_request, not_found, shown


def _message_at(session: Session, message_id: str) -> tuple[Message, int, int] | None:
    """The saved message ``message_id`` of ``session``, its position (0 is the oldest) and
    the session's message count; None if the session holds no such message."""
    position = session.position_of(message_id)
    if position is None:
        return None
    mirror = session.mirror
    found = mirror.saved_messages(session.id, position, position + 1)
    if not found or found[0].id != message_id:
        return None
    return found[0], position, mirror.saved_count(session.id)


class _Missing(LookupError):
    """No such message or attachment (raised on the store thread, answered as a 404)."""


class MessagesHandler(MirrorHandler):
    """``GET /activemirror/api/sessions/{id}/messages?limit=&offset=``: pages count from the
    newest end (offset 0 is the newest page), chronological inside.

    ``POST`` ``{"content", "role"?}``: add a message (role ``user`` unless given) and save
    it; 201 and the saved message (with its hash). 409 if the session is sealed."""

    @tornado.web.authenticated
    async def get(self, session_id: str) -> None:
        session_id = self.valid_id(session_id)
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

    @tornado.web.authenticated
    async def post(self, session_id: str) -> None:
        session_id = self.valid_id(session_id)
        body = self.json_body({"content": (str,), "role": (str,)}, required=("content",))
        role = body.get("role", "user")
        if role not in ROLES:
            raise bad_request(f"role must be one of {', '.join(ROLES)}, not {shown(role)}")

        def add(session: Session) -> tuple[Message, int, int] | None:
            message = session.send(body["content"], role=role)
            session.save()
            return _message_at(session, message.id)

        try:
            saved = await self.load(session_id, add)
        except (ValueError, TypeError) as error:  # the core's checks of the content
            raise bad_request(str(error)) from None
        if saved is None:  # deleted between the save and the read
            raise not_found(f"No session {session_id!r}")
        self.write_json(message_record(saved[0]), status=201)


class MessageHandler(MirrorHandler):
    """``GET /activemirror/api/sessions/{id}/messages/{message_id}``: ``{"message",
    "position", "total"}`` — where it sits (0 is the oldest), so a page holding it can be
    shown: page = (total - 1 - position) // page_size + 1, newest page first."""

    @tornado.web.authenticated
    async def get(self, session_id: str, message_id: str) -> None:
        session_id = self.valid_id(session_id)
        message_id = self.valid_id(message_id, "message id")
        found = await self.load(session_id, lambda session: _message_at(session, message_id))
        if found is None:
            raise not_found(f"No message {message_id!r} in session {session_id!r}")
        message, position, total = found
        self.write_json({"message": message_record(message), "position": position, "total": total})


class AttachmentHandler(MirrorHandler):
    """``GET /activemirror/api/sessions/{id}/messages/{message_id}/attachments/{name}``: the
    bytes, with their mime type. ``X-Content-Type-Options: nosniff`` and
    ``Content-Security-Policy: sandbox`` keep an SVG or HTML attachment from running script
    even when opened on its own; ``?download=1`` asks the browser to save it."""

    @tornado.web.authenticated
    async def get(self, session_id: str, message_id: str, name: str) -> None:
        session_id = self.valid_id(session_id)
        message_id = self.valid_id(message_id, "message id")
        name = self.valid_id(name, "attachment name")
        download = self.flag_argument("download")

        def read(session: Session) -> tuple[str, bytes]:
            found = _message_at(session, message_id)
            if found is None:
                raise _Missing(f"No message {message_id!r} in session {session_id!r}")
            attachment = found[0].attachment(name)
            if attachment is None:
                raise _Missing(f"Message {message_id!r} has no attachment {name!r}")
            return attachment.mime_type, attachment.read()

        try:
            mime_type, data = await self.load(session_id, read)
        except _Missing as missing:
            raise not_found(str(missing)) from None
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Content-Security-Policy", "sandbox")
        disposition = "attachment" if download else "inline"
        # The name follows the id rule (letters, digits, '_', '.', '-'): safe in a header.
        self.set_header(
            "Content-Disposition", f'{disposition}; filename="{_file_name(name, mime_type)}"'
        )
        self.finish(data, set_content_type=_content_type(mime_type))


def _content_type(mime_type: str) -> str:
    """The attachment's own type; text without a ``charset`` is UTF-8 (as it is read)."""
    if is_text(mime_type) and parameter(mime_type, "charset") is None:
        return f"{mime_type}; charset=UTF-8"
    return mime_type


def _file_name(name: str, mime_type: str) -> str:
    """``name``, with the extension of its type when it has none (``out-1`` → ``out-1.png``)."""
    if "." in name.strip("."):
        return name
    extension = mimetypes.guess_extension(bare_type(mime_type)) or ""
    return name + extension
