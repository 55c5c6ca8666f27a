"""Data portability: a session as JSON, Markdown or text; imports; whole-store bundles.

A session's JSON export (what :func:`import_session` takes back) is the spec's session-file
shape, camelCase, with our extras::

    {"format": "activemirror-session", "version": 1,
     "id", "title", "userId", "parentSessionId", "status", "createdAt", "updatedAt",
     "messageCount", "maxContextMessages", "metadata",
     "messages": [{"id", "role", "content", "timestamp", "metadata"}, …]}

A bundle (:func:`export_all_data`) holds every session, sorted by id, and optionally the
vault's files still encrypted (base64, by file name)::

    {"format": "activemirror-bundle", "version": 1,
     "sessions": [<session export>, …], "vault": null | {"files": {name: base64}}}

Exports are deterministic — sorted keys, no time-of-export field — so the same data always
gives the same text. Imports read JSON strictly (no duplicate keys, no NaN/Infinity, a size
cap checked before parsing), validate the whole input, and only then write; any problem is
an :class:`InvalidImportError` naming the field, with nothing written.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .errors import InvalidIdError, InvalidImportError
from .ids import new_id, validate_id
from .markdown import safe_markdown, safe_markdown_line
from .models import (
    Message,
    SessionMetadata,
    check_content,
    check_max_context,
    check_metadata,
    check_role,
    check_title,
)
from .timeutil import from_iso, to_iso

if TYPE_CHECKING:
    from .mirror import ActiveMirror
    from .session import Session

SESSION_FORMAT = "activemirror-session"
BUNDLE_FORMAT = "activemirror-bundle"
FORMAT_VERSION = 1
EXPORT_FORMATS = ("json", "markdown", "txt")
ON_CONFLICT = ("error", "new_id", "replace")
#: Largest import accepted by :func:`import_session`, checked before parsing (bytes).
MAX_IMPORT_BYTES = 100 * 1024 * 1024
#: Largest bundle accepted by :func:`import_all_data` (bytes).
MAX_BUNDLE_BYTES = 1024 * 1024 * 1024
#: Deepest nesting accepted inside an import (metadata included).
MAX_DEPTH = 100

_VAULT_ENTRY = re.compile(r"[0-9a-f]{32}\.vault")


class Progress(Protocol):
    """Anything with ``update(n)``, such as a ``tqdm`` bar."""

    def update(self, n: int = 1) -> object: ...


# ---------------------------------------------------------------------------------------------
# Exports


def dumps(document: Any) -> str:
    """The deterministic JSON text of an export or a bundle."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)


def session_document(meta: SessionMetadata, messages: Sequence[Message]) -> dict[str, Any]:
    """A session and its messages as the JSON export's object."""
    return {
        "format": SESSION_FORMAT,
        "version": FORMAT_VERSION,
        "id": meta.session_id,
        "title": meta.title,
        "userId": meta.user_id,
        "parentSessionId": meta.parent_session_id,
        "status": meta.status,
        "createdAt": to_iso(meta.created_at),
        "updatedAt": to_iso(meta.updated_at),
        "messageCount": len(messages),
        "maxContextMessages": meta.max_context_messages,
        "metadata": meta.metadata,
        "messages": [
            {
                "id": m.id,
                "role": m.role,
                "content": m.content,
                "timestamp": to_iso(m.timestamp),
                "metadata": m.metadata,
            }
            for m in messages
        ],
    }


def export_session(session: Session, format: str = "json") -> str:
    """``session`` (saved and unsaved messages) as ``"json"``, ``"markdown"`` or ``"txt"``."""
    if format not in EXPORT_FORMATS:
        raise ValueError(
            f"unknown export format {format!r}: use one of {', '.join(EXPORT_FORMATS)}"
        )
    messages = session.get_messages()
    meta = replace(session.metadata_snapshot(), message_count=len(messages))
    if format == "json":
        return dumps(session_document(meta, messages))
    if format == "markdown":
        return markdown_export(meta, messages)
    return text_export(meta, messages)


def _when(dt: datetime) -> str:
    return to_iso(dt)[:19].replace("T", " ") + " UTC"


def _md_cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return safe_markdown_line(text).replace("|", "\\|")


