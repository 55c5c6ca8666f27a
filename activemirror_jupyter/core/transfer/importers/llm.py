"""The logs of Simon Willison's ``llm`` (``logs.db``): each conversation becomes a session
tagged ``llm``, titled with the conversation's name; its system prompt a ``system``
message, each prompt a ``user`` message, each response an ``assistant`` message with
``{"model": …}``, at the logged times.

Both of llm's layouts are read, as llm itself reads them (``llm.logs``):

- llm ≥ 0.32: ``threads(id, name)``, ``turns(id, thread_id, parent_message_hash,
  tip_message_hash, model, datetime_utc)`` over a content-addressed tree
  ``messages(hash, parent_hash, role)`` whose text is in ``parts(message_hash, position,
  type, text, payload)`` (text borrowed from ``fragments(id, content)`` is a ``text_ref``
  list in the payload). A turn's prompt is the trailing run of user (and tool) messages
  it was given, its system prompt the root of that chain when it is a system message, its
  response what it appended (the messages from its tip back to its parent).
- the older ``conversations(id, name, model)`` and ``responses(id, model, prompt, system,
  response, conversation_id, datetime_utc)``: one row per exchange. A database upgraded
  by llm keeps these rows (those not also a turn), and a conversation continued after the
  upgrade is a thread with the same id: the two are one session.

llm is never imported: the default ``logs.db`` follows its rule (``$LLM_USER_PATH``, else
click's application folder for ``io.datasette.llm``).
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from .base import (
    SourceMessage,
    SourceSession,
    file_time,
    has_tables,
    not_a,
    read_database,
    table_columns,
    utc_from_iso,
)
from .llmtree import MessageTree

KIND = "an llm logs database (logs.db)"
TURN_TABLES = {
    "threads": {"id", "name"},
    "turns": {"id", "thread_id", "parent_message_hash", "tip_message_hash", "model"},
    "messages": {"hash", "parent_hash", "role"},
    "parts": {"message_hash", "position", "type", "text", "payload"},
}
RESPONSE_TABLES = {
    "responses": {"id", "model", "prompt", "system", "response", "conversation_id"},
}
TITLE_LENGTH = 60


@dataclass(frozen=True)
class Exchange:
    """One call of a model: what it was given and what it said, either layout."""

    id: str
    when: datetime
    model: str
    system: str
    prompt: str
    response: str


class LLMLogs:
    kind = KIND

    def default_path(self) -> Path:
        """``logs.db`` in llm's user folder."""
        folder = os.environ.get("LLM_USER_PATH")
        return Path(folder).expanduser() / "logs.db" if folder else _app_dir() / "logs.db"

    def read(self, path: Path) -> list[SourceSession]:
        fallback = file_time(path)
        exchanges, names = read_database(path, KIND, lambda db: _exchanges(db, path, fallback))
        return [
            _session(conversation, exchanges[conversation], names.get(conversation, ""))
            for conversation in sorted(exchanges, key=lambda c: _first(exchanges[c]))
        ]


def _exchanges(
    db: sqlite3.Connection, path: Path, fallback: datetime
) -> tuple[dict[str, list[Exchange]], dict[str, str]]:
    """Each conversation's exchanges, from whichever layouts the file has, and its name."""
    columns = table_columns(db)
    turns = has_tables(columns, TURN_TABLES)
    if not turns and not has_tables(columns, RESPONSE_TABLES):
        raise not_a(path, KIND, "it has neither llm's turns nor its responses table")
    exchanges: dict[str, list[Exchange]] = defaultdict(list)
    names: dict[str, str] = {}
    if turns:
        _read_turns(db, columns, exchanges, names, fallback)
    if has_tables(columns, RESPONSE_TABLES):
        _read_responses(db, columns, exchanges, names, fallback, skip_turns=turns)
    return exchanges, names


