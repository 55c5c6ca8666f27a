# ruff: noqa: F811
"""History from other tools on the surfaces: ``activemirror import-from SOURCE [PATH]`` and
``%mirror_session import-from SOURCE [PATH]`` (the behaviour itself:
tests/core/test_history_imports.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from history_tools import write_chat
from ipython_shell import Shell, ipython, shell  # noqa: F401

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.cli import main


def chat_file(folder: Path) -> Path:
    from jupyterlab_chat.models import NewMessage, User

    def build(chat) -> None:
        chat.set_user(User(username="ana", name="ana", display_name="Ana"))
        chat.set_user(User(username="bot", name="Helper", display_name="Helper", bot=True))
        chat.add_message(NewMessage(body="Where is the data?", sender="ana"))
        chat.add_message(NewMessage(body="In data/raw.", sender="bot"))

    return write_chat(folder / "Lab chat.chat", build)


def test_the_command_imports_and_again_adds_nothing(tmp_path, capsys):
    path, db = chat_file(tmp_path), tmp_path / "store.db"
    assert main(["import-from", "jupyter-chat", str(path), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("imported 2 messages into 1 sessions from ")
    assert str(path) in out and str(db) in out
    assert main(["import-from", "jupyter-chat", str(path), "--db", str(db)]) == 0
    assert capsys.readouterr().out.startswith("imported 0 messages into 0 sessions")
    with ActiveMirror(db_path=db) as mirror:
        (session,) = mirror.list_sessions(tag="jupyter-chat")
        assert session.title == "Lab chat" and session.message_count == 2


def test_the_commands_mistakes_are_one_line_and_exit_1(tmp_path, capsys):
    chat, db = chat_file(tmp_path), tmp_path / "store.db"
    missing = tmp_path / "no" / "logs.db"
    for argv, says in (
        (["import-from", "zsh", str(chat)], "unknown source 'zsh': use one of ipython, llm"),
        (["import-from", "llm", str(chat)], "is not an llm logs database"),
        (["import-from", "ipython", str(chat)], "is not an IPython history database"),
        (["import-from", "llm", str(missing)], "does not exist"),
        (["import-from", "jupyter-chat"], "name the .chat file"),
    ):
        assert main([*argv, "--db", str(db)]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("activemirror: error: ") and says in err
    assert not missing.parent.exists()
    with ActiveMirror(db_path=db) as mirror:
        assert mirror.count_sessions() == 0
    with pytest.raises(SystemExit) as info:
        main(["import-from", "--help"])
    assert info.value.code == 0
    assert "ipython, llm, jupyter-chat" in capsys.readouterr().out


def test_the_llm_program_and_python_dash_m_import_from_llms_own_folder(tmp_path):
    """The real programs, each in its own process: ``llm`` writes its logs where
    LLM_USER_PATH says, and ``import-from llm`` without a path reads them from there."""
    env = {**os.environ, "LLM_USER_PATH": str(tmp_path / "llm-user")}
    run = {"env": env, "capture_output": True, "text": True, "timeout": 120}
    said = subprocess.run([sys.executable, "-m", "llm", "-m", "echo", "hello there"], **run)
    assert said.returncode == 0, said.stderr
    db = tmp_path / "store.db"
    command = [sys.executable, "-m", "activemirror_jupyter", "import-from", "llm", "--db", str(db)]
    done = subprocess.run(command, **run)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("imported 2 messages into 1 sessions from ")
    assert str(tmp_path / "llm-user" / "logs.db") in done.stdout
    with ActiveMirror(db_path=db) as mirror:
        assert [s.title for s in mirror.list_sessions(tag="llm")] == ["hello there"]


def test_the_magic_shows_what_it_imported(shell: Shell, tmp_path, activemirror_home):
    path = chat_file(tmp_path)
    ran = shell.run(f"%mirror_session import-from jupyter-chat '{path}'")
    assert ran.success, ran.err
    assert "Imported 2 messages into 1 session tagged 'jupyter-chat'." in ran.out
    assert isinstance(ran.result, pd.DataFrame)
    assert list(ran.result["title"]) == ["Lab chat"]
    again = shell.run(f"%mirror_session import-from jupyter-chat '{path}'")
    assert again.success and "Nothing new to import from jupyter-chat." in again.out
    assert again.result is None
    with ActiveMirror(db_path=activemirror_home / "conversations.db") as mirror:
        assert mirror.count_sessions(tag="jupyter-chat") == 1


def test_the_magics_mistakes_are_one_line(shell: Shell, tmp_path):
    assert "use one of ipython, llm, jupyter-chat" in shell.error("%mirror_session import-from zsh")
    # this shell keeps its history in memory: the default profile's file is read, and there
    # is none in this test's IPython folder
    line = shell.error("%mirror_session import-from ipython")
    assert "does not exist" in line and "history.sqlite" in line
    assert (
        "usage: %mirror_session import-from" in shell.run("%mirror_session import-from --help").out
    )
