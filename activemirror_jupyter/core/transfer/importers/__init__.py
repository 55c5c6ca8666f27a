"""History from other tools: a registry of importers (:data:`IMPORTERS`, like
``storage.BACKENDS``), and :func:`import_history`, which reads a source whole and then
writes what is new through the ``ActiveMirror`` façade.

Each imported session is tagged with the source's name and keeps
``metadata["source"] = {"path": …, "id": …}`` (the file and the source's own id for the
session; IPython adds its start time, since a new ``history.sqlite`` numbers sessions from
1 again). Importing again finds the sessions by that record: new sessions are created, new
messages appended, nothing doubled. A message's id is its session's id and its own id in
the source (a line number, a response id, a chat message id): the same every time, and
unique in the store.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from importlib import import_module
from pathlib import Path
from typing import Any, Protocol

from ...errors import InvalidImportError
from ...ids import new_id, validate_id
from ...models import Message, SessionMetadata, check_title, keep_timestamp_text
from ...timeutil import to_iso
from .base import Importer, ImportReport, SourceSession, clean_text, digest_key, message_key

# source name (also the tag of its sessions) -> (module, class); imported only when used
IMPORTERS = {
    "ipython": ("activemirror_jupyter.core.transfer.importers.ipython", "IPythonHistory"),
    "llm": ("activemirror_jupyter.core.transfer.importers.llm", "LLMLogs"),
    "jupyter-chat": ("activemirror_jupyter.core.transfer.importers.jupyterchat", "JupyterChat"),
}


class Progress(Protocol):
    """Anything with ``update(n)``, such as a ``tqdm`` bar."""

    def update(self, n: int = 1) -> object: ...


#: Given how many messages were read, a bar to advance as they are written.
ProgressFactory = Callable[[int], Progress]


def importer(source: object) -> Importer:
    """The importer registered as ``source``; ValueError naming the known ones if none."""
    if not isinstance(source, str) or source not in IMPORTERS:
        raise ValueError(f"unknown source {source!r}: use one of {', '.join(IMPORTERS)}")
    module, name = IMPORTERS[source]
    return getattr(import_module(module), name)()


def source_path(source: str, path: str | os.PathLike[str] | None) -> Path:
    """The file to read: ``path``, or the tool's own default; it must exist (it is never
    made) and be a file."""
    tool = importer(source)
    where = Path(os.fspath(path)).expanduser() if path is not None else tool.default_path()
    where = where.resolve()
    if not where.exists():
        raise FileNotFoundError(
            f"{where} does not exist ({source} reads {tool.kind}); nothing was imported"
        )
    if not where.is_file():
        raise InvalidImportError(f"{where} is a folder, not {tool.kind}; nothing was imported")
    return where


def import_history(
    mirror: Any,
    source: str,
    path: str | os.PathLike[str] | None = None,
    *,
    progress: ProgressFactory | None = None,
) -> ImportReport:
    """Import the history of ``source`` (a name of :data:`IMPORTERS`) from ``path`` (None:
    the tool's default) into ``mirror``: everything is read first, then only what is new
    is written, a session at a time."""
    tool = importer(source)
    where = source_path(source, path)
    found = tool.read(where)
    return write_sessions(mirror, source, where, found, progress)


def write_sessions(
    mirror: Any,
    tag: str,
    path: Path,
    found: list[SourceSession],
    progress: ProgressFactory | None = None,
) -> ImportReport:
    """Create or add to one session per source session; see the module's docstring."""
    imported = _imported(mirror, tag, str(path))
    bar = progress(sum(len(s.messages) for s in found)) if progress is not None else None
    ids: list[str] = []
    messages = skipped = 0
    for item in found:
        record = {"path": str(path), **item.key}
        meta = imported.get(_record_key(record))
        if not item.messages or (meta is not None and meta.sealed):
            skipped += 1
        else:
            added = _write(mirror, tag, record, item, meta)
            if added:
                ids.append(added[0])
                messages += added[1]
        if bar is not None:
            bar.update(len(item.messages))
    return ImportReport(len(ids), messages, skipped, tuple(ids))


def _write(
    mirror: Any,
    tag: str,
    record: dict[str, Any],
    item: SourceSession,
    meta: SessionMetadata | None,
) -> tuple[str, int] | None:
    """Write the source session's messages that ``meta`` (None: not imported yet) does not
    hold; returns the session's id and how many were added, or None."""
    if meta is None:
        meta = _new_session(mirror, tag, record, item)
        new = _messages(meta.session_id, item)
    else:
        held = {m.id for m in mirror.saved_messages(meta.session_id)}
        new = [m for m in _messages(meta.session_id, item) if m.id not in held]
        if not new:
            return None
    latest = max(meta.updated_at, max(m.timestamp for m in new))
    mirror.store_session(replace(meta, updated_at=latest), new)
    return meta.session_id, len(new)


def _imported(mirror: Any, tag: str, path: str) -> dict[str, SessionMetadata]:
    """The sessions an earlier import of this file made, by their source record."""
    found = {}
    for meta in mirror.list_sessions(tag=tag):
        record = meta.metadata.get("source")
        if isinstance(record, dict) and record.get("path") == path:
            found.setdefault(_record_key(record), meta)
    return found


def _record_key(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, default=str)


def _new_session(
    mirror: Any, tag: str, record: dict[str, Any], item: SourceSession
) -> SessionMetadata:
    return SessionMetadata(
        session_id=new_id("session"),
        title=check_title(clean_text(item.title)),
        user_id=mirror.user_id,
        parent_session_id=None,
        status="active",
        created_at=item.created_at,
        updated_at=item.created_at,
        message_count=0,
        metadata={"source": record},
        tags=(tag,),
    )


def _messages(session_id: str, item: SourceSession) -> list[Message]:
    """The session's messages; each id is ``<session id>-<its id in the source>`` (made of
    safe ids: a safe id, unless too long, when it is a digest of itself)."""
    validate_id(session_id, "session id")
    short = len(session_id) <= 128 - 1 - 81
    times: dict[datetime, str] = {}  # many messages of a source share a time: one to_iso
    messages = []
    for m in item.messages:
        message_id = f"{session_id}-{message_key(m.key)}"
        message = Message(
            message_id if short else digest_key(message_id),
            session_id,
            m.role,
            clean_text(m.content),
            m.timestamp,
            m.metadata,
            m.attachments,
        )
        text = times.get(m.timestamp)
        if text is None:
            text = times[m.timestamp] = to_iso(m.timestamp)
        messages.append(keep_timestamp_text(message, text))
    return messages


__all__ = ["IMPORTERS", "ImportReport", "Importer", "import_history", "importer"]
