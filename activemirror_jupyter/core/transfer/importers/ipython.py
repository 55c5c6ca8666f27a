"""IPython's history (``history.sqlite``): each IPython session with input becomes a session
tagged ``ipython``, titled with its start time; each input, as typed, a ``system`` message
``{"kind": "cell", "execution_count": line}`` in order; an output IPython logged
(``HistoryManager.db_log_output``) its attachment ``out-1``.

The tables, as IPython's ``HistoryAccessor.init_db`` makes them::

    sessions(session integer primary key autoincrement, start timestamp, end timestamp,
             num_cmds integer, remark text)
    history(session integer, line integer, source text, source_raw text,
            primary key (session, line))
    output_history(session integer, line integer, output text, primary key (session, line))

``start`` is the local time of the machine that ran IPython (``datetime.now()``), without
an offset. IPython is never imported: the default path follows its rule (``$IPYTHONDIR``,
else ``~/.ipython``) for the default profile.
"""

from __future__ import annotations

import os
import sqlite3
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

from ...models import Attachment
from .base import (
    SourceMessage,
    SourceSession,
    file_time,
    has_tables,
    not_a,
    read_database,
    table_columns,
)

KIND = "an IPython history database (history.sqlite)"
TABLES = {
    "sessions": {"session", "start"},
    "history": {"session", "line", "source", "source_raw"},
}


class IPythonHistory:
    kind = KIND

    def default_path(self) -> Path:
        """The default profile's ``history.sqlite`` in IPython's folder."""
        folder = os.environ.get("IPYTHONDIR") or "~/.ipython"
        return Path(folder).expanduser() / "profile_default" / "history.sqlite"

    def read(self, path: Path) -> list[SourceSession]:
        fallback = file_time(path)
        starts, inputs, outputs = read_database(path, KIND, lambda db: _rows(db, path))
        return [
            _session(number, starts.get(number), inputs.get(number, []), outputs, fallback)
            for number in sorted(set(starts) | set(inputs), key=_number_order)
        ]


Rows = tuple[dict[int, object], dict[int, list[tuple[int, str]]], dict[tuple[int, int], str]]


def _rows(db: sqlite3.Connection, path: Path) -> Rows:
    """Each session's start, its inputs (as typed) in order, and the logged outputs."""
    columns = table_columns(db)
    if not has_tables(columns, TABLES):
        raise not_a(path, KIND, "it has no IPython sessions and history tables")
    starts = dict(db.execute("SELECT session, start FROM sessions").fetchall())
    inputs: dict[int, list[tuple[int, str]]] = defaultdict(list)
    for number, line, text in db.execute(
        "SELECT session, line, coalesce(source_raw, source, '') FROM history ORDER BY session, line"
    ):
        inputs[number].append((line, text))
    outputs: dict[tuple[int, int], str] = {}
    if "output_history" in columns:
        sql = "SELECT session, line, output FROM output_history WHERE output IS NOT NULL"
        outputs = {(number, line): output for number, line, output in db.execute(sql)}
    return starts, inputs, outputs


def _number_order(number: object) -> tuple[int, str]:
    return (number, "") if isinstance(number, int) else (0, str(number))


def _session(
    number: int,
    start: object,
    lines: list[tuple[int, str]],
    outputs: dict[tuple[int, int], str],
    fallback: datetime,
) -> SourceSession:
    local = _local_time(start)
    when = local.astimezone(timezone.utc) if local is not None else fallback
    shown = local if local is not None else fallback
    messages = []
    for line, text in lines:
        output = outputs.get((number, line))
        attachments = ()
        if output is not None:
            data = output.encode("utf-8", "replace")
            attachments = (Attachment.from_bytes("out-1", "text/plain", data),)
        messages.append(
            SourceMessage(
                str(line),
                "system",
                text,
                when,
                {"kind": "cell", "execution_count": line},
                attachments,
            )
        )
    key = {"id": number, "started": start if isinstance(start, str) else None}
    return SourceSession(key, f"IPython {shown:%Y-%m-%d %H:%M:%S}", when, messages)


def _local_time(start: object) -> datetime | None:
    """IPython's start time: local time without an offset (or with one, if it has it)."""
    if not isinstance(start, str):
        return None
    try:
        when = datetime.fromisoformat(start.strip())
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.astimezone()
