# ruff: noqa: F811
"""The magics in a real IPython shell: every subcommand and option, the one-line errors,
configuration through %config, autosave, --attach, tags, search, seal and verify, and
secrets that never reach the history or any output. (Autolog with outputs and provenance:
tests/test_capture_autolog.py.)"""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

# The fixtures `ipython` and `shell` come from there (so tests name them as parameters).
from ipython_shell import PASSWORD, SECRET, Shell, ipython, shell  # noqa: F401

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.magics import MirrorMagics, load_ipython_extension, redact
from activemirror_jupyter.magics import unload_ipython_extension as unload

XSS = "<img src=x onerror=alert(1)>"


def saved_messages(home: Path, session_id: str) -> list:
    with ActiveMirror(db_path=home / "conversations.db") as mirror:
        return mirror.load_session(session_id).get_messages()


# -- loading and configuration --------------------------------------------------------------


def test_load_ext_twice_is_harmless_and_unload_removes_the_magics(shell: Shell) -> None:
    unload(shell.ip)
    assert shell.ip.find_line_magic("mirror_session") is None
    assert shell.run("%load_ext activemirror_jupyter").success
    first = shell.magics
    assert shell.run("%reload_ext activemirror_jupyter").success
    load_ipython_extension(shell.ip)
    assert shell.magics is not first  # reload made a fresh one, a second load kept it
    kept = shell.magics
    load_ipython_extension(shell.ip)
    assert shell.magics is kept
    assert [c for c in shell.ip.configurables if isinstance(c, MirrorMagics)] == [kept]
    for name in ("mirror_session", "vault"):
        assert shell.ip.find_line_magic(name) is not None
    assert shell.ip.find_cell_magic("mirror_send") is not None


def test_config_magic_sets_every_option(shell: Shell, tmp_path: Path) -> None:
    ran = shell.run("%config MirrorMagics")
    for option in (
        "storage_type",
        "db_path",
        "storage_path",
        "vault_path",
        "autosave",
        "page_size",
        "autolog",
        "dsn",
    ):
        assert f"MirrorMagics.{option}" in ran.out
    shell.run("%config MirrorMagics.page_size = 3")
    shell.run("%config MirrorMagics.storage_type = 'json'")
    shell.run(f"%config MirrorMagics.storage_path = {str(tmp_path / 'notes')!r}")
    shell.run(f"%config MirrorMagics.vault_path = {str(tmp_path / 'safe')!r}")
    shell.run("%config MirrorMagics.autosave = False")
    m = shell.magics
    assert (m.page_size, m.storage_type, m.autosave) == (3, "json", False)
    shell.run("%mirror_session new Notes in JSON")
    shell.run("%mirror_session save")
    assert (tmp_path / "notes" / "index.json").exists()
    assert m.mirror.store.description.startswith("JSON")
    shell.run("%vault unlock --env AM_VAULT_PASSWORD")
    assert (tmp_path / "safe" / ".vault_index.enc").exists()


def test_ipython_config_is_read_when_the_extension_loads(shell: Shell, tmp_path: Path) -> None:
    unload(shell.ip)
    shell.ip.config.MirrorMagics.page_size = 7
    shell.ip.config.MirrorMagics.db_path = str(tmp_path / "configured.db")
    load_ipython_extension(shell.ip)
    assert shell.magics.page_size == 7
    shell.run("%mirror_session new Configured")
    assert (tmp_path / "configured.db").exists()


def test_page_size_must_be_positive(shell: Shell) -> None:
    shell.run("%config MirrorMagics.page_size = 0")
    assert shell.magics.page_size == 20
    shell.run("%config MirrorMagics.page_size = 5")
    assert shell.magics.page_size == 5


def test_help_documents_every_subcommand(shell: Shell) -> None:
    doc = shell.ip.find_line_magic("mirror_session").__doc__
    for sub in (
        "new",
        "load",
        "list",
        "messages",
        "save",
        "export",
        "import",
        "delete",
        "search",
        "browse",
        "autolog",
        "tag",
        "provenance",
        "seal",
        "verify",
    ):
        assert f"%mirror_session {sub} " in doc
    assert "--max-context N" in doc and "--on-conflict" in doc
    assert "--since DATE" in doc and "--skip-errors" in doc and "--sign" in doc
    vault_doc = shell.ip.find_line_magic("vault").__doc__
    for sub in ("unlock", "lock", "status", "store", "get", "list", "search", "delete"):
        assert f"%vault {sub} " in vault_doc
    assert "change-password" in vault_doc and "export-key" in vault_doc
    ran = shell.run("%mirror_session messages --help")
    assert ran.success and "--page K" in ran.out and "newest" in ran.out
    assert "--attach" in shell.run("%%mirror_send --help\nx").out
    assert "--env VAR" in shell.run("%vault unlock --help").out


def test_every_subcommand_of_every_magic_shows_its_help(shell: Shell) -> None:
    """argparse reads help text as a %-format: a '%' in any help must not break --help."""
    from activemirror_jupyter.magics.session_commands import SESSION
    from activemirror_jupyter.magics.vault_commands import VAULT

    for magic, table in (("%mirror_session", SESSION), ("%vault", VAULT)):
        for name in table.commands:
            ran = shell.run(f"{magic} {name} --help")
            assert ran.success and not ran.err, (magic, name, ran.err)
            assert f"usage: {magic} {name}" in ran.out, (magic, name, ran.out)
        assert f"usage: {magic}" in shell.run(f"{magic} --help").out
    ran = shell.run("%mirror_session import --help")
    assert "%mirror_session export --format json" in ran.out  # the % is shown as written
    assert "usage: %%mirror_send" in shell.run("%%mirror_send --help\nx").out


