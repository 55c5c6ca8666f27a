"""Sessions as families for the sidebar: which sessions are roots (shown at the top level)
and which are whose children, newest update first.

The store lists sessions by parent but has no "roots only" filter, so this index keeps the
*structure* — every session's parent — from one listing of all sessions' metadata (no
message is read). A page of roots is then read from the store's own newest-first listing,
skipping the sessions that have a parent: a page costs about its own size, whatever the
store holds.

The structure only changes when sessions are created, deleted or re-parented (an import),
so it is listed again only when the count of sessions moves, when a listing shows a
session it does not know, or at most every :data:`MAX_AGE_S` seconds while the store keeps
changing (a replace-import can re-parent a session without changing the count). A session
whose parent is gone (deleted: children are kept) or that sits in a cycle of parents is a
root, so every session is reachable from the top.
"""

from __future__ import annotations

import time
from collections import defaultdict

from ..core.mirror import ActiveMirror
from ..core.models import SessionMetadata

#: The longest the structure is trusted while the store changes (seconds).
MAX_AGE_S = 60.0
#: Sessions read at a time while walking the listing for roots.
WALK_PAGE = 200


class StaleStructure(Exception):
    """The listing holds a session the structure does not know: list the structure again."""


class FamilyIndex:
    """Every session's parent, the children of each, and which sessions are roots. Used on
    the store thread only."""

    def __init__(self) -> None:
        self.version: str | None = None
        self.parents: dict[str, str | None] = {}
        self.children: dict[str, list[str]] = {}
        self.promoted: set[str] = set()  # roots only because their parents form a cycle
        self.roots_total = 0
        self._built_at = float("-inf")

    @property
    def size(self) -> int:
        return len(self.parents)

    def child_count(self, session_id: str) -> int:
        return len(self.children.get(session_id, ()))

    def is_root(self, session_id: str) -> bool:
        parent = self.parents.get(session_id)
        return (
            parent is None
            or parent == session_id
            or parent not in self.parents
            or session_id in self.promoted
        )

    def refresh(self, mirror: ActiveMirror, *, force: bool = False) -> FamilyIndex:
        """Bring the structure up to date with the store (cheap while nothing changed). The
        version is read first: a save racing the listing makes the next call look again."""
        version = mirror.version()
        if version == self.version and not force:
            return self
        stale = (
            force
            or self.version is None
            or mirror.count_sessions() != len(self.parents)
            or time.monotonic() - self._built_at > MAX_AGE_S
        )
        if stale:
            self._build(mirror.list_sessions())
        self.version = version
        return self

    def roots_page(self, mirror: ActiveMirror, offset: int, limit: int) -> list[SessionMetadata]:
        """Roots ``offset`` to ``offset + limit``, newest update first, read from the store's
        listing (so their metadata is current)."""
        if self.roots_total == self.size:  # no families: every session is a root
            return mirror.list_sessions(limit=limit, offset=offset)
        try:
            return self._walk(mirror, offset, limit)
        except StaleStructure:
            self.refresh(mirror, force=True)
            return self._walk(mirror, offset, limit)

    def _walk(self, mirror: ActiveMirror, offset: int, limit: int) -> list[SessionMetadata]:
        """Read the listing from the top, skipping children, until the page is full."""
        found: list[SessionMetadata] = []
        skipped = start = 0
        size = offset + limit + 10  # enough when few sessions have parents
        while len(found) < limit:
            batch = mirror.list_sessions(limit=size, offset=start)
            for meta in batch:
                if meta.session_id not in self.parents:
                    raise StaleStructure(meta.session_id)
                if not self.is_root(meta.session_id):
                    continue
                if skipped < offset:
                    skipped += 1
                elif len(found) < limit:
                    found.append(meta)
            if len(batch) < size:
                break
            start += size
            size = WALK_PAGE
        return found

    def _build(self, sessions: list[SessionMetadata]) -> None:
        parents = {meta.session_id: meta.parent_session_id for meta in sessions}
        children: dict[str, list[str]] = defaultdict(list)
        roots: list[str] = []
        for meta in sessions:  # newest first: children lists keep that order
            parent = meta.parent_session_id
            if parent is None or parent not in parents or parent == meta.session_id:
                roots.append(meta.session_id)
            else:
                children[parent].append(meta.session_id)
        promoted: set[str] = set()
        reached = _reachable(roots, children)
        if len(reached) < len(parents):  # cycles of parents: their newest member is a root
            for meta in sessions:
                if meta.session_id not in reached:
                    promoted.add(meta.session_id)
                    children[meta.parent_session_id].remove(meta.session_id)  # break the cycle
                    reached |= _reachable([meta.session_id], children)
        self.parents, self.children, self.promoted = parents, dict(children), promoted
        self.roots_total = len(roots) + len(promoted)
        self._built_at = time.monotonic()


def _reachable(starts: list[str], children: dict[str, list[str]]) -> set[str]:
    seen = set(starts)
    stack = list(starts)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen
