"""What the two SQL stores (SQLite, PostgreSQL) share: rows ↔ records, JSON columns, and
the registry of named schema migrations."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from ..models import Attachment, Message, SessionMetadata, keep_timestamp_text
from ..timeutil import is_written_form
from .base import SessionQuery

SESSION_COLUMNS = (
    "id, user_id, title, created_at, updated_at, status, "
    "parent_session_id, metadata, max_context_messages, message_count, tags, head"
)
#: (``origin`` is NULL for the store's own messages: see :func:`stored_origin`.)
MESSAGE_COLUMNS = "id, session_id, role, content, timestamp, metadata, hash, origin"
#: What reading a session's messages takes: those and the message's clock (0.3).
READ_COLUMNS = f"{MESSAGE_COLUMNS}, clock"
#: The columns of 0.2, which migrations written then read.
MESSAGE_COLUMNS_02 = "id, session_id, role, content, timestamp, metadata, hash"
#: An attachment's row without its bytes (which the stores read only when asked).
ATTACHMENT_COLUMNS = "message_id, name, mime_type, size, sha256"

Migration = Callable[[Any], None]


class Migrations(list[tuple[str, Migration]]):
    """Named schema changes, applied once each in the order they were declared and recorded
    by name in the database: ``@MIGRATIONS.register`` on ``def m003_add_x(db): …``."""

    def register(self, fn: Migration) -> Migration:
        self.append((fn.__name__, fn))
        return fn


def load_json(value: Any) -> dict[str, Any]:
    """A JSON column as a dict (text from SQLite, already parsed from PostgreSQL); anything
    else that older tools left there is kept under ``legacy_metadata``."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"legacy_metadata": value}
    return value if isinstance(value, dict) else {"legacy_metadata": value}


def dump_json(value: dict[str, Any]) -> str | None:
    return json.dumps(value, ensure_ascii=False, sort_keys=True) if value else None


def session_from_row(row: Sequence[Any], when: Callable[[Any], datetime]) -> SessionMetadata:
    """A row in SESSION_COLUMNS order; ``when`` turns the store's timestamps into aware UTC."""
    return SessionMetadata(
        session_id=row[0],
        user_id=row[1],
        title=row[2] if row[2] is not None else "",
        created_at=when(row[3]),
        updated_at=when(row[4]),
        status=row[5] or "active",
        parent_session_id=row[6],
        metadata=load_json(row[7]),
        max_context_messages=row[8],
        message_count=row[9] or 0,
        tags=load_tags(row[10]),
        head=row[11],
    )


def stored_origin(message: Message, device_id: str) -> str | None:
    """What a store writes as a message's origin: NULL for its own device's messages, so a
    store given a new device id (a copied store, :meth:`ActiveMirror.new_device_id`) moves
    them with it; the device id for messages another device saved first."""
    return None if message.origin in (None, device_id) else message.origin


def clocks_after(last: int, messages: Sequence[Message]) -> list[int]:
    """The clocks of ``messages`` saved in this order after a message of clock ``last``:
    its own where a message has one (it came from another device), else one more than the
    largest before it (a Lamport clock)."""
    if all(m.clock is None for m in messages):  # none came from elsewhere: the next numbers
        return list(range(last + 1, last + 1 + len(messages)))
    found = []
    for message in messages:
        clock = message.clock if message.clock is not None else last + 1
        last = max(last, clock)
        found.append(clock)
    return found


def message_from_row(
    row: Sequence[Any],
    when: Callable[[Any], datetime],
    attachments: tuple[Attachment, ...] = (),
    device_id: str | None = None,
) -> Message:
    """A row in MESSAGE_COLUMNS order (or MESSAGE_COLUMNS_02's); a NULL origin is
    ``device_id``, the store's own."""
    message = Message(
        id=row[0],
        session_id=row[1],
        role=row[2],
        content=row[3] if row[3] is not None else "",
        timestamp=when(row[4]),
        metadata=load_json(row[5]),
        attachments=attachments,
        hash=row[6],
        origin=(row[7] if len(row) > 7 else None) or device_id,
        clock=row[8] if len(row) > 8 else None,
    )
    if isinstance(row[4], str) and is_written_form(row[4]):
        keep_timestamp_text(message, row[4])  # verify and the API need not format it again
    return message


def attachments_by_message(
    rows: Iterable[Sequence[Any]], reader: Callable[[str, str], bytes]
) -> dict[str, tuple[Attachment, ...]]:
    """Rows in ATTACHMENT_COLUMNS order (each message's in their order) as attachments
    whose bytes ``reader(message_id, name)`` reads when asked."""
    found: dict[str, list[Attachment]] = {}
    for message_id, name, mime_type, size, sha256 in rows:
        read = functools.partial(reader, message_id, name)
        found.setdefault(message_id, []).append(
            Attachment.stored(name, mime_type, size, sha256, read)
        )
    return {k: tuple(v) for k, v in found.items()}


def load_tags(value: Any) -> tuple[str, ...]:
    """A tags column: JSON text (SQLite), an array (PostgreSQL), or NULL."""
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return ()
    return tuple(t for t in value if isinstance(t, str)) if isinstance(value, list) else ()


def session_filter(
    query: SessionQuery, mark: str, *, tagged: str, mine: str = ""
) -> tuple[str, tuple[Any, ...]]:
    """The conditions of a session listing, for both SQL stores: the rule
    :func:`.filters.listed` applies in Python. ``mark`` is the placeholder, ``tagged`` the
    store's test that a session holds the tag (one placeholder), ``mine`` a condition on
    the owner of a session ``p`` (PostgreSQL's row security: a parent the role cannot see
    is gone for it). Returns ``(" AND …", params)``, empty when nothing is filtered."""
    clauses: list[str] = []
    params: list[Any] = []
    if query.parent is not None:
        clauses.append(f"parent_session_id = {mark}")
        params.append(query.parent)
    if query.tag is not None:
        clauses.append(tagged)
        params.append(query.tag)
    if query.roots:
        clauses.append(f"NOT ({_child_of_a_session(mine)})")
    return "".join(f" AND {c}" for c in clauses), tuple(params)


def session_count_sql(
    query: SessionQuery, mark: str, *, tagged: str, mine: str = "", own: str = "true"
) -> tuple[str, tuple[Any, ...]]:
    """The query counting what :func:`session_filter` lists. Roots are counted as every
    session less those with a parent present: both counts read an index (the sessions with
    a parent, by ``parent_session_id``), where testing each session for a parent would
    read every row."""
    if not query.roots:
        where, params = session_filter(query, mark, tagged=tagged, mine=mine)
        return f"SELECT count(*) FROM sessions WHERE {own}{where}", params
    where, params = session_filter(
        SessionQuery(parent=query.parent, tag=query.tag), mark, tagged=tagged, mine=mine
    )
    return (
        f"SELECT (SELECT count(*) FROM sessions WHERE {own}{where}) - (SELECT count(*) "
        f"FROM sessions WHERE {own}{where} AND {_child_of_a_session(mine)})",
        params + params,
    )


def _child_of_a_session(mine: str) -> str:
    """A session whose parent is present (``> ''`` lets an index on the parent serve)."""
    return (
        "parent_session_id > '' AND parent_session_id <> id AND EXISTS (SELECT 1 FROM "
        f"sessions p WHERE {mine}p.id = sessions.parent_session_id)"
    )
