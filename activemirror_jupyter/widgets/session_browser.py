"""``SessionBrowser``: pick a session, page through its messages, export it, make a new one.

Everything here is a page at a time: the picker shows ``picker_size`` sessions from
``list_sessions(limit, offset)`` with ``count_sessions()`` for its pager, and the table shows
one ``get_messages(limit, offset)`` page, so a store with thousands of sessions or a session
with thousands of messages opens as fast as a small one.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from ..core.errors import ActiveMirrorError
from ..core.mirror import ActiveMirror
from ..core.models import SessionMetadata
from ..core.paging import Page
from ..core.reports.page import framed
from ..core.session import Session
from ..core.transfer.exports import EXPORT_FORMATS
from .common import Pager, StatusLine, button, check_positive, heading, panel_frame, row
from .render import (
    export_html,
    markdown_output,
    messages_html,
    session_header_html,
    session_label,
)

PAGE_SIZES = (10, 20, 50, 100)


class SessionBrowser(widgets.VBox):
    """Browse the sessions of ``mirror``.

    ``page_size`` is the number of messages per page (newest page first, as
    :meth:`Session.get_messages` pages); ``picker_size`` the number of sessions the picker
    lists at a time. ``session_id`` opens that session at once. ``on_select(session)`` is
    called whenever the user opens a session (the magics use it to make it current).
    """

    def __init__(
        self,
        mirror: ActiveMirror,
        page_size: int = 20,
        *,
        picker_size: int = 50,
        session_id: str | None = None,
        on_select: Callable[[Session], None] | None = None,
    ) -> None:
        check_positive(page_size, "page_size")
        check_positive(picker_size, "picker_size")
        self.mirror = mirror
        self.session: Session | None = None
        self._on_select = on_select
        self._quiet = False  # set while the picker's options are replaced by code
        self.status = StatusLine()
        super().__init__(
            [
                heading("Sessions"),
                *self._picker_rows(picker_size),
                self._session_box(page_size),
                self.status,
            ]
        )
        panel_frame(self, "session-browser")
        self._load_picker()
        if session_id is not None:
            self.open_session(session_id)
        else:
            self._show_session()

    def _picker_rows(self, picker_size: int) -> list[widgets.Widget]:
        """The picker (one page of sessions at a time), its pager, and "New session"."""
        self.picker = widgets.Select(options=[], rows=8, layout=widgets.Layout(width="100%"))
        self.picker.observe(self._picked, names="value")
        self.picker_pager = Pager(
            self._picker_moved,
            page_size=picker_size,
            noun="sessions page",
            prev_tooltip="More recently updated sessions",
            next_tooltip="Less recently updated sessions",
        )
        self.session_total = widgets.Label("")
        self.refresh_button = button("Refresh", "Reload sessions and messages", "refresh")
        self.refresh_button.on_click(lambda _: self.refresh())
        self.new_title = widgets.Text(
            placeholder="New session title", layout=widgets.Layout(width="260px")
        )
        self.create_button = button("New session", "Create and open a new session", "plus")
        self.create_button.on_click(lambda _: self.create_session())
        return [
            self.picker,
            row(self.picker_pager, self.session_total, self.refresh_button),
            row(self.new_title, self.create_button),
        ]

    def _session_box(self, page_size: int) -> widgets.VBox:
        """The open session: header, one page of messages, export."""
        self.header = widgets.HTML("")
        self.messages = widgets.HTML("")
        self.messages.add_class("am-scroll")
        self.message_pager = Pager(
            self._messages_moved,
            page_size=page_size,
            prev_tooltip="Newer messages",
            next_tooltip="Older messages",
            caption=lambda p: Page(p.total, p.page_size, p.offset).caption("messages"),
        )
        self.page_size = widgets.Dropdown(
            options=sorted(set(PAGE_SIZES) | {page_size}),
            value=page_size,
            description="per page",
            layout=widgets.Layout(width="150px"),
            style={"description_width": "initial"},
        )
        self.page_size.observe(self._page_size_changed, names="value")
        self.export_format = widgets.Dropdown(
            options=EXPORT_FORMATS, value="markdown", layout=widgets.Layout(width="120px")
        )
        self.export_children = widgets.Checkbox(
            value=False,
            description="with children",
            indent=False,
            tooltip="Add every descendant session, depth first, oldest first",
            layout=widgets.Layout(width="auto"),
        )
        self.export_button = button("Export", "Show the session exported in this format", "eye")
        self.export_button.on_click(lambda _: self.show_export())
        self.hide_export_button = button("Hide export", "Hide the export", "eye-slash")
        self.hide_export_button.on_click(lambda _: self.hide_export())
        # JSON, text and ipynb: the source, escaped; HTML: the report in a frame sandboxed
        # without scripts (it is a page of its own, with its own styles).
        self.export_view = widgets.HTML("")
        # Markdown is rendered by the front end's Markdown renderer, as the magics show it;
        # the export itself escapes HTML in user text, so markup stays text. The Output
        # widget is made on the first Markdown export: most panels never need one.
        self.export_markdown: widgets.Output | None = None
        self.session_box = widgets.VBox(
            [
                self.header,
                row(self.message_pager, self.page_size),
                self.messages,
                row(
                    self.export_format,
                    self.export_children,
                    self.export_button,
                    self.hide_export_button,
                ),
                self.export_view,
            ]
        )
        self.session_box.add_class("am-section")
        return self.session_box

    # ---------------------------------------------------------------- picker

    def _load_picker(self) -> None:
        """Read the current picker page (and the total) from the store."""
        self.picker_pager.set_total(self.mirror.count_sessions())
        page = self.mirror.list_sessions(
            limit=self.picker_pager.page_size, offset=self.picker_pager.offset
        )
        self._set_picker_options(page)
        total = self.picker_pager.total
        self.session_total.value = f"{total} session{'s' if total != 1 else ''}"

    def _set_picker_options(self, page: list[SessionMetadata]) -> None:
        chosen = self.session.id if self.session is not None else None
        self._quiet = True
        try:
            self.picker.options = [(session_label(meta), meta.session_id) for meta in page]
            self.picker.rows = max(3, min(8, len(page)))  # no tall empty box for a few
            ids = [meta.session_id for meta in page]
            self.picker.value = chosen if chosen in ids else None
        finally:
            self._quiet = False

    def _picker_moved(self, page: int) -> None:
        self._guard(self._load_picker)

    def _picked(self, change: dict) -> None:
        if self._quiet or change["new"] is None:
            return
        self.open_session(change["new"])

    # ---------------------------------------------------------------- the open session

    def open_session(self, session_id: str) -> None:
        """Open ``session_id`` on its newest page of messages."""
        try:
            session = self.mirror.load_session(session_id)
        except ActiveMirrorError as err:
            self.status.show(str(err), "error")
            self._guard(self._load_picker)
            return
        self.session = session
        self.message_pager.page = 1
        self.hide_export()
        self.status.clear()
        self._show_session()
        self._quiet = True
        try:
            if session_id in [value for _, value in self.picker.options]:
                self.picker.value = session_id
        finally:
            self._quiet = False
        if self._on_select is not None:
            self._on_select(session)

    def _show_session(self) -> None:
        session = self.session
        has_session = session is not None
        for control in (
            self.export_button,
            self.export_format,
            self.export_children,
            self.page_size,
        ):
            control.disabled = not has_session
        self.hide_export_button.disabled = not self.export_shown
        if session is None:
            self.header.value = '<span class="am-muted">Pick a session above.</span>'
            self.messages.value = ""
            self.message_pager.set_total(0)
            return
        self.message_pager.set_total(session.message_count)
        page = session.get_messages(
            limit=self.message_pager.page_size, offset=self.message_pager.offset
        )
        first_number = session.message_count - self.message_pager.offset - len(page) + 1
        self.header.value = session_header_html(session)
        self.messages.value = messages_html(page, first_number=first_number)

    def _messages_moved(self, page: int) -> None:
        self._guard(self._show_session)

    def _page_size_changed(self, change: dict) -> None:
        # Keep the newest message of the current page on screen.
        first_shown = self.message_pager.offset
        self.message_pager.page_size = change["new"]
        self.message_pager.page = first_shown // change["new"] + 1
        self._guard(self._show_session)

    # ---------------------------------------------------------------- actions

    def refresh(self) -> None:
        """Re-read the picker page and the open session (new messages, new sessions)."""

        def reload() -> None:
            self._load_picker()
            if self.session is not None:
                try:
                    self.session = self.mirror.load_session(self.session.id)
                except ActiveMirrorError as err:  # deleted elsewhere
                    self.session = None
                    self.status.show(str(err), "error")
            self._show_session()

        self._guard(reload)

    def create_session(self) -> None:
        """Make a session titled after the text box, save it and open it."""
        title = self.new_title.value.strip()
        if not title:
            self.status.show("Type a title for the new session first.", "error")
            return

        def create() -> None:
            session = self.mirror.create_session(title)
            session.save()  # an explicit "New session" click keeps it, autosave or not
            self.new_title.value = ""
            self.picker_pager.set_page(1)  # the newest session heads the first page
            self.session = session
            self._load_picker()
            self.open_session(session.id)
            self.status.show(f"Created session {title!r}.", "ok")

        self._guard(create)

    @property
    def export_shown(self) -> bool:
        rendered = self.export_markdown is not None and bool(self.export_markdown.outputs)
        return bool(self.export_view.value) or rendered

    def show_export(self) -> None:
        """Show the open session exported in the chosen format (with its children if
        ticked), inline: Markdown rendered, HTML as the report in a sandboxed frame, JSON,
        text and notebooks as their source."""
        if self.session is None:
            return
        session = self.session

        def export() -> None:
            fmt = self.export_format.value
            text = session.export(fmt, include_children=self.export_children.value)
            self.hide_export()
            if fmt == "markdown":
                self._markdown_area().outputs = (markdown_output(text),)
            elif fmt == "html":
                self.export_view.value = framed(text, session.title, height=480)
            else:
                self.export_view.value = export_html(text)
            self.hide_export_button.disabled = False

        self._guard(export)

    def hide_export(self) -> None:
        self.export_view.value = ""
        if self.export_markdown is not None:
            self.export_markdown.outputs = ()
        self.hide_export_button.disabled = True

    def _markdown_area(self) -> widgets.Output:
        if self.export_markdown is None:
            self.export_markdown = widgets.Output()
            self.export_markdown.add_class("am-export-rendered")
            self.session_box.children = (*self.session_box.children, self.export_markdown)
        return self.export_markdown

    def _guard(self, action: Callable[[], None]) -> None:
        """Run ``action``; a store error becomes a line in the panel, not a traceback."""
        try:
            action()
        except (ActiveMirrorError, ValueError) as err:
            self.status.show(str(err), "error")
