"""The vault a command line command needs (``sync``): opened, never made, and unlocked with
``$ACTIVEMIRROR_VAULT_PASSWORD`` or a password typed at a prompt that does not echo."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any


def unlocked_vault(path: str | None) -> Any:
    """The vault at ``path`` (default: the default one), unlocked with the password of
    ``$ACTIVEMIRROR_VAULT_PASSWORD`` or one typed at a prompt that does not echo."""
    from .core.errors import VaultError
    from .core.paths import VAULT_PASSWORD_ENV, default_vault_path
    from .core.vault import VaultMemory

    vault = VaultMemory(vault_path=Path(path).expanduser() if path else default_vault_path())
    if not vault.exists:
        raise VaultError(
            f"there is no vault at {vault.vault_path}: your identity is kept in one "
            "(%vault identity create NAME in a notebook, or Identity.create); --vault DIR "
            "names another"
        )
    password = os.environ.get(VAULT_PASSWORD_ENV)
    if not password:
        import getpass

        try:
            password = getpass.getpass(f"password of the vault at {vault.vault_path}: ")
        except EOFError:
            print(file=sys.stderr)  # end the prompt's line
            raise VaultError(
                f"no vault password: set ${VAULT_PASSWORD_ENV} or type it at the prompt"
            ) from None
    vault.unlock(password)
    del password
    return vault
