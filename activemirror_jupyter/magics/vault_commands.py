"""``%vault`` and its subcommands, each one function registered on :data:`VAULT`.

A password never appears in cell source, history or output: it comes from the password
widget (:class:`~activemirror_jupyter.widgets.VaultPanel`) or an environment variable. A
value appears in output only with ``--show``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError

from ..core.paths import VAULT_PASSWORD_ENV
from ..core.vault import VaultCategory
from .args import Commands, MagicsAPI, arg, frames

VAULT = Commands(
    "%vault",
    "The encrypted vault. Unlock it with a password widget (or --env VAR when headless); "
    "values are shown only with --show.",
)
#: The password a bare ``%vault unlock`` uses when it is set (headless runs of notebooks).
PASSWORD_ENV = VAULT_PASSWORD_ENV
#: Subcommands whose result is a secret: shown only with --show.
_RETURNING = {"get", "export-key"}


def returns_secret(command: str) -> bool:
    return command in _RETURNING


def is_displayed(transform: Callable[[str], str], cell: str) -> bool:
    """Whether ``cell`` holds a secret-returning ``%vault`` call as a bare expression (so
    IPython would display its value); ``transform`` turns magics into Python."""
    try:
        tree = ast.parse(transform(cell))
    except (SyntaxError, ValueError):
        return True
    return any(isinstance(node, ast.Expr) and _is_vault_call(node.value) for node in ast.walk(tree))


def _is_vault_call(node: ast.AST) -> bool:
    """``get_ipython().run_line_magic('vault', 'get …')`` (what ``%vault get …`` becomes)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr != "run_line_magic" or len(node.args) < 2:
        return False
    name, line = node.args[0], node.args[1]
    if not (isinstance(name, ast.Constant) and name.value == "vault"):
        return False
    words = (
        line.value.split() if isinstance(line, ast.Constant) and isinstance(line.value, str) else []
    )
    return bool(words) and words[0] in _RETURNING


