"""What a segment holds, as JSON, and the checks on what is read back.

A segment (one push of one device) is ``{"format", "version", "device", "seq", "sessions":
[…]}``; each session record is ``{"id", "fields", "messages", "seal"?, "deleted"?}``:

- ``fields``: the session's fields that changed, each ``[value, at, device]`` — the value
  and when and where it was changed (the later change wins everywhere: its time, then
  device id): ``title``, ``tags``, ``parent``, and ``info`` (created, user, status,
  metadata other than the seal, max context).
- ``messages``: messages in their device's order, each as exported (attachments described,
  their bytes in the device's ``a-…`` files) plus ``origin``, ``clock`` and ``hash``.
- ``seal``: ``{"seal", "tips", "title", "tags"}`` — the session's seal, each device's last
  hash it covers, and the fields it was sealed with.
- ``deleted``: ``{"at", "device", "known"}`` — a delete, and the largest clock of each
  device's messages the deleting device had (a delete never removes what it had not seen).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InvalidIdError, SyncError
from ..ids import validate_device_id, validate_id
from ..journal import digest
from ..models import (
    Attachment,
    Message,
    check_attachment_name,
    check_content,
    check_metadata,
    check_mime_type,
    check_role,
    check_sha256,
    keep_timestamp_text,
    timestamp_text,
)
from ..redaction import check_reason, restored
from ..timeutil import from_iso, to_iso

SEGMENT_FORMAT = "activemirror-sync-segment"
SEGMENT_VERSION = 1
#: A stamp: when and on which device a field was changed (compared as a tuple).
Stamp = tuple[str, str]


#: Attachments up to this size travel inside their segment (base64 ``data``); larger ones
#: in files of their own.
INLINE_BYTES = 64 * 1024


def message_out(m: Message) -> dict[str, Any]:
    out = _message_out(m)
    if m.redacted is not None:
        out["redacted"] = {"at": to_iso(m.redacted["at"]), "reason": m.redacted["reason"]}
        out["digest"] = digest(m)
    return out


def _message_out(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "role": m.role,
        "content": m.content,
        "timestamp": timestamp_text(m),
        "metadata": m.metadata,
        "attachments": [_attachment_out(a) for a in m.attachments],
        "origin": m.origin,
        "clock": m.clock,
        "hash": m.hash,
    }


def _attachment_out(a: Attachment) -> dict[str, Any]:
    out = a.info()
    if a.size <= INLINE_BYTES:
        out["data"] = base64.b64encode(a.read()).decode("ascii")
    return out


def in_own_file(a: Attachment) -> bool:
    return a.size > INLINE_BYTES


def redaction_record(m: Message) -> dict[str, Any]:
    """A redaction as sync carries it: ``{"id", "at", "reason"}``."""
    assert m.redacted is not None
    return {"id": m.id, "at": to_iso(m.redacted["at"]), "reason": m.redacted["reason"]}


@dataclass
class SessionRecords:
    """What the segments read in one sync say about one session."""

    fields: dict[str, list[Any]] = field(default_factory=dict)  # name -> [value, at, device]
    messages: list[Message] = field(default_factory=list)
    seals: list[dict[str, Any]] = field(default_factory=list)
    deletes: list[dict[str, Any]] = field(default_factory=list)
    redactions: list[dict[str, Any]] = field(default_factory=list)  # {"id", "at", "reason"}

    def add_field(self, name: str, value: list[Any]) -> None:
        held = self.fields.get(name)
        if held is None or stamp(value) > stamp(held):
            self.fields[name] = value


def stamp(value: list[Any]) -> Stamp:
    return (str(value[1]), str(value[2]))


class Reader:
    """Checks one segment's records as they are read, naming the file in every error."""

    def __init__(self, where: str, bytes_of: Callable[[Attachment], Callable[[], bytes]]):
        self.where = where
        self._bytes_of = bytes_of

    def fail(self, problem: str) -> SyncError:
        return SyncError(f"{self.where} holds a record this version cannot take: {problem}")

    def check(self, check: Callable[[Any], Any], value: Any, what: str) -> Any:
        try:
            return check(value)
        except (TypeError, ValueError, RecursionError, InvalidIdError) as exc:
            raise self.fail(f"{what}: {exc}") from None

    def segment(self, doc: Any, device: str, seq: int) -> list[dict[str, Any]]:
        if not isinstance(doc, Mapping) or doc.get("format") != SEGMENT_FORMAT:
            raise self.fail("it is not a segment")
        if doc.get("version") != SEGMENT_VERSION:
            raise self.fail(f"format version {doc.get('version')!r}")
        if doc.get("device") != device or doc.get("seq") != seq:
            raise self.fail("it names another device or place than the file it is in")
        sessions = doc.get("sessions")
        if not isinstance(sessions, list) or not all(isinstance(s, Mapping) for s in sessions):
            raise self.fail("'sessions' is not a list of objects")
        return sessions

    def session_into(self, raw: Mapping[str, Any], into: SessionRecords, sid: str) -> None:
        fields = raw.get("fields", {})
        if not isinstance(fields, Mapping):
            raise self.fail("'fields' is not an object")
        for name, value in fields.items():
            if name not in ("title", "tags", "parent", "info") or not _stamped(value):
                raise self.fail(f"field {name!r} is not [value, time, device]")
            into.add_field(name, list(value))
        messages = raw.get("messages", [])
        if not isinstance(messages, list):
            raise self.fail("'messages' is not a list")
        into.messages.extend(self.message(m, sid) for m in messages)
        redactions = raw.get("redactions", [])
        if not isinstance(redactions, list):
            raise self.fail("'redactions' is not a list")
        into.redactions.extend(self.redaction(r) for r in redactions)
        into.redactions.extend(redaction_record(m) for m in into.messages if m.redacted)
        for key, target in (("seal", into.seals), ("deleted", into.deletes)):
            if key in raw:
                if not isinstance(raw[key], Mapping):
                    raise self.fail(f"{key!r} is not an object")
                target.append(dict(raw[key]))

    def message(self, raw: Any, sid: str) -> Message:
        if not isinstance(raw, Mapping):
            raise self.fail("a message is not an object")
        clock = raw.get("clock")
        if isinstance(clock, bool) or not isinstance(clock, int) or clock < 1:
            raise self.fail(f"a message's clock is {clock!r}")
        attachments = raw.get("attachments", [])
        if not isinstance(attachments, list):
            raise self.fail("a message's attachments are not a list")
        stamp_text = raw.get("timestamp")
        try:  # one handler for every field: this runs once per message pulled
            message = Message(
                id=validate_id(raw.get("id"), "message id"),
                session_id=sid,
                role=check_role(raw.get("role")),
                content=check_content(raw.get("content")),
                timestamp=from_iso(stamp_text),
                metadata=check_metadata(raw.get("metadata")),
                attachments=tuple(self.attachment(a) for a in attachments),
                hash=check_sha256(raw.get("hash")),
                origin=validate_device_id(raw.get("origin"), "origin"),
                clock=clock,
            )
        except (TypeError, ValueError, RecursionError, InvalidIdError) as exc:
            raise self.fail(f"a message: {exc}") from None
        if "redacted" in raw:
            message = self.check(
                lambda r: restored(message, r, raw.get("digest")), raw["redacted"], "redacted"
            )
        return keep_timestamp_text(message, stamp_text)

    def redaction(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise self.fail("a redaction is not an object")
        message_id = self.check(lambda v: validate_id(v, "message id"), raw.get("id"), "id")
        at = self.check(lambda v: to_iso(from_iso(v)), raw.get("at"), "redaction time")
        reason = self.check(check_reason, raw.get("reason"), "reason")
        return {"id": message_id, "at": at, "reason": reason}

    def attachment(self, raw: Any) -> Attachment:
        if not isinstance(raw, Mapping):
            raise self.fail("an attachment is not an object")
        size = raw.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise self.fail(f"an attachment's size is {size!r}")
        described = Attachment(
            self.check(check_attachment_name, raw.get("name"), "attachment name"),
            self.check(check_mime_type, raw.get("mime_type"), "attachment type"),
            size,
            self.check(check_sha256, raw.get("sha256"), "attachment sha256"),
        )
        data = raw.get("data")
        if data is not None:
            try:
                held = base64.b64decode(str(data).encode("ascii"), validate=True)
            except (ValueError, UnicodeEncodeError):
                raise self.fail("an attachment's data is not base64") from None
            reader: Callable[[], bytes] = lambda: held  # noqa: E731
        else:
            reader = self._bytes_of(described)
        return Attachment.stored(
            described.name, described.mime_type, described.size, described.sha256, reader
        )


def _stamped(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 3
        and isinstance(value[1], str)
        and isinstance(value[2], str)
    )


def device_of(value: Any, what: str) -> str:
    try:
        return validate_device_id(value, what)
    except InvalidIdError as exc:
        raise SyncError(f"a sync record's {what} is not a device id: {exc}") from None
