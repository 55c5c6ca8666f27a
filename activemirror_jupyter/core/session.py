"""Tier 1: a session and its messages in RAM, written to its store on ``save()``."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from .errors import MessageNotFoundError, SessionNotFoundError, SessionSealedError
from .ids import new_id, validate_id
from .journal import SIGNATURE_ALGORITHM, digest, seal_payload
from .models import (
    SEALED,
    Attachment,
    Message,
    SessionMetadata,
    check_attachments,
    check_content,
    check_max_context,
    check_metadata,
    check_role,
    check_tags,
    check_title,
)
from .paging import check_page, page_bounds
from .redaction import check_reason
from .replies import Responder, call_responder
from .storage.base import Saved, Storage
from .sync.state import note_redaction
from .timeutil import to_iso, utcnow
from .transfer.exports import export_session


class Owner(Protocol):
    """What a session needs of the :class:`~.mirror.ActiveMirror` it belongs to."""

    store: Storage
    autosave: bool
    responder: Responder | None
    max_attachment_bytes: int

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
        """A copy of the session's metadata (assign a dict to replace it)."""
        return dict(self._meta.metadata)

    @metadata.setter
    def metadata(self, value: dict[str, Any]) -> None:
        self._update(metadata=check_metadata(value, "session metadata"))

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
    def tags(self) -> tuple[str, ...]:
        """The session's tags (assign a list to set them)."""
        return self._meta.tags

    @tags.setter
    def tags(self, value: Iterable[str]) -> None:
        self._update(tags=check_tags(value))

    @property
    def head(self) -> str | None:
        """The hash of the last saved message (None while nothing is saved)."""
        return self._meta.head

    @property
    def sealed(self) -> bool:
        return self._meta.sealed

    @property
    def max_context_messages(self) -> int | None:
        return self._meta.max_context_messages

    @max_context_messages.setter
    def max_context_messages(self, value: int | None) -> None:
        self._update(max_context_messages=check_max_context(value))

    @property
    def message_count(self) -> int:
        """Saved plus unsaved messages, as this session last knew them (a save or a
        :meth:`get_messages` learns what other kernels added)."""
        return self._saved_count + len(self._unsaved)

    @property
    def unsaved_count(self) -> int:
        return len(self._unsaved)

    def _update(self, **changes: Any) -> None:
        self._check_open()
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

    def send(
        self,
        content: str,
        role: str = "user",
        metadata: dict | None = None,
        *,
        attachments: Iterable[Attachment] | None = None,
    ) -> Message:
        """Add a message, with ``attachments`` (a list of :class:`Attachment`). With a
        responder and role ``user``, the responder's reply is added as an ``assistant``
        message and returned; otherwise the new message is."""
        self._check_open()
        role = check_role(role)
        content = check_content(content)
        metadata = check_metadata(metadata)
        files = check_attachments(attachments, self._mirror.max_attachment_bytes)
        message = self._append(role, content, metadata, files)
        responder = self._mirror.responder
        if responder is None or role != "user":
            return message
        reply = call_responder(responder, self.context)
        return self._append("assistant", reply.text, check_metadata(reply.metadata), ())

    def _check_open(self) -> None:
        if self.sealed:
            raise SessionSealedError(self.id, self.title)

    def _append(
        self, role: str, content: str, metadata: dict[str, Any], files: tuple[Attachment, ...]
    ) -> Message:
        with self._lock:
            message = Message(
                new_id("msg"),
                self.id,
                role,
                content,
                utcnow(),
                metadata,
                files,
                origin=self._mirror.store.device_id,
            )
            digest(message)  # made now, so saving links digests only
            self._unsaved.append(message)
            self._meta = replace(self._meta, updated_at=message.timestamp)
            self._dirty = True
            if not self._mirror.autosave:
                return message
            try:
                saved = self._save()
            except SessionSealedError:
                # Sealed by someone else meanwhile: this message can never be kept.
                self._unsaved.remove(message)
                self._reload()
                raise
        return replace(message, hash=saved.hashes[-1]) if saved.hashes else message

    def save(self) -> str:
        """Write the session and its unsaved messages, all or nothing; return the id.

        Costs as much as the unsaved messages, whatever the session's size; a second
        save with nothing new writes nothing."""
        with self._lock:
            self._save()
        return self.id

    def _save(self) -> Saved:
        if not self._dirty and not self._unsaved:
            return Saved(self._saved_count, self._meta.head)
        pending = list(self._unsaved)
        saved = self._mirror.store.save(self._meta, pending, existing=self._stored)
        del self._unsaved[: len(pending)]
        self._saved_count = saved.count
        self._meta = replace(self._meta, head=saved.head)
        self._stored = True
        self._dirty = False
        self._mirror._sync_quietly()
        return saved

    def _reload(self) -> None:
        """Take the stored metadata (status, head, count) as this session's."""
        stored = self._mirror.store.get_session(self.id)
        if stored is not None:
            self._meta = stored
            self._saved_count = stored.message_count
            self._dirty = False

    def seal(self, *, sign_with: Any = None) -> dict[str, Any]:
        """Seal the saved session: record its head in ``metadata["seal"]`` and make it
        read-only (status ``"sealed"``); with ``sign_with`` (an unlocked
        :class:`~.vault.VaultMemory`), sign the head with the vault's Ed25519 key. Returns
        the seal. The session must be saved, with nothing unsaved."""
        with self._lock:
            self._check_open()
            if not self._stored or self._unsaved or self._dirty:
                unsaved = f"{len(self._unsaved)} unsaved message(s)" if self._unsaved else ""
                raise ValueError(
                    f"session {self.id!r} has {unsaved or 'unsaved changes'}: save() it "
                    "before sealing"
                )
            stored = self._mirror.store.get_session(self.id)
            if stored is None:
                raise SessionNotFoundError(self.id, self._mirror.store.description)
            seal: dict[str, Any] = {
                "head": stored.head,
                "sealed_at": to_iso(utcnow()),
                "messages": stored.message_count,
            }
            if sign_with is not None:
                public_key, signature = sign_with.sign(seal_payload(self.id, stored.head))
                seal.update(
                    algorithm=SIGNATURE_ALGORITHM, public_key=public_key, signature=signature
                )
            sealed = replace(
                stored,
                status=SEALED,
                metadata={**stored.metadata, "seal": seal},
                updated_at=max(stored.updated_at, utcnow()),
            )
            saved = self._mirror.store.save(sealed, [], existing=True)
            self._meta = replace(sealed, head=saved.head)
            self._saved_count = saved.count
            return dict(seal)

    def redact(self, message_id: str, reason: str) -> Message:
        """Remove a saved message's content, metadata and attachments for good (from the
        store's files too) and return the message as it now is: empty, with
        ``redacted == {"at", "reason"}``, its id, role, timestamp, origin, place and hash
        kept, so :meth:`ActiveMirror.verify` still holds. Works on a sealed session (its
        seal still verifies). Redacting a redacted message changes nothing (the first
        reason stays). An empty ``reason`` is a ValueError; an id that is not a saved
        message of this session a :class:`~.errors.MessageNotFoundError`."""
        reason = check_reason(reason)
        validate_id(message_id, "message id")
        with self._lock:
            if any(m.id == message_id for m in self._unsaved):
                raise ValueError(
                    f"message {message_id!r} is not saved yet: nothing of it is in the store "
                    "to redact (save() first, then redact it)"
                )
            if not self._stored:
                raise MessageNotFoundError(message_id, self.id, self._mirror.store.description)
            at = utcnow()
            found = self._mirror.store.redact(self.id, message_id, at, reason)
        if found is None:
            raise MessageNotFoundError(message_id, self.id, self._mirror.store.description)
        if found.redacted is not None and abs((found.redacted["at"] - at).total_seconds()) < 1e-3:
            note_redaction(self._mirror.store, self.id, found)  # for the syncs to send
        self._mirror._sync_quietly()
        return found

    def get_messages(self, limit: int | None = None, offset: int = 0) -> list[Message]:
        """A page of messages counted from the newest end, chronological inside the page:
        ``limit=20`` is the 20 most recent, ``limit=20, offset=20`` the 20 before them.
        Unsaved messages count; only the requested page is read from the store."""
        check_page(limit, offset)
        with self._lock:
            unsaved = list(self._unsaved)
            if self._stored:  # another kernel may have added to it since
                self._saved_count = self._mirror.store.count_messages(self.id)
            saved = self._saved_count
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

    def position_of(self, message_id: str) -> int | None:
        """Where the message is among this session's messages (0 is the oldest; unsaved ones
        count after the saved), or None if it is not one of them."""
        with self._lock:
            for i, message in enumerate(self._unsaved):
                if message.id == message_id:
                    return self._saved_count + i
        if not self._stored:
            return None
        return self._mirror.store.message_position(self.id, message_id)

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