def _md_table(columns: Sequence[Any], rows: Sequence[Any]) -> list[str]:
    lines = [
        "| " + " | ".join(_md_cell(c) for c in columns) + " |",
        "|" + "---|" * len(columns),
    ]
    for row in rows:
        cells = [row.get(c) for c in columns] if isinstance(row, Mapping) else list(row)
        lines.append("| " + " | ".join(_md_cell(c) for c in cells) + " |")
    return lines


def _md_fence(text: str) -> list[str]:
    # Text in a fence is shown verbatim (no HTML); the fence outgrows any backtick run inside.
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, text, fence]


def _md_attachment(item: Mapping[str, Any]) -> list[str]:
    """A variable snapshot from ``%%mirror_send --attach`` (``metadata["attachments"]``):
    a DataFrame's first rows as a table, anything else as its repr."""
    name = safe_markdown_line(str(item.get("name", "attachment"))).replace("`", "")
    facts = []
    if item.get("type") is not None:
        facts.append(safe_markdown_line(str(item["type"])))
    shape = item.get("shape")
    if isinstance(shape, list) and shape:
        facts.append(" × ".join(safe_markdown_line(str(n)) for n in shape))
    lines = [f"**Attached `{name}`**" + (f" ({', '.join(facts)})" if facts else ""), ""]
    columns = item.get("columns")
    rows = item.get("head", item.get("rows"))
    if isinstance(columns, list) and columns and isinstance(rows, list):
        lines += _md_table(columns, rows)
        total = shape[0] if isinstance(shape, list) and shape else None
        if isinstance(total, int) and total > len(rows):
            lines += ["", f"_first {len(rows)} of {total} rows_"]
    elif isinstance(item.get("repr"), str):
        lines += _md_fence(item["repr"])
    else:
        shown = {k: v for k, v in item.items() if k not in ("name", "type", "shape")}
        if shown:
            lines += _md_table(["field", "value"], sorted(shown.items()))
    return lines + [""]


def markdown_export(meta: SessionMetadata, messages: Sequence[Message]) -> str:
    lines = [f"# {safe_markdown_line(meta.title) or 'Untitled session'}", ""]
    lines.append(f"- **Session:** `{meta.session_id}`")
    lines.append(f"- **Created:** {_when(meta.created_at)}")
    lines.append(f"- **Updated:** {_when(meta.updated_at)}")
    if meta.parent_session_id:
        lines.append(f"- **Parent:** `{meta.parent_session_id}`")
    if meta.user_id:
        lines.append(f"- **User:** {safe_markdown_line(meta.user_id)}")
    lines.append(f"- **Status:** {safe_markdown_line(meta.status)}")
    lines.append(f"- **Messages:** {len(messages)}")
    lines.append("")
    for m in messages:
        lines += ["---", "", f"### {m.role.capitalize()} · {_when(m.timestamp)}", ""]
        lines += [safe_markdown(m.content), ""]
        attachments = m.metadata.get("attachments")
        if isinstance(attachments, list):
            for item in attachments:
                if isinstance(item, Mapping):
                    lines += _md_attachment(item)
    return "\n".join(lines).rstrip("\n") + "\n"


def text_export(meta: SessionMetadata, messages: Sequence[Message]) -> str:
    lines = [meta.title or "Untitled session"]
    lines.append(
        f"Session {meta.session_id} · created {_when(meta.created_at)} · "
        f"updated {_when(meta.updated_at)} · {len(messages)} messages"
    )
    if meta.parent_session_id:
        lines.append(f"Parent session {meta.parent_session_id}")
    lines.append("")
    for m in messages:
        first, *rest = m.content.split("\n")
        lines.append(f"[{_when(m.timestamp)}] {m.role}: {first}")
        lines += ["    " + line for line in rest]
    return "\n".join(lines) + "\n"


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
class _Parsed:
    meta: SessionMetadata
    messages: list[Message]
    where: str


def _fail(where: str, problem: object) -> InvalidImportError:
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
        raise _fail(where, exc) from None


def _optional_id(value: Any, where: str, what: str) -> str | None:
    return None if value is None else _id(value, where, what)


