"""``VaultPanel``: unlock the vault with a password, see and manage its entries, lock it.

The password is read from the ``Password`` widget, the widget is cleared at once, and the
text is handed to :meth:`VaultMemory.unlock` and dropped: no attribute of the panel ever
holds it. The entry table shows names and metadata only; a value is read from the vault
when its Reveal button is clicked, and only one value is on screen at a time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from os import PathLike
from typing import Any

import ipywidgets as widgets

from ..core.errors import ActiveMirrorError, VaultAuthError, VaultLockedError
from ..core.markup import escape
from ..core.vault import VaultCategory, VaultEntry, VaultMemory
from ..core.vault.entries import value_text
from .common import Pager, StatusLine, button, heading, panel_frame, row
from .password_form import ChangePasswordForm
from .render import when

NO_CATEGORY = "(none)"


class VaultPanel(widgets.VBox):
    """Unlock and manage a vault.

    Pass an open or locked ``vault``, or a ``vault_path`` (default: the vault under
    ``$ACTIVEMIRROR_HOME``). Where no vault exists yet, the panel asks for the new password
    twice and creates it. ``on_unlock(vault)`` runs after a successful unlock and
    ``on_lock(vault)`` after Lock (the magics keep their vault in step through these).
    ``hint`` is shown while the vault is locked (what to do next); ``change_password``
    opens the change-password form at once.
    """

    def __init__(
        self,
        vault: VaultMemory | None = None,
        *,
        vault_path: str | PathLike[str] | None = None,
        on_unlock: Callable[[VaultMemory], None] | None = None,
        on_lock: Callable[[VaultMemory], None] | None = None,
        page_size: int = 20,
        hint: str = "",
        change_password: bool = False,
    ) -> None:
        if vault is not None and vault_path is not None:
            raise TypeError("pass either a vault or a vault_path, not both")
        self.vault = vault if vault is not None else VaultMemory(vault_path=vault_path)
        self._on_unlock = on_unlock
        self._on_lock = on_lock
        self.revealed_key: str | None = None
        self._pending_delete: str | None = None

        self.status = StatusLine()
        self.locked_box = self._locked_view()
        self.unlocked_box = self._unlocked_view(page_size)
        super().__init__([heading("Vault"), self.locked_box, self.unlocked_box, self.status])
        panel_frame(self, "vault")
        self.show_password_form(change_password)
        self._render()
        if hint and self.vault.is_locked:
            self.status.show(hint)

    def _locked_view(self) -> widgets.VBox:
        """Where the vault is, and its password field(s)."""
        self.location = widgets.HTML("")
        self.password = widgets.Password(
            placeholder="Vault password", layout=widgets.Layout(width="240px")
        )
        self.confirm = widgets.Password(
            placeholder="Same password again", layout=widgets.Layout(width="240px")
        )
        self.unlock_button = button("Unlock", "Unlock the vault", "unlock", button_style="primary")
        self.unlock_button.on_click(lambda _: self.unlock())
        # Enter in either password field unlocks too (the front end sends "submit").
        for field in (self.password, self.confirm):
            field.on_msg(self._submitted)
        return widgets.VBox([self.location, row(self.password, self.confirm, self.unlock_button)])

    def _unlocked_view(self, page_size: int) -> widgets.VBox:
        """A summary with Lock and Change password, the entries, and a form to add one."""
        self.summary = widgets.HTML("")
        self.lock_button = button("Lock", "Forget the key until the next unlock", "lock")
        self.lock_button.on_click(lambda _: self.lock())
        self.password_button = button("Change password", "Show the change-password form", "key")
        self.password_button.on_click(lambda _: self.show_password_form(not self.password_shown))
        self.password_form = ChangePasswordForm(self.vault, self._report)
        return widgets.VBox(
            [
                row(self.summary, self.lock_button, self.password_button),
                self._entries_grid(page_size),
                self.pager,
                self._add_box(),
                self.password_form,
            ]
        )

    def _entries_grid(self, page_size: int) -> widgets.GridBox:
        # A grid keeps the columns aligned across rows; widths follow the content.
        self.entries_box = widgets.GridBox(
            [],
            layout=widgets.Layout(
                grid_template_columns=(
                    "minmax(100px, 2fr) minmax(80px, 1fr) minmax(80px, 1.5fr) "
                    "max-content minmax(120px, 3fr) max-content max-content"
                ),
                grid_gap="2px 10px",
                align_items="center",
                width="100%",
            ),
        )
        self.entries_box.add_class("am-entries")
        self.reveal_buttons: dict[str, widgets.Button] = {}
        self.delete_buttons: dict[str, widgets.Button] = {}
        self.value_cells: dict[str, widgets.HTML] = {}
        self.pager = Pager(self._render_entries, page_size=page_size)
        self.pager = Pager(self._render_entries, page_size=page_size)
        return self.entries_box

    def _add_box(self) -> widgets.VBox:
        self.new_key = widgets.Text(placeholder="key", layout=widgets.Layout(width="200px"))
        self.new_value = widgets.Textarea(
            placeholder="value (text, or JSON if ticked)",
            rows=1,
            layout=widgets.Layout(flex="1 1 auto", width="auto"),
        )
        self.value_is_json = widgets.Checkbox(
            value=False, description="JSON", indent=False, layout=widgets.Layout(width="70px")
        )
        self.new_category = widgets.Dropdown(
            options=[NO_CATEGORY] + [c.value for c in VaultCategory],
            value=NO_CATEGORY,
            layout=widgets.Layout(width="140px"),
        )
        self.new_tags = widgets.Text(
            placeholder="tags, comma separated", layout=widgets.Layout(width="180px")
        )
        self.add_button = button("Add", "Store this entry (replaces one with the same key)", "plus")
        self.add_button.on_click(lambda _: self.add_entry())
        box = widgets.VBox(
            [
                widgets.HTML('<span class="am-muted">Add an entry</span>'),
                row(self.new_key, self.new_value, self.value_is_json),
                row(self.new_category, self.new_tags, self.add_button),
            ]
        )
        box.add_class("am-section")
        return box

    # ---------------------------------------------------------------- state

    @property
    def is_new(self) -> bool:
        """No vault exists at the path yet: unlocking creates one."""
        return not self.vault.exists

    def _render(self) -> None:
        locked = self.vault.is_locked
        self.locked_box.layout.display = None if locked else "none"
        self.unlocked_box.layout.display = "none" if locked else None
        if locked:
            self.revealed_key = None
            self._pending_delete = None
            self.entries_box.children = ()
            self.reveal_buttons, self.delete_buttons, self.value_cells = {}, {}, {}
            self.confirm.layout.display = None if self.is_new else "none"
            where = escape(self.vault.vault_path)
            self.location.value = (
                f'<span class="am-muted">No vault at {where} yet: choose a password and '
                "type it twice to create it.</span>"
                if self.is_new
                else f'<span class="am-muted">Locked · {where}</span>'
            )
            self.unlock_button.description = "Create vault" if self.is_new else "Unlock"
            return
        self._render_entries()

    def _entries(self) -> list[VaultEntry]:
        return self.vault.list_entries()

    def _render_entries(self, page: int | None = None) -> None:
        try:
            entries = self._entries()
        except VaultLockedError:
            self.status.show("The vault was locked elsewhere; unlock it again.", "error")
            self._render()
            return
        except ActiveMirrorError as err:
            self.status.show(str(err), "error")
            return
        self.pager.set_total(len(entries))
        shown = entries[self.pager.offset : self.pager.offset + self.pager.page_size]
        noun = "entry" if len(entries) == 1 else "entries"
        self.summary.value = (
            f'<span class="am-ok">Unlocked</span> <span class="am-muted">· {len(entries)} '
            f"{noun} · {escape(self.vault.vault_path)}</span>"
        )
        self.pager.layout.display = None if self.pager.pages > 1 else "none"
        self.reveal_buttons = {}
        self.delete_buttons = {}
        self.value_cells = {}
        if not entries:
            empty = widgets.HTML('<span class="am-muted">No entries yet: add one below.</span>')
            self.entries_box.children = (empty,)
            return
        cells: list[widgets.Widget] = [
            widgets.HTML(f'<span class="am-muted"><b>{name}</b></span>')
            for name in ("key", "category", "tags", "updated", "value", "", "")
        ]
        for entry in shown:
            cells.extend(self._entry_cells(entry))
        self.entries_box.children = tuple(cells)

    def _entry_cells(self, entry: VaultEntry) -> list[widgets.Widget]:
        """One grid row: key, category, tags, updated, value (hidden or shown), buttons."""
        key = entry.key
        category = entry.category.value if entry.category is not None else ""
        revealed = key == self.revealed_key
        if revealed:
            try:
                value = self.vault.retrieve(key)
            except ActiveMirrorError as err:
                value_html = f'<span class="am-error">{escape(err)}</span>'
            else:
                value_html = f'<span class="am-text">{escape(value_text(value))}</span>'
        else:
            value_html = '<span class="am-muted">•••••• hidden</span>'
        value_cell = widgets.HTML(value_html)
        reveal = button(
            "Hide" if revealed else "Reveal",
            "Hide this value" if revealed else "Show this value (and hide any other)",
            "eye-slash" if revealed else "eye",
        )
        reveal.on_click(lambda _: self.toggle_reveal(key))
        confirming = key == self._pending_delete
        delete = button(
            "Confirm delete" if confirming else "Delete",
            f"Delete the entry {key!r}",
            "trash",
            button_style="danger" if confirming else "",
        )
        delete.on_click(lambda _: self.delete_entry(key))
        self.reveal_buttons[key] = reveal
        self.delete_buttons[key] = delete
        self.value_cells[key] = value_cell
        texts = [
            widgets.Label(key, tooltip=key),
            widgets.Label(category),
            widgets.Label(", ".join(entry.tags)),
            widgets.Label(when(entry.updated_at), tooltip=f"created {when(entry.created_at)}"),
        ]
        for cell in texts:
            cell.add_class("am-cell")
        return [*texts, value_cell, reveal, delete]

    @property
    def password_shown(self) -> bool:
        return self.password_form.layout.display != "none"

    def show_password_form(self, shown: bool = True) -> None:
        self.password_form.layout.display = None if shown else "none"

    def _report(self, text: str, kind: str) -> None:
        self.status.show(text, kind)

    # ---------------------------------------------------------------- actions

    def _submitted(self, _widget: widgets.Widget, content: dict, _buffers: list) -> None:
        if content.get("event") == "submit":
            self.unlock()

    def unlock(self) -> None:
        """Unlock (or create) the vault with the typed password; clear the fields at once."""
        creating = self.is_new
        attempt = self.password.value
        again = self.confirm.value
        self.password.value = ""
        self.confirm.value = ""
        if not attempt:
            self.status.show("Type the vault password first.", "error")
            return
        if creating and attempt != again:
            self.status.show(
                "The two passwords differ; type the new password twice. Nothing was created.",
                "error",
            )
            return
        self.unlock_button.disabled = True
        self.status.show("Creating the vault…" if creating else "Unlocking…")
        try:
            self.vault.unlock(attempt)
        except VaultAuthError:
            self.status.show("Wrong password: the vault stays locked. Try again.", "error")
        except (ActiveMirrorError, ValueError, TypeError) as err:
            self.status.show(str(err), "error")
        else:
            self.status.show("Vault created and unlocked." if creating else "Unlocked.", "ok")
            if self._on_unlock is not None:
                self._on_unlock(self.vault)
        finally:
            del attempt, again
            self.unlock_button.disabled = False
            self._render()

    def lock(self) -> None:
        self.vault.lock()
        self.status.show("Locked.", "ok")
        self._render()
        if self._on_lock is not None:
            self._on_lock(self.vault)

    def toggle_reveal(self, key: str) -> None:
        """Show ``key``'s value (hiding any other), or hide it if it is the one shown."""
        self.revealed_key = None if self.revealed_key == key else key
        self._pending_delete = None
        self._render_entries()

    def add_entry(self) -> None:
        key = self.new_key.value.strip()
        raw = self.new_value.value
        if not key:
            self.status.show("Type a key for the new entry.", "error")
            return
        if self.value_is_json.value:
            try:
                value: Any = json.loads(raw)
            except json.JSONDecodeError as err:
                self.status.show(f"The value is not valid JSON: {err}", "error")
                return
        else:
            value = raw
        metadata: dict[str, Any] = {}
        if self.new_category.value != NO_CATEGORY:
            metadata["category"] = self.new_category.value
        tags = [t.strip() for t in self.new_tags.value.split(",") if t.strip()]
        if tags:
            metadata["tags"] = tags
        try:
            self.vault.store(key, value, metadata)
        except VaultLockedError:
            self.status.show("The vault was locked elsewhere; unlock it again.", "error")
            self._render()
            return
        except (ActiveMirrorError, ValueError, TypeError) as err:
            self.status.show(str(err), "error")
            return
        self.new_key.value = ""
        self.new_value.value = ""
        self.new_tags.value = ""
        self.status.show(f"Stored {key!r}.", "ok")
        self._render_entries()

    def delete_entry(self, key: str) -> None:
        """First click asks for confirmation (the button turns red); the second deletes."""
        if self._pending_delete != key:
            self._pending_delete = key
            self.status.show(f"Click “Confirm delete” to delete {key!r} for good.")
            self._render_entries()
            return
        self._pending_delete = None
        try:
            self.vault.delete(key)
        except ActiveMirrorError as err:
            self.status.show(str(err), "error")
        else:
            if self.revealed_key == key:
                self.revealed_key = None
            self.status.show(f"Deleted {key!r}.", "ok")
        self._render()
