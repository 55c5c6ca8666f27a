"""Sessions and messages as plain JSON records, decided once for every surface: the HTTP
API, the command line, JSON exports and the JSON folder's files.

One record, two spellings of its keys: ``snake_case`` for the API and the command line,
``camelCase`` for the spec's files and our exports. A session's own id is ``id``; a
message refers to its session as ``session_id`` (``sessionId``). Timestamps are always
:func:`~.timeutil.to_iso` text, ending in ``Z``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .models import Attachment, Message, SessionMetadata, timestamp_text
from .timeutil import to_iso


def session_record(meta: SessionMetadata, *, camel_case: bool = False) -> dict[str, Any]:
    """A session's metadata, in the spec's field order (its fields first, then ours)."""
    record = {
        "id": meta.session_id,
        "title": meta.title,
        "user_id": meta.user_id,
        "created_at": to_iso(meta.created_at),
        "updated_at": to_iso(meta.updated_at),
        "message_count": meta.message_count,
        "parent_session_id": meta.parent_session_id,
        "status": meta.status,
        "max_context_messages": meta.max_context_messages,
        "metadata": dict(meta.metadata),
        "tags": list(meta.tags),
        "head": meta.head,
    }
    return camel(record) if camel_case else record


def message_record(
    message: Message, *, with_session: bool = True, camel_case: bool = False
) -> dict[str, Any]:
    """A message, its attachments described (not their bytes); without its session's id
    where the record sits inside its session."""
    record: dict[str, Any] = {"id": message.id}
    if with_session:
        record["session_id"] = message.session_id
    record.update(
        role=message.role,
        content=message.content,
        timestamp=timestamp_text(message),
        metadata=message.metadata,
        hash=message.hash,
        origin=message.origin,
        attachments=[attachment_record(a, camel_case=camel_case) for a in message.attachments],
    )
    if message.redacted is not None:
        # When and why it was redacted, and the digest of what it said, which its hash
        # chains from (see .redaction); absent on every other message.
        record["redacted"] = {
            "at": to_iso(message.redacted["at"]),
            "reason": message.redacted["reason"],
        }
        record["digest"] = message.kept_digest
    return camel(record) if camel_case else record


def attachment_record(attachment: Attachment, *, camel_case: bool = False) -> dict[str, Any]:
    record = attachment.info()
    return camel(record) if camel_case else record


def camel(record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` with its top-level keys in camelCase (``user_id`` → ``userId``)."""
    return {_to_camel(key): value for key, value in record.items()}


def _to_camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(word.capitalize() for word in rest)
