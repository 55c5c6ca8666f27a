"""The sessions a report covers — a session and, if asked, its whole family below it — and
their messages, read from the store a page at a time.

The family is walked before anything is written: depth first, each session's children
oldest first (by creation time, then id). Every session has one parent, so a walk can only
come back to a session it has seen through a cycle of parent links, which the API never
makes (a store changed behind it can): that is a :class:`FamilyCycleError` naming the
sessions in the cycle, raised before a line of the report exists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Protocol

from ..errors import StorageError
from ..models import Message, SessionMetadata

#: Messages read from the store at a time.
PAGE_SIZE = 200


class FamilyCycleError(StorageError):
    """The parent links of a session's family form a cycle (the store was changed behind
    the API); nothing was exported."""


class Reader(Protocol):
    """What a report reads through the :class:`~..mirror.ActiveMirror` façade."""

    description: str

    def saved_count(self, session_id: str) -> int: ...

    def saved_messages(
        self, session_id: str, start: int = 0, stop: int | None = None
    ) -> list[Message]: ...

    def list_sessions(self, *, parent_session_id: str | None = None) -> list[SessionMetadata]: ...


class Exported(Protocol):
    """What a report needs of the :class:`~..session.Session` it starts from."""

    @property
    def id(self) -> str: ...

    @property
    def unsaved_count(self) -> int: ...

    @property
    def mirror(self) -> Reader: ...

    def metadata_snapshot(self) -> SessionMetadata: ...

    def get_messages(self, limit: int | None = None, offset: int = 0) -> list[Message]: ...


@dataclass(frozen=True)
class Part:
    """One session of a report: its metadata (``message_count`` is what :meth:`pages`
    yields), its ``depth`` in the family (0 for the session exported) and its messages."""

    meta: SessionMetadata
    depth: int = 0
    _pages: Callable[[], Iterator[list[Message]]] = field(
        default=lambda: iter(()), repr=False, compare=False
    )

    @classmethod
    def of(cls, meta: SessionMetadata, messages: list[Message], depth: int = 0) -> Part:
        """A part over messages already in memory."""
        meta = replace(meta, message_count=len(messages))
        return cls(meta, depth, lambda: iter([messages] if messages else []))

    def pages(self) -> Iterator[list[Message]]:
        """The messages, oldest first, a page at a time."""
        return self._pages()

    def messages(self) -> Iterator[Message]:
        """The messages, oldest first (read a page at a time)."""
        for page in self._pages():
            yield from page


def parts_of(
    session: Exported, *, include_children: bool = False, page_size: int = PAGE_SIZE
) -> list[Part]:
    """The session (its saved messages, then the unsaved ones) and, with
    ``include_children``, every descendant depth first, oldest first."""
    store = session.mirror
    # The unsaved messages are the newest ones; the saved ones are counted once, so a
    # message another process saves meanwhile is not half in the report.
    unsaved = session.get_messages(limit=session.unsaved_count) if session.unsaved_count else []
    saved = store.saved_count(session.id)
    meta = replace(session.metadata_snapshot(), message_count=saved + len(unsaved))

    def pages() -> Iterator[list[Message]]:
        yield from _store_pages(store, session.id, saved, page_size)
        if unsaved:
            yield unsaved

    parts = [Part(meta, 0, pages)]
    if include_children:
        for depth, child in descendants(store, meta):
            parts.append(stored_part(store, child, depth, page_size))
    return parts


def stored_part(store: Reader, meta: SessionMetadata, depth: int, page_size: int) -> Part:
    """A saved session as a part, its messages read from ``store``."""
    count = store.saved_count(meta.session_id)
    return Part(
        replace(meta, message_count=count),
        depth,
        lambda: _store_pages(store, meta.session_id, count, page_size),
    )


def _store_pages(
    store: Reader, session_id: str, count: int, page_size: int
) -> Iterator[list[Message]]:
    for start in range(0, count, page_size):
        page = store.saved_messages(session_id, start, min(start + page_size, count))
        if page:
            yield page


def descendants(store: Reader, root: SessionMetadata) -> list[tuple[int, SessionMetadata]]:
    """Every saved session below ``root`` as ``(depth, metadata)``, depth first, each
    session's children oldest first. Raises :class:`FamilyCycleError` on a cycle."""
    reached_from: dict[str, str | None] = {root.session_id: None}
    titles = {root.session_id: root.title}
    found: list[tuple[int, SessionMetadata]] = []
    stack = [(1, root.session_id, child) for child in reversed(_children(store, root))]
    while stack:
        depth, parent, meta = stack.pop()
        sid = meta.session_id
        if sid in reached_from:
            raise FamilyCycleError(_cycle_message(sid, parent, reached_from, titles, store))
        reached_from[sid] = parent
        titles[sid] = meta.title
        found.append((depth, meta))
        stack.extend((depth + 1, sid, child) for child in reversed(_children(store, meta)))
    return found


def _children(store: Reader, meta: SessionMetadata) -> list[SessionMetadata]:
    children = store.list_sessions(parent_session_id=meta.session_id)
    return sorted(children, key=lambda m: (m.created_at, m.session_id))


def _cycle_message(
    again: str,
    parent: str,
    reached_from: dict[str, str | None],
    titles: dict[str, str],
    store: Reader,
) -> str:
    chain = [parent]
    while chain[-1] != again and reached_from.get(chain[-1]) is not None:
        chain.append(reached_from[chain[-1]])  # type: ignore[arg-type]
    chain.reverse()
    chain.append(again)
    shown = " → ".join(f"{titles.get(sid, '')!r} ({sid})" for sid in chain)
    return (
        f"the sessions' parent links form a cycle in {store.description}: {shown}; the "
        "store was changed behind the API, so the family has no top. Nothing was exported; "
        "export without children, or correct a parent_session_id"
    )
