"""Imports: reading a session export (ours, or the spec's session file) strictly,
validating all of it, planning ids, and only then writing.

Imports read JSON strictly (no duplicate keys, no NaN/Infinity, a size cap checked before
parsing), validate the whole input, and only then write; any problem is an
:class:`InvalidImportError` naming the field, with nothing written.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from .errors import InvalidIdError, InvalidImportError
from .exports import BUNDLE_FORMAT, FORMAT_VERSION, SESSION_FORMAT
from .ids import new_id, validate_id
from .mirror import ActiveMirror
from .models import (
    Message,
    SessionMetadata,
    check_content,
    check_max_context,
    check_metadata,
    check_role,
    check_title,
)
from .session import Session
from .timeutil import from_iso

ON_CONFLICT = ("error", "new_id", "replace")
#: Largest import accepted by :func:`import_session`, checked before parsing (bytes).
MAX_IMPORT_BYTES = 100 * 1024 * 1024
#: Deepest nesting accepted inside an import (metadata included).
MAX_DEPTH = 100


class Progress(Protocol):
    """Anything with ``update(n)``, such as a ``tqdm`` bar."""

    def update(self, n: int = 1) -> object: ...


def check_on_conflict(on_conflict: object) -> str:
    if on_conflict not in ON_CONFLICT:
        raise ValueError(
            f"unknown on_conflict {on_conflict!r}: use one of {', '.join(ON_CONFLICT)}"
        )
    return on_conflict  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# Reading import input


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
            shown = str(data) if len(str(data)) <= 80 else str(data)[:80] + "…"
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
    meta: SessionMetadata
    messages: list[Message]
    where: str


def import_error(where: str, problem: object) -> InvalidImportError:
    return InvalidImportError(f"{where}: {problem}")


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


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
    if _depth(doc) > MAX_DEPTH:
        raise import_error(where or "session", f"is nested more than {MAX_DEPTH} levels deep")
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
    messages = _parse_messages(doc.get("messages", []), session_id, p)
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
    )
    return ParsedSession(meta, messages, where or "session")


def _parse_messages(raw_messages: Any, session_id: str, p: str) -> list[Message]:
    if not isinstance(raw_messages, list):
        raise import_error(f"{p}messages", f"must be a list, not {type(raw_messages).__name__}")
    messages: list[Message] = []
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
        messages.append(
            Message(
                id=message_id,
                session_id=session_id,
                role=_checked(check_role, raw.get("role"), f"{mp}.role"),
                content=_checked(check_content, raw["content"], f"{mp}.content"),
                timestamp=_timestamp(raw.get("timestamp"), f"{mp}.timestamp"),
                metadata=_checked(check_metadata, raw.get("metadata"), f"{mp}.metadata"),
            )
        )
    return messages


def plan_import(
    parsed: list[ParsedSession], mirror: ActiveMirror, on_conflict: str
) -> list[ParsedSession]:
    """Apply ``on_conflict`` to validated sessions; raises before anything is written."""
    ids: dict[str, str] = {}
    for item in parsed:
        sid = item.meta.session_id
        if sid in ids:
            raise import_error(f"{item.where}.id", f"session {sid!r} also appears at {ids[sid]}")
        ids[sid] = item.where
    if on_conflict == "error":
        for item in parsed:
            if mirror.store.get_session(item.meta.session_id) is not None:
                raise import_error(
                    f"{item.where}.id",
                    f"session {item.meta.session_id!r} already exists in "
                    f"{mirror.store.description}; import it with on_conflict='new_id' "
                    "(a copy with fresh ids) or 'replace'",
                )
    if on_conflict != "new_id":
        _check_message_ids(parsed, mirror, on_conflict)
        return parsed
    # Fresh ids for every session and message; parent links inside the import follow.
    renamed = {item.meta.session_id: new_id("session") for item in parsed}
    planned = []
    for item in parsed:
        sid = renamed[item.meta.session_id]
        parent = item.meta.parent_session_id
        meta = replace(item.meta, session_id=sid, parent_session_id=renamed.get(parent, parent))
        messages = [replace(m, id=new_id("msg"), session_id=sid) for m in item.messages]
        planned.append(ParsedSession(meta, messages, item.where))
    return planned


def _check_message_ids(parsed: list[ParsedSession], mirror: ActiveMirror, on_conflict: str) -> None:
    """Message ids are unique across a database store: one already held by another session
    (or twice in this import) is refused before anything is written."""
    seen: dict[str, str] = {}
    for item in parsed:
        for i, message in enumerate(item.messages):
            other = seen.setdefault(message.id, item.meta.session_id)
            if other != item.meta.session_id:
                raise import_error(
                    f"{item.where}.messages[{i}].id",
                    f"message {message.id!r} also appears in session {other!r} of this import",
                )
    for item in parsed:
        held = mirror.store.message_owners([m.id for m in item.messages])
        for i, message in enumerate(item.messages):
            holder = held.get(message.id)
            if holder is None or (holder == item.meta.session_id and on_conflict == "replace"):
                continue
            raise import_error(
                f"{item.where}.messages[{i}].id",
                f"message {message.id!r} already exists in session {holder!r} of "
                f"{mirror.store.description}; import with on_conflict='new_id' (fresh ids)",
            )


def write_import(
    planned: list[ParsedSession], mirror: ActiveMirror, on_conflict: str, progress: Any
) -> int:
    messages = 0
    for item in planned:
        mirror.store.save(item.meta, item.messages, replace=on_conflict == "replace")
        messages += len(item.messages)
        if progress is not None:
            progress.update(1)
    return messages


def import_session(
    data: Any,
    mirror: ActiveMirror | None = None,
    *,
    on_conflict: str = "error",
    max_bytes: int = MAX_IMPORT_BYTES,
) -> Session:
    """Import one session and return it, loaded from ``mirror`` (the default store if None).

    ``data`` is JSON text, bytes, a dict or a path, in the shape of ``Session.export("json")``
    or of the spec's session file. ``on_conflict`` says what to do when the id exists:
    ``"error"`` (:class:`InvalidImportError`), ``"new_id"`` (import a copy under fresh ids)
    or ``"replace"``. Everything is validated before anything is written."""
    check_on_conflict(on_conflict)
    doc, _source = read_input(data, max_bytes, "import_session")
    parsed = parse_session(doc, "")
    if mirror is None:
        mirror = ActiveMirror()
    planned = plan_import([parsed], mirror, on_conflict)
    write_import(planned, mirror, on_conflict, None)
    return mirror.load_session(planned[0].meta.session_id)
