"""Sessions as families for the sidebar: which sessions are roots (shown at the top level)
and which are whose children, newest update first.

The store lists sessions by parent but has no "roots only" filter, so this index is built
from one listing of every session's metadata (no message is read) and kept until the
store's :meth:`~..core.mirror.ActiveMirror.version` moves: pages are then answered from
memory, and the listing is read again once per change. A session whose parent is gone
(deleted; children are kept) or that sits in a cycle of parents is a root, so every
session is reachable from the top.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from ..core.mirror import ActiveMirror


@dataclass
class FamilyIndex:
    """Session ids in families; lists are newest ``updated_at`` first."""

    version: str | None = None
    roots: list[str] = field(default_factory=list)
    children: dict[str, list[str]] = field(default_factory=dict)
    size: int = 0  # sessions in all

    def child_count(self, session_id: str) -> int:
        return len(self.children.get(session_id, ()))

    def refresh(self, mirror: ActiveMirror) -> FamilyIndex:
        """Bring the index up to date with the store (a no-op while nothing changed).
        The version is read first: a save racing the listing makes the next call list again."""
        version = mirror.version()
        if version == self.version:
            return self
        sessions = mirror.list_sessions()
        known = {meta.session_id for meta in sessions}
        children: dict[str, list[str]] = defaultdict(list)
        roots: list[str] = []
        for meta in sessions:
            parent = meta.parent_session_id
            if parent is None or parent not in known or parent == meta.session_id:
                roots.append(meta.session_id)
            else:
                children[parent].append(meta.session_id)
        reached = _reachable(roots, children)
        if len(reached) < len(known):  # cycles of parents: their newest member is a root
            for meta in sessions:
                if meta.session_id not in reached:
                    roots.append(meta.session_id)
                    children[meta.parent_session_id].remove(meta.session_id)  # break the cycle
                    reached |= _reachable([meta.session_id], children)
            order = {meta.session_id: i for i, meta in enumerate(sessions)}
            roots.sort(key=order.__getitem__)
        self.version, self.roots, self.children = version, roots, dict(children)
        self.size = len(sessions)
        return self


def _reachable(starts: list[str], children: dict[str, list[str]]) -> set[str]:
    seen = set(starts)
    stack = list(starts)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in seen:
                seen.add(child)
                stack.append(child)
    return seen
