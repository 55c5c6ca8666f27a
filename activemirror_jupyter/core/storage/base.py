"""The storage protocol: the few operations every persistent store implements.

A store keeps sessions (a row of metadata each) and their messages, which are append-only
and numbered 0, 1, 2… within their session in the order they were saved. Paging, counting
and listing are the store's job so that none of them reads message bodies it does not need.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..models import Message, SessionMetadata


@runtime_checkable
class Storage(Protocol):
    #: Human-readable location for error messages, e.g. "SQLite database /x/conversations.db".
    description: str

    def save(
        self, session: SessionMetadata, new_messages: Sequence[Message], *, replace: bool = False
    ) -> int:
        """Create or update ``session`` and append ``new_messages``, all or nothing.

        Returns the session's message count after the write. The cost follows
        ``len(new_messages)``, not the size of the session. With ``replace``, the session's
        stored messages and metadata are replaced by these, in the same all-or-nothing write
        (an import with ``on_conflict="replace"``).
        """

    def get_session(self, session_id: str) -> SessionMetadata | None:
        """The session's metadata (with its message count), or None. Reads no messages."""

    def list_sessions(
        self, limit: int | None, offset: int, parent_session_id: str | None
    ) -> list[SessionMetadata]:
        """Newest ``updated_at`` first; reads no message bodies."""

    def count_sessions(self, parent_session_id: str | None) -> int: ...

    def count_messages(self, session_id: str) -> int: ...

    def get_messages(self, session_id: str, start: int, stop: int) -> list[Message]:
        """Messages numbered ``start`` to ``stop - 1`` (chronological). Reads only those."""

    def delete_session(self, session_id: str) -> bool: ...

    def message_owners(self, message_ids: Sequence[str]) -> dict[str, str]:
        """For each of ``message_ids`` already stored, the session holding it. Stores whose
        message ids need only be unique within a session (the JSON folder) return ``{}``."""

    def search(self, words: Sequence[str], session_id: str | None, limit: int) -> list[Message]:
        """Saved messages containing every one of ``words`` (whole words, case-insensitive)."""

    def close(self) -> None: ...
