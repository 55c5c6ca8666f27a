# ruff: noqa: F811
"""``%vault identity …`` and ``%mirror_session sync`` in a real IPython shell, with real
vaults (a fast KDF), real stores and real sync folders: each command, each mistake as one
line, and no secret — the sync key, the pairing code, the vault password — in any output,
the history or a log."""

from __future__ import annotations

import base64
import getpass
import io
import logging
import os
import sys
from pathlib import Path

import pytest
from ipython_shell import PASSWORD, Shell, ipython, shell  # noqa: F401
from sync_devices import FAST

from activemirror_jupyter import ActiveMirror, Identity, VaultMemory
from activemirror_jupyter.core.sync.identity import ENTRY_KEY
from activemirror_jupyter.magics import sync_commands
from activemirror_jupyter.widgets import JoinIdentityForm

UNLOCK = "%vault unlock --env AM_VAULT_PASSWORD"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "Dropbox" / "activemirror"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def unlocked(shell: Shell, activemirror_home: Path) -> Shell:
    """The shell with its vault (made with a fast KDF) unlocked by ``%vault``."""
    VaultMemory(PASSWORD, activemirror_home / "vault", kdf_iterations=FAST).lock()
    assert shell.run(UNLOCK).success
    return shell


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def other_device(tmp_path: Path, code: str | None = None, name: str = "laptop") -> ActiveMirror:
    """A second device: its own vault (joined with ``code``, or a new identity) and store."""
    vault = VaultMemory(PASSWORD, tmp_path / f"{name}-vault", kdf_iterations=FAST)
    me = Identity.join(vault, code) if code else Identity.create(vault, "Someone else")
    return ActiveMirror("sqlite", db_path=tmp_path / f"{name}.db", identity=me)


def secrets_of(shell: Shell) -> list[str]:
    """The sync key (in the forms it could leak), the pairing code and the vault password."""
    vault = shell.magics.vault_memory
    key = bytes.fromhex(vault.retrieve(ENTRY_KEY)["key"])
    code = Identity.load(vault).pairing_code()
    return [
        key.hex(),
        key.hex().upper(),
        base64.b64encode(key).decode().rstrip("="),
        base64.urlsafe_b64encode(key).decode().rstrip("="),
        code,
        code.replace("-", ""),
        PASSWORD,
    ]


def assert_nothing_secret(texts: list[str], secrets: list[str]) -> None:
    seen = "\n".join(texts)
    for secret in secrets:
        assert secret not in seen


# -- %vault identity -------------------------------------------------------------------------


def test_identity_needs_the_unlocked_vault_and_an_identity(shell: Shell, activemirror_home):
    assert "the vault is locked" in shell.error("%vault identity")
    assert "the vault is locked" in shell.error("%vault identity code --show")
    assert "the vault is locked" in shell.error("%vault identity create Ada")
    assert "the vault is locked" in shell.error("%mirror_session sync")
    VaultMemory(PASSWORD, activemirror_home / "vault", kdf_iterations=FAST).lock()
    shell.run(UNLOCK)
    for line in ("%vault identity", "%vault identity code --show", "%vault identity remote /x"):
        error = shell.error(line)
        assert "holds no identity" in error and "%vault identity create NAME" in error
    assert "holds no identity" in shell.error("%mirror_session sync")


def test_create_show_and_a_second_create_refused(unlocked: Shell, folder: Path, logs) -> None:
    ran = unlocked.run(f'%vault identity create "Ada Lovelace" --remote {folder}')
    assert ran.success, ran.err
    me = Identity.load(unlocked.magics.vault_memory)
    assert me.name == "Ada Lovelace" and me.remote == str(folder)
    assert me.fingerprint in ran.out and "%vault identity code --show" in ran.out
    shown = unlocked.run("%vault identity")
    assert shown.success and shown.result is None
    assert "Ada Lovelace" in shown.out and me.fingerprint in shown.out and str(folder) in shown.out
    assert "already has an identity" in unlocked.error("%vault identity create Bob")
    assert Identity.load(unlocked.magics.vault_memory).name == "Ada Lovelace"
    texts = [ran.out, ran.err, shown.out, shown.err, unlocked.history_text(), logs.text]
    assert_nothing_secret(texts, secrets_of(unlocked))


