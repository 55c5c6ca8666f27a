"""What changed in a JSON folder after a point (:meth:`JSONStorage.changes`).

``index.json`` numbers its changes: each ``sessionMeta`` entry holds ``"change"``, the
number of the index write that last changed the session, and the top-level ``"changes"``
holds ``{"epoch", "count", "deleted": {id: number}}`` — the numbering's name, the last
number, and the sessions deleted and when. Every index write (a fold, a redaction,
reconciling files another tool changed) numbers the entries it made anew and the sessions
it dropped (:func:`numbered`). Saves still in the journal are changes the index has not
numbered yet, so a token also names the journal as read: ``"<epoch>.<count>.<journal>"``.
An index rebuilt without the record (missing, damaged, or rewritten by another tool)
starts a new numbering, and older tokens then mean everything.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from ..ids import new_device_id
from .base import Changes
from .jsoncodec import Index

KEY = "changes"
TOKEN = re.compile(r"(?P<epoch>[^.]+)\.(?P<count>\d+)\.(?P<journal>None|\d+)-(?P<read>\d+)")


def numbered(
    before: Index | None, order: list[str], entries: dict[str, dict[str, Any]], extra: dict
) -> dict[str, Any]:
    """``extra`` with the changes record for an index of ``order``/``entries`` written
    after ``before``; an entry made anew (without ``"change"``) is given the next number,
    as is each session of ``before`` not in ``order``. Every write takes a number, so a
    token names the journal that was read before it (a fold empties the journal)."""
    record = extra.get(KEY)
    if not _valid(record):
        record = {"epoch": new_device_id(), "count": 0, "deleted": {}}
        before = None  # another numbering: what it had is not ours to compare
    number = record["count"] + 1
    deleted = dict(record["deleted"])
    fresh = [sid for sid in order if "change" not in entries[sid]]
    dropped = [sid for sid in before.order if sid not in entries] if before is not None else []
    for sid in fresh:
        entries[sid] = {**entries[sid], "change": number}
        deleted.pop(sid, None)
    for sid in dropped:
        deleted[sid] = number
    return {**extra, KEY: {"epoch": record["epoch"], "count": number, "deleted": deleted}}


def _valid(record: Any) -> bool:
    return (
        isinstance(record, dict)
        and isinstance(record.get("epoch"), str)
        and type(record.get("count")) is int
        and isinstance(record.get("deleted"), dict)
    )


def changes(
    view: Index,
    index: Index,
    pending: Mapping[str, int],
    journal: tuple[int | None, int],
    damaged: Collection[str],
    since: str | None,
) -> Changes:
    """The answer for the folder as ``view`` shows it: ``index`` on disk with the journal's
    ``pending`` sessions on top (each with where its last line ends), the journal (its
    inode, and how far it was read) at ``journal``."""
    record = index.extra.get(KEY)
    epoch, count = (record["epoch"], record["count"]) if _valid(record) else ("-", 0)
    token = f"{epoch}.{count}.{journal[0]}-{journal[1]}"
    if since == token:
        return Changes(token)
    parsed = TOKEN.fullmatch(since or "")
    if parsed is None or parsed["epoch"] != epoch or int(parsed["count"]) > count:
        return Changes(token, everything=True)
    after = int(parsed["count"])
    touched = {sid for sid, e in index.entries.items() if e.get("change", 0) > after}
    if _valid(record):
        touched |= {sid for sid, n in record["deleted"].items() if n > after}
    # Not numbered yet. Lines of the journal the token saw are not news, unless the index
    # was written since (a fold emptied that journal: what it holds now is all new).
    same = after == count and parsed["journal"] == str(journal[0])
    seen = int(parsed["read"]) if same else -1
    touched |= {sid for sid, at in pending.items() if at > seen}
    return _split(touched, view.entries, damaged, token)


def _split(
    touched: set[str], present: Mapping[str, Any], damaged: Collection[str], token: str
) -> Changes:
    stored = sorted(sid for sid in touched if sid in present)
    gone = sorted(sid for sid in touched if sid not in present and sid not in damaged)
    return Changes(token, tuple(stored), tuple(gone))