def _timestamp(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise _fail(where, f"must be an ISO 8601 timestamp string, not {type(value).__name__}")
    try:
        return from_iso(value)
    except ValueError:
        raise _fail(where, f"is not an ISO 8601 timestamp: {value[:40]!r}") from None


def _checked(check: Any, value: Any, where: str) -> Any:
    try:
        return check(value)
    except (TypeError, ValueError, RecursionError) as exc:
        raise _fail(where, exc) from None


def parse_session(doc: Any, where: str) -> _Parsed:
    """Validate one session (our export or the spec's session file) completely."""
    if not isinstance(doc, Mapping):
        raise _fail(where, f"a session must be a JSON object, not {type(doc).__name__}")
    p = f"{where}." if where else ""
    kind = doc.get("format", SESSION_FORMAT)
    if kind == BUNDLE_FORMAT:
        raise _fail(where or "format", "this is a bundle of sessions: use import_all_data")
    if kind != SESSION_FORMAT:
        raise _fail(f"{p}format", f"is {kind!r}, not {SESSION_FORMAT!r}")
    version = doc.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise _fail(f"{p}version", f"is {version!r}; this version reads {FORMAT_VERSION}")
    if _depth(doc) > MAX_DEPTH:
        raise _fail(where or "session", f"is nested more than {MAX_DEPTH} levels deep")
    session_id = _id(doc.get("id"), f"{p}id", "session id")
    if "title" not in doc:
        raise _fail(f"{p}title", "is missing")
    title = _checked(check_title, doc["title"], f"{p}title")
    user_id = _optional_id(doc.get("userId"), f"{p}userId", "user id")
    parent = _optional_id(doc.get("parentSessionId"), f"{p}parentSessionId", "parent session id")
    status = doc.get("status", "active")
    if not isinstance(status, str) or not status:
        raise _fail(f"{p}status", f"must be a non-empty string, not {status!r}")
    if "createdAt" not in doc:
        raise _fail(f"{p}createdAt", "is missing")
    created = _timestamp(doc["createdAt"], f"{p}createdAt")
    max_context = _checked(
        check_max_context, doc.get("maxContextMessages"), f"{p}maxContextMessages"
    )
    metadata = _checked(check_metadata, doc.get("metadata"), f"{p}metadata")
    count = doc.get("messageCount", 0)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise _fail(f"{p}messageCount", f"must be a non-negative integer, not {count!r}")
    raw_messages = doc.get("messages", [])
    if not isinstance(raw_messages, list):
        raise _fail(f"{p}messages", f"must be a list, not {type(raw_messages).__name__}")
    messages: list[Message] = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_messages):
        mp = f"{p}messages[{i}]"
        if not isinstance(raw, Mapping):
            raise _fail(mp, f"must be an object, not {type(raw).__name__}")
        message_id = _id(raw.get("id"), f"{mp}.id", "message id")
        if message_id in seen:
            raise _fail(f"{mp}.id", f"{message_id!r} appears twice in the session")
        seen.add(message_id)
        owner = raw.get("sessionId", session_id)
        if owner != session_id:
            raise _fail(f"{mp}.sessionId", f"is {owner!r}, but the session is {session_id!r}")
        if "content" not in raw:
            raise _fail(f"{mp}.content", "is missing")
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
    return _Parsed(meta, messages, where or "session")


