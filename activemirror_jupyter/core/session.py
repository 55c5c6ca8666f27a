"""Tier 1: a session and its messages in RAM, written to its store on ``save()``."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from .exports import export_session
from .ids import new_id
from .models import (
    Message,
    SessionMetadata,
    check_content,
    check_max_context,
    check_metadata,
    check_role,
    check_title,
)
from .paging import check_page, page_bounds
from .replies import Responder, call_responder
from .storage.base import Storage
from .timeutil import utcnow


class Owner(Protocol):
    """What a session needs of the :class:`~.mirror.ActiveMirror` it belongs to."""

    store: Storage
    autosave: bool
    responder: Responder | None

    def list_sessions(
        self, *, limit: int | None = None, offset: int = 0, parent_session_id: str | None = None
    ) -> list[SessionMetadata]: ...


class Session:
    """A session of messages. Messages sent stay in RAM until :meth:`save` (or are written
    at once when the mirror autosaves). Made by :meth:`ActiveMirror.create_session` or
    :meth:`ActiveMirror.load_session`, never directly."""

    def __init__(self, mirror: Owner, meta: SessionMetadata, *, stored: bool) -> None:
        self._mirror = mirror
        self._meta = meta
        self._stored = stored  # the store has a row for this session
        self._saved_count = meta.message_count if stored else 0
        self._unsaved: list[Message] = []
        self._dirty = not stored  # metadata differs from what the store holds
        self._lock = threading.RLock()

    # -- attributes -------------------------------------------------------------------------

    @property
    def mirror(self) -> Owner:
        """The mirror (and so the store, autosave and responder) this session belongs to."""
        return self._mirror

    @property
    def id(self) -> str:
        return self._meta.session_id

    @property
    def user_id(self) -> str | None:
        return self._meta.user_id

    @property
    def parent_session_id(self) -> str | None:
        return self._meta.parent_session_id

    @property
    def created_at(self) -> datetime:
        return self._meta.created_at

    @property
    def updated_at(self) -> datetime:
        return self._meta.updated_at

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self._meta.metadata)

    @property
    def title(self) -> str:
        return self._meta.title

    @title.setter
    def title(self, value: str) -> None:
        self._update(title=check_title(value))

    @property
    def status(self) -> str:
        return self._meta.status

    @status.setter
    def status(self, value: str) -> None:
        if not isinstance(value, str) or not value:
            raise ValueError(f"status must be a non-empty string, not {value!r}")
        self._update(status=value)

    @property
    def max_context_messages(self) -> int | None:
        return self._meta.max_context_messages

    @max_context_messages.setter
    def max_context_messages(self, value: int | None) -> None:
        self._update(max_context_messages=check_max_context(value))

    @property
    def message_count(self) -> int:
        """Saved plus unsaved messages, as this session last knew them."""
        return self._saved_count + len(self._unsaved)

    @property
    def unsaved_count(self) -> int:
        return len(self._unsaved)

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._meta = replace(self._meta, updated_at=utcnow(), **changes)
            self._dirty = True
        if self._mirror.autosave:
            self.save()

    def __repr__(self) -> str:
        return (
            f"<Session {self.id} {self.title!r}: {self.message_count} messages, "
            f"{len(self._unsaved)} unsaved>"
        )

    # -- messages ---------------------------------------------------------------------------

    def send(self, content: str, role: str = "user", metadata: dict | None = None) -> Message:
        """Add a message. With a responder and role ``user``, the responder's reply is
        added as an ``assistant`` message and returned; otherwise the new message is."""
        role = check_role(role)
        content = check_content(content)
        metadata = check_metadata(metadata)
        message = self._append(role, content, metadata)
        responder = self._mirror.responder
        if responder is None or role != "user":
            return message
        reply = call_responder(responder, self.context)
        return self._append("assistant", reply.text, check_metadata(reply.metadata))

    def _append(self, role: str, content: str, metadata: dict[str, Any]) -> Message:
        with self._lock:
            message = Message(new_id("msg"), self.id, role, content, utcnow(), metadata)
            self._unsaved.append(message)
            self._meta = replace(self._meta, updated_at=message.timestamp)
            self._dirty = True
        if self._mirror.autosave:
            self.save()
        return message

    def save(self) -> str:
        """Write the session and its unsaved messages, all or nothing; return the id.

        Costs as much as the unsaved messages, whatever the session's size; a second
        save with nothing new writes nothing."""
        with self._lock:
            if not self._dirty and not self._unsaved:
                return self.id
            pending = list(self._unsaved)
            count = self._mirror.store.save(self._meta, pending)
            del self._unsaved[: len(pending)]
            self._saved_count = count
            self._stored = True
            self._dirty = False
        return self.id

    def get_messages(self, limit: int | None = None, offset: int = 0) -> list[Message]:
        """A page of messages counted from the newest end, chronological inside the page:
        ``limit=20`` is the 20 most recent, ``limit=20, offset=20`` the 20 before them.
        Unsaved messages count; only the requested page is read from the store."""
        check_page(limit, offset)
        with self._lock:
            unsaved = list(self._unsaved)
            saved = self._mirror.store.count_messages(self.id) if self._stored else 0
        start, stop = page_bounds(saved + len(unsaved), limit, offset)
        page = (
            self._mirror.store.get_messages(self.id, start, min(stop, saved))
            if start < saved
            else []
        )
        if stop > saved:
            page.extend(unsaved[max(start - saved, 0) : stop - saved])
        return page

    @property
    def context(self) -> list[Message]:
        """The last ``max_context_messages`` messages (all when None): what a responder sees."""
        return self.get_messages(limit=self.max_context_messages)

    def children(self) -> list[SessionMetadata]:
        """Saved sessions whose parent is this one."""
        return self._mirror.list_sessions(parent_session_id=self.id)

    def metadata_snapshot(self) -> SessionMetadata:
        """This session's metadata as a :class:`SessionMetadata` (message count included)."""
        return replace(self._meta, message_count=self.message_count)

    def export(self, format: str = "json", *, include_children: bool = False) -> str:
        """The session as ``"json"`` (what :func:`import_session` takes back),
        ``"markdown"``, ``"txt"``, ``"html"`` (a standalone report) or ``"ipynb"`` (a
        notebook). With ``include_children``, every descendant session follows, depth
        first, oldest first; the JSON of a family is a bundle, which
        :func:`import_all_data` takes back. Messages are read a page at a time."""
        return export_session(self, format, include_children=include_children)