def test_importing_the_package_loads_no_jupyter_layer() -> None:
    code = (
        "import sys, activemirror_jupyter, activemirror_jupyter.core.mirror;"
        "print(sorted(m for m in ('IPython', 'pandas', 'ipywidgets') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# -- %mirror_session -----------------------------------------------------------------------


def test_new_load_and_bare_show_the_current_session(shell: Shell) -> None:
    assert "No current session" in shell.run("%mirror_session").out
    ran = shell.run('%mirror_session new "Daily Planning" --max-context 30')
    assert "'Daily Planning'" in ran.out and "now current" in ran.out
    session = shell.magics.session
    assert session.title == "Daily Planning" and session.max_context_messages == 30
    ran = shell.run("%mirror_session")
    assert ran.result is session and session.id in ran.out and "Daily Planning" in ran.out
    shell.run("%mirror_session new Unquoted words make a title")
    assert shell.magics.session.title == "Unquoted words make a title"
    ran = shell.run(f"%mirror_session load {session.id}")
    assert "Daily Planning" in ran.out and shell.magics.session.id == session.id


def test_new_with_parent_makes_a_session_family(shell: Shell) -> None:
    shell.run("%mirror_session new Project Alpha")
    parent = shell.magics.session.id
    shell.run(f"%mirror_session new 'Sprint 1' --parent {parent}")
    shell.run(f"%mirror_session new 'Sprint 2' --parent {parent}")
    assert shell.magics.session.parent_session_id == parent
    frame = shell.run(f"%mirror_session list --parent {parent}").result
    assert sorted(frame["title"]) == ["Sprint 1", "Sprint 2"]
    assert set(frame["parent_session_id"]) == {parent}
    line = shell.error("%mirror_session new Orphan --parent session_nope")
    assert "session_nope" in line


def test_list_returns_a_frame_with_datetime_columns(shell: Shell) -> None:
    for i in range(5):
        shell.run(f"%mirror_session new Session {i}")
    shell.run("df = %mirror_session list --limit 3")
    frame = shell.ns["df"]
    assert list(frame.columns) == [
        "session_id",
        "title",
        "message_count",
        "created_at",
        "updated_at",
        "parent_session_id",
    ]
    assert isinstance(frame["created_at"].dtype, pd.DatetimeTZDtype)
    assert isinstance(frame["updated_at"].dtype, pd.DatetimeTZDtype)
    assert list(frame["title"]) == ["Session 4", "Session 3", "Session 2"]
    ran = shell.run("%mirror_session list --limit 3 --offset 3")
    assert list(ran.result["title"]) == ["Session 1", "Session 0"]
    assert "sessions 4–5 of 5" in ran.out
    shell.run("%config MirrorMagics.page_size = 2")
    assert len(shell.run("%mirror_session list").result) == 2


def test_list_on_an_empty_store_says_so(shell: Shell) -> None:
    ran = shell.run("%mirror_session list")
    assert ran.result.empty and "No saved sessions" in ran.out
    assert isinstance(ran.result["created_at"].dtype, pd.DatetimeTZDtype)


def test_messages_pages_from_the_newest_end(shell: Shell) -> None:
    shell.run("%mirror_session new Paging")
    session = shell.magics.session
    for i in range(1, 46):
        session.send(f"note {i}")
    ran = shell.run("%mirror_session messages")
    assert list(ran.result.columns) == ["timestamp", "role", "content", "id"]
    assert isinstance(ran.result["timestamp"].dtype, pd.DatetimeTZDtype)
    assert list(ran.result["content"]) == [f"note {i}" for i in range(26, 46)]
    assert "page 1 of 3" in ran.out
    ran = shell.run("%mirror_session messages --page 3")
    assert list(ran.result["content"]) == [f"note {i}" for i in range(1, 6)]
    assert "page 3 of 3" in ran.out and "messages 1–5 of 45" in ran.out
    ran = shell.run("%mirror_session messages --limit 5 --offset 10")
    assert list(ran.result["content"]) == [f"note {i}" for i in range(31, 36)]
    assert "page 3 of 9" in ran.out
    shell.run("%config MirrorMagics.page_size = 10")
    ran = shell.run("%mirror_session messages --page 2")
    assert list(ran.result["content"]) == [f"note {i}" for i in range(26, 36)]
    assert "page 2 of 5" in ran.out
    shell.run("m = %mirror_session messages --limit 5")
    assert len(shell.ns["m"]) == 5
    assert "past the last page (5)" in shell.error("%mirror_session messages --page 6")
    assert "not both" in shell.error("%mirror_session messages --page 2 --offset 3")


def test_messages_of_another_session(shell: Shell) -> None:
    shell.run("%mirror_session new First")
    first = shell.magics.session
    first.send("in the first")
    shell.run("%mirror_session new Second")
    ran = shell.run(f"%mirror_session messages --session {first.id}")
    assert list(ran.result["content"]) == ["in the first"]


#: Every use of the shared --session option that works on a session (search filters by it).
ON_ANOTHER_SESSION = [
    "%mirror_session messages",
    "%mirror_session export --format json",
    "%mirror_session provenance",
    "%mirror_session tag",
    "%%mirror_send\nnote",
    "%mirror_session seal",
]


def test_every_session_option_finds_the_session_alike(shell: Shell) -> None:
    """One --session: without a current session each finds the session it names, and each
    says the same about an id that is not there."""
    made = shell.magics.mirror.create_session("Elsewhere")  # saved, and not current
    made.send("a note in Elsewhere")
    for line in ON_ANOTHER_SESSION:
        magic, _, cell = line.partition("\n")
        nope = shell.error(f"{magic} --session session_nope" + (f"\n{cell}" if cell else ""))
        assert "Session not found: 'session_nope' in SQLite database" in nope, (line, nope)
        ran = shell.run(f"{magic} --session {made.id}" + (f"\n{cell}" if cell else ""))
        shown = ran.out + (ran.result.to_string() if ran.result is not None else "")
        assert ran.success and "Elsewhere" in shown, (line, ran.err)
        assert shell.magics.session is None, line  # another session, not made current
    assert "no current session" in shell.error("%mirror_session messages")


@pytest.mark.parametrize("command", ["list", "messages", "search tide"])
def test_every_page_option_reads_numbers_alike(shell: Shell, command: str) -> None:
    for title in ("One", "Two", "Three"):
        shell.run(f"%mirror_session new {title}")
        for n in range(3):
            shell.run(f"%%mirror_send\ntide {n}")
        shell.run("%mirror_session save")
    ran = shell.run(f"%mirror_session {command} --limit 1 --offset 1")
    assert ran.success and len(ran.result) == 1, ran.err
    assert "2–2 of" in ran.out, ran.out  # sessions, messages or matches 2–2 of …
    limit = shell.error(f"%mirror_session {command} --limit 0")
    assert "argument --limit: expected a positive whole number, not '0'" in limit
    offset = shell.error(f"%mirror_session {command} --offset -1")
    assert "argument --offset: expected a whole number ≥ 0, not '-1'" in offset


def test_messages_counts_what_another_process_added(shell: Shell, activemirror_home: Path) -> None:
    """A note added from the JupyterLab panel (another process) shows in the kernel's table,
    and the caption above it counts it."""
    shell.run("%mirror_session new Shared")
    shell.run("%%mirror_send\nfrom the kernel")
    with ActiveMirror(db_path=activemirror_home / "conversations.db") as other:
        panel = other.load_session(shell.magics.session.id)
        panel.send("from the panel")
        panel.save()
    ran = shell.run("%mirror_session messages")
    assert list(ran.result["content"]) == ["from the kernel", "from the panel"]
    assert "page 1 of 1 · messages 1–2 of 2" in ran.out
    assert "2 messages" in shell.run("%mirror_session").out


def test_save_with_autosave_off(shell: Shell, activemirror_home: Path) -> None:
    shell.run("%config MirrorMagics.autosave = False")
    shell.run("%mirror_session new Careful")
    shell.run("%%mirror_send\nnot yet on disk")
    session = shell.magics.session
    with ActiveMirror(db_path=activemirror_home / "conversations.db") as other:
        assert other.list_sessions() == []
    assert "1 unsaved" in shell.run("%mirror_session").out
    ran = shell.run("%mirror_session save")
    assert "Saved session 'Careful'" in ran.out and "1 message" in ran.out
    assert [m.content for m in saved_messages(activemirror_home, session.id)] == ["not yet on disk"]
    shell.run("%%mirror_send\nsecond")
    shell.run("%config MirrorMagics.autosave = True")  # turning autosave on saves
    assert len(saved_messages(activemirror_home, session.id)) == 2


def test_autosave_puts_each_message_on_disk_when_the_cell_ends(
    shell: Shell, activemirror_home: Path
) -> None:
    shell.run("%mirror_session new Autosaved")
    ran = shell.run("%%mirror_send\nOn disk already")
    assert "saved" in ran.out
    messages = saved_messages(activemirror_home, shell.magics.session.id)
    assert [m.content for m in messages] == ["On disk already"]


def test_export_markdown_inline_and_to_files(shell: Shell, tmp_path: Path) -> None:
    shell.run("%mirror_session new Exported")
    shell.run("%%mirror_send\nKey decision made")
    ran = shell.run("%mirror_session export")
    assert type(ran.result).__name__ == "Markdown"
    assert "# Exported" in ran.result.data and "Key decision made" in ran.result.data
    ran = shell.run(f"%mirror_session export --format json --output {tmp_path / 's.json'}")
    assert "Wrote the json export" in ran.out
    assert '"Key decision made"' in (tmp_path / "s.json").read_text(encoding="utf-8")
    shell.run(f"%mirror_session export --format txt --output {tmp_path / 's.txt'}")
    assert "Key decision made" in (tmp_path / "s.txt").read_text(encoding="utf-8")
    ran = shell.run("%mirror_session export --format txt")
    assert "Key decision made" in ran.out and ran.result is None
    assert "invalid choice: 'pdf'" in shell.error("%mirror_session export --format pdf")
    assert "No such file" in shell.error(
        f"%mirror_session export --output {tmp_path / 'missing' / 'x.md'}"
    )


def test_import_and_conflicts(shell: Shell, tmp_path: Path) -> None:
    shell.run("%mirror_session new Travelling")
    shell.run("%%mirror_send\nContinuing on a different device")
    original = shell.magics.session.id
    path = tmp_path / "travel.json"
    shell.run(f"%mirror_session export --format json --output {path}")
    assert original in shell.error(f"%mirror_session import {path}")
    ran = shell.run(f"%mirror_session import {path} --on-conflict new_id")
    assert ran.success and "Imported session 'Travelling'" in ran.out
    copy = shell.magics.session
    assert copy.id != original and copy.message_count == 1
    assert shell.run(f"%mirror_session import {path} --on-conflict replace").success
    assert shell.magics.session.id == original
    assert "no such file" in shell.error(f"%mirror_session import {tmp_path / 'none.json'}")
    bad = tmp_path / "bad.json"
    bad.write_text('{"title": 3}', encoding="utf-8")
    shell.error(f"%mirror_session import {bad}")


def test_delete(shell: Shell) -> None:
    shell.run("%mirror_session new Doomed")
    doomed = shell.magics.session.id
    ran = shell.run(f"%mirror_session delete {doomed}")
    assert "Deleted session" in ran.out and "no current session" in ran.out
    assert shell.magics.session is None
    assert doomed in shell.error(f"%mirror_session delete {doomed}")


def test_search_returns_messages_with_their_session(shell: Shell) -> None:
    shell.run("%mirror_session new Ideas")
    shell.run("%%mirror_send\nFocus beats multitasking")
    shell.run("%%mirror_send\nSomething else")
    ran = shell.run("%mirror_session search focus multitasking")
    assert list(ran.result["content"]) == ["Focus beats multitasking"]
    assert list(ran.result.columns) == [
        "timestamp",
        "role",
        "content",
        "id",
        "session_id",
        "session_title",
        "snippet",
    ]
    assert list(ran.result["session_title"]) == ["Ideas"]
    ran = shell.run('%mirror_session search "nothing (at all"')
    assert ran.result.empty and "No saved message" in ran.out


def test_browse_and_chat_open_the_widgets(shell: Shell) -> None:
    from activemirror_jupyter.widgets import ChatPanel, SessionBrowser

    shell.run("%mirror_session new Browsed")
    browser = shell.run("%mirror_session browse").result
    assert isinstance(browser, SessionBrowser)
    assert browser.session is not None and browser.session.id == shell.magics.session.id
    chat = shell.run("%mirror_session chat").result
    assert isinstance(chat, ChatPanel) and chat.session is shell.magics.session


# -- user mistakes ---------------------------------------------------------------------------


def test_mistakes_print_one_line(shell: Shell) -> None:
    assert "Session not found: 'session_nope'" in shell.error("%mirror_session load session_nope")
    assert "invalid session id '../etc'" in shell.error("%mirror_session load ../etc")
    assert "invalid choice: 'frobnicate'" in shell.error("%mirror_session frobnicate")
    assert "unrecognized arguments: --bogus" in shell.error("%mirror_session list --bogus")
    assert "positive whole number" in shell.error("%mirror_session list --limit -2")
    assert "no current session" in shell.error("%mirror_session messages")
    assert "no current session" in shell.error("%mirror_session save")
    assert "No closing quotation" in shell.error('%mirror_session new "unfinished')
    assert "invalid choice: 'robot'" in shell.error("%%mirror_send --role robot\nhi")
    assert "the vault is locked" in shell.error("%vault list")


# -- %%mirror_send ----------------------------------------------------------------------------


def test_send_starts_a_session_named_after_the_notebook(shell: Shell) -> None:
    shell.ns["__session__"] = "/home/me/notes/analysis.ipynb"
    ran = shell.run("%%mirror_send\nFirst thought")
    session = shell.magics.session
    assert session.title == f"analysis {date.today().isoformat()}"
    assert "Started session" in ran.out
    message = session.get_messages()[-1]
    assert (message.role, message.content) == ("user", "First thought")
    assert message.metadata["execution_count"] == ran.count
    assert message.metadata["source"] == "mirror_send"


def test_send_roles_and_another_session(shell: Shell) -> None:
    shell.run("%mirror_session new Target")
    target = shell.magics.session
    shell.run("%mirror_session new Current")
    shell.run(f"%%mirror_send --role assistant --session {target.id}\nA reply\n\nin two lines")
    shell.run("%%mirror_send --role system\nBe brief")
    assert [(m.role, m.content) for m in target.get_messages()] == [
        ("assistant", "A reply\n\nin two lines")
    ]
    assert [m.role for m in shell.magics.session.get_messages()] == ["system"]
    assert "the cell is empty" in shell.error("%%mirror_send\n  \n")


def test_attach_keeps_real_attachments_named_after_the_variables(
    shell: Shell, activemirror_home: Path
) -> None:
    shell.run(
        "import pandas as pd\n"
        "df = pd.DataFrame({'city': ['Oslo', 'Lima', '<b>x</b>', 'Pune', 'Rome', 'Kyiv'],"
        " 'temp': [3.5, 19.0, None, 31.2, 15.0, 2.0]})\n"
        "n = 42"
    )
    shell.run("%mirror_session new Research")
    ran = shell.run("%%mirror_send --attach df n\nTemperatures look seasonal")
    assert ran.success, ran.err
    (message,) = saved_messages(activemirror_home, shell.magics.session.id)
    assert "attachments" not in message.metadata  # 0.2: real attachments, not snapshots
    frame, number = message.attachments
    assert (frame.name, frame.mime_type) == ("df", "text/csv")
    assert frame.read().decode() == shell.ns["df"].to_csv()  # the whole frame, index kept
    assert (number.name, number.mime_type, number.read()) == ("n", "text/plain", b"42")


def test_attach_mistakes_are_one_line_and_send_nothing(shell: Shell) -> None:
    shell.run("%mirror_session new Careful notes")
    shell.run("blob = b'\\x89PNG'\n_hidden = 1\nbig = 'x' * 5000")
    assert "no variable named 'missing'" in shell.error("%%mirror_send --attach missing\ntext")
    line = shell.error("%%mirror_send --attach blob\ntext")
    assert "--attach blob" in line and "Attachment.from_bytes" in line
    assert "invalid attachment name '_hidden'" in shell.error("%%mirror_send --attach _hidden\nx")
    assert "appears twice" in shell.error("%%mirror_send --attach big big\nx")
    shell.magics.mirror.max_attachment_bytes = 1000
    assert "over the limit of 1,000 bytes" in shell.error("%%mirror_send --attach big\nx")
    assert shell.magics.session.message_count == 0  # nothing of a refused send is kept


def test_messages_with_0_1_snapshots_still_export_as_tables(shell: Shell) -> None:
    shell.run("%mirror_session new Old notes")
    snapshot = {
        "name": "summary",
        "type": "pandas.DataFrame",
        "shape": [2, 2],
        "columns": ["city", "mean"],
        "dtypes": ["object", "float64"],
        "head": [["Oslo", 6.8], ["<b>Lima</b>", 20.2]],
    }
    shell.magics.session.send("From 0.1", metadata={"attachments": [snapshot]})
    markdown = shell.run("%mirror_session export").result.data
    assert "| city | mean |" in markdown and "| Oslo | 6.8 |" in markdown
    assert "<b>" not in markdown


# -- autolog ---------------------------------------------------------------------------------


def test_autolog_records_cells_and_never_vault_arguments(shell: Shell) -> None:
    assert "Autolog is off" in shell.run("%mirror_session autolog").out
    shell.run("%mirror_session new Logged")
    session = shell.magics.session
    assert "Autolog is on" in shell.run("%mirror_session autolog on").out
    shell.run("x = 21 * 2")
    shell.run("1 / 0")
    shell.run("%vault unlock --env AM_VAULT_PASSWORD")
    shell.run("%vault store api_key $AM_SECRET_VALUE --category private")
    shell.run("%%mirror_send\nA note, logged once")
    shell.run("%mirror_session autolog off")
    shell.run("y = 'not logged'")
    logged = [m for m in session.get_messages() if m.metadata.get("kind") == "cell"]
    sources = [m.content for m in logged]
    assert "x = 21 * 2" in sources and "1 / 0" in sources
    assert all(m.role == "system" for m in logged)
    ok = next(m for m in logged if m.content == "x = 21 * 2")
    assert ok.metadata["status"] == "ok" and isinstance(ok.metadata["execution_count"], int)
    failed = next(m for m in logged if m.content == "1 / 0")
    assert failed.metadata["status"] == "error"
    assert failed.metadata["error"] == "ZeroDivisionError: division by zero"
    vault_lines = [s for s in sources if "%vault" in s]
    assert vault_lines == [
        "%vault [arguments not logged]",
        "%vault [arguments not logged]",
    ]
    assert not any("AM_VAULT_PASSWORD" in s or "api_key" in s for s in sources)
    assert not any("not logged'" in s or "A note" in s for s in sources)
    notes = [m for m in session.get_messages() if m.metadata.get("source") == "mirror_send"]
    assert [m.content for m in notes] == ["A note, logged once"]


def test_autolog_without_a_session_starts_one(shell: Shell) -> None:
    shell.run("%config MirrorMagics.autolog = True")
    shell.run("z = 1")
    session = shell.magics.session
    assert session is not None and session.title.endswith(date.today().isoformat())
    assert "z = 1" in [m.content for m in session.get_messages()]


def test_an_autologged_cell_exports_as_a_code_block(shell: Shell) -> None:
    shell.run("%mirror_session new Readings")
    shell.run("%mirror_session autolog on")
    code = 'readings = {"city": ["Oslo", None]}\nclean = [c for c in readings["city"] if c]'
    shell.run(code)
    shell.run("%mirror_session autolog off")
    markdown = shell.run("%mirror_session export").result.data
    assert f"```python\n{code}\n```" in markdown  # line breaks kept, shown as code


def test_redact_keeps_the_magic_and_drops_its_arguments() -> None:
    source = "a = 1\nk = %vault get api_key --show\nget_ipython().run_line_magic('vault', 'x')"
    assert redact(source) == (
        "a = 1\nk = %vault [arguments not logged]\n"
        "get_ipython().run_line_magic('vault' [arguments not logged]"
    )


# -- tags, search with filters, seal and verify ---------------------------------------------------


def test_tags_add_remove_and_list_by_tag(shell: Shell, activemirror_home: Path) -> None:
    shell.run("%mirror_session new Tagged study")
    tagged = shell.magics.session.id
    ran = shell.run("%mirror_session tag add weather draft")
    assert "Tags of 'Tagged study': weather, draft." in ran.out
    shell.run("%mirror_session new Untagged")
    assert "Tags of 'Untagged': none." in shell.run("%mirror_session tag").out
    ran = shell.run(f"%mirror_session tag --session {tagged}")
    assert "Tags of 'Tagged study': weather, draft." in ran.out
    frame = shell.run("%mirror_session list --tag weather").result
    assert list(frame["session_id"]) == [tagged]
    assert list(frame.columns) == [
        "session_id",
        "title",
        "message_count",
        "created_at",
        "updated_at",
        "parent_session_id",
    ]
    ran = shell.run(f"%mirror_session load {tagged}")
    assert "tags weather, draft" in ran.out  # shown with the session
    assert "Tags of 'Tagged study': weather." in shell.run("%mirror_session tag remove draft").out
    with ActiveMirror(db_path=activemirror_home / "conversations.db") as other:
        assert other.load_session(tagged).tags == ("weather",)  # saved at once (autosave)
    ran = shell.run("%mirror_session list --tag draft")
    assert ran.result.empty and "No saved session is tagged 'draft'" in ran.out
    assert "has no tag 'nope'" in shell.error("%mirror_session tag remove nope")
    assert "invalid tag" in shell.error("%mirror_session tag add 'bad tag'")
    assert "invalid tag" in shell.error("%mirror_session list --tag '<b>'")
    assert "name the tag" in shell.error("%mirror_session tag add")
    assert "invalid choice: 'weather'" in shell.error("%mirror_session tag weather")


def search_setup(shell: Shell) -> dict[str, Any]:
    shell.run("%mirror_session new Harbour survey")
    shell.run("%mirror_session tag add field")
    shell.run("%%mirror_send\nThe tide gauge reads low at dawn")
    shell.run("%%mirror_send --role assistant\nA tide table for the harbour")
    survey = shell.magics.session
    shell.run("%mirror_session new Office notes")
    shell.run("%%mirror_send\nBudget for tide gauges " + "and more words " * 30 + "then tide again")
    office = shell.magics.session
    return {"survey": survey, "office": office}


def test_search_by_meaning_is_a_frame_with_scores_and_snippets(shell: Shell) -> None:
    pytest.importorskip("wordllama", reason="the [semantic] extra (WordLlama) is not installed")
    shell.run("%mirror_session new Log")
    for text in ["Bought coffee beans", "Oslo had a very wet autumn", "Fixed the parser bug"]:
        shell.run(f"%%mirror_send\n{text}")
    frame = shell.run("%mirror_session search how much rain falls in Norway --meaning").result
    assert list(frame["content"])[0] == "Oslo had a very wet autumn" and len(frame) == 3
    assert list(frame.columns)[-2:] == ["snippet", "score"]
    assert list(frame["score"]) == sorted(frame["score"], reverse=True)
    assert len(shell.run("%mirror_session search rain --meaning --limit 1").result) == 1


def test_search_filters_by_role_tag_session_and_pages(shell: Shell) -> None:
    made = search_setup(shell)
    every = shell.run("%mirror_session search tide").result
    assert len(every) == 3 and list(every["session_title"])[0] == "Office notes"  # newest first
    long = every["snippet"][0]
    assert "tide" in long.lower() and len(long) < 200 and "…" in long
    assert list(shell.run("%mirror_session search tide --role assistant").result["content"]) == [
        "A tide table for the harbour"
    ]
    tagged = shell.run("%mirror_session search tide --tag field").result
    assert set(tagged["session_title"]) == {"Harbour survey"} and len(tagged) == 2
    one = shell.run(f"%mirror_session search tide --session {made['office'].id}").result
    assert list(one["session_id"]) == [made["office"].id]
    ran = shell.run("%mirror_session search tide --limit 2 --offset 1")
    assert len(ran.result) == 2 and "matches 2–3 of 3" in ran.out
    ran = shell.run("%mirror_session search tide --role system")
    assert ran.result.empty and "with these filters" in ran.out


def test_search_dates_are_utc_since_inclusive_until_exclusive(shell: Shell) -> None:
    search_setup(shell)
    every = shell.run("%mirror_session search tide").result
    oldest = every["timestamp"].min().to_pydatetime()
    exact = oldest.isoformat()
    since = shell.run(f"%mirror_session search tide --since {exact}").result
    assert len(since) == 3  # inclusive
    until = shell.run(f"%mirror_session search tide --until {exact}").result
    assert until.empty  # exclusive
    zulu = oldest.replace(tzinfo=None).isoformat() + "Z"
    assert len(shell.run(f"%mirror_session search tide --since {zulu}").result) == 3
    naive = oldest.replace(tzinfo=None).isoformat()  # no offset: read as UTC
    assert len(shell.run(f"%mirror_session search tide --until {naive}").result) == 0
    today = oldest.date()
    tomorrow = today + timedelta(days=1)
    assert len(shell.run(f"%mirror_session search tide --since {today}").result) == 3
    assert len(shell.run(f"%mirror_session search tide --until {tomorrow}").result) == 3
    assert shell.run(f"%mirror_session search tide --since {tomorrow}").result.empty


def test_search_mistakes_are_one_line(shell: Shell) -> None:
    search_setup(shell)
    for bad in ("yesterday", "2024-13-01", "2024-02-30", "''"):
        line = shell.error(f"%mirror_session search tide --since {bad}")
        assert "argument --since: expected a date (2024-05-01) or an ISO time" in line, bad
    assert "--since must be earlier than --until" in shell.error(
        "%mirror_session search tide --since 2024-06-02 --until 2024-06-01"
    )
    assert "invalid choice: 'robot'" in shell.error("%mirror_session search tide --role robot")
    assert "positive whole number" in shell.error("%mirror_session search tide --limit 0")
    assert "whole number ≥ 0" in shell.error("%mirror_session search tide --offset -1")
    assert "invalid session id" in shell.error("%mirror_session search tide --session ../x")
    assert "invalid tag" in shell.error("%mirror_session search tide --tag 'a b'")


def test_seal_makes_the_session_read_only(shell: Shell, activemirror_home: Path) -> None:
    shell.run("%mirror_session new Final report")
    shell.run("%%mirror_send\nConclusion: the tide is late")
    session = shell.magics.session
    ran = shell.run("%mirror_session seal")
    assert f"Sealed 'Final report' ({session.id}): 1 message, head " in ran.out
    assert shell.run(f"%mirror_session load {session.id}").out.rstrip().endswith("sealed.")
    with ActiveMirror(db_path=activemirror_home / "conversations.db") as other:
        stored = other.load_session(session.id)
        assert stored.sealed and stored.metadata["seal"]["head"] == stored.head
    assert "is sealed" in shell.error("%%mirror_send\nOne more thing")
    assert "is sealed" in shell.error("%mirror_session tag add late")
    assert "already sealed" in shell.error("%mirror_session seal")
    assert session.message_count == 1
    markdown = shell.run("%mirror_session export").result.data  # reading still works
    assert "the tide is late" in markdown


def test_seal_turns_autolog_off_and_needs_everything_saved(shell: Shell) -> None:
    shell.run("%mirror_session new Logged then sealed")
    shell.run("%mirror_session autolog on")
    shell.run("x = 1")
    ran = shell.run("%mirror_session seal")
    assert "Autolog is now off" in ran.out and not shell.magics.autolog
    shell.run("%config MirrorMagics.autosave = False")
    shell.run("%mirror_session new Unsaved")
    shell.run("%%mirror_send\nnot on disk yet")
    line = shell.error("%mirror_session seal")
    assert "1 unsaved message" in line and "%mirror_session save" in line
    assert not shell.magics.session.sealed


def test_seal_sign_needs_the_unlocked_vault(shell: Shell, activemirror_home: Path) -> None:
    shell.run("%mirror_session new Signed report")
    shell.run("%%mirror_send\nSigned conclusion")
    session = shell.magics.session
    line = shell.error("%mirror_session seal --sign")
    assert "the vault is locked" in line
    assert not session.sealed  # nothing was sealed
    with ActiveMirror(db_path=activemirror_home / "conversations.db") as other:
        assert not other.load_session(session.id).sealed
    shell.run("%vault unlock --env AM_VAULT_PASSWORD")
    ran = shell.run("%mirror_session seal --sign")
    assert "signed with key" in ran.out
    seal = session.metadata["seal"]
    assert seal["algorithm"] == "ed25519" and len(seal["signature"]) > 64
    ran = shell.run(f"%mirror_session verify {session.id}")
    assert ran.out.strip() == "verified: 1 sessions, 1 messages, no changes"


def test_verify_reports_a_change_behind_the_api(shell: Shell, activemirror_home: Path) -> None:
    shell.run("%mirror_session new Checked")
    shell.run("%%mirror_send\nfirst")
    shell.run("%%mirror_send\nsecond")
    first = shell.magics.session.get_messages()[0]
    shell.run("%mirror_session new Other")
    shell.run("%%mirror_send\nelsewhere")
    ran = shell.run("%mirror_session verify")
    assert ran.out.strip() == "verified: 2 sessions, 3 messages, no changes"
    with sqlite3.connect(activemirror_home / "conversations.db") as conn:
        conn.execute("UPDATE messages SET content = 'edited' WHERE id = ?", (first.id,))
    ran = shell.run("%mirror_session verify")
    lines = ran.out.strip().splitlines()
    assert len(lines) >= 1 and all(first.session_id in line for line in lines)
    assert lines[0].startswith("changed:") and first.id in lines[0]
    assert "Session not found" in shell.error("%mirror_session verify session_missing")
    assert "invalid session id" in shell.error("%mirror_session verify ../x")


# -- %vault ----------------------------------------------------------------------------------


def test_vault_round_trip_without_leaking_secrets(shell: Shell) -> None:
    assert "locked" in shell.run("%vault status").out
    ran = shell.run("%vault unlock --env AM_VAULT_PASSWORD")
    assert "Created a new vault" in ran.out
    assert "unlocked" in shell.run("%vault status").out
    shell.ns["token"] = SECRET
    ran = shell.run("%vault store api_key $token --category private --tags work,llm")
    assert "Stored 'api_key'" in ran.out
    shell.run("%vault store salary_target 150000 --json --category PRIVATE")
    shell.run("goal = {'insight': 'Focus beats multitasking'}")
    shell.run("%vault store core_insight --from-var goal --category knowledge --tags productivity")
    assert "Updated 'api_key'" in shell.run("%vault store api_key $token").out

    ran = shell.run("key = %vault get api_key")
    assert shell.ns["key"] == SECRET and SECRET not in ran.out + ran.err
    shell.run("salary = %vault get salary_target")
    assert shell.ns["salary"] == 150000
    assert shell.run("v = %vault get core_insight").success
    assert shell.ns["v"] == {"insight": "Focus beats multitasking"}

    ran = shell.run("%vault get api_key")  # a bare expression would display it
    assert ran.result is None and "hidden" in ran.out and SECRET not in ran.out
    frame = shell.run("%vault list").result
    assert list(frame.columns) == ["key", "category", "tags", "created_at", "updated_at"]
    assert list(frame["key"]) == ["api_key", "core_insight", "salary_target"]
    assert SECRET not in frame.to_string() and SECRET not in frame._repr_html_()
    assert list(shell.run("%vault list --category knowledge").result["key"]) == ["core_insight"]
    assert list(shell.run("%vault list --tag llm").result["key"]) == ["api_key"]
    found = shell.run("%vault search productivity").result
    assert list(found["key"]) == ["core_insight"] and "value" not in found.columns
    found = shell.run("%vault search sk-live").result  # matches the value, shows no value
    assert list(found["key"]) == ["api_key"] and SECRET not in found.to_string()

    assert "Deleted 'salary_target'" in shell.run("%vault delete salary_target").out
    assert "no vault entry named 'salary_target'" in shell.error("%vault get salary_target")
    assert "no vault entry" in shell.error("%vault delete salary_target")
    assert "unknown vault category" in shell.error("%vault store x y --category nope")
    assert "one of them" in shell.error("%vault store lonely")

    assert "Vault locked" in shell.run("%vault lock").out
    assert "locked" in shell.run("%vault status").out
    assert "the vault is locked" in shell.error("%vault get api_key")

    history = shell.history_text()
    assert SECRET not in history and PASSWORD not in history

    # Only --show displays a value (and so puts it in the output history).
    shell.run("%vault unlock --env AM_VAULT_PASSWORD")
    ran = shell.run("%vault get api_key --show")
    assert ran.result == SECRET and SECRET in ran.out
    assert PASSWORD not in shell.history_text()


def test_wrong_password_and_missing_variable(shell: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    shell.run("%vault unlock --env AM_VAULT_PASSWORD")
    shell.run("%vault lock")
    monkeypatch.setenv("AM_WRONG", "not the password")
    line = shell.error("%vault unlock --env AM_WRONG")
    assert "not the password" not in line and PASSWORD not in line
    assert "AM_UNSET" in shell.error("%vault unlock --env AM_UNSET")
    assert "locked" in shell.run("%vault status").out


def test_change_password_and_recovery_key(
    shell: Shell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    shell.run("%vault unlock --env AM_VAULT_PASSWORD")
    shell.run("%vault store note hello")
    monkeypatch.setenv("AM_NEW_PASSWORD", "a brand new passphrase")
    ran = shell.run("%vault change-password --old-env AM_VAULT_PASSWORD --new-env AM_NEW_PASSWORD")
    assert "password changed" in ran.out
    assert "both" in shell.error("%vault change-password --old-env AM_NEW_PASSWORD")

    ran = shell.run("%vault export-key")
    assert ran.result is None and "hidden" in ran.out and "amvk1-" not in ran.out
    shell.run("k = %vault export-key")
    recovery = shell.ns["k"]
    assert recovery.startswith("amvk1-")
    out_path = tmp_path / "recovery.txt"
    out_path.write_text("an older file anyone could read")
    out_path.chmod(0o644)  # replaced by a private file, not rewritten in place
    shell.run(f"%vault export-key --output {out_path}")
    assert out_path.read_text().strip() == recovery
    assert stat.S_IMODE(out_path.stat().st_mode) == 0o600
    shell.run("%vault lock")
    shell.error("%vault unlock --env AM_VAULT_PASSWORD")  # the old password no longer works
    monkeypatch.setenv("AM_RECOVERY", recovery)
    assert "unlocked" in shell.run("%vault unlock --key-env AM_RECOVERY").out
    shell.run("n = %vault get note")
    assert shell.ns["n"] == "hello"
    assert recovery not in shell.history_text()
    assert "a brand new passphrase" not in shell.history_text()
    assert shell.run("%vault export-key --show").result == recovery


def test_unlock_without_env_shows_the_password_panel(shell: Shell) -> None:
    from activemirror_jupyter.widgets import VaultPanel

    panel = shell.run("%vault unlock").result
    assert isinstance(panel, VaultPanel)
    assert panel.vault is shell.magics.vault_memory
    panel.password.value = PASSWORD
    panel.confirm.value = PASSWORD
    panel.unlock()
    assert panel.password.value == "" and not shell.magics.vault_memory.is_locked
    assert "unlocked" in shell.run("%vault status").out
    widget = shell.run("%vault change-password").result
    assert isinstance(widget, VaultPanel) and widget.password_shown
    form = widget.password_form
    assert all(type(w).__name__ == "Password" for w in (form.old, form.new, form.again))


# -- rendering safety ------------------------------------------------------------------------


def test_user_html_is_inert_in_frames_and_markdown(shell: Shell) -> None:
    shell.run(f"%mirror_session new '{XSS} <script>alert(2)</script>'")
    shell.run(f"%%mirror_send\n{XSS}\n<script>alert(3)</script>")
    outputs = [
        shell.run("%mirror_session list").result._repr_html_(),
        shell.run("%mirror_session messages").result._repr_html_(),
        shell.run("%mirror_session search alert").result._repr_html_(),
        shell.run("%mirror_session export").result.data,
    ]
    for html in outputs:
        assert "<img" not in html and "<script" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_postgresql_store_through_config(shell: Shell, postgres_dsn: str) -> None:
    shell.ip.user_ns["dsn"] = postgres_dsn
    shell.run("%config MirrorMagics.storage_type = 'postgresql'")
    shell.run("%config MirrorMagics.dsn = dsn")  # the value of a notebook variable
    assert shell.magics.dsn == postgres_dsn
    shell.run("%mirror_session new Team notes")
    shell.run("%%mirror_send\nShared with the team")
    assert shell.magics.mirror.store.description.lower().startswith("postgresql")
    assert list(shell.run("%mirror_session search team").result["content"]) == [
        "Shared with the team"
    ]