def test_create_without_a_remote_says_how_to_set_one(unlocked: Shell) -> None:
    unlocked.run("%vault identity create Ada")
    assert "%vault identity remote FOLDER" in unlocked.run("%vault identity").out
    assert "must not be empty" in unlocked.error('%vault identity remote ""')
    assert "https:// is neither" in unlocked.error("%vault identity remote https://x.org/y")


def test_code_is_shown_only_with_show(unlocked: Shell) -> None:
    unlocked.run("%vault identity create Ada")
    code = Identity.load(unlocked.magics.vault_memory).pairing_code()
    hidden = unlocked.run("%vault identity code")
    assert hidden.success and hidden.result is None
    assert code not in hidden.out and "password" in hidden.out and "--show" in hidden.out
    shown = unlocked.run("%vault identity code --show")
    assert shown.success and shown.result is None and code in shown.out
    # printed, not returned: it is in no Out[n], `_`, nor the history
    assert code not in repr(unlocked.ns.get("Out")) and code not in repr(unlocked.ns.get("_"))
    assert code not in unlocked.history_text()


def test_remote_keeps_a_new_remote_and_hides_a_dsns_password(unlocked: Shell, tmp_path) -> None:
    unlocked.run("%vault identity create Ada")
    ran = unlocked.run(f"%vault identity remote {tmp_path / 'share'}")
    assert ran.success and str(tmp_path / "share") in ran.out
    vault = unlocked.magics.vault_memory
    assert Identity.load(vault).remote == str(tmp_path / "share")
    ran = unlocked.run("%vault identity remote postgresql://ada:hunter22@db.example/am")
    assert "postgresql://ada:***@db.example/am" in ran.out and "hunter22" not in ran.out
    shown = unlocked.run("%vault identity").out
    assert "postgresql://ada:***@db.example/am" in shown and "hunter22" not in shown


def test_join_through_the_password_field(unlocked: Shell, tmp_path: Path, logs) -> None:
    first = other_device(tmp_path, name="desktop")
    code = first.identity.pairing_code()
    ran = unlocked.run(f"form = %vault identity join --remote {tmp_path / 'share'}")
    assert ran.success, ran.err
    form = unlocked.ns["form"]
    assert isinstance(form, JoinIdentityForm)
    assert form.code is form.password and form.code.__class__.__name__ == "Password"
    form.code.value = code  # typed by the user, in the browser
    form.join_button.click()
    assert form.code.value == ""  # cleared at once
    assert form.status.kind == "ok" and first.identity.fingerprint in form.status.text
    me = Identity.load(unlocked.magics.vault_memory)
    assert me.fingerprint == first.identity.fingerprint and me.remote == str(tmp_path / "share")
    shown = unlocked.run("%vault identity")
    state = repr(form.get_state()) + repr(vars(form))
    texts = [ran.out, ran.err, shown.out, state, form.status.value, unlocked.history_text()]
    assert_nothing_secret([*texts, logs.text], secrets_of(unlocked))
    first.close()


def test_a_mistyped_code_shows_the_error_and_stores_nothing(unlocked: Shell, tmp_path) -> None:
    first = other_device(tmp_path, name="desktop")
    code = first.identity.pairing_code()
    typo = code[:-3] + ("x" if code[-3] != "x" else "y") + code[-2:]
    unlocked.run("form = %vault identity join")
    form = unlocked.ns["form"]
    form.code.value = typo
    assert form.join() is None
    assert form.status.kind == "error" and "mistyped" in form.status.text
    assert typo not in form.status.value and form.code.value == ""
    vault = unlocked.magics.vault_memory
    assert ENTRY_KEY not in {e.key for e in vault.list_entries()}
    form.code.value = "  "
    form.join()
    assert "first" in form.status.text
    first.close()


def test_join_of_another_identity_is_refused(unlocked: Shell, tmp_path: Path) -> None:
    unlocked.run("%vault identity create Ada")
    mine = Identity.load(unlocked.magics.vault_memory).fingerprint
    stranger = other_device(tmp_path, name="stranger")
    unlocked.run("form = %vault identity join")
    form = unlocked.ns["form"]
    form.code.value = stranger.identity.pairing_code()
    form.join()
    assert form.status.kind == "error" and "another identity" in form.status.text
    assert Identity.load(unlocked.magics.vault_memory).fingerprint == mine
    stranger.close()


