"""``%vault identity …`` (who you are across your devices, kept in the vault ``%vault``
unlocked) and ``%mirror_session sync [REMOTE]``, each one registered function.

The identity's key never leaves the vault, and the pairing code — which holds it — is a
password: ``join`` reads it from a password field (a terminal IPython: ``getpass``), never
from the magic's line, so it is in no cell, history or output; ``code`` prints it only with
``--show`` (a ``%vault`` cell keeps no outputs in the autolog).
"""

from __future__ import annotations

import argparse
import getpass
from typing import Any

from IPython.core.error import UsageError

from ..core.sync.identity import ENTRY_KEY, Identity
from ..sync_output import GrowingBar, remote_text, report_line
from .args import Commands, MagicsAPI, arg, plural
from .session_commands import SESSION
from .vault_commands import VAULT

IDENTITY = Commands(
    "%vault identity",
    "Who you are across your devices: a name and a secret sync key, kept in the vault.",
)
_REMOTE = arg(
    "--remote", metavar="R", help="where this device syncs: a folder (or a postgresql:// DSN)"
)
_DSN_SCHEMES = ("postgresql://", "postgres://")


def vault_identity(m: MagicsAPI) -> Identity:
    """The identity in the vault ``%vault`` unlocked; a one-line mistake if the vault is
    locked or holds none."""
    vault = m.unlocked_vault()
    if ENTRY_KEY not in {entry.key for entry in vault.list_entries()}:
        raise UsageError(
            f"the vault at {vault.vault_path} holds no identity: make one with %vault identity "
            "create NAME, or bring yours from another device with %vault identity join"
        )
    return Identity.load(vault)


@VAULT.group(
    "identity",
    "Show the vault's sync identity: name, fingerprint and remote (never its key).",
    IDENTITY,
)
def _show(m: MagicsAPI, args: argparse.Namespace) -> None:
    identity = vault_identity(m)
    remote = identity.remote
    print(f"Identity:    {identity.name}")
    print(f"Fingerprint: {identity.fingerprint} (the same on each of your devices)")
    if remote is None:
        print("Remote:      none yet (%vault identity remote FOLDER sets where this device syncs)")
    else:
        print(f"Remote:      {remote_text(remote)}")


@IDENTITY.command(
    "create",
    "Make a new identity, with a fresh random key, in the unlocked vault (one per vault).",
    arg("name", nargs="+", help="your name, as your devices will show it (quote it or not)"),
    _REMOTE,
)
def _create(m: MagicsAPI, args: argparse.Namespace) -> None:
    identity = Identity.create(m.unlocked_vault(), " ".join(args.name), args.remote)
    print(f"Created the identity {identity.name!r}: fingerprint {identity.fingerprint}.")
    print(
        "On your other devices run %vault identity join and paste the code that "
        "%vault identity code --show gives here."
    )


@IDENTITY.command(
    "join",
    "Keep the identity of another device in this vault: its pairing code is typed into a "
    "password field (never on this line).",
    _REMOTE,
)
def _join(m: MagicsAPI, args: argparse.Namespace) -> Any:
    vault = m.unlocked_vault()
    if not in_terminal(m.shell):
        from ..widgets import JoinIdentityForm

        return JoinIdentityForm(vault, args.remote)
    try:
        typed = getpass.getpass("Pairing code (not shown): ")
    except (EOFError, KeyboardInterrupt):
        raise UsageError("%vault identity join: no code was typed; nothing was stored") from None
    try:
        identity = Identity.join(vault, typed, args.remote)
    finally:
        del typed
    print(
        f"Joined {identity.name!r}: fingerprint {identity.fingerprint} — it must be the same "
        "on your other device."
    )
    return None


def in_terminal(shell: Any) -> bool:
    """A terminal IPython (no widgets there): the code is read with ``getpass``."""
    return any(cls.__name__ == "TerminalInteractiveShell" for cls in type(shell).__mro__)


@IDENTITY.command(
    "code",
    "Show the pairing code that carries the identity to another device (with --show: it "
    "holds the key, so it is a password).",
    arg("--show", action="store_true", help="print the code"),
)
def _code(m: MagicsAPI, args: argparse.Namespace) -> None:
    identity = vault_identity(m)
    if not args.show:
        print(
            "The pairing code is a password: whoever has it can read and write all you sync. "
            "To see it, run %vault identity code --show, and move it as you would a password."
        )
        return
    print(identity.pairing_code())


@IDENTITY.command(
    "remote",
    "Keep R as where this device syncs: a folder (or a postgresql:// DSN).",
    arg("remote", metavar="R", help="a folder several machines see"),
)
def _remote(m: MagicsAPI, args: argparse.Namespace) -> None:
    identity = vault_identity(m)
    identity.set_remote(args.remote)
    print(f"This device now syncs with {remote_text(identity.remote)}.")


@SESSION.command(
    "sync",
    "Sync this store with REMOTE (default: the identity's remote), with the identity of the "
    "vault %vault unlocked: pushed N, pulled M.",
    arg("remote", nargs="?", metavar="REMOTE", help="a folder (default: the identity's remote)"),
)
def _sync(m: MagicsAPI, args: argparse.Namespace) -> None:
    dsn = args.remote is not None and args.remote.startswith(_DSN_SCHEMES)
    identity = None if dsn else vault_identity(m)
    mirror = m.mirror
    kept = mirror.identity
    mirror.identity = identity  # for this call: the vault may be locked afterwards
    try:
        with GrowingBar(_bar) as bar:
            report = mirror.sync(args.remote, progress=bar)
    finally:
        mirror.identity = kept
    print(report_line(report))
    unsaved = m.session.unsaved_count if m.session is not None else 0
    if unsaved:
        print(f"{plural(unsaved, 'unsaved message')} of the current session stayed here: "
              "%mirror_session save, then sync again.")  # fmt: skip


def _bar(total: int) -> Any:
    from tqdm.auto import tqdm  # a widget in a notebook, text in a terminal

    return tqdm(total=total, desc="sync", unit="message", leave=False)
