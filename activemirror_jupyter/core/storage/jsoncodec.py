"""The JSON folder's file formats: session files and index entries ↔ records, checked on
the way in. Pure functions; the store that uses them is :mod:`.jsonfiles`.

A session file (the spec's shape, plus our optional keys)::

    {"id", "title", "userId", "createdAt", "updatedAt", "messageCount",
     "parentSessionId", "status", "maxContextMessages", "metadata",
     "messages": [{"id", "sessionId", "role", "content", "timestamp", "metadata"}, …]}

written with its top-level fields one per line and one message per line, so appending a
message re-uses the lines already encoded. A field that cannot be what it should be is a
:class:`DamagedFileError` naming the file and the field.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import serialize
from ..errors import InvalidIdError, StorageError
from ..ids import validate_device_id, validate_id
from ..models import (
    ROLES,
    Attachment,
    Message,
    SessionMetadata,
    check_attachment_name,
    check_mime_type,
    check_sha256,
    keep_timestamp_text,
)
from ..redaction import restored
from ..timeutil import from_iso, to_iso

#: 2: entries hold tags, head and attachment hashes; messages are chained (0.2).
INDEX_VERSION = 2

# The session file's keys in the order we write them (messages last, as the SDK does).
HEADER_KEYS = (
    "id",
    "title",
    "userId",
    "createdAt",
    "updatedAt",
    "messageCount",
    "parentSessionId",
    "status",
    "maxContextMessages",
    "metadata",
    "tags",
    "head",
    "tips",
)


def dumps(value: Any) -> str:
    """One JSON value on one line, as the folder's files hold them."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def stat_key(st: os.stat_result) -> tuple[int, int, int]:
    """What tells two versions of a file apart."""
    # os.replace gives every version of a file a new inode, so this changes on every write.
    return (st.st_ino, st.st_mtime_ns, st.st_size)


class DamagedFileError(StorageError):
    """A file of the folder cannot be read as what it should be (named in the message)."""


def _field_error(path: Path, what: str, problem: str) -> DamagedFileError:
    return DamagedFileError(f"session file {path} is damaged: {what} {problem}")