def _plan(parsed: list[_Parsed], mirror: ActiveMirror, on_conflict: str) -> list[_Parsed]:
    """Apply ``on_conflict`` to validated sessions; raises before anything is written."""
    if on_conflict not in ON_CONFLICT:
        raise ValueError(
            f"unknown on_conflict {on_conflict!r}: use one of {', '.join(ON_CONFLICT)}"
        )
    ids: dict[str, str] = {}
    for item in parsed:
        sid = item.meta.session_id
        if sid in ids:
            raise _fail(f"{item.where}.id", f"session {sid!r} also appears at {ids[sid]}")
        ids[sid] = item.where
    if on_conflict == "error":
        for item in parsed:
            if mirror.store.get_session(item.meta.session_id) is not None:
                raise _fail(
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
        planned.append(_Parsed(meta, messages, item.where))
    return planned


def _check_message_ids(parsed: list[_Parsed], mirror: ActiveMirror, on_conflict: str) -> None:
    """Message ids are unique across a database store: one already held by another session
    (or twice in this import) is refused before anything is written."""
    seen: dict[str, str] = {}
    for item in parsed:
        for i, message in enumerate(item.messages):
            other = seen.setdefault(message.id, item.meta.session_id)
            if other != item.meta.session_id:
                raise _fail(
                    f"{item.where}.messages[{i}].id",
                    f"message {message.id!r} also appears in session {other!r} of this import",
                )
    for item in parsed:
        held = mirror.store.message_owners([m.id for m in item.messages])
        for i, message in enumerate(item.messages):
            holder = held.get(message.id)
            if holder is None or (holder == item.meta.session_id and on_conflict == "replace"):
                continue
            raise _fail(
                f"{item.where}.messages[{i}].id",
                f"message {message.id!r} already exists in session {holder!r} of "
                f"{mirror.store.description}; import with on_conflict='new_id' (fresh ids)",
            )


def _write(planned: list[_Parsed], mirror: ActiveMirror, on_conflict: str, progress: Any) -> int:
    messages = 0
    for item in planned:
        mirror.store.save(item.meta, item.messages, replace=on_conflict == "replace")
        messages += len(item.messages)
        if progress is not None:
            progress.update(1)
    return messages


# ---------------------------------------------------------------------------------------------
# The public API


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
    if on_conflict not in ON_CONFLICT:
        raise ValueError(
            f"unknown on_conflict {on_conflict!r}: use one of {', '.join(ON_CONFLICT)}"
        )
    doc, _source = read_input(data, max_bytes, "import_session")
    parsed = parse_session(doc, "")
    if mirror is None:
        from .mirror import ActiveMirror

        mirror = ActiveMirror()
    planned = _plan([parsed], mirror, on_conflict)
    _write(planned, mirror, on_conflict, None)
    return mirror.load_session(planned[0].meta.session_id)


def export_all_data(
    mirror: ActiveMirror, vault: Any = None, *, progress: Progress | None = None
) -> dict[str, Any]:
    """Every session of ``mirror`` with its messages and, if ``vault`` is given, the vault's
    files still encrypted: one JSON-serialisable bundle for :func:`import_all_data`.

    ``progress`` (e.g. a ``tqdm`` bar) is advanced by one per session."""
    store = mirror.store
    sessions = []
    for meta in sorted(store.list_sessions(None, 0, None), key=lambda s: s.session_id):
        messages = store.get_messages(meta.session_id, 0, store.count_messages(meta.session_id))
        sessions.append(session_document(meta, messages))
        if progress is not None:
            progress.update(1)
    return {
        "format": BUNDLE_FORMAT,
        "version": FORMAT_VERSION,
        "sessions": sessions,
        "vault": None if vault is None else {"files": _read_vault_files(_vault_folder(vault))},
    }


def import_all_data(
    bundle: Any,
    mirror: ActiveMirror,
    vault_path: str | os.PathLike[str] | None = None,
    *,
    on_conflict: str = "error",
    max_bytes: int = MAX_BUNDLE_BYTES,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Restore a bundle from :func:`export_all_data` (a dict, JSON text, bytes or a path)
    into ``mirror``, and its vault files into ``vault_path`` (default: the default vault
    folder). Everything is validated first; an existing session (``on_conflict="error"``)
    or an existing vault (unless ``"replace"``) is an :class:`InvalidImportError` and
    nothing is written. Returns counts: ``{"sessions", "messages", "vault_files"}``."""
    if on_conflict not in ON_CONFLICT:
        raise ValueError(
            f"unknown on_conflict {on_conflict!r}: use one of {', '.join(ON_CONFLICT)}"
        )
    doc, source = read_input(bundle, max_bytes, "import_all_data")
    if not isinstance(doc, Mapping):
        raise _fail(source, f"a bundle must be a JSON object, not {type(doc).__name__}")
    if doc.get("format") != BUNDLE_FORMAT:
        raise _fail("format", f"is {doc.get('format')!r}, not {BUNDLE_FORMAT!r}")
    if doc.get("version") != FORMAT_VERSION:
        raise _fail("version", f"is {doc.get('version')!r}; this version reads {FORMAT_VERSION}")
    sessions = doc.get("sessions")
    if not isinstance(sessions, list):
        raise _fail("sessions", f"must be a list, not {type(sessions).__name__}")
    parsed = [parse_session(s, f"sessions[{i}]") for i, s in enumerate(sessions)]
    files = _parse_vault(doc.get("vault"))
    target = None
    if files:
        from .paths import default_vault_path

        target = Path(vault_path).expanduser() if vault_path is not None else default_vault_path()
        existing = _vault_file_names(target)
        if existing and on_conflict != "replace":
            raise _fail(
                "vault",
                f"{target} already holds a vault ({len(existing)} files); restore into an "
                "empty folder, or pass on_conflict='replace' to overwrite it",
            )
    planned = _plan(parsed, mirror, on_conflict)
    messages = _write(planned, mirror, on_conflict, progress)
    if files and target is not None:
        _write_vault_files(target, files)
    return {"sessions": len(planned), "messages": messages, "vault_files": len(files)}


def delete_all_data(mirror: ActiveMirror, vault: Any = None) -> dict[str, int]:
    """Delete every session of ``mirror`` and, if ``vault`` is given, every vault file (the
    vault is locked afterwards). Returns counts: ``{"sessions", "vault_files"}``."""
    deleted = 0
    for meta in mirror.store.list_sessions(None, 0, None):
        deleted += bool(mirror.store.delete_session(meta.session_id))
    removed = 0
    if vault is not None:
        removed = _delete_vault_files(_vault_folder(vault))
        lock = getattr(vault, "lock", None)
        if callable(lock):
            lock()
    return {"sessions": deleted, "vault_files": removed}


# ---------------------------------------------------------------------------------------------
# Vault files, copied as they are (still encrypted)


def _vault_folder(vault: Any) -> Path:
    folder = getattr(vault, "vault_path", None)
    if folder is None:
        if isinstance(vault, (str, os.PathLike)):
            return Path(vault).expanduser()
        raise TypeError(f"vault must be a VaultMemory, not {type(vault).__name__}")
    return Path(folder)


def _is_vault_file(name: str) -> bool:
    from .vault_format import INDEX_FILE

    return name == INDEX_FILE or bool(_VAULT_ENTRY.fullmatch(name))


def _vault_file_names(folder: Path) -> list[str]:
    try:
        return sorted(n for n in os.listdir(folder) if _is_vault_file(n))
    except (FileNotFoundError, NotADirectoryError):
        return []


@contextlib.contextmanager
def _vault_lock(folder: Path) -> Any:
    """The vault's own writer lock, so files are copied between, never during, writes."""
    from filelock import FileLock

    from .vault_format import LOCK_FILE

    with FileLock(str(folder / LOCK_FILE)):
        yield


def _read_vault_files(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    with _vault_lock(folder):
        return {
            name: base64.b64encode((folder / name).read_bytes()).decode("ascii")
            for name in _vault_file_names(folder)
        }


def _parse_vault(vault: Any) -> dict[str, bytes]:
    if vault is None:
        return {}
    if not isinstance(vault, Mapping) or not isinstance(vault.get("files"), Mapping):
        raise _fail("vault", "must be null or an object with a 'files' object")
    files: dict[str, bytes] = {}
    for name, text in vault["files"].items():
        where = f"vault.files[{name!r}]"
        if not isinstance(name, str) or not _is_vault_file(name):
            raise _fail(where, "is not the name of a vault file")
        if not isinstance(text, str):
            raise _fail(where, f"must be base64 text, not {type(text).__name__}")
        try:
            files[name] = base64.b64decode(text.encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            raise _fail(where, "is not valid base64") from None
    from .vault_format import INDEX_FILE

    if files and INDEX_FILE not in files:
        raise _fail("vault.files", f"has entry files but no {INDEX_FILE}")
    return files


def _write_vault_files(folder: Path, files: dict[str, bytes]) -> None:
    from .fsutil import atomic_write
    from .vault_format import INDEX_FILE

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with _vault_lock(folder):
        stale = set(_vault_file_names(folder)) - set(files)
        # Entries before the index that points to them, as the vault itself writes.
        for name in sorted(files, key=lambda n: n == INDEX_FILE):
            atomic_write(folder / name, files[name])
        for name in sorted(stale):
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()


def _delete_vault_files(folder: Path) -> int:
    from .vault_format import INDEX_FILE, LOCK_FILE

    if not folder.is_dir():
        return 0
    with _vault_lock(folder):
        names = _vault_file_names(folder)
        # The index first: without it no entry file can be read, even if we stop halfway.
        for name in sorted(names, key=lambda n: n != INDEX_FILE):
            with contextlib.suppress(FileNotFoundError):
                (folder / name).unlink()
        for leftover in folder.glob(".tmp-*"):
            with contextlib.suppress(OSError):
                leftover.unlink()
    with contextlib.suppress(OSError):
        (folder / LOCK_FILE).unlink()
        folder.rmdir()  # only if nothing else is in it
    return len(names)
