"""Imports: a session export (ours, or the spec's session file) read strictly and
validated completely (:mod:`.parsing`), its hashes checked, its ids planned, and only then
written; and :func:`verify_export`, which checks an export without any store.

Any problem is an :class:`InvalidImportError` naming the field, with nothing written. An
export whose hashes do not match its messages is refused; one without hashes (the spec's
format, 0.1 exports) is imported as before and chained when it is saved.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import Any, Protocol

from ..errors import InvalidIdError, SessionSealedError
from ..ids import new_id
from ..journal import Row, VerifyReport, verify_rows
from ..limits import MAX_BUNDLE_BYTES, MAX_IMPORT_BYTES
from ..mirror import ActiveMirror
from ..session import Session
from .exports import BUNDLE_FORMAT
from .parsing import ParsedSession, import_error, parse_session, read_input

ON_CONFLICT = ("error", "new_id", "replace")


class Progress(Protocol):
    """Anything with ``update(n)``, such as a ``tqdm`` bar."""

    def update(self, n: int = 1) -> object: ...


def check_on_conflict(on_conflict: object) -> str:
    if on_conflict not in ON_CONFLICT:
        raise ValueError(
            f"unknown on_conflict {on_conflict!r}: use one of {', '.join(ON_CONFLICT)}"
        )
    return on_conflict  # type: ignore[return-value]


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
    for item in parsed:
        check_integrity(item)
        _check_attachment_sizes(item, mirror.max_attachment_bytes)
    _check_parents(parsed, mirror)
    if on_conflict != "new_id":
        for item in parsed:
            _check_target(item, mirror, on_conflict)
        _check_message_ids(parsed, mirror, on_conflict)
        return parsed
    # Fresh ids for every session and message; parent links inside the import follow.
    renamed = {item.meta.session_id: new_id("session") for item in parsed}
    planned = []
    for item in parsed:
        sid = renamed[item.meta.session_id]
        parent = item.meta.parent_session_id
        meta = replace(item.meta, session_id=sid, parent_session_id=renamed.get(parent, parent))
        if meta.sealed:  # a copy under new ids has a new chain: the seal was for the old one
            kept = {k: v for k, v in meta.metadata.items() if k != "seal"}
            meta = replace(meta, status="active", metadata=kept)
        messages = [replace(m, id=new_id("msg"), session_id=sid, hash=None) for m in item.messages]
        planned.append(ParsedSession(meta, messages, item.where, item.digests))
    return planned


def _check_attachment_sizes(item: ParsedSession, max_bytes: int) -> None:
    """Every attachment fits the store's limit, as for ``send`` (its size is the bytes it
    carries, whatever a ``size`` field says)."""
    for i, message in enumerate(item.messages):
        for j, attachment in enumerate(message.attachments):
            if attachment.size > max_bytes:
                raise import_error(
                    f"{item.where}.messages[{i}].attachments[{j}]",
                    f"{attachment.name!r} is {attachment.size:,} bytes, over this store's limit "
                    f"of {max_bytes:,} bytes (ActiveMirror(max_attachment_bytes=…)); nothing "
                    "was imported",
                )


def _check_parents(parsed: list[ParsedSession], mirror: ActiveMirror) -> None:
    """No session would become its own ancestor: parent links, through the imported
    sessions and those already stored, must end."""
    imported = {item.meta.session_id: item for item in parsed}
    for item in parsed:
        seen = [item.meta.session_id]
        parent = item.meta.parent_session_id
        while parent is not None:
            if parent in seen:
                path = " -> ".join([*seen, parent])
                raise import_error(
                    f"{item.where}.parentSessionId",
                    f"makes a cycle of parents ({path}): a session cannot be its own "
                    "ancestor; nothing was imported",
                )
            seen.append(parent)
            if parent in imported:
                parent = imported[parent].meta.parent_session_id
            else:
                stored = mirror.session_metadata(parent)
                parent = stored.parent_session_id if stored is not None else None


def _check_target(item: ParsedSession, mirror: ActiveMirror, on_conflict: str) -> None:
    """What is already stored under the session's id allows this import."""
    try:
        stored = mirror.session_metadata(item.meta.session_id)
    except InvalidIdError as exc:  # a name the store keeps for itself
        raise import_error(f"{item.where}.id", exc) from None
    if stored is None:
        return
    if on_conflict == "error":
        raise import_error(
            f"{item.where}.id",
            f"session {item.meta.session_id!r} already exists in "
            f"{mirror.description}; import it with on_conflict='new_id' "
            "(a copy with fresh ids) or 'replace'",
        )
    if stored.sealed:
        raise SessionSealedError(
            item.meta.session_id,
            store=mirror.description,
            detail="it cannot be replaced (import a copy with on_conflict='new_id'); "
            "nothing was written",
        )


