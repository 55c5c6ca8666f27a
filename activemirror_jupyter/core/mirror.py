"""``ActiveMirror``: the entry point that ties sessions (tier 1) to a store (tier 2)."""

from __future__ import annotations

from os import PathLike
from typing import Any

from .errors import SessionNotFoundError
from .ids import new_id, validate_id
from .models import Message, SessionMetadata, check_max_context, check_title
from .paging import check_page
from .replies import Responder
from .search import search_words
from .session import Session
from .storage import Storage, open_storage
from .timeutil import utcnow


class ActiveMirror:
    """Sessions over one store.

    ``storage_type`` is ``"sqlite"`` (default, ``db_path`` or
    ``$ACTIVEMIRROR_HOME/conversations.db``), ``"json"`` (``storage_path`` or
    ``$ACTIVEMIRROR_HOME/conversations/``), ``"memory"``, or ``"postgresql"`` (with ``dsn``).
    With ``autosave=True`` every change is written at once; otherwise on ``Session.save()``.
    A ``responder`` (``(context: list[Message]) -> str``) answers user messages.
    """

    def __init__(
        self,
        storage_type: str = "sqlite",
        db_path: str | PathLike[str] | None = None,
        storage_path: str | PathLike[str] | None = None,
        *,
        dsn: str | None = None,
        user_id: str | None = None,
        autosave: bool = False,
        responder: Responder | None = None,
    ) -> None:
        if user_id is not None:
            validate_id(user_id, "user id")
        if responder is not None and not callable(responder):
            raise TypeError(f"responder must be callable, not {type(responder).__name__}")
        self.storage_type = storage_type
        self.user_id = user_id
        self.autosave = bool(autosave)
        self.responder = responder
        self.store: Storage = open_storage(
            storage_type, db_path=db_path, storage_path=storage_path, dsn=dsn
        )

    def __repr__(self) -> str:
        return f"<ActiveMirror {self.store.description}>"

    def __enter__(self) -> ActiveMirror:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release the store's files and connections."""
        self.store.close()

    # -- sessions ---------------------------------------------------------------------------

    def create_session(
        self,
        title: str,
        parent_session_id: str | None = None,
        *,
        max_context_messages: int | None = None,
        user_id: str | None = None,
    ) -> Session:
        """A new session, in RAM until saved (at once with autosave)."""
        check_title(title)
        if parent_session_id is not None:
            validate_id(parent_session_id, "parent session id")
        if user_id is not None:
            validate_id(user_id, "user id")
        now = utcnow()
        meta = SessionMetadata(
            session_id=new_id("session"),
            title=title,
            user_id=user_id if user_id is not None else self.user_id,
            parent_session_id=parent_session_id,
            status="active",
            created_at=now,
            updated_at=now,
            message_count=0,
            max_context_messages=check_max_context(max_context_messages),
        )
        session = Session(self, meta, stored=False)
        if self.autosave:
            session.save()
        return session

    def load_session(self, session_id: str) -> Session:
        """The saved session ``session_id``; its messages are read only when asked for."""
        validate_id(session_id, "session id")
        meta = self.store.get_session(session_id)
        if meta is None:
            raise SessionNotFoundError(session_id, self.store.description)
        return Session(self, meta, stored=True)

    def list_sessions(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        parent_session_id: str | None = None,
    ) -> list[SessionMetadata]:
        """Saved sessions, most recently updated first. Reads no message bodies."""
        check_page(limit, offset)
        if parent_session_id is not None:
            validate_id(parent_session_id, "parent session id")
        return self.store.list_sessions(limit, offset, parent_session_id)

    def count_sessions(self, *, parent_session_id: str | None = None) -> int:
        """How many saved sessions there are (with that parent, if given)."""
        if parent_session_id is not None:
            validate_id(parent_session_id, "parent session id")
        return self.store.count_sessions(parent_session_id)

    def delete_session(self, session_id: str) -> bool:
        """Delete a session and its messages; True if it existed. Its children are kept."""
        validate_id(session_id, "session id")
        return self.store.delete_session(session_id)

    def search(
        self, query: str, *, session_id: str | None = None, limit: int = 50
    ) -> list[Message]:
        """Saved messages containing every word of ``query``, newest first.

        ``query`` is plain words: punctuation and operators are ignored, never an error."""
        words = search_words(query)
        if session_id is not None:
            validate_id(session_id, "session id")
        check_page(limit, 0)
        return self.store.search(words, session_id, limit)
