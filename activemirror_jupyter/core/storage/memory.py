"""An in-memory store: same behaviour as the disk stores, gone when the process ends."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Sequence

from ..models import Message, SessionMetadata
from ..search import search_words


class MemoryStorage:
    description = "memory store"

    def __init__(self) -> None:
        self._sessions: dict[str, SessionMetadata] = {}
        self._messages: dict[str, list[Message]] = {}
        self._lock = threading.Lock()

    def save(
        self, session: SessionMetadata, new_messages: Sequence[Message], *, replace: bool = False
    ) -> int:
        with self._lock:
            if replace:
                self._messages.pop(session.session_id, None)
            messages = self._messages.setdefault(session.session_id, [])
            known = {m.id for m in messages}
            messages.extend(m for m in new_messages if m.id not in known)
            self._sessions[session.session_id] = dataclasses.replace(
                session, message_count=len(messages)
            )
            return len(messages)

    def get_session(self, session_id: str) -> SessionMetadata | None:
        return self._sessions.get(session_id)

    def list_sessions(
        self, limit: int | None, offset: int, parent_session_id: str | None
    ) -> list[SessionMetadata]:
        with self._lock:
            rows = [
                s
                for s in self._sessions.values()
                if parent_session_id is None or s.parent_session_id == parent_session_id
            ]
        rows.sort(key=lambda s: (s.updated_at, s.session_id), reverse=True)
        return rows[offset:] if limit is None else rows[offset : offset + limit]

    def count_sessions(self, parent_session_id: str | None) -> int:
        return len(self.list_sessions(None, 0, parent_session_id))

    def count_messages(self, session_id: str) -> int:
        return len(self._messages.get(session_id, ()))

    def get_messages(self, session_id: str, start: int, stop: int) -> list[Message]:
        return list(self._messages.get(session_id, [])[start:stop])

    def delete_session(self, session_id: str) -> bool:
        with self._lock:
            self._messages.pop(session_id, None)
            return self._sessions.pop(session_id, None) is not None

    def message_owners(self, message_ids: Sequence[str]) -> dict[str, str]:
        wanted = set(message_ids)
        with self._lock:
            return {
                m.id: m.session_id
                for messages in self._messages.values()
                for m in messages
                if m.id in wanted
            }

    def search(self, words: Sequence[str], session_id: str | None, limit: int) -> list[Message]:
        if not words:
            return []
        wanted = set(words)
        found = []
        with self._lock:
            pools = (
                [self._messages.get(session_id, [])]
                if session_id is not None
                else list(self._messages.values())
            )
        for pool in pools:
            for message in pool:
                if wanted <= set(search_words(message.content)):
                    found.append(message)
        found.sort(key=lambda m: (m.timestamp, m.id), reverse=True)
        return found[:limit]

    def close(self) -> None:
        pass
