"""Redaction in the JSON folder: the message's record in its session file replaced by the
redacted one (``"content": ""``, no metadata, no attachments, ``"redacted": {"at",
"reason"}``, ``"digest"``), under the folder's writer lock.

The journal is folded first, so the message is in its session file and the journal — the
only other file that held it — is emptied (a new file replaces it). Then the session file
and ``index.json`` are rewritten in one transaction (temporary files, then renames: a
process killed during it leaves the old file or the new one, and opening the folder
reconciles the index with it), and the attachment files no session uses any more are
removed. Replaced files are unlinked, not overwritten: what the file system keeps of them
afterwards (a copy-on-write file system, a snapshot, a backup, an SSD's spare blocks) is
beyond the folder's reach (the README says so).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..models import Message
from ..redaction import redacted_form
from ..timeutil import from_iso, to_iso
from .jsoncodec import dumps, message_record, record_clock


def redact(
    store: Any, session_id: str, message_id: str, at: datetime, reason: str
) -> Message | None:
    """:meth:`JSONStorage.redact` (see the module docstring)."""
    folder = store._folder
    folder.file(session_id)  # validates the id
    with store._writing(f"redact message {message_id!r} of session {session_id!r}"):
        if store._journal.pending:
            store._fold()
        loaded = folder.load(session_id)
        if loaded is None:
            return None
        pos = next(
            (
                i
                for i, r in enumerate(loaded.records)
                if isinstance(r, dict) and r.get("id") == message_id
            ),
            None,
        )
        if pos is None:
            return None
        message = store._message(session_id, loaded.records[pos], pos)
        if message.redacted is not None:
            return message  # the first redaction stands
        gone = redacted_form(message, from_iso(to_iso(at)), reason)
        seq = loaded.records[pos].get("seq", pos)
        place = seq if isinstance(seq, int) else pos
        record = message_record(
            gone, place, store.device_id, record_clock(loaded.records[pos], pos)
        )
        records = list(loaded.records)
        lines = list(loaded.message_lines())
        records[pos], lines[pos] = record, dumps(record)
        index = folder.index()
        entries = dict(index.entries)
        with folder.transaction():
            written = folder.write_session(session_id, loaded.header, records, lines)
            entries[session_id] = folder.entry(session_id, written)
            folder.write_index(list(index.order), entries, index.extra)
        store._view_cache = None
        folder.collect_garbage(entries)
        return gone
