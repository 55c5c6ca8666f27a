"""The JSON folder as its files and its journal make it: ``index.json``'s entries with those
of the sessions the journal holds on top — what listing, search and ``changes`` read.

A view is kept while neither the index nor the journal moves. After lines are appended to
the journal (every save in a folder past the fold-at-once size), only the sessions of those
lines are looked at again: a journal may hold thousands of sessions, and a save must not
cost a look at each of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .jsoncodec import Index
from .jsonjournal import Journal

#: (the index file's key, the journal's key): what a view was made from.
ViewKey = tuple[Any, tuple[int | None, int]]
EntryOf = Callable[[str, Index], "dict[str, Any] | None"]


def view_of(
    index: Index, journal: Journal, entry_of: EntryOf, cached: tuple[ViewKey, Index] | None
) -> tuple[ViewKey, Index]:
    """The view of ``index`` and ``journal`` (``cached`` when it is still the one, or
    brought up to date from it), with its key; ``entry_of`` makes a session's entry."""
    key = (index.key, journal.key)
    if cached is not None and cached[0] == key:
        return cached
    if cached is not None and cached[0][0] == index.key:
        view = _appended(index, journal, entry_of, cached[0][1], cached[1])
        if view is not None:
            return key, view
    order, entries = list(index.order), dict(index.entries)
    for session_id in journal.pending:
        entry = entry_of(session_id, index)
        if entry is None:
            entries.pop(session_id, None)
        else:
            entries[session_id] = entry
            if session_id not in index.entries:
                order.append(session_id)
    return key, Index(None, [i for i in order if i in entries], entries, index.extra)


def _appended(
    index: Index, journal: Journal, entry_of: EntryOf, read: tuple[int | None, int], view: Index
) -> Index | None:
    """``view`` (made with the journal read up to ``read``) brought up to the journal's
    end by the sessions whose lines came after; None when that would not be what a full
    look makes (another journal, or a session coming back: its place is its first)."""
    inode, offset = journal.key
    if inode != read[0] or offset < read[1]:
        return None
    order, entries = list(view.order), dict(view.entries)
    for session_id, pending in journal.pending.items():
        if pending.at <= read[1]:
            continue
        entry = entry_of(session_id, index)
        if entry is None:
            entries.pop(session_id, None)
            continue
        if session_id not in entries:
            if session_id in index.entries or pending.replaced:
                return None
            order.append(session_id)
        entries[session_id] = entry
    return Index(None, [i for i in order if i in entries], entries, index.extra)
