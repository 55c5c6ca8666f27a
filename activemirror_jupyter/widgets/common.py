"""What the three panels share: the panel frame and its CSS, a status line, and a pager.

Styling uses JupyterLab's CSS variables (``--jp-…``), which Notebook 7 defines too, so
the panels follow the user's theme (light, dark, high contrast) in both front ends.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from ..core.markup import escape
from ..core.paging import page_count

# Scoped to the panels' own classes so nothing leaks into the rest of the notebook.
PANEL_CSS = """
<style>
.am-panel {
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1);
  color: var(--jp-ui-font-color1);
  background: var(--jp-layout-color1);
  border: var(--jp-border-width, 1px) solid var(--jp-border-color2);
  border-radius: var(--jp-border-radius, 2px);
  padding: 8px 10px;
  gap: 6px;
}
.am-panel .am-heading {
  font-size: var(--jp-ui-font-size2);
  font-weight: 600;
}
.am-panel .am-muted { color: var(--jp-ui-font-color2); }
.am-panel .am-error { color: var(--jp-error-color1); }
.am-panel .am-ok { color: var(--jp-success-color1); }
.am-panel .am-row { gap: 6px; align-items: center; flex-wrap: wrap; }
.am-panel .am-section {
  border-top: var(--jp-border-width, 1px) solid var(--jp-border-color2);
  padding-top: 6px;
}
.am-panel table.am-table {
  border-collapse: collapse;
  width: 100%;
  font-size: var(--jp-ui-font-size1);
  line-height: var(--jp-content-line-height, 1.5);
}
.am-panel table.am-table .am-wide { width: 100%; }
.am-panel table.am-table th {
  text-align: left;
  color: var(--jp-ui-font-color2);
  font-weight: 600;
  border-bottom: var(--jp-border-width, 1px) solid var(--jp-border-color1);
  padding: 2px 8px 2px 0;
}
.am-panel table.am-table td {
  vertical-align: top;
  border-bottom: var(--jp-border-width, 1px) solid var(--jp-border-color3);
  padding: 3px 8px 3px 0;
}
.am-panel .am-nowrap { white-space: nowrap; }
.am-panel .am-text {
  line-height: var(--jp-content-line-height, 1.5);
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  font-family: var(--jp-content-font-family);
}
.am-panel .am-scroll {
  max-height: 420px;
  overflow-y: auto;
}
.am-panel pre.am-export {
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
  background: var(--jp-layout-color2);
  padding: 6px 8px;
  margin: 0;
  max-height: 420px;
  overflow-y: auto;
}
.am-panel .am-export-rendered {
  background: var(--jp-layout-color2);
  padding: 0 8px;
  max-height: 420px;
  overflow-y: auto;
}
.am-panel .am-role-user { color: var(--jp-brand-color1); font-weight: 600; }
.am-panel .am-role-assistant { color: var(--jp-success-color1); font-weight: 600; }
.am-panel .am-role-system { color: var(--jp-warn-color1); font-weight: 600; }
.am-panel .am-cell { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.am-panel pre.am-code, .am-panel pre.am-output {
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
  margin: 0;
  padding: 4px 6px;
}
.am-panel pre.am-code { background: var(--jp-cell-editor-background, var(--jp-layout-color2)); }
.am-panel pre.am-output { max-height: 240px; overflow-y: auto; }
.am-panel .am-attachment {
  margin-top: 4px;
  padding-left: 6px;
  border-left: 2px solid var(--jp-border-color2);
}
.am-panel img.am-image { max-width: 100%; max-height: 480px; display: block; }
.am-panel table.am-preview { width: auto; }
.am-panel .am-badge, .am-panel .am-tag {
  border-radius: 8px;
  padding: 0 6px;
  font-size: var(--jp-ui-font-size0);
  border: 1px solid var(--jp-border-color1);
}
.am-panel .am-sealed { color: var(--jp-warn-color1); border-color: var(--jp-warn-color1); }
.am-panel .am-hl-k, .am-panel .am-hl-kn, .am-panel .am-hl-kc, .am-panel .am-hl-ow,
.am-panel .am-hl-kd, .am-panel .am-hl-kr { color: var(--jp-mirror-editor-keyword-color); }
.am-panel [class^="am-hl-s"] { color: var(--jp-mirror-editor-string-color); }
.am-panel [class^="am-hl-m"] { color: var(--jp-mirror-editor-number-color); }
.am-panel [class^="am-hl-c"] {
  color: var(--jp-mirror-editor-comment-color);
  font-style: italic;
}
.am-panel .am-hl-nb, .am-panel .am-hl-bp { color: var(--jp-mirror-editor-builtin-color); }
.am-panel .am-hl-nf, .am-panel .am-hl-fm { color: var(--jp-mirror-editor-def-color); }
.am-panel .am-hl-o { color: var(--jp-mirror-editor-operator-color); }
</style>
"""


def panel_frame(panel: widgets.Box, name: str) -> None:
    """Give ``panel`` the shared look: the panel classes, and the CSS as its first child."""
    panel.add_class("am-panel")
    panel.add_class(f"am-{name}")
    panel.children = (widgets.HTML(PANEL_CSS, layout=widgets.Layout(display="none")),) + tuple(
        panel.children
    )


def check_positive(value: object, name: str) -> int:
    """``value`` if it is a positive int, else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, not {value!r}")
    return value


def row(*children: widgets.Widget, **layout: Any) -> widgets.HBox:
    box = widgets.HBox(list(children), layout=widgets.Layout(**layout))
    box.add_class("am-row")
    return box


def heading(text: str) -> widgets.HTML:
    """A heading; ``text`` is escaped."""
    return widgets.HTML(f'<span class="am-heading">{escape(text)}</span>')


def button(description: str, tooltip: str = "", icon: str = "", **kwargs: Any) -> widgets.Button:
    return widgets.Button(
        description=description,
        tooltip=tooltip or description,
        icon=icon,
        layout=widgets.Layout(width="auto"),
        **kwargs,
    )


class StatusLine(widgets.HTML):
    """One line telling the user what just happened; the text is always escaped.

    ``kind`` is ``"info"``, ``"ok"`` or ``"error"``; :attr:`text` and :attr:`kind` keep the
    plain message for code (and tests) to read."""

    def __init__(self) -> None:
        super().__init__("")
        self.add_class("am-status")
        self.text = ""
        self.kind = "info"

    def show(self, text: str, kind: str = "info") -> None:
        self.text = text
        self.kind = kind
        css = {"error": "am-error", "ok": "am-ok"}.get(kind, "am-muted")
        self.value = f'<span class="{css}">{escape(text)}</span>' if text else ""

    def clear(self) -> None:
        self.show("")


class Pager(widgets.HBox):
    """Prev / "page k of n" / Next over ``total`` items, ``page_size`` at a time.

    Pages are numbered from 1; ``offset`` is where the current page starts; ``caption(pager)``
    replaces the "page k of n" text. Whoever owns
    the pager sets :attr:`total` and calls :meth:`set_page`; ``on_change(page)`` runs when
    the user moves."""

    def __init__(
        self,
        on_change: Callable[[int], None],
        *,
        page_size: int,
        noun: str = "page",
        prev_tooltip: str = "Previous page",
        next_tooltip: str = "Next page",
        caption: Callable[[Pager], str] | None = None,
    ) -> None:
        self.page = 1
        self.total = 0
        self.page_size = page_size
        self._noun = noun
        self._on_change = on_change
        self._caption = caption
        self.prev_button = button("Prev", prev_tooltip, "chevron-left")
        self.next_button = button("Next", next_tooltip, "chevron-right")
        self.label = widgets.Label("")
        self.prev_button.on_click(lambda _: self.go(self.page - 1))
        self.next_button.on_click(lambda _: self.go(self.page + 1))
        super().__init__([self.prev_button, self.label, self.next_button])
        self.add_class("am-row")
        self.add_class("am-pager")
        self._refresh()

    @property
    def pages(self) -> int:
        return page_count(self.total, self.page_size)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size

    def set_total(self, total: int) -> None:
        """A new item count; the page is kept if it still exists, else the last one is used."""
        self.total = total
        self.page = min(self.page, self.pages)
        self._refresh()

    def set_page(self, page: int) -> None:
        self.page = min(max(page, 1), self.pages)
        self._refresh()

    def go(self, page: int) -> None:
        """Move to ``page`` (clamped) and tell the owner."""
        self.set_page(page)
        self._on_change(self.page)

    def _refresh(self) -> None:
        if self._caption is not None:
            self.label.value = self._caption(self)
        else:
            self.label.value = f"{self._noun} {self.page} of {self.pages}"
        self.prev_button.disabled = self.page <= 1
        self.next_button.disabled = self.page >= self.pages
