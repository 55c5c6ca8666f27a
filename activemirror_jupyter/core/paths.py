"""Where data lives: ``$ACTIVEMIRROR_HOME`` if set, else the platform's user-data folder."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "ACTIVEMIRROR_HOME"
#: The vault password a headless run uses (``%vault unlock``, ``activemirror sync``).
VAULT_PASSWORD_ENV = "ACTIVEMIRROR_VAULT_PASSWORD"


def data_home() -> Path:
    """The folder that holds the default database, JSON folder and vault."""
    env = os.environ.get(HOME_ENV)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("activemirror", appauthor=False))


def default_db_path() -> Path:
    return data_home() / "conversations.db"


def default_json_path() -> Path:
    return data_home() / "conversations"


def default_vault_path() -> Path:
    return data_home() / "vault"
