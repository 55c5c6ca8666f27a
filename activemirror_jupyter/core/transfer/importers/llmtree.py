"""llm's content-addressed message tree (llm ≥ 0.32), read the way ``llm logs`` reads it:
each turn's system prompt, prompt and response found by walking parent links, and only the
text of the messages some turn needs read, in batches (a long conversation shares its
history with every later turn: each message is walked and read once)."""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

BATCH = 500


@dataclass(frozen=True)
class Plan:
    """The messages one turn's exchange is made of."""

    system: str | None
    prompt: tuple[str, ...]
    response: tuple[str, ...]


class MessageTree:
    def __init__(self, db: sqlite3.Connection, has_fragments: bool) -> None:
        self.db = db
        self.has_fragments = has_fragments
        self.parent: dict[str, str | None] = {}
        self.role: dict[str, str] = {}
        for digest, parent, role in db.execute("SELECT hash, parent_hash, role FROM messages"):
            self.parent[digest] = parent
            self.role[digest] = role
        self._roots: dict[str, str] = {}
        self._wanted: set[str] = set()
        self._text: dict[str, str] = {}

    def exchange(self, parent: str | None, tip: str | None) -> Plan:
        """What a turn given the chain ending at ``parent`` and leaving ``tip`` said: its
        input is the trailing run of user and tool messages (a turn's new input never holds
        an assistant message), its output the messages from ``tip`` back to ``parent``."""
        trailing = []
        for digest in self._walk(parent, None):
            if self.role[digest] not in ("user", "tool"):
                break
            trailing.append(digest)
        prompt = tuple(h for h in reversed(trailing) if self.role[h] == "user")
        response = tuple(reversed(list(self._walk(tip, parent))))
        root = self._root(parent)
        system = root if root is not None and self.role.get(root) == "system" else None
        self._wanted.update(prompt, response, [system] if system else [])
        return Plan(system, prompt, response)

    def _walk(self, start: str | None, stop: str | None) -> Iterable[str]:
        """Hashes from ``start`` back through parents, up to (not including) ``stop``."""
        seen: set[str] = set()
        digest = start
        while digest is not None and digest != stop and digest in self.role:
            if digest in seen:  # a loop of parents: only a damaged file has one
                return
            seen.add(digest)
            yield digest
            digest = self.parent[digest]

    def _root(self, digest: str | None) -> str | None:
        """The first message of the chain ending at ``digest`` (remembered on the way)."""
        path: list[str] = []
        seen: set[str] = set()
        while digest is not None and digest in self.role and digest not in self._roots:
            if digest in seen:  # a loop of parents: only a damaged file has one
                break
            seen.add(digest)
            path.append(digest)
            digest = self.parent[digest]
        if digest is not None and digest in self._roots:
            root = self._roots[digest]
        elif path:
            root = path[-1]
        else:
            return None
        for seen in path:
            self._roots[seen] = root
        return root

    def load_texts(self) -> None:
        """Read the text parts of every message a planned exchange needs."""
        wanted = sorted(self._wanted - set(self._text))
        parts: dict[str, list[tuple[int, str | None, str | None]]] = defaultdict(list)
        for start in range(0, len(wanted), BATCH):
            batch = wanted[start : start + BATCH]
            marks = ",".join("?" * len(batch))
            for digest, position, text, payload in self.db.execute(
                "SELECT message_hash, position, text, payload FROM parts "
                f"WHERE type = 'text' AND message_hash IN ({marks})",
                batch,
            ):
                parts[digest].append((position, text, payload))
        fragments = self._fragments(parts.values())
        for digest in wanted:
            pieces = sorted(parts.get(digest, []), key=lambda p: p[0])
            self._text[digest] = "".join(_text(t, p, fragments) for _, t, p in pieces)

    def texts(self, plan: Plan) -> tuple[str, str, str]:
        """``(system, prompt, response)`` of a planned exchange (after :meth:`load_texts`)."""
        system = self._text.get(plan.system, "") if plan.system else ""
        return (
            system,
            "".join(self._text.get(h, "") for h in plan.prompt),
            "".join(self._text.get(h, "") for h in plan.response),
        )

    def _fragments(self, parts: Iterable[Sequence[tuple[int, str | None, str | None]]]) -> dict:
        if not self.has_fragments:
            return {}
        ids = sorted(
            {
                piece["fragment"]
                for rows in parts
                for _, text, payload in rows
                if text is None
                for piece in _text_ref(payload)
                if "fragment" in piece
            },
            key=str,
        )
        found: dict[object, str] = {}
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            marks = ",".join("?" * len(batch))
            sql = f"SELECT id, content FROM fragments WHERE id IN ({marks})"
            found.update((i, c or "") for i, c in self.db.execute(sql, batch))
        return found


def _text_ref(payload: str | None) -> list[dict]:
    """The ``text_ref`` pieces of a part's payload (literals and fragment ids)."""
    if not payload:
        return []
    try:
        value = json.loads(payload)
    except ValueError:
        return []
    pieces = value.get("text_ref") if isinstance(value, dict) else None
    if not isinstance(pieces, list):
        return []
    return [p for p in pieces if isinstance(p, dict)]


def _text(text: str | None, payload: str | None, fragments: dict) -> str:
    """A text part's text: its own column, else its payload's text or ``text_ref``."""
    if text is not None:
        return text
    out = []
    for piece in _text_ref(payload):
        if isinstance(piece.get("literal"), str):
            out.append(piece["literal"])
        elif "fragment" in piece:
            out.append(fragments.get(piece["fragment"], ""))
    if out:
        return "".join(out)
    try:
        value = json.loads(payload) if payload else None
    except ValueError:
        return ""
    return value["text"] if isinstance(value, dict) and isinstance(value.get("text"), str) else ""
