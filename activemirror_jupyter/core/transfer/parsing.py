"""Reading what an import is given, strictly: JSON input with a size cap checked before
parsing (no duplicate keys, no NaN/Infinity), and a session document — our export or the
spec's session file — validated completely into records. Any problem is an
:class:`InvalidImportError` naming the field; nothing here writes anything.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import InvalidIdError, InvalidImportError
from ..ids import validate_device_id, validate_id
from ..models import (
    Attachment,
    Message,
    SessionMetadata,
    check_attachment_name,
    check_content,
    check_max_context,
    check_metadata,
    check_mime_type,
    check_role,
    check_sha256,
    check_tags,
    check_title,
)
from ..redaction import restored
from ..timeutil import from_iso
from .exports import BUNDLE_FORMAT, FORMAT_VERSION, SESSION_FORMAT


class _Refused(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise _Refused(f"{name} is not a JSON number")


def _check_size(size: int, max_bytes: int, source: str) -> None:
    if size > max_bytes:
        raise InvalidImportError(
            f"{source} is {size:,} bytes, over the import limit of {max_bytes:,} bytes "
            "(pass max_bytes= to raise it); nothing was read"
        )


def parse_json(text: str | bytes, source: str) -> Any:
    """Strict JSON: no duplicate keys, no NaN/Infinity, UTF-8 only."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidImportError(f"{source} is not UTF-8 text ({exc})") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)
    except _Refused as exc:
        raise InvalidImportError(f"{source} is refused: {exc}") from None
    except RecursionError:
        raise InvalidImportError(f"{source} is nested too deeply to be an import") from None
    except ValueError as exc:
        raise InvalidImportError(f"{source} is not valid JSON ({exc})") from None


def read_input(data: Any, max_bytes: int, what: str) -> tuple[Any, str]:
    """``data`` (JSON text, bytes, a dict or a path) as a parsed document and its name."""
    if isinstance(data, Mapping):
        return data, what
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = bytes(data)
        _check_size(len(raw), max_bytes, what)
        return parse_json(raw, what), what
    if isinstance(data, str) and data.lstrip()[:1] in ("{", "["):
        # len() counts characters, a lower bound on bytes; count bytes only when it matters.
        _check_size(len(data), max_bytes, what)
        if len(data) * 4 > max_bytes:
            _check_size(len(data.encode("utf-8", "surrogatepass")), max_bytes, what)
        return parse_json(data, what), what
    if isinstance(data, (str, os.PathLike)):
        path = Path(os.fspath(data)).expanduser()
        source = f"{what} file {path}"
        try:
            size = path.stat().st_size
            if path.is_dir():
                raise InvalidImportError(f"{path} is a folder, not an export file")
            _check_size(size, max_bytes, source)
            raw = path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            # A long path is cut at its start: the file name is what a user looks for.
            shown = str(data) if len(str(data)) <= 80 else "…" + str(data)[-79:]
            raise InvalidImportError(
                f"{what}: {shown!r} is neither JSON text nor an existing file"
            ) from None
        except (OSError, ValueError) as exc:
            raise InvalidImportError(f"cannot read {source}: {exc}") from None
        _check_size(len(raw), max_bytes, source)
        return parse_json(raw, source), source
    raise InvalidImportError(
        f"{what} takes JSON text, bytes, a dict or a path, not {type(data).__name__}"
    )


# ---------------------------------------------------------------------------------------------
# Validation: a document -> records, or InvalidImportError naming the field


@dataclass
class ParsedSession:
    """A validated session of an import: its records, where it was in the input, and for
    each message the SHA-256 of each attachment's bytes as given (checked by the import)."""

    meta: SessionMetadata
    messages: list[Message]
    where: str
    digests: list[list[str]] = field(default_factory=list)


def import_error(where: str, problem: object) -> InvalidImportError:
    return InvalidImportError(f"{where}: {problem}")


def _id(value: Any, where: str, what: str) -> str:
    try:
        return validate_id(value, what)
    except InvalidIdError as exc:
        raise import_error(where, exc) from None


def _optional_id(value: Any, where: str, what: str) -> str | None:
    return None if value is None else _id(value, where, what)


