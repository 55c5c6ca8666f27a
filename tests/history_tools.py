"""Other tools writing their history for the import tests, each the real thing: IPython's
own ``HistoryManager`` in its own process, llm's command line (``llm.cli.cli``, the code
behind the ``llm`` program, with the ``llm-echo`` model), and jupyterlab-chat's ``YChat``
writing a ``.chat`` file. Only llm's older ``responses`` layout is written by hand (its rows;
the schema is made by llm's own migrations, as an llm of that time left it)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# One IPython process: runs each session's cells (a real shell with history on disk, its
# outputs logged), then, with --serve, a command per stdin line: a cell to run, "!flush"
# (write the history out) or "!new" (start a new IPython session).
IPYTHON = r"""
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

config = Config()
config.HistoryManager.db_log_output = True
shell = InteractiveShell.instance(config=config)
for number, cells in enumerate(json.loads(sys.argv[1])):
    if number:
        shell.reset(new_session=True)
    for cell in cells:
        shell.run_cell(cell, store_history=True)
shell.history_manager.writeout_cache()
if "--serve" in sys.argv:
    print("ready", flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command == "!flush":
            shell.history_manager.writeout_cache()
        elif command == "!new":
            shell.reset(new_session=True)
        else:
            shell.run_cell(command, store_history=True)
        print("done", flush=True)
"""


def ipython_env(ipythondir: Path) -> dict[str, str]:
    return {**os.environ, "IPYTHONDIR": str(ipythondir)}


def ipython_history(ipythondir: Path, sessions: list[list[str]]) -> Path:
    """Run IPython once with these sessions of cells; returns its ``history.sqlite``."""
    subprocess.run(
        [sys.executable, "-c", IPYTHON, json.dumps(sessions)],
        env=ipython_env(ipythondir),
        check=True,
        capture_output=True,
        timeout=120,
    )
    return ipythondir / "profile_default" / "history.sqlite"


@contextmanager
def live_ipython(ipythondir: Path, cells: list[str]) -> Iterator[Callable[[str], None]]:
    """An IPython process that keeps its history open: yields ``run(cell or command)``."""
    process = subprocess.Popen(
        [sys.executable, "-c", IPYTHON, json.dumps([cells]), "--serve"],
        env=ipython_env(ipythondir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdin is not None and process.stdout is not None

    def run(command: str) -> None:
        process.stdin.write(json.dumps(command) + "\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]
        while process.stdout.readline().strip() != "done":  # type: ignore[union-attr]
            pass

    try:
        while process.stdout.readline().strip() != "ready":
            assert process.poll() is None, "the IPython process ended before it was ready"
        yield run
    finally:
        process.stdin.close()
        process.wait(timeout=60)


def llm(user_dir: Path, *args: str) -> str:
    """``llm ARGS…`` with ``LLM_USER_PATH=user_dir``; returns what it printed."""
    from click.testing import CliRunner
    from llm.cli import cli

    result = CliRunner().invoke(cli, list(args), env={"LLM_USER_PATH": str(user_dir)})
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def legacy_llm_logs(path: Path, rows: list[dict[str, Any]], names: dict[str, str]) -> Path:
    """A ``logs.db`` as llm left it before its thread and turn tables: llm's own migrations
    up to there, then ``responses`` rows (and ``conversations`` named ``names``)."""
    import sqlite_utils
    from llm.migrations import MIGRATIONS, ensure_migrations_table

    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite_utils.Database(path)
    ensure_migrations_table(db)
    for migration in MIGRATIONS:
        if migration.__name__ == "m023_message_store":
            break
        migration(db)
        db["_llm_migrations"].insert({"name": migration.__name__, "applied_at": "2024-01-01"})
    for conversation, name in names.items():
        db["conversations"].insert({"id": conversation, "name": name, "model": "echo"})
    db["responses"].insert_all(
        {"options_json": "{}", "duration_ms": 5, "model": "echo", **row} for row in rows
    )
    db.close()
    return path


def llm_turn_times(path: Path) -> dict[str, str]:
    """Each logged turn's time, as llm wrote it (for comparing with what was imported)."""
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT id, datetime_utc FROM turns"))


def write_chat(path: Path, build: Callable[[Any], None], *, start: str | None = None) -> Path:
    """A ``.chat`` file as jupyterlab-chat saves it: ``YChat.get()`` after ``build(chat)``
    (started from the file ``start``'s text, as the server loads one)."""
    from jupyterlab_chat.ychat import YChat

    chat = YChat()
    if start is not None:
        chat.set(start)
    build(chat)
    path.write_text(chat.get(), encoding="utf-8")
    return path