def _text(data: dict[str, Any], key: str, path: Path, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise _field_error(path, f"{key!r}", f"must be text, not {type(value).__name__}")
    return value


def _time(value: Any, path: Path, what: str) -> str:
    """A timestamp from a file, normalised to our fixed-width ISO form."""
    try:
        return to_iso(from_iso(value))
    except (TypeError, ValueError):
        raise _field_error(path, what, f"is not an ISO 8601 timestamp: {value!r}") from None


def _optional_id(value: Any, path: Path, what: str) -> str | None:
    if value is None:
        return None
    try:
        return validate_id(value, what)
    except InvalidIdError as exc:
        raise _field_error(path, what, f"is unsafe ({exc})") from None


def entry_from_header(session_id: str, header: dict[str, Any], count: int, path: Path) -> dict:
    """The index entry (camelCase metadata) of a session file's top-level fields."""
    if header.get("id") != session_id:
        raise _field_error(path, "'id'", f"is {header.get('id')!r}, not the file's name")
    title = header.get("title")
    created = _time(header.get("createdAt"), path, "'createdAt'")
    updated = header.get("updatedAt")
    max_context = header.get("maxContextMessages")
    if max_context is not None and (
        isinstance(max_context, bool) or not isinstance(max_context, int) or max_context < 1
    ):
        raise _field_error(
            path, "'maxContextMessages'", f"is not a positive integer: {max_context!r}"
        )
    user = header.get("userId")
    if user is not None and not isinstance(user, str):
        raise _field_error(path, "'userId'", f"must be text, not {type(user).__name__}")
    metadata = header.get("metadata")
    status = header.get("status")
    tags = header.get("tags")
    head = header.get("head")
    tips = header.get("tips")
    return {
        "title": title if isinstance(title, str) else "",
        "userId": user,
        "parentSessionId": _optional_id(header.get("parentSessionId"), path, "'parentSessionId'"),
        "status": status if isinstance(status, str) and status else "active",
        "createdAt": created,
        "updatedAt": created if updated is None else _time(updated, path, "'updatedAt'"),
        "messageCount": count,
        "maxContextMessages": max_context,
        "metadata": metadata if isinstance(metadata, dict) else {},
        "tags": [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else [],
        "head": head if isinstance(head, str) else None,
        "tips": tips if isinstance(tips, dict) and tips else None,
    }


def _index_time(text: str) -> datetime:
    # Index timestamps are ours (to_iso: UTC, ending in Z), which fromisoformat reads as is.
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return from_iso(text)


def meta_from_entry(session_id: str, entry: dict[str, Any]) -> SessionMetadata:
    return SessionMetadata(
        session_id=session_id,
        title=entry["title"],
        user_id=entry["userId"],
        parent_session_id=entry["parentSessionId"],
        status=entry["status"],
        created_at=_index_time(entry["createdAt"]),
        updated_at=_index_time(entry["updatedAt"]),
        message_count=entry["messageCount"],
        max_context_messages=entry["maxContextMessages"],
        metadata=entry["metadata"],
        tags=tuple(entry.get("tags", ())),
        head=entry.get("head"),
    )


def message_record(m: Message, seq: int, device_id: str, clock: int) -> dict[str, Any]:
    """A message as the session file holds it: the JavaScript SDK's ``toJSON`` fields,
    then ours (``hash``, ``origin`` — left out for the folder's own messages, see
    :func:`.rows.stored_origin` —, ``attachments`` without their bytes, and ``seq``, its
    position)."""
    record = serialize.message_record(m, camel_case=True)
    if not record["attachments"]:
        del record["attachments"]
    if m.origin in (None, device_id):
        del record["origin"]
    record["seq"] = seq
    record["clock"] = clock
    return record


def attachment_shas(records: Sequence[Any]) -> set[str]:
    """The SHA-256 of every attachment these message records list."""
    return {
        a["sha256"]
        for r in records
        if isinstance(r, dict) and isinstance(r.get("attachments"), list)
        for a in r["attachments"]
        if isinstance(a, dict) and isinstance(a.get("sha256"), str)
    }


Reader = Callable[[str], Callable[[], bytes]]


def message_from_record(
    session_id: str, raw: Any, path: Path, pos: int, reader: Reader, device_id: str | None = None
) -> Message:
    """A message record checked; ``reader(sha256)`` gives each attachment its bytes; a
    record without an origin is one of ``device_id``'s, the folder's own."""
    what = f"messages[{pos}]"
    if not isinstance(raw, dict):
        raise _field_error(path, what, f"must be an object, not {type(raw).__name__}")
    role = raw.get("role")
    if role not in ROLES:
        raise _field_error(path, f"{what}.role", f"is {role!r}, not one of {', '.join(ROLES)}")
    metadata = raw.get("metadata")
    try:
        message_id = validate_id(raw.get("id"), "message id")
    except InvalidIdError as exc:
        raise _field_error(path, f"{what}.id", f"is unsafe ({exc})") from None
    timestamp = _time(raw.get("timestamp"), path, f"{what}.timestamp")
    message = Message(
        id=message_id,
        session_id=session_id,
        role=role,
        content=_text(raw, "content", path),
        timestamp=from_iso(timestamp),
        metadata=metadata if isinstance(metadata, dict) else {},
        attachments=_attachments(raw.get("attachments", []), path, what, reader),
        hash=raw.get("hash") if isinstance(raw.get("hash"), str) else None,
        origin=_origin(raw.get("origin"), path, what) or device_id,
        clock=record_clock(raw, pos),
    )
    if "redacted" in raw:
        try:
            message = restored(message, raw["redacted"], raw.get("digest"))
        except (TypeError, ValueError) as exc:
            raise _field_error(path, f"{what}.redacted", f"is not a redaction ({exc})") from None
    return keep_timestamp_text(message, timestamp)


def last_clock(stored: Sequence[Any], pending: Sequence[Any], count: int) -> int:
    """The clock of a session's last message record (``count`` of them)."""
    last = (pending or stored or [None])[-1]
    return 0 if last is None else record_clock(last, count - 1)


def record_clock(raw: Any, pos: int) -> int:
    """A message record's clock (0.3); a record written before, on one device: its place."""
    clock = raw.get("clock") if isinstance(raw, dict) else None
    return clock if isinstance(clock, int) and not isinstance(clock, bool) else pos + 1


def _origin(value: Any, path: Path, what: str) -> str | None:
    if value is None:
        return None
    try:
        return validate_device_id(value, "origin")
    except InvalidIdError as exc:
        raise _field_error(path, f"{what}.origin", f"is not a device id ({exc})") from None


def _attachments(raw: Any, path: Path, what: str, reader: Reader) -> tuple[Attachment, ...]:
    if not isinstance(raw, list):
        raise _field_error(path, f"{what}.attachments", "must be a list")
    found = []
    for i, item in enumerate(raw):
        where = f"{what}.attachments[{i}]"
        try:
            name = check_attachment_name(item.get("name"))
            mime_type = check_mime_type(item.get("mimeType"))
            sha256 = check_sha256(item.get("sha256"))
            size = item.get("size")
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise ValueError(f"size must be a whole number, not {size!r}")
        except (AttributeError, ValueError) as exc:
            raise _field_error(path, where, f"is not an attachment ({exc})") from None
        found.append(Attachment.stored(name, mime_type, size, sha256, reader(sha256)))
    return tuple(found)


def parse_session_file(session_id: str, raw: bytes, path: Path) -> tuple[dict[str, Any], list[Any]]:
    """Session ``session_id``'s file: its top-level fields (checked) and its message records
    (as parsed: each is checked when it is read, by :func:`message_from_record`)."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DamagedFileError(
            f"session file {path} is damaged (not valid JSON: {exc}); "
            "the other sessions are unaffected"
        ) from None
    if not isinstance(data, dict):
        raise DamagedFileError(f"session file {path} is damaged: not a JSON object")
    records = data.get("messages", [])
    if not isinstance(records, list):
        raise _field_error(path, "'messages'", "must be a list")
    header = {k: v for k, v in data.items() if k != "messages"}
    entry_from_header(session_id, header, len(records), path)
    return header, records


def render_session_file(header: dict[str, Any], lines: Sequence[str]) -> bytes:
    """The session file's text: top-level fields one per line, then one message per line."""
    parts = ["{\n"]
    parts.extend(f"  {dumps(key)}: {dumps(value)},\n" for key, value in header.items())
    parts.append('  "messages": [')
    if lines:
        parts.append("\n    ")
        parts.append(",\n    ".join(lines))
        parts.append("\n  ")
    parts.append("]\n}\n")
    return "".join(parts).encode("utf-8")


def session_header(meta: SessionMetadata, count: int, old: dict[str, Any]) -> dict[str, Any]:
    """The top-level fields of ``meta``'s session file holding ``count`` messages, over the
    ``old`` file's: its ``createdAt`` and a later ``updatedAt`` win, and the keys other
    tools put there are kept, after ours."""
    header = serialize.session_record(meta, camel_case=True)
    header["messageCount"] = count
    with contextlib.suppress(KeyError, TypeError, ValueError):
        header["createdAt"] = to_iso(from_iso(old["createdAt"]))
    with contextlib.suppress(KeyError, TypeError, ValueError):
        header["updatedAt"] = max(header["updatedAt"], to_iso(from_iso(old["updatedAt"])))
    header.update({k: v for k, v in old.items() if k not in HEADER_KEYS})
    return header


def with_tips(header: dict[str, Any], tips: dict[str, str] | None) -> dict[str, Any]:
    """``header`` keeping the session's tips (0.3), or none when its head says it all."""
    header = {k: v for k, v in header.items() if k != "tips"}
    if tips is not None:
        header["tips"] = tips
    return header


@dataclass
class Index:
    """``index.json`` as parsed; ``key`` tells which version of the file it was."""

    key: tuple[int, int, int] | None
    order: list[str]  # the "sessions" list, in the order sessions were first saved
    entries: dict[str, dict[str, Any]]  # session id -> sessionMeta entry
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept
    version: int = INDEX_VERSION  # 0: not ours (the JavaScript SDK's, or none)
    _by_update: list[str] | None = None
    _metas: dict[str, SessionMetadata] = field(default_factory=dict)

    def meta(self, session_id: str) -> SessionMetadata:
        """The session's metadata (built once per index version; they are immutable)."""
        meta = self._metas.get(session_id)
        if meta is None:
            meta = self._metas[session_id] = meta_from_entry(session_id, self.entries[session_id])
        return meta

    def newest_first(self) -> list[str]:
        if self._by_update is None:
            # Timestamps are normalised fixed-width ISO text, so text order is time order.
            self._by_update = sorted(
                self.entries, key=lambda i: (self.entries[i]["updatedAt"], i), reverse=True
            )
        return self._by_update


class DamagedIndex(Exception):
    """``index.json`` is not an index (it is then rebuilt from the session files)."""


def parse_index(raw: bytes, key: tuple[int, int, int], path: Path) -> Index:
    """The index file ``path`` (``raw``), or :class:`DamagedIndex`; an unsafe id in it is a
    StorageError: the folder is refused."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DamagedIndex(str(exc)) from None
    if not isinstance(data, dict) or not isinstance(data.get("sessions", []), list):
        raise DamagedIndex("not an object with a 'sessions' list")
    order = data.get("sessions", [])
    meta = data.get("sessionMeta", {})
    version = data.get("version", 0)
    version = version if isinstance(version, int) and not isinstance(version, bool) else 0
    if not isinstance(meta, dict) or version != INDEX_VERSION:
        meta = {}  # another tool's (or a future) index: ids only, metadata re-read
    for session_id in dict.fromkeys([*order, *meta]):
        try:
            validate_id(session_id, "session id")
        except InvalidIdError as exc:
            raise StorageError(
                f"{path} lists an unsafe session file ({exc}); the folder was "
                "not opened and nothing was read or written outside it. Remove that entry "
                "(or index.json, which is then rebuilt from the session files)."
            ) from None
    listed = set(order)
    entries = {i: e for i, e in meta.items() if isinstance(e, dict) and i in listed}
    ours = ("sessions", "updatedAt", "version", "sessionMeta")
    extra = {k: v for k, v in data.items() if k not in ours}
    return Index(key, list(dict.fromkeys(order)), entries, extra, version)


_RECORD_ID = re.compile(rb'\s*\{"id":\s*"([A-Za-z0-9][A-Za-z0-9_.-]{0,127})"')


def salvage_header(raw: bytes) -> dict[str, Any]:
    """The top-level fields that can still be read from a damaged session file (one per line,
    as we write them, before its messages)."""
    header: dict[str, Any] = {}
    for line in raw.split(b"\n")[1:]:
        text = line.strip().rstrip(b",")
        if text.startswith(b'"messages"'):
            break
        try:
            header.update(json.loads(b"{" + text + b"}"))
        except (ValueError, AttributeError):
            continue
    return header


def salvage_records(raw: bytes) -> tuple[list[Any], str | None, bool]:
    """For a session file that is not valid JSON (edited by hand, or cut short): the message
    records, one per line as we write them, up to the first that does not parse; that
    record's id if it can still be made out; and whether the file was cut short."""
    truncated = not raw.rstrip().endswith(b"}")
    lines = raw.split(b"\n")
    start = next((i + 1 for i, line in enumerate(lines) if line.strip() == b'"messages": ['), None)
    if start is None:
        return [], None, truncated
    records: list[Any] = []
    for line in lines[start:]:
        text = line.strip().rstrip(b",")
        if text in (b"]", b"}", b""):
            break
        try:
            records.append(json.loads(text))
        except ValueError:
            found = _RECORD_ID.match(line)
            return records, found.group(1).decode() if found else None, truncated
    return records, None, truncated
