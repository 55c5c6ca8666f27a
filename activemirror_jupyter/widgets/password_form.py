"""The vault's change-password form, part of :class:`~.vault_panel.VaultPanel`.

The three ``Password`` fields are read and cleared at once; the texts are handed to
:meth:`VaultMemory.change_password` and dropped: no attribute ever holds them.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from ..core.errors import ActiveMirrorError
from ..core.vault import VaultMemory
from .common import button, row


class ChangePasswordForm(widgets.VBox):
    """Current password, new password twice, and a button. ``report(text, kind)`` is told
    how it went (``kind`` ``"ok"`` or ``"error"``), e.g. the panel's status line."""

    def __init__(self, vault: VaultMemory, report: Callable[[str, str], None]) -> None:
        self.vault = vault
        self._report = report
        self.old = widgets.Password(placeholder="current password")
        self.new = widgets.Password(placeholder="new password")
        self.again = widgets.Password(placeholder="new password again")
        self.change_button = button("Change password", "Change the vault's password", "key")
        self.change_button.on_click(lambda _: self.change())
        super().__init__(
            [
                widgets.HTML('<span class="am-muted">Change the vault password</span>'),
                row(self.old, self.new, self.again, self.change_button),
            ]
        )
        self.add_class("am-section")
        self.add_class("am-password-form")

    def change(self) -> None:
        old, new, again = self.old.value, self.new.value, self.again.value
        self.old.value = self.new.value = self.again.value = ""  # cleared right after use
        if not old or not new:
            self._report("Type the current password and the new one.", "error")
        elif new != again:
            self._report("The two new passwords differ; nothing changed.", "error")
        else:
            try:
                self.vault.change_password(old, new)
            except (ActiveMirrorError, ValueError, TypeError) as exc:
                self._report(" ".join(str(exc).split()), "error")
            else:
                self._report("Vault password changed.", "ok")
        del old, new, again