def check_integrity(item: ParsedSession) -> None:
    """Refuse an export whose attachment bytes or hashes are not what it says they are."""
    for i, (message, digests) in enumerate(zip(item.messages, item.digests, strict=True)):
        for j, (attachment, digest) in enumerate(zip(message.attachments, digests, strict=True)):
            if digest != attachment.sha256:
                raise import_error(
                    f"{item.where}.messages[{i}].attachments[{j}].sha256",
                    "does not match the attachment's bytes",
                )
    if not any(m.hash for m in item.messages) and item.meta.head is None and not item.meta.sealed:
        return  # no hashes: the spec's format or a 0.1 export, chained when saved
    report = _verify_parsed(item)
    if not report.ok:
        problem = report.problems[0]
        where = item.where
        if problem.message_id is not None:
            index = next(i for i, m in enumerate(item.messages) if m.id == problem.message_id)
            where = f"{item.where}.messages[{index}].hash"
        raise import_error(where, f"{problem.kind}: {problem.detail} (the hashes do not match)")


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
        held = mirror.message_owners([m.id for m in item.messages])
        for i, message in enumerate(item.messages):
            holder = held.get(message.id)
            if holder is None or (holder == item.meta.session_id and on_conflict == "replace"):
                continue
            raise import_error(
                f"{item.where}.messages[{i}].id",
                f"message {message.id!r} already exists in session {holder!r} of "
                f"{mirror.description}; import with on_conflict='new_id' (fresh ids)",
            )


def _verify_parsed(item: ParsedSession) -> VerifyReport:
    """Check an export's chain as stored: messages without a hash at its end are ones
    that were not saved yet when it was exported, and are not part of the chain."""
    messages = list(item.messages)
    digests = list(item.digests)
    while messages and messages[-1].hash is None:
        messages.pop()
        digests.pop()
    meta = item.meta
    head = meta.head if meta.head is not None else (messages[-1].hash if messages else None)
    meta = replace(meta, head=head, message_count=len(messages))
    rows: Iterator[Row] = (
        (i, m, d) for i, (m, d) in enumerate(zip(messages, digests, strict=True))
    )
    return verify_rows(meta, rows)


def verify_export(data: Any, *, max_bytes: int = MAX_BUNDLE_BYTES) -> VerifyReport:
    """Check an export — a session's JSON export or a bundle; text, bytes, a dict or a path —
    with no store at all: every hash against its message, attachment bytes against their
    SHA-256, the head, and any seal and its signature."""
    doc, source = read_input(data, max_bytes, "verify_export")
    if isinstance(doc, Mapping) and doc.get("format") == BUNDLE_FORMAT:
        sessions = doc.get("sessions")
        if not isinstance(sessions, list):
            raise import_error("sessions", f"must be a list, not {type(sessions).__name__}")
        parsed = [parse_session(s, f"sessions[{i}]") for i, s in enumerate(sessions)]
    else:
        parsed = [parse_session(doc, "")]
    report = VerifyReport()
    for item in parsed:
        report.add(_verify_parsed(item))
    return report


def write_import(
    planned: list[ParsedSession], mirror: ActiveMirror, on_conflict: str, progress: Any
) -> int:
    messages = 0
    for item in planned:
        mirror.store_session(item.meta, item.messages, replace=on_conflict == "replace")
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
