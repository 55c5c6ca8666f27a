"""``ChatPanel``: write messages into a session and see the latest ones (and any replies).

Sending goes through :meth:`Session.send`, exactly like ``%%mirror_send``: with a responder
configured the reply is appended too, and with autosave on both are on disk at once;
without autosave the panel offers Save and says how many messages are unsaved. Inside
IPython the panel also redraws after any cell that added messages to its session (a
``%%mirror_send`` cell, autolog), so it never needs re-running. A reply from a model that
streams is shown as it arrives (escaped text, redrawn at most every 50 ms).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from datetime import date
from typing import Any

import ipywidgets as widgets

from ..core.errors import ActiveMirrorError, ResponderError
from ..core.markup import escape
from ..core.mirror import ActiveMirror
from ..core.models import ROLES
from ..core.replies import REDRAW_INTERVAL, streaming_replies
from ..core.session import Session
from .common import StatusLine, button, check_positive, heading, panel_frame, row
from .render import messages_html, session_header_html


class ChatPanel(widgets.VBox):
    """Chat into a session.

    ``target`` is a :class:`Session`, or an :class:`ActiveMirror` in which a new session
    (titled ``title``, default "Chat <date>") is created on the first Send.
    ``history`` is how many of the latest messages are shown. ``on_session(session)`` is
    called when the panel creates its session (the magics make it current).
    """

    def __init__(
        self,
        target: Session | ActiveMirror,
        *,
        title: str | None = None,
        history: int = 20,
        on_session: Callable[[Session], None] | None = None,
    ) -> None:
        self.history = check_positive(history, "history")
        if isinstance(target, Session):
            self.session: Session | None = target
            self.mirror: ActiveMirror = target.mirror
        elif isinstance(target, ActiveMirror):
            self.session = None
            self.mirror = target
        else:
            raise TypeError(
                f"ChatPanel needs a Session or an ActiveMirror, not {type(target).__name__}"
            )
        self._new_title = title or f"Chat {date.today().isoformat()}"
        self._on_session = on_session

        self.status = StatusLine()
        super().__init__([heading("Chat"), *self._controls(), self.status])
        panel_frame(self, "chat")
        self._shown_count = -1  # message count at the last redraw
        self._shell: Any = None
        self._watch_cells()
        self.refresh()

    def _controls(self) -> list[widgets.Widget]:
        """The session header, the latest messages, a streaming reply, the text box and
        its buttons."""
        self.header = widgets.HTML("")
        self.messages = widgets.HTML("")
        self.messages.add_class("am-scroll")
        # A streaming reply while it arrives; empty otherwise.
        self.pending = widgets.HTML("")
        # Why the text box is disabled (a sealed session); empty otherwise.
        self.notice = widgets.HTML("")
        self.role = widgets.Dropdown(
            options=list(ROLES),
            value="user",
            description="as",
            layout=widgets.Layout(width="160px"),
            style={"description_width": "initial"},
        )
        self.text = widgets.Textarea(
            placeholder="Write a message…",
            rows=3,
            layout=widgets.Layout(width="100%"),
        )
        self.send_button = button(
            "Send", "Add the message to the session", "paper-plane", button_style="primary"
        )
        self.send_button.on_click(lambda _: self.send())
        self.save_button = button("Save", "Write unsaved messages to the store", "save")
        self.save_button.on_click(lambda _: self.save())
        self.refresh_button = button("Refresh", "Show messages added elsewhere", "refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        return [
            self.header,
            self.messages,
            self.pending,
            self.notice,
            self.text,
            row(self.role, self.send_button, self.save_button, self.refresh_button),
        ]

    def _watch_cells(self) -> None:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None:
            self._shell = shell
            shell.events.register("post_run_cell", self._after_cell)

    def _after_cell(self, result: object = None) -> None:
        # Only the in-memory count is compared: a cell that sent nothing costs no query.
        if self.session is not None and self.session.message_count != self._shown_count:
            self._render()

    def close(self) -> None:
        """Stop following cells and close the widget (as ``Widget.close``)."""
        if self._shell is not None:
            with suppress(ValueError):
                self._shell.events.unregister("post_run_cell", self._after_cell)
            self._shell = None
        super().close()

    # ---------------------------------------------------------------- actions

    def send(self) -> None:
        """Send the text box as a message with the chosen role; clear it when stored."""
        content = self.text.value
        if self.session is not None and self.session.sealed:
            self.status.show(sealed_text(self.session), "error")
            return
        if not content.strip():
            self.status.show("Type a message first.", "error")
            return
        self.send_button.disabled = True
        waiting = self.mirror.responder is not None and self.role.value == "user"
        self.status.show("Waiting for the reply…" if waiting else "Sending…")
        try:
            session = self._session()
            with streaming_replies(self._show_partial_reply, every=REDRAW_INTERVAL):
                session.send(content, self.role.value)
        except ResponderError as err:
            # The user's message is kept (the responder failed after it was added).
            self.text.value = ""
            self.status.show(f"Your message was added, but no reply came: {err}", "error")
        except (ActiveMirrorError, ValueError, TypeError) as err:
            self.status.show(str(err), "error")
        else:
            self.text.value = ""
            self.status.show(self._saved_note(), "ok")
        finally:
            self.send_button.disabled = False
            self.pending.value = ""
            self._render()

    def _show_partial_reply(self, text: str) -> None:
        self.pending.value = (
            '<div class="am-pending"><span class="am-muted">assistant is replying…</span>'
            f'<div class="am-text">{escape(text)}</div></div>'
        )

    def save(self) -> None:
        if self.session is None:
            self.status.show("Nothing to save yet.")
            return
        try:
            self.session.save()
        except ActiveMirrorError as err:
            self.status.show(str(err), "error")
        else:
            self.status.show("Saved.", "ok")
        self._render()

    def refresh(self) -> None:
        """Redraw from the session (messages sent from magics or other panels show up)."""
        self._render()

    # ---------------------------------------------------------------- helpers

    def _session(self) -> Session:
        if self.session is None:
            self.session = self.mirror.create_session(self._new_title)
            if self._on_session is not None:
                self._on_session(self.session)
        return self.session

    def _saved_note(self) -> str:
        if self.session is None or self.mirror.autosave:
            return "Sent and saved." if self.session is not None else ""
        unsaved = self.session.unsaved_count
        return f"Sent; {unsaved} unsaved message{'s' if unsaved != 1 else ''} (Save to keep)."

    def _allow_input(self, allowed: bool) -> None:
        """A sealed session takes no messages: the text box and Send are disabled, and a
        line says why."""
        for control in (self.text, self.role, self.send_button):
            control.disabled = not allowed
        self.notice.value = (
            ""
            if allowed or self.session is None
            else f'<span class="am-muted">{escape(sealed_text(self.session))}</span>'
        )

    def _render(self) -> None:
        session = self.session
        autosave = self.mirror.autosave
        self.save_button.layout.display = "none" if autosave else None
        if session is None:
            self.header.value = (
                f'<span class="am-muted">A new session “{escape(self._new_title)}” '
                "starts with your first message.</span>"
            )
            self.messages.value = ""
            self.save_button.disabled = True
            return
        self.save_button.disabled = session.unsaved_count == 0
        self._allow_input(not session.sealed)
        try:
            latest = session.get_messages(limit=self.history)
        except ActiveMirrorError as err:
            self.status.show(str(err), "error")
            return
        first = session.message_count - len(latest) + 1
        self._shown_count = session.message_count
        self.header.value = session_header_html(session)
        self.messages.value = messages_html(latest, first_number=first)


def sealed_text(session: Session) -> str:
    return (
        f"This session is sealed: it can be read and exported, not added to. "
        f"Start a new session to write more ({session.title!r})."
    )
