"""An in-memory store: same behaviour as the disk stores, gone when the process ends."""

from __future__ import annotations

import dataclasses
import hashlib
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from ..ids import new_device_id
from ..journal import OWN, Row, chain_tips, check_write, head_of
from ..models import Attachment, Message, SessionMetadata
from ..redaction import redacted_form
from ..search import attachment_text, search_words
from .base import Changes, Saved, SearchQuery, SessionQuery, counted_changes
from .filters import listed, matches, newest_first, page_of, paged
from .rows import clocks_after


class MemoryStorage:
    description = "memory store"

    def __init__(self) -> None:
        self._sessions: dict[str, SessionMetadata] = {}
        self._messages: dict[str, list[Message]] = {}
        self._lock = threading.Lock()
        self._changed: dict[str, int] = {}  # session id -> the number of its last change
        self._count = 0  # changes made (see changes())
        self._epoch = new_device_id()  # names this store's numbering of its changes
        self._vectors: Any = None
        self.device_id = new_device_id()
        self._state: dict[str, str] = {}

    def read_state(self, key: str) -> str | None:
        return self._state.get(key)

    def write_state(self, key: str, value: str) -> None:
        self._state[key] = value

    def set_device_id(self, device_id: str) -> None:
        """Its own messages move to the new id (nothing here has been sent anywhere)."""
        with self._lock:
            old, self.device_id = self.device_id, device_id
            for sid, messages in self._messages.items():
                self._messages[sid] = [
                    dataclasses.replace(m, origin=device_id) if m.origin == old else m
                    for m in messages
                ]

    def save(
        self,
        session: SessionMetadata,
        new_messages: Sequence[Message],
        *,
        replace: bool = False,
        existing: bool = False,
    ) -> Saved:
        with self._lock:
            stored = self._sessions.get(session.session_id)
            kept = [] if replace else self._messages.get(session.session_id, [])
            known = {m.id for m in kept}
            fresh = [m for m in dict((m.id, m) for m in new_messages).values() if m.id not in known]
            device = self.device_id
            tips = {OWN if m.origin == device else str(m.origin): str(m.hash) for m in kept}
            hashes, tips = chain_tips(session.session_id, tips, fresh, device)
            head = head_of(tips, device)
            check_write(
                stored is not None and stored.sealed,
                session,
                head,
                gone=existing and stored is None,
            )
            added = [
                dataclasses.replace(
                    m,
                    hash=h,
                    origin=m.origin or device,
                    clock=clock,
                    attachments=tuple(_kept(a) for a in m.attachments),
                )
                for m, h, clock in zip(
                    fresh,
                    hashes,
                    clocks_after(kept[-1].clock or 0 if kept else 0, fresh),
                    strict=True,
                )
            ]
            messages = [*kept, *added]
            self._messages[session.session_id] = messages
            updated = session.updated_at
            if stored is not None and not replace:
                updated = max(updated, stored.updated_at)
            self._sessions[session.session_id] = dataclasses.replace(
                session, message_count=len(messages), head=head, updated_at=updated
            )
            self._changed_now(session.session_id)
            return Saved(len(messages), head, tuple(hashes))

    def get_session(self, session_id: str) -> SessionMetadata | None:
        return self._sessions.get(session_id)

    def _listed(self, query: SessionQuery) -> list[SessionMetadata]:
        with self._lock:
            rows = [
                s
                for s in self._sessions.values()
                if listed(query, s.session_id, s.parent_session_id, s.tags, self._sessions)
            ]
        rows.sort(key=lambda s: (s.updated_at, s.session_id), reverse=True)
        return rows

    def list_sessions(self, query: SessionQuery) -> list[SessionMetadata]:
        return paged(self._listed(query), query)

    def count_sessions(self, query: SessionQuery) -> int:
        return len(self._listed(query))

    def child_counts(self, session_ids: Sequence[str]) -> dict[str, int]:
        wanted = set(session_ids)
        with self._lock:
            counts = Counter(s.parent_session_id for s in self._sessions.values())
        return {i: counts[i] for i in wanted if counts[i]}

    def count_messages(self, session_id: str) -> int:
        return len(self._messages.get(session_id, ()))

    def get_messages(self, session_id: str, start: int, stop: int) -> list[Message]:
        return list(self._messages.get(session_id, [])[start:stop])

    def message_position(self, session_id: str, message_id: str) -> int | None:
        ids = [m.id for m in self._messages.get(session_id, [])]
        return ids.index(message_id) if message_id in ids else None

    def damaged_sessions(self) -> list[SessionMetadata]:
        return []  # a row is always readable; a change to it is verify's to find

    def stored_rows(self, session_id: str) -> Iterator[Row]:
        for seq, message in enumerate(list(self._messages.get(session_id, []))):
            digests = [hashlib.sha256(a.read()).hexdigest() for a in message.attachments]
            yield seq, message, digests

    def redact(self, session_id: str, message_id: str, at: datetime, reason: str) -> Message | None:
        with self._lock:
            messages = self._messages.get(session_id, [])
            for i, message in enumerate(messages):
                if message.id == message_id:
                    # The old Message and its attachments' bytes are dropped with it.
                    if message.redacted is None:
                        messages[i] = redacted_form(message, at, reason)
                        self._changed_now(session_id)
                    return messages[i]
            return None

    def delete_session(self, session_id: str) -> bool:
        with self._lock:
            self._messages.pop(session_id, None)
            existed = self._sessions.pop(session_id, None) is not None
            if existed:
                self._changed_now(session_id)
            return existed

    def message_owners(self, message_ids: Sequence[str]) -> dict[str, str]:
        wanted = set(message_ids)
        with self._lock:
            return {
                m.id: m.session_id
                for messages in self._messages.values()
                for m in messages
                if m.id in wanted
            }

    def _found(self, query: SearchQuery) -> list[Message]:
        with self._lock:
            sessions = dict(self._sessions)
            pools = (
                [self._messages.get(query.session_id, [])]
                if query.session_id is not None
                else list(self._messages.values())
            )
        wanted = set(query.words)
        return newest_first(
            m
            for pool in pools
            for m in pool
            if matches(query, m, sessions.get(m.session_id)) and wanted <= _words(m)
        )

    def search(self, query: SearchQuery) -> list[Message]:
        return page_of(self._found(query), query)

    def count_search(self, query: SearchQuery) -> int:
        return len(self._found(query))

    def _changed_now(self, session_id: str) -> None:
        self._count += 1
        self._changed[session_id] = self._count

    def changes(self, since: str | None) -> Changes:
        def after(n: int) -> tuple[list[str], list[str]]:
            ids = [sid for sid, change in self._changed.items() if change > n]
            return [i for i in ids if i in self._sessions], [
                i for i in ids if i not in self._sessions
            ]

        with self._lock:
            return counted_changes(since, self._epoch, self._count, after)

    def vectors(self) -> Any:
        """Where search by meaning keeps this store's vectors: in RAM, beside the messages
        (:mod:`.memory_vectors`)."""
        from ..search.similar import messages_texts  # NumPy only when searching by meaning
        from .memory_vectors import MemoryVectors

        if self._vectors is None:
            self._vectors = MemoryVectors(lambda: messages_texts(self))
        return self._vectors

    def close(self) -> None:
        pass


def _kept(attachment: Attachment) -> Attachment:
    """An attachment as this store keeps it: its bytes in RAM."""
    return Attachment.from_bytes(attachment.name, attachment.mime_type, attachment.read())


def _words(message: Message) -> set[str]:
    words = set(search_words(message.content))
    for attachment in message.attachments:
        if attachment.is_text:  # read() checks the bytes: only those searched
            text = attachment_text(attachment.mime_type, attachment.read())
            words |= set(search_words(text or ""))
    return words
