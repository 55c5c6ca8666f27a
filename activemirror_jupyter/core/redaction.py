"""Redaction: a saved message's content, metadata and attachments removed for good, while
its place in the journal stays provable.

A redacted message keeps its id, session, role, timestamp, origin, position and hash, and
:attr:`~.models.Message.redacted` says when and why: ``{"at": aware datetime, "reason":
str}``. Its hash was made from the digest of what it said (:func:`.journal.digest`); the
store keeps that digest (:attr:`~.models.Message.kept_digest`), so the chain still verifies
from it. What verify can and cannot say about a redacted message is in the README
("Redaction").

Every store applies a redaction with ``store.redact(session_id, message_id, at, reason)``
(idempotent: a message already redacted is returned as it is, its first reason kept), the
same call whether the redaction was made here (:meth:`.session.Session.redact`) or arrived
from another device; a store saving a message that is already redacted (an import, a sync)
keeps its redaction and digest.

On disk this module holds the record both formats share: ``{"at": "…Z", "reason": "…"}``
next to the kept ``digest``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from .journal import digest
from .models import Message, check_sha256
from .timeutil import from_iso

#: The longest reason kept (a reason says why, it is not a place for text).
MAX_REASON_CHARS = 1000


def check_reason(reason: object) -> str:
    """A reason a user gave: non-empty text (surrounding blanks dropped), ValueError else."""
    if not isinstance(reason, str):
        raise TypeError(f"a redaction's reason must be text, not {type(reason).__name__}")
    reason = reason.strip()
    if not reason:
        raise ValueError("a redaction needs a reason (say why the message must go)")
    if len(reason) > MAX_REASON_CHARS or "\x00" in reason:
        raise ValueError(
            f"a redaction's reason must be at most {MAX_REASON_CHARS} characters of text"
        )
    try:
        reason.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a redaction's reason is not valid Unicode") from None
    return reason


def redacted_form(message: Message, at: datetime, reason: str) -> Message:
    """``message`` as a redaction leaves it: nothing of what it said, its place kept. A
    message already redacted is returned as it is (the first redaction stands)."""
    if message.redacted is not None:
        return message
    return replace(
        message,
        content="",
        metadata={},
        attachments=(),
        redacted={"at": at, "reason": reason},
        kept_digest=digest(message),
    )


def from_record(record: object, kept_digest: object) -> tuple[dict[str, Any], str]:
    """A redaction record and its digest as read from a file or an export; ValueError
    naming what is wrong."""
    if not isinstance(record, Mapping) or set(record) != {"at", "reason"}:
        raise ValueError('must be {"at": timestamp, "reason": text}')
    at = record["at"]
    if not isinstance(at, str):
        raise ValueError(f"'at' must be an ISO 8601 timestamp, not {at!r}")
    when = from_iso(at)
    return {"at": when, "reason": check_reason(record["reason"])}, check_sha256(
        kept_digest, "the digest of a redacted message"
    )


def restored(message: Message, record: object, kept_digest: object) -> Message:
    """``message`` (read from a file or an export) with the redaction it records. Content
    put back into a redacted message behind the API is kept as found: verify reports it."""
    redaction, found = from_record(record, kept_digest)
    return replace(message, redacted=redaction, kept_digest=found)


def shown_content(message: Message) -> str:
    """What reports and panels show as a message's text: its content, or for a redacted
    message ``redacted: <reason>, <when>``."""
    if message.redacted is None:
        return message.content
    at = message.redacted["at"].strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"redacted: {message.redacted['reason']}, {at}"


#: A store's look-up of redaction rows ``(message_id, at, reason, digest)`` for these ids.
Lookup = Callable[[list[str]], Iterable[Sequence[Any]]]


def with_redactions(
    messages: list[Message], lookup: Lookup, when: Callable[[Any], datetime]
) -> list[Message]:
    """``messages`` read from an SQL store, with the redactions its ``redactions`` table
    records (``when`` reads its times). Only an empty message can be a redacted one, so a
    page of ordinary messages costs no look-up."""
    empty = [m.id for m in messages if not m.content and not m.metadata and not m.attachments]
    if not empty:
        return messages
    found = {row[0]: row[1:] for row in lookup(empty)}
    return [_marked(m, found[m.id], when) if m.id in found else m for m in messages]


def _marked(message: Message, row: Sequence[Any], when: Callable[[Any], datetime]) -> Message:
    at, reason, kept = row
    # replace keeps what the message carries besides (its clock); its digest is the kept one
    return replace(message, redacted={"at": when(at), "reason": reason}, kept_digest=kept)
