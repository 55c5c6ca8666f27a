"""ipywidgets panels over the same core API the magics use.

- :class:`SessionBrowser` — pick a session, page through its messages, export, create.
- :class:`ChatPanel` — write messages into a session; see the latest ones and replies.
- :class:`VaultPanel` — unlock the vault with a password; browse, reveal, add, delete, lock.
- :class:`JoinIdentityForm` — type another device's pairing code into a password field and
  keep its identity in the vault.

Each panel is an ``ipywidgets.VBox``: show it as a cell's last expression or ``display()``.
"""

from __future__ import annotations

from .chat import ChatPanel
from .identity_join import JoinIdentityForm
from .session_browser import SessionBrowser
from .vault_panel import VaultPanel

__all__ = ["ChatPanel", "JoinIdentityForm", "SessionBrowser", "VaultPanel"]