def _app_dir() -> Path:
    """click's ``get_app_dir("io.datasette.llm")``, which llm uses."""
    name = "io.datasette.llm"
    if sys.platform.startswith("win"):
        return Path(os.environ.get("APPDATA") or Path.home()) / name
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / name
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / name


def _read_turns(
    db: sqlite3.Connection,
    columns: dict[str, set[str]],
    exchanges: dict[str, list[Exchange]],
    names: dict[str, str],
    fallback: datetime,
) -> None:
    when = "datetime_utc" if "datetime_utc" in columns["turns"] else "NULL"
    for thread, name in db.execute("SELECT id, name FROM threads"):
        if name:
            names[str(thread)] = name
    rows = db.execute(
        f"SELECT id, thread_id, parent_message_hash, tip_message_hash, model, {when} "
        "FROM turns ORDER BY rowid"
    ).fetchall()
    tree = MessageTree(db, "fragments" in columns)
    planned = [tree.exchange(parent, tip) for _, _, parent, tip, _, _ in rows]
    tree.load_texts()
    for (turn, thread, _, _, model, logged), plan in zip(rows, planned, strict=True):
        system, prompt, response = tree.texts(plan)
        exchange = Exchange(
            str(turn), utc_from_iso(logged) or fallback, model or "", system, prompt, response
        )
        exchanges[str(thread or turn)].append(exchange)


def _read_responses(
    db: sqlite3.Connection,
    columns: dict[str, set[str]],
    exchanges: dict[str, list[Exchange]],
    names: dict[str, str],
    fallback: datetime,
    *,
    skip_turns: bool,
) -> None:
    when = "r.datetime_utc" if "datetime_utc" in columns["responses"] else "NULL"
    named = "conversations" in columns and {"id", "name"} <= columns["conversations"]
    sql = (
        f"SELECT r.id, r.conversation_id, r.model, r.system, r.prompt, r.response, {when}, "
        + (
            "c.name FROM responses r LEFT JOIN conversations c ON c.id = r.conversation_id"
            if named
            else "NULL FROM responses r"
        )
        + (" WHERE r.id NOT IN (SELECT id FROM turns)" if skip_turns else "")
        + " ORDER BY r.rowid"
    )
    for rid, conversation, model, system, prompt, response, logged, name in db.execute(sql):
        key = str(conversation if conversation is not None else rid)
        if name:  # the name llm gave the conversation first wins over a later thread's
            names[key] = name
        exchanges[key].append(
            Exchange(
                str(rid),
                utc_from_iso(logged) or fallback,
                model or "",
                system or "",
                prompt or "",
                response or "",
            )
        )


def _first(exchanges: list[Exchange]) -> tuple[datetime, str]:
    return min((e.when, e.id) for e in exchanges)


def _session(conversation: str, exchanges: list[Exchange], name: str) -> SourceSession:
    ordered = sorted(exchanges, key=lambda e: (e.when, e.id))
    messages: list[SourceMessage] = []
    system = ""
    for e in ordered:
        if e.system and e.system != system:
            messages.append(SourceMessage(f"{e.id}-system", "system", e.system, e.when))
        system = e.system or system
        if e.prompt:
            messages.append(SourceMessage(f"{e.id}-prompt", "user", e.prompt, e.when))
        if e.response:
            messages.append(
                SourceMessage(
                    f"{e.id}-response", "assistant", e.response, e.when, {"model": e.model}
                )
            )
    title = " ".join(name.split()) or _fallback_title(ordered)
    return SourceSession({"id": conversation}, title, ordered[0].when, messages)


def _fallback_title(ordered: list[Exchange]) -> str:
    """A conversation llm left unnamed: its first prompt's words, else its first time."""
    words = " ".join(next((e.prompt for e in ordered if e.prompt.strip()), "").split())
    if words:
        return words if len(words) <= TITLE_LENGTH else words[: TITLE_LENGTH - 1] + "…"
    return f"llm conversation {ordered[0].when:%Y-%m-%d %H:%M}"