def test_join_in_a_terminal_reads_the_code_with_getpass(
    unlocked: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = other_device(tmp_path, name="desktop")
    code = first.identity.pairing_code()
    asked: list[str] = []
    monkeypatch.setattr(sync_commands, "in_terminal", lambda shell: True)
    monkeypatch.setattr(getpass, "getpass", lambda prompt: asked.append(prompt) or code[:-1])
    error = unlocked.error("%vault identity join")
    assert "mistyped" in error and code[:-1] not in error
    assert ENTRY_KEY not in {e.key for e in unlocked.magics.vault_memory.list_entries()}
    monkeypatch.setattr(getpass, "getpass", lambda prompt: asked.append(prompt) or code)
    ran = unlocked.run("%vault identity join")
    assert ran.success and first.identity.fingerprint in ran.out and ran.result is None
    assert asked == ["Pairing code (not shown): "] * 2
    assert_nothing_secret([ran.out, ran.err, unlocked.history_text()], secrets_of(unlocked))
    first.close()


def test_only_a_terminal_shell_counts_as_a_terminal(unlocked: Shell) -> None:
    class TerminalInteractiveShell:  # the class IPython's terminal uses, by name
        pass

    class Mine(TerminalInteractiveShell):
        pass

    assert sync_commands.in_terminal(Mine()) and not sync_commands.in_terminal(unlocked.ip)


def test_identity_help(shell: Shell) -> None:
    doc = shell.ip.find_line_magic("vault").__doc__
    for line in ("%vault identity ", "%vault identity create ", "%vault identity join "):
        assert line in doc
    assert "%vault identity code [-h] [--show]" in doc and "%vault identity remote [-h] R" in doc
    for sub in ("", " create", " join", " code", " remote"):
        ran = shell.run(f"%vault identity{sub} --help")
        assert ran.success and f"usage: %vault identity{sub}" in ran.out
    assert "usage: %mirror_session sync" in shell.run("%mirror_session sync --help").out


# -- %mirror_session sync --------------------------------------------------------------------


def test_sync_with_another_device(unlocked: Shell, folder: Path, tmp_path: Path, logs) -> None:
    unlocked.run(f"%vault identity create Ada --remote {folder}")
    unlocked.run('%mirror_session new "Field notes"')
    unlocked.run("%%mirror_send\nThe tide was late today.")
    unlocked.run("%%mirror_send\nAnd the wind from the west.")
    ran = unlocked.run("%mirror_session sync")
    assert ran.success, ran.err
    assert ran.out.strip() == f"pushed 2, pulled 0 ↔ {folder}" and ran.err == ""
    assert unlocked.magics.mirror.identity is None  # given for the call only

    code = Identity.load(unlocked.magics.vault_memory).pairing_code()
    laptop = other_device(tmp_path, code)
    report = laptop.sync(folder)
    assert (report.pushed, report.pulled) == (0, 2)
    [meta] = laptop.list_sessions()
    on_laptop = laptop.load_session(meta.session_id)
    on_laptop.send("Sent from the laptop.")
    on_laptop.save()
    laptop.sync(folder)
    ran = unlocked.run(f"%mirror_session sync {folder}")
    assert ran.out.strip() == f"pushed 0, pulled 1 ↔ {folder}"
    messages = unlocked.run("%mirror_session messages").result
    assert list(messages["content"])[-1] == "Sent from the laptop."
    assert unlocked.run("%mirror_session sync").out.strip() == f"pushed 0, pulled 0 ↔ {folder}"
    assert_nothing_secret([ran.out, unlocked.history_text(), logs.text], secrets_of(unlocked))
    laptop.close()


def test_sync_mistakes_are_one_line(unlocked: Shell, tmp_path: Path, folder: Path) -> None:
    unlocked.run("%vault identity create Ada")
    assert "no remote" in unlocked.error("%mirror_session sync")
    missing = tmp_path / "not-there"
    assert f"the sync folder {missing} does not exist" in unlocked.error(
        f"%mirror_session sync {missing}"
    )
    stranger = other_device(tmp_path, name="stranger")
    stranger.sync(folder)  # the folder is now the stranger's identity's
    assert "belongs to another identity" in unlocked.error(f"%mirror_session sync {folder}")
    unreachable = unlocked.error("%mirror_session sync postgresql://ada:pw@127.0.0.1:1/x")
    assert "cannot reach the team store" in unreachable and ":pw@" not in unreachable
    assert "unrecognized arguments: b" in unlocked.error("%mirror_session sync a b")
    stranger.close()


def test_sync_after_the_vault_is_locked_is_refused(unlocked: Shell, folder: Path) -> None:
    unlocked.run(f"%vault identity create Ada --remote {folder}")
    assert unlocked.run("%mirror_session sync").success
    unlocked.run("%vault lock")
    assert "the vault is locked" in unlocked.error("%mirror_session sync")


def test_a_big_sync_shows_a_progress_bar_a_small_one_none(
    unlocked: Shell, folder: Path, tmp_path: Path
) -> None:
    unlocked.run(f"%vault identity create Ada --remote {folder}")
    code = Identity.load(unlocked.magics.vault_memory).pairing_code()
    laptop = other_device(tmp_path, code)
    laptop.autosave = False
    session = laptop.create_session("Many")
    for i in range(1_200):
        session.send(f"note {i}")
    session.save()
    laptop.sync(folder)
    ran = unlocked.run("%mirror_session sync")
    assert ran.out.strip() == f"pushed 0, pulled 1,200 ↔ {folder}"
    # a bar that learned the size (tqdm redraws at most every 0.1 s, and clears it at the end)
    assert "sync:" in ran.err and "/1200 [" in ran.err and "Traceback" not in ran.err
    unlocked.run("%mirror_session load " + session.id)
    unlocked.run("%%mirror_send\none more")
    small = unlocked.run("%mirror_session sync")
    assert small.out.strip() == f"pushed 1, pulled 0 ↔ {folder}" and small.err == ""
    laptop.close()


def test_join_in_a_real_terminal_ipython_neither_echoes_nor_keeps_the_code(
    tmp_path: Path, activemirror_home: Path
) -> None:
    pexpect = pytest.importorskip("pexpect")
    VaultMemory(PASSWORD, activemirror_home / "vault", kdf_iterations=FAST).lock()
    first = other_device(tmp_path, name="desktop")
    code = first.identity.pairing_code()
    env = dict(os.environ, AM_VAULT_PASSWORD=PASSWORD)  # ACTIVEMIRROR_HOME, IPYTHONDIR: the test's
    child = pexpect.spawn(
        sys.executable,
        ["-m", "IPython", "--simple-prompt", "--no-banner", "--colors=NoColor"],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(24, 200),
    )
    child.logfile_read = io.StringIO()
    for line in ("%load_ext activemirror_jupyter", UNLOCK):
        child.expect(r"In \[\d+\]: ")
        child.sendline(line)
    child.expect("Vault unlocked")
    child.expect(r"In \[\d+\]: ")
    child.sendline("%vault identity join")
    child.expect("Pairing code \\(not shown\\): ")
    child.sendline(code)
    child.expect(f"fingerprint {first.identity.fingerprint}")
    child.expect(r"In \[\d+\]: ")
    child.sendline("exit")
    child.expect(pexpect.EOF)
    child.close()
    assert code not in child.logfile_read.getvalue()  # not echoed
    history = b"".join(p.read_bytes() for p in (tmp_path / "ipython").rglob("*.sqlite"))
    assert b"%vault identity join" in history and code.encode() not in history
    vault = VaultMemory(PASSWORD, activemirror_home / "vault")
    assert Identity.load(vault).fingerprint == first.identity.fingerprint
    first.close()


@pytest.mark.parametrize("storage_type", ["json", "memory"])
def test_sync_from_the_other_stores_the_magics_open(
    unlocked: Shell, folder: Path, tmp_path: Path, storage_type: str
) -> None:
    unlocked.run(f"%config MirrorMagics.storage_type = {storage_type!r}")
    unlocked.run(f"%vault identity create Ada --remote {folder}")
    unlocked.run("%mirror_session new Notes")
    unlocked.run("%%mirror_send\nfrom the other store")
    ran = unlocked.run("%mirror_session sync")
    assert ran.out.strip() == f"pushed 1, pulled 0 ↔ {folder}", ran.err
    laptop = other_device(tmp_path, Identity.load(unlocked.magics.vault_memory).pairing_code())
    assert laptop.sync(folder).pulled == 1
    laptop.close()
