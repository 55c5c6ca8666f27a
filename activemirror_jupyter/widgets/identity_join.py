"""``JoinIdentityForm``: type the pairing code of another device into a password field and
keep its identity in this vault (``%vault identity join``).

The code holds the sync key, so it is handled as the vault panel handles a password: read
from the ``Password`` widget, the field cleared at once, the text handed to
:meth:`Identity.join` and dropped — no attribute of the form ever holds it, and no message
repeats it. A mistyped code shows the :class:`PairingCodeError`'s message and stores
nothing.
"""

from __future__ import annotations

import os
from typing import Any

import ipywidgets as widgets

from ..core.errors import ActiveMirrorError
from ..core.sync.identity import Identity
from ..core.vault import VaultMemory
from .common import StatusLine, button, heading, panel_frame, row


class JoinIdentityForm(widgets.VBox):
    """A password field for the pairing code and a Join button (Enter joins too).

    The identity is kept in ``vault`` (unlocked) with this device's ``remote`` (a folder or
    None); :attr:`identity` is the joined :class:`Identity`, None until then.
    """

    def __init__(self, vault: VaultMemory, remote: str | os.PathLike[str] | None = None) -> None:
        self.vault = vault
        self.remote = remote
        self.identity: Identity | None = None
        self.code = widgets.Password(
            placeholder="Pairing code (amid1-…)", layout=widgets.Layout(width="360px")
        )
        self.code.on_msg(self._submitted)  # Enter in the field: the front end sends "submit"
        self.join_button = button(
            "Join", "Keep this identity in the vault", "link", button_style="primary"
        )
        self.join_button.on_click(lambda _: self.join())
        self.status = StatusLine()
        super().__init__(
            [heading("Join an identity"), row(self.code, self.join_button), self.status]
        )
        panel_frame(self, "identity")
        self.status.show(
            "Paste the code that %vault identity code --show gives on your other device, "
            "then press Join. It is a password: it is not shown or kept in the history."
        )

    @property
    def password(self) -> widgets.Password:
        """The password field the code is typed into (the same widget as :attr:`code`)."""
        return self.code

    def _submitted(self, _widget: widgets.Widget, content: dict, _buffers: list) -> None:
        if content.get("event") == "submit":
            self.join()

    def join(self) -> Identity | None:
        """Join the identity of the typed code; clear the field at once."""
        typed = self.code.value
        self.code.value = ""
        if not typed.strip():
            self.status.show("Type or paste the pairing code first.", "error")
            return None
        self.join_button.disabled = True
        try:
            self.identity = Identity.join(self.vault, typed, self.remote)
        except (ActiveMirrorError, ValueError, TypeError) as exc:
            self.status.show(" ".join(str(exc).split()), "error")
            return None
        finally:
            del typed
            self.join_button.disabled = False
        self.status.show(joined_line(self.identity), "ok")
        return self.identity


def joined_line(identity: Any) -> str:
    """What joining says: the name and the fingerprint to compare with the other device."""
    return (
        f"Joined {identity.name!r}: fingerprint {identity.fingerprint} — it must be the same "
        "on your other device."
    )