def _timestamp(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise import_error(
            where, f"must be an ISO 8601 timestamp string, not {type(value).__name__}"
        )
    try:
        return from_iso(value)
    except ValueError:
        raise import_error(where, f"is not an ISO 8601 timestamp: {value[:40]!r}") from None


def _checked(check: Any, value: Any, where: str) -> Any:
    try:
        return check(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise import_error(where, exc) from None


def parse_session(doc: Any, where: str) -> ParsedSession:
    """Validate one session (our export or the spec's session file) completely."""
    if not isinstance(doc, Mapping):
        raise import_error(where, f"a session must be a JSON object, not {type(doc).__name__}")
    p = f"{where}." if where else ""
    kind = doc.get("format", SESSION_FORMAT)
    if kind == BUNDLE_FORMAT:
        raise import_error(where or "format", "this is a bundle of sessions: use import_all_data")
    if kind != SESSION_FORMAT:
        raise import_error(f"{p}format", f"is {kind!r}, not {SESSION_FORMAT!r}")
    version = doc.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise import_error(f"{p}version", f"is {version!r}; this version reads {FORMAT_VERSION}")
    session_id = _id(doc.get("id"), f"{p}id", "session id")
    if "title" not in doc:
        raise import_error(f"{p}title", "is missing")
    title = _checked(check_title, doc["title"], f"{p}title")
    user_id = _optional_id(doc.get("userId"), f"{p}userId", "user id")
    parent = _optional_id(doc.get("parentSessionId"), f"{p}parentSessionId", "parent session id")
    status = doc.get("status", "active")
    if not isinstance(status, str) or not status:
        raise import_error(f"{p}status", f"must be a non-empty string, not {status!r}")
    if "createdAt" not in doc:
        raise import_error(f"{p}createdAt", "is missing")
    created = _timestamp(doc["createdAt"], f"{p}createdAt")
    max_context = _checked(
        check_max_context, doc.get("maxContextMessages"), f"{p}maxContextMessages"
    )
    metadata = _checked(check_metadata, doc.get("metadata"), f"{p}metadata")
    count = doc.get("messageCount", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise import_error(f"{p}messageCount", f"must be a non-negative integer, not {count!r}")
    tags = _checked(check_tags, doc.get("tags", []), f"{p}tags")
    messages, digests = _parse_messages(doc.get("messages", []), session_id, p)
    if "updatedAt" in doc and doc["updatedAt"] is not None:
        updated = _timestamp(doc["updatedAt"], f"{p}updatedAt")
    else:
        updated = max([created, *(m.timestamp for m in messages)])
    meta = SessionMetadata(
        session_id=session_id,
        title=title,
        user_id=user_id,
        parent_session_id=parent,
        status=status,
        created_at=created,
        updated_at=updated,
        message_count=len(messages),
        max_context_messages=max_context,
        metadata=metadata,
        tags=tags,
        head=_optional_hash(doc.get("head"), f"{p}head"),
    )
    return ParsedSession(meta, messages, where or "session", digests)


def _parse_messages(
    raw_messages: Any, session_id: str, p: str
) -> tuple[list[Message], list[list[str]]]:
    if not isinstance(raw_messages, list):
        raise import_error(f"{p}messages", f"must be a list, not {type(raw_messages).__name__}")
    messages: list[Message] = []
    digests: list[list[str]] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_messages):
        mp = f"{p}messages[{i}]"
        if not isinstance(raw, Mapping):
            raise import_error(mp, f"must be an object, not {type(raw).__name__}")
        message_id = _id(raw.get("id"), f"{mp}.id", "message id")
        if message_id in seen:
            raise import_error(f"{mp}.id", f"{message_id!r} appears twice in the session")
        seen.add(message_id)
        owner = raw.get("sessionId", session_id)
        if owner != session_id:
            raise import_error(
                f"{mp}.sessionId", f"is {owner!r}, but the session is {session_id!r}"
            )
        if "content" not in raw:
            raise import_error(f"{mp}.content", "is missing")
        attachments, found = _parse_attachments(raw.get("attachments", []), f"{mp}.attachments")
        message = Message(
            id=message_id,
            session_id=session_id,
            role=_checked(check_role, raw.get("role"), f"{mp}.role"),
            content=_checked(check_content, raw["content"], f"{mp}.content"),
            timestamp=_timestamp(raw.get("timestamp"), f"{mp}.timestamp"),
            metadata=_checked(check_metadata, raw.get("metadata"), f"{mp}.metadata"),
            attachments=attachments,
            hash=_optional_hash(raw.get("hash"), f"{mp}.hash"),
            origin=_optional_device(raw.get("origin"), f"{mp}.origin"),
        )
        if raw.get("redacted") is not None:
            message = _redacted(message, raw, f"{mp}.redacted")
        messages.append(message)
        digests.append(found)
    return messages, digests


def _redacted(message: Message, raw: Mapping[str, Any], where: str) -> Message:
    """A redacted message as exported: ``redacted`` says when and why, ``digest`` is the
    digest of what it said (its hash chains from it)."""
    try:
        return restored(message, raw["redacted"], raw.get("digest"))
    except (TypeError, ValueError) as exc:
        raise import_error(where, exc) from None


def _parse_attachments(raw: Any, where: str) -> tuple[tuple[Attachment, ...], list[str]]:
    """Attachments as exported (``{name, mimeType, size, sha256, data: base64}``) and the
    SHA-256 of the bytes each one carries (the caller compares it with ``sha256``)."""
    if not isinstance(raw, list):
        raise import_error(where, f"must be a list, not {type(raw).__name__}")
    found: list[Attachment] = []
    digests: list[str] = []
    for i, item in enumerate(raw):
        ap = f"{where}[{i}]"
        if not isinstance(item, Mapping):
            raise import_error(ap, f"must be an object, not {type(item).__name__}")
        name = _checked(check_attachment_name, item.get("name"), f"{ap}.name")
        if any(a.name == name for a in found):
            raise import_error(f"{ap}.name", f"{name!r} appears twice in the message")
        mime_type = _checked(check_mime_type, item.get("mimeType"), f"{ap}.mimeType")
        sha256 = _checked(check_sha256, item.get("sha256"), f"{ap}.sha256")
        text = item.get("data")
        if not isinstance(text, str):
            raise import_error(f"{ap}.data", "must be base64 text")
        try:
            data = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise import_error(f"{ap}.data", "is not valid base64") from None
        # The size is the bytes' own (a ``size`` field is not trusted); a sha256 that does
        # not fit the bytes shows in the digest, which the import (or verify_export)
        # compares with the sha256 given.
        digests.append(hashlib.sha256(data).hexdigest())
        found.append(Attachment.stored(name, mime_type, len(data), sha256, lambda d=data: d))
    return tuple(found), digests


def _optional_device(value: Any, where: str) -> str | None:
    """A message's origin: the device that first saved it (absent in 0.2 exports)."""
    if value is None:
        return None
    try:
        return validate_device_id(value, "origin")
    except InvalidIdError as exc:
        raise import_error(where, exc) from None


def _optional_hash(value: Any, where: str) -> str | None:
    return None if value is None else _checked(check_sha256, value, where)
