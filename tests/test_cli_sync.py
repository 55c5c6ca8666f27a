"""``python -m activemirror_jupyter sync``, run as real processes on real stores, vaults (a
fast KDF) and sync folders: the line it prints, its exit status, one line for each
mistake, the password from the environment or a prompt that does not echo, a progress
bar on a terminal only — and no key, pairing code or password in anything it writes."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sync_devices import FAST

from activemirror_jupyter import ActiveMirror, Identity, VaultMemory
from activemirror_jupyter.core.sync.identity import ENTRY_KEY

PASSWORD = "tidal pools 8 at dawn"


def make_device(tmp_path: Path, name: str, code: str | None = None, remote=None) -> Identity:
    """A vault at ``tmp_path/<name>-vault`` with an identity (joined with ``code``, or new)."""
    vault = VaultMemory(PASSWORD, tmp_path / f"{name}-vault", kdf_iterations=FAST)
    if code is None:
        return Identity.create(vault, "Ada", remote)
    return Identity.join(vault, code, remote)


def notes(db: Path, *texts: str) -> None:
    with ActiveMirror("sqlite", db_path=db) as mirror:
        session = mirror.create_session("Field notes")
        for text in texts:
            session.send(text)
        session.save()


def sync(*argv: str, password: str | None = PASSWORD, **options) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "ACTIVEMIRROR_VAULT_PASSWORD"}
    if password is not None:
        env["ACTIVEMIRROR_VAULT_PASSWORD"] = password
    return subprocess.run(
        [sys.executable, "-m", "activemirror_jupyter", "sync", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        start_new_session=True,  # no terminal to prompt on
        **options,
    )


def secrets(identity: Identity, vault_path: Path) -> list[str]:
    key = VaultMemory(PASSWORD, vault_path).retrieve(ENTRY_KEY)["key"]
    return [key, key.upper(), identity.pairing_code(), PASSWORD]


def one_error_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("activemirror: error: ")
    return line


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "share"
    path.mkdir()
    return path


def test_two_devices_sync_through_a_folder(tmp_path: Path, folder: Path) -> None:
    me = make_device(tmp_path, "desktop", remote=folder)
    notes(tmp_path / "desktop.db", "The tide was late.", "Wind from the west.")
    first = sync("--db", str(tmp_path / "desktop.db"), "--vault", str(tmp_path / "desktop-vault"))
    assert first.returncode == 0, first.stderr
    assert first.stdout == f"pushed 2, pulled 0 ↔ {folder}\n" and first.stderr == ""

    laptop = make_device(tmp_path, "laptop", me.pairing_code())  # no remote kept: given here
    store = [
        "--json-dir",
        str(tmp_path / "laptop-store"),
        "--vault",
        str(tmp_path / "laptop-vault"),
    ]
    second = sync(str(folder), *store)
    assert second.stdout == f"pushed 0, pulled 2 ↔ {folder}\n", second.stderr
    with ActiveMirror("json", storage_path=tmp_path / "laptop-store") as mirror:
        [meta] = mirror.list_sessions()
        assert [m.content for m in mirror.saved_messages(meta.session_id)] == [
            "The tide was late.",
            "Wind from the west.",
        ]
    again = sync(str(folder), *store)
    assert again.stdout == f"pushed 0, pulled 0 ↔ {folder}\n"
    seen = "".join(r.stdout + r.stderr for r in (first, second, again))
    for secret in secrets(me, tmp_path / "desktop-vault") + [laptop.pairing_code()]:
        assert secret not in seen


def test_the_default_vault_and_store_of_activemirror_home(
    tmp_path: Path, folder: Path, activemirror_home: Path
) -> None:
    vault = VaultMemory(PASSWORD, activemirror_home / "vault", kdf_iterations=FAST)
    Identity.create(vault, "Ada", folder)
    notes(activemirror_home / "conversations.db", "one")
    result = sync()
    assert result.returncode == 0 and result.stdout == f"pushed 1, pulled 0 ↔ {folder}\n"


def test_vault_mistakes_exit_1_with_one_line(tmp_path: Path, folder: Path) -> None:
    db = ["--db", str(tmp_path / "a.db")]
    missing = one_error_line(sync(*db, "--vault", str(tmp_path / "nowhere")))
    assert "there is no vault at" in missing and "nowhere" in missing
    assert not (tmp_path / "nowhere").exists()  # not made on the way
    VaultMemory(PASSWORD, tmp_path / "empty-vault", kdf_iterations=FAST).lock()
    empty = one_error_line(sync(*db, "--vault", str(tmp_path / "empty-vault")))
    assert "has no identity" in empty
    make_device(tmp_path, "mine", remote=folder)
    wrong = sync(*db, "--vault", str(tmp_path / "mine-vault"), password="not it")
    assert "password" in one_error_line(wrong).lower() and "not it" not in wrong.stderr


def test_sync_mistakes_exit_1_with_one_line(tmp_path: Path, folder: Path) -> None:
    me = make_device(tmp_path, "mine")
    mine = ["--db", str(tmp_path / "a.db"), "--vault", str(tmp_path / "mine-vault")]
    assert "no remote" in one_error_line(sync(*mine))
    gone = tmp_path / "unplugged"
    assert f"the sync folder {gone} does not exist" in one_error_line(sync(str(gone), *mine))
    make_device(tmp_path, "stranger")
    stranger = ["--db", str(tmp_path / "b.db"), "--vault", str(tmp_path / "stranger-vault")]
    assert sync(str(folder), *stranger).returncode == 0  # now the stranger's folder
    refused = one_error_line(sync(str(folder), *mine))
    assert "belongs to another identity" in refused
    dsn = one_error_line(
        sync("postgresql://ada:hunter22@127.0.0.1:1/x", "--db", str(tmp_path / "c.db"))
    )
    assert "cannot reach the team store" in dsn and "hunter22" not in dsn
    for secret in secrets(me, tmp_path / "mine-vault"):
        assert secret not in refused


def test_the_password_is_asked_for_when_not_in_the_environment(
    tmp_path: Path, folder: Path
) -> None:
    """No terminal: getpass reads standard input (warning that it cannot hide it)."""
    make_device(tmp_path, "mine", remote=folder)
    argv = ["--db", str(tmp_path / "a.db"), "--vault", str(tmp_path / "mine-vault")]
    result = sync(*argv, password=None, input=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"pushed 0, pulled 0 ↔ {folder}\n"
    assert "password of the vault at" in result.stderr and PASSWORD not in result.stderr
    nothing = sync(*argv, password=None, input="")
    assert nothing.returncode == 1 and "Traceback" not in nothing.stderr
    assert nothing.stderr.splitlines()[-1].startswith("activemirror: error: no vault password")


def spawn(tmp_path: Path, *argv: str, password: str | None = None):
    pexpect = pytest.importorskip("pexpect")
    env = {k: v for k, v in os.environ.items() if k != "ACTIVEMIRROR_VAULT_PASSWORD"}
    if password is not None:
        env["ACTIVEMIRROR_VAULT_PASSWORD"] = password
    child = pexpect.spawn(
        sys.executable,
        ["-m", "activemirror_jupyter", "sync", *argv],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(24, 120),
    )
    child.logfile_read = io.StringIO()  # all the terminal showed
    return child


def test_on_a_terminal_the_prompt_does_not_echo(tmp_path: Path, folder: Path) -> None:
    make_device(tmp_path, "mine", remote=folder)
    child = spawn(tmp_path, "--db", str(tmp_path / "a.db"), "--vault", str(tmp_path / "mine-vault"))
    child.expect("password of the vault at .*: ")
    child.sendline(PASSWORD)
    child.expect(f"pushed 0, pulled 0 ↔ {folder}")
    child.expect(pytest.importorskip("pexpect").EOF)
    child.close()
    assert child.exitstatus == 0
    assert PASSWORD not in child.logfile_read.getvalue()  # not echoed


def test_a_big_sync_shows_a_bar_on_a_terminal_only(tmp_path: Path, folder: Path) -> None:
    me = make_device(tmp_path, "desktop", remote=folder)
    notes(tmp_path / "desktop.db", *(f"note {i}" for i in range(1_200)))
    desktop = ["--db", str(tmp_path / "desktop.db"), "--vault", str(tmp_path / "desktop-vault")]
    piped = sync(*desktop)
    assert piped.stdout == f"pushed 1,200, pulled 0 ↔ {folder}\n" and piped.stderr == ""
    make_device(tmp_path, "laptop", me.pairing_code(), folder)
    laptop = ["--db", str(tmp_path / "laptop.db"), "--vault", str(tmp_path / "laptop-vault")]
    child = spawn(tmp_path, *laptop, password=PASSWORD)
    child.expect(r"sync: .*/1200 \[")
    child.expect(f"pushed 0, pulled 1,200 ↔ {folder}")
    child.expect(pytest.importorskip("pexpect").EOF)
    child.close()
    assert child.exitstatus == 0


def test_help_names_the_command_and_its_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "activemirror_jupyter", "sync", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0
    for text in ("REMOTE", "--vault DIR", "--db", "--json-dir", "ACTIVEMIRROR_VAULT_PASSWORD"):
        assert text in result.stdout
