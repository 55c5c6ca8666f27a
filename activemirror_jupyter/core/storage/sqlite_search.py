"""The SQL of the SQLite store's search: FTS5 over message content and over text
attachments, then the filters (session, role, session tag, time), newest first.

Each query word is a quoted FTS5 string, so nothing the user typed is query syntax.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from ..search import attachment_text
from ..timeutil import to_iso
from .base import SearchQuery

#: The attachments whose text is indexed and searched.
TEXT_ATTACHMENT = "mime_type LIKE 'text/%'"
#: The text of an attachment row as it is indexed — and, the index being contentless, as
#: it is told again to remove the row: :func:`~..search.attachment_text` (HTML without its
#: markup), a function of what the row keeps (see :func:`add_functions`).
ATTACHMENT_TEXT = "activemirror_attachment_text(mime_type, data)"


def add_functions(db: sqlite3.Connection) -> None:
    """Give ``db`` the SQL function :data:`ATTACHMENT_TEXT` calls."""
    db.create_function("activemirror_attachment_text", 2, _text, deterministic=True)


def _text(mime_type: object, data: object) -> str | None:
    if isinstance(data, str):  # a row written behind the API with text for bytes
        data = data.encode("utf-8", "replace")
    if not isinstance(mime_type, str) or not isinstance(data, bytes):
        return None
    return attachment_text(mime_type, data)


# Messages whose content holds every word, or with a text attachment that does.
_HITS = (
    "SELECT rowid FROM messages_fts WHERE messages_fts MATCH :match "
    "UNION SELECT m.rowid FROM attachments_fts AS f "
    "JOIN attachments AS a ON a.rowid = f.rowid "
    "JOIN messages AS m ON m.id = a.message_id "
    "WHERE attachments_fts MATCH :match"
)


def fts_match(words: tuple[str, ...]) -> str:
    return " ".join(f'"{w}"' for w in words)


def _filters(query: SearchQuery) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {"match": fts_match(query.words)}
    if query.session_id is not None:
        clauses.append("m.session_id = :session")
        params["session"] = query.session_id
    if query.role is not None:
        clauses.append("m.role = :role")
        params["role"] = query.role
    if query.tag is not None:
        clauses.append("m.session_id IN (SELECT session_id FROM session_tags WHERE tag = :tag)")
        params["tag"] = query.tag
    if query.since is not None:
        clauses.append("m.timestamp >= :since")
        params["since"] = to_iso(query.since)
    if query.until is not None:
        clauses.append("m.timestamp < :until")
        params["until"] = to_iso(query.until)
    return "".join(f" AND {c}" for c in clauses), params


def search_sql(query: SearchQuery, columns: str) -> tuple[str, dict[str, Any]]:
    """A page of hits (``columns`` of ``messages AS m``), newest first."""
    where, params = _filters(query)
    params.update(limit=query.limit, offset=query.offset)
    sql = (
        f"SELECT {columns} FROM messages AS m WHERE m.rowid IN ({_HITS}){where} "
        "ORDER BY m.timestamp DESC, m.id DESC LIMIT :limit OFFSET :offset"
    )
    return sql, params


def count_sql(query: SearchQuery) -> tuple[str, dict[str, Any]]:
    """How many messages the query finds. Without filters, counted in the indexes alone
    (content hits, plus messages found only by a text attachment), so a common word's count
    is not a join of every hit."""
    where, params = _filters(query)
    if where:
        return f"SELECT count(*) FROM messages AS m WHERE m.rowid IN ({_HITS}){where}", params
    return (
        "SELECT (SELECT count(*) FROM messages_fts WHERE messages_fts MATCH :match) + "
        "(SELECT count(DISTINCT m.rowid) FROM attachments_fts AS f "
        "JOIN attachments AS a ON a.rowid = f.rowid JOIN messages AS m ON m.id = a.message_id "
        "WHERE attachments_fts MATCH :match AND NOT EXISTS (SELECT 1 FROM messages_fts "
        "WHERE messages_fts MATCH :match AND messages_fts.rowid = m.rowid))",
        params,
    )
