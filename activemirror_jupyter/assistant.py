"""The notebook side of assistant replies: making the responder the magics use, saying
which it is, and showing a reply as Markdown while it streams.

``%mirror_session responder MODEL`` and the ``default_model`` option make an
:class:`~activemirror_jupyter.core.responders.LLMResponder` whose API key, if any, comes
from the magics' vault when a reply is asked for. ``%%mirror_send`` shows the reply through
one display handle, updated as chunks arrive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from IPython.display import Markdown, display

from .core.errors import ResponderError
from .core.markup import safe_markdown
from .core.models import Message
from .core.replies import REDRAW_INTERVAL, responder_name, streaming_replies
from .core.responders import LLMResponder
from .core.session import Session


def make_responder(
    model: str,
    *,
    system: str | None = None,
    key_from_vault: str | None = None,
    options: dict[str, Any] | None = None,
    vault: Callable[[], Any],
) -> LLMResponder:
    """An LLMResponder that reads its key, whenever a reply is asked for, from the vault
    ``vault()`` returns (the one ``%vault unlock`` opens)."""
    return LLMResponder(
        model, system=system, key_from_vault=key_from_vault, options=options, vault=vault
    )


def describe(responder: Any) -> str:
    if responder is None:
        return "No responder: messages get no reply, and nothing leaves this machine."
    if isinstance(responder, LLMResponder):
        key = (
            f", API key from the vault entry {responder.key_from_vault!r}"
            if responder.key_from_vault
            else ""
        )
        system = ", with a system prompt" if responder.system else ""
        return f"Replies come from the model {responder.model_id!r}{system}{key}."
    return f"Replies come from {responder_name(responder)!r}."


# -- showing replies ----------------------------------------------------------------------------


class ReplyView:
    """One display for a reply, created at its first chunk and updated as more arrive."""

    def __init__(self, heading: str) -> None:
        self.heading = heading
        self.handle: Any = None

    def markdown(self, text: str) -> Markdown:
        return Markdown(f"{self.heading}\n\n{safe_markdown(text)}")

    def show(self, text: str) -> None:
        if self.handle is None:
            self.handle = display(self.markdown(text), display_id=True)
        else:
            self.handle.update(self.markdown(text))


def send_and_show(
    session: Session,
    content: str,
    role: str,
    metadata: dict[str, Any] | None,
    responder: Any,
    *,
    attachments: Any = None,
) -> Message:
    """``session.send(…)``, showing the assistant's reply as Markdown as it streams
    (``responder`` is the one the session's mirror uses).

    Returns what ``send`` returns. When the responder fails, the error says that the user's
    message was kept (``send`` has stored it) and that no reply was stored."""
    if responder is None or role != "user":
        return session.send(content, role=role, metadata=metadata, attachments=attachments)
    name = responder_name(responder).replace("`", "")
    view = ReplyView(f"**assistant** · `{name}`")
    try:
        with streaming_replies(view.show, every=REDRAW_INTERVAL):
            reply = session.send(content, role=role, metadata=metadata, attachments=attachments)
    except ResponderError as exc:
        raise ResponderError(
            f"{exc} — your message was added to {session.title!r}; no reply was stored"
        ) from None
    view.show(reply.content)
    return reply
