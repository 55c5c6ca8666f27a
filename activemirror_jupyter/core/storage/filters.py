"""Listing and search filters applied in Python, for the stores that keep no SQL (memory,
the JSON folder): the same rules the SQL stores write as ``WHERE`` clauses."""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence

from ..models import Message, SessionMetadata
from .base import SearchQuery, SessionQuery


def listed(
    query: SessionQuery,
    session_id: str,
    parent: str | None,
    tags: Sequence[str],
    present: Container[str],
) -> bool:
    """Whether the session (``parent``, ``tags``) is one ``query`` names; ``present`` holds
    every stored session's id (a root's parent may be gone)."""
    if query.parent is not None and parent != query.parent:
        return False
    if query.tag is not None and query.tag not in tags:
        return False
    return not query.roots or parent is None or parent == session_id or parent not in present


def paged(items: list, query: SessionQuery) -> list:
    if query.limit is None:
        return items[query.offset :]
    return items[query.offset : query.offset + query.limit]


def matches(query: SearchQuery, message: Message, session: SessionMetadata | None) -> bool:
    """Whether ``message`` (of ``session``) passes the query's filters (not its words):
    ``since`` is inclusive, ``until`` exclusive."""
    if query.session_id is not None and message.session_id != query.session_id:
        return False
    if query.role is not None and message.role != query.role:
        return False
    if query.tag is not None and (session is None or query.tag not in session.tags):
        return False
    if query.since is not None and message.timestamp < query.since:
        return False
    return query.until is None or message.timestamp < query.until


def newest_first(messages: Iterable[Message]) -> list[Message]:
    return sorted(messages, key=lambda m: (m.timestamp, m.id), reverse=True)


def page_of(found: list[Message], query: SearchQuery) -> list[Message]:
    if query.limit < 0:
        return found[query.offset :]
    return found[query.offset : query.offset + query.limit]
