"""Folding a JSON folder's journal into its files: the session files it touched and
``index.json`` are rewritten in one transaction (:meth:`.jsonfolder.Folder.transaction`),
then the journal is emptied. Idempotent: a fold cut short by a crash is done again, adding
nothing twice (a journaled message is added only past the file's last ``seq``).
"""

from __future__ import annotations

from typing import Any

from .jsoncodec import dumps
from .jsonfolder import Folder
from .jsonjournal import Journal


def fold(folder: Folder, journal: Journal) -> None:
    """Write what ``journal`` holds into ``folder``'s files, then empty it; attachment
    bytes no session uses any more are removed after a delete or a replacing save."""
    index = folder.index()
    order, entries = list(index.order), dict(index.entries)
    with folder.transaction():
        removed = _fold_files(folder, journal, order, entries, index.extra)
    if removed:
        folder.collect_garbage(entries)
    journal.clear()


def _fold_files(
    folder: Folder,
    journal: Journal,
    order: list[str],
    entries: dict[str, dict[str, Any]],
    extra: dict[str, Any],
) -> bool:
    """Write the journal's sessions into their files and the index (inside a
    transaction); returns whether any session was deleted or replaced."""
    removed = False
    for sid, pending in journal.pending.items():
        removed |= pending.deleted or pending.replaced
        if pending.deleted or pending.header is None:
            folder.remove_session(sid)
            entries.pop(sid, None)
            continue
        loaded = None if pending.replaced else folder.load(sid)
        records = list(loaded.records) if loaded is not None else []
        lines = list(loaded.message_lines()) if loaded is not None else []
        added = [r for r in pending.records if r["seq"] >= len(records)]
        kept = dict(loaded.header) if loaded else {}
        header = {**kept, **pending.header}
        folded = folder.write_session(
            sid, header, records + added, lines + [dumps(r) for r in added]
        )
        entries[sid] = folder.entry(sid, folded)
        if sid not in order:
            order.append(sid)
    order[:] = [i for i in order if i in entries]
    folder.write_index(order, entries, extra)
    return removed