def _env(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise UsageError(f"%vault: the environment variable {name} ({what}) is not set")
    return value


def _entry_names(vault: Any) -> set[str]:
    return {entry.key for entry in vault.list_entries()}


@VAULT.command(
    "unlock",
    "Unlock the vault (creating it on first use): a password widget, or --env VAR headless "
    f"(without options, ${PASSWORD_ENV} is used when it is set).",
    arg("--env", metavar="VAR", help="read the password from this environment variable"),
    arg("--key-env", metavar="VAR", help="read a recovery key (amvk1-…) from this variable"),
)
def _unlock(m: MagicsAPI, args: argparse.Namespace) -> Any:
    vault = m.vault_memory
    if args.env and args.key_env:
        raise UsageError("%vault unlock: use --env or --key-env, not both")
    env = args.env
    if not env and not args.key_env and os.environ.get(PASSWORD_ENV):
        env = PASSWORD_ENV  # a headless run of a notebook written for people
    if env or args.key_env:
        existed = vault.exists
        if env:
            vault.unlock(_env(env, "the vault password"))
        else:
            vault.unlock(key=_env(args.key_env, "a recovery key"))
        print(_unlocked_line(vault, existed))
        return None
    return _unlock_widget(m)


def _unlocked_line(vault: Any, existed: bool) -> str:
    if not existed:
        return f"Created a new vault at {vault.vault_path}; it is unlocked."
    n = len(vault.list_entries())
    return f"Vault unlocked: {n} entr{'y' if n == 1 else 'ies'} ({vault.vault_path})."


def _unlock_widget(m: MagicsAPI) -> Any:
    """The VaultPanel over the magics' own VaultMemory, so both see one lock state."""
    from ..widgets import VaultPanel

    return VaultPanel(
        m.vault_memory,
        page_size=m.page_size,
        hint="Type the vault password and press Enter, then run the cells below.",
    )


@VAULT.command("lock", "Lock the vault: forget its key until the next unlock.")
def _lock(m: MagicsAPI, args: argparse.Namespace) -> None:
    m.lock_vault()
    print("Vault locked.")


@VAULT.command("status", "Say whether the vault is locked or unlocked.")
def _status(m: MagicsAPI, args: argparse.Namespace) -> None:
    vault = m.vault_memory
    if not vault.exists:
        print(
            f"Vault locked: there is no vault at {vault.vault_path} yet (%vault unlock creates it)."
        )
    elif vault.is_locked:
        print(f"Vault locked ({vault.vault_path}).")
    else:
        print(_unlocked_line(vault, True).replace("Vault unlocked:", "Vault unlocked,"))


@VAULT.command(
    "store",
    "Store VALUE (text; JSON with --json) or a variable's value (--from-var) under KEY.",
    arg("key", help="the entry's name"),
    arg("value", nargs="?", help="the value; prefer $var or --from-var to keep it out of history"),
    arg("--from-var", metavar="NAME", help="store this notebook variable's value"),
    arg("--json", action="store_true", help="read VALUE as JSON (numbers, lists, objects)"),
    arg(
        "--category",
        metavar="C",
        help="goals, reflections, preferences, private, knowledge or relationships",
    ),
    arg("--tags", metavar="A,B", help="comma-separated tags"),
)
def _store(m: MagicsAPI, args: argparse.Namespace) -> None:
    vault = m.unlocked_vault()
    if (args.value is None) == (args.from_var is None):
        raise UsageError("%vault store: give a VALUE or --from-var NAME (one of them)")
    if args.from_var is not None:
        if args.from_var not in m.shell.user_ns:
            raise UsageError(f"%vault store --from-var: no variable named {args.from_var!r}")
        value = m.shell.user_ns[args.from_var]
    elif args.json:
        try:
            value = json.loads(args.value)
        except ValueError:
            raise UsageError("%vault store --json: the value is not valid JSON") from None
    else:
        value = args.value
    metadata: dict[str, Any] = {}
    if args.category:
        metadata["category"] = VaultCategory.coerce(args.category)
    if args.tags:
        metadata["tags"] = [t.strip() for t in args.tags.split(",") if t.strip()]
    existed = args.key in _entry_names(vault)
    vault.store(args.key, value, metadata or None)
    print(f"{'Updated' if existed else 'Stored'} {args.key!r} in the vault (value not shown).")


@VAULT.command(
    "get",
    "Return KEY's value: x = %vault get KEY. Shown only with --show.",
    arg("key", help="the entry's name"),
    arg("--show", action="store_true", help="display the value"),
)
def _get(m: MagicsAPI, args: argparse.Namespace) -> Any:
    vault = m.unlocked_vault()
    if args.key not in _entry_names(vault):
        raise UsageError(f"%vault get: no vault entry named {args.key!r}")
    value = vault.retrieve(args.key)
    if args.shown and not args.show:
        print(
            f"{args.key!r} is in the vault; its value is hidden. Assign it "
            f"(x = %vault get {args.key}) or add --show to display it."
        )
        return None
    return value


@VAULT.command(
    "list",
    "Entry names and metadata (never values) as a DataFrame.",
    arg("--category", metavar="C", help="only this category"),
    arg("--tag", metavar="T", help="only entries with this tag"),
)
def _list(m: MagicsAPI, args: argparse.Namespace) -> Any:
    entries = m.unlocked_vault().list_entries(category=args.category, tag=args.tag)
    return frames().vault_frame(entries)


@VAULT.command(
    "search",
    "Entries whose name, value, category or tags contain QUERY (values not shown).",
    arg("query", nargs="+", help="text to look for, ignoring case"),
)
def _search(m: MagicsAPI, args: argparse.Namespace) -> Any:
    query = " ".join(args.query)
    found = m.unlocked_vault().search(query)
    if not found:
        print(f"No vault entry matches {query!r}.")
    return frames().vault_frame(found)


@VAULT.command("delete", "Delete the entry KEY.", arg("key", help="the entry's name"))
def _delete(m: MagicsAPI, args: argparse.Namespace) -> None:
    if not m.unlocked_vault().delete(args.key):
        raise UsageError(f"%vault delete: no vault entry named {args.key!r}")
    print(f"Deleted {args.key!r} from the vault.")


@VAULT.command(
    "change-password",
    "Change the vault's password: a widget, or --old-env/--new-env VAR headless.",
    arg("--old-env", metavar="VAR", help="variable holding the current password"),
    arg("--new-env", metavar="VAR", help="variable holding the new password"),
)
def _change_password(m: MagicsAPI, args: argparse.Namespace) -> Any:
    vault = m.unlocked_vault()
    if args.old_env or args.new_env:
        if not (args.old_env and args.new_env):
            raise UsageError("%vault change-password: give both --old-env and --new-env")
        vault.change_password(
            _env(args.old_env, "the current password"), _env(args.new_env, "the new password")
        )
        print("Vault password changed.")
        return None

    from ..widgets import VaultPanel

    return VaultPanel(vault, page_size=m.page_size, change_password=True)


@VAULT.command(
    "export-key",
    "Return a recovery key that opens the vault without its password: k = %vault export-key.",
    arg("--show", action="store_true", help="display the key"),
    arg("--output", metavar="PATH", help="write the key to this file (readable by you only)"),
)
def _export_key(m: MagicsAPI, args: argparse.Namespace) -> Any:
    key = m.unlocked_vault().export_key()
    if args.output:
        from ..core.fsutil import PRIVATE, atomic_write

        path = Path(args.output).expanduser()
        # A new file, always private: not an old file's looser mode, nor a link's target.
        atomic_write(path, (key + "\n").encode("utf-8"), mode=PRIVATE)
        print(f"Wrote the vault's recovery key to {path}; keep it as safe as the vault.")
        return None
    if args.shown and not args.show:
        print(
            "The recovery key is hidden. Assign it (k = %vault export-key), "
            "write it with --output PATH, or add --show."
        )
        return None
    return key
