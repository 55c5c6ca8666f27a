"""The session view and a notebook's kernel on one store, in a real JupyterLab and Chromium:
a note written in the panel is what the kernel reads, what the kernel saves (a note, an
autologged cell with its output) appears in the open view without a click, and the
browser's writes pass Jupyter Server's XSRF check only with the token JupyterLab sends."""

from __future__ import annotations

import pytest
from mirror_ui import open_sidebar

expect = pytest.importorskip("playwright.sync_api").expect


def activate(lab, widget_id: str) -> None:
    lab.page.evaluate("(id) => window.jupyterapp.shell.activateById(id)", widget_id)


def test_notes_travel_between_the_panel_and_the_kernel(lab):
    lab.server.write_notebook("live.ipynb", [""])
    lab.open_notebook("live.ipynb")
    notebook_id = lab.page.evaluate("() => window.jupyterapp.shell.currentWidget.id")
    lab.run_cell("%load_ext activemirror_jupyter")
    lab.run_cell('%mirror_session new "Live notes"')

    # The kernel saved the session: the sidebar shows it without a click (live refresh).
    sidebar = open_sidebar(lab)
    item = sidebar.locator(".am-SessionItem", has_text="Live notes")
    expect(item).to_be_visible()
    item.locator(".am-SessionItem-body").click()
    view = lab.page.locator('.am-SessionView[data-state="ready"]')
    expect(view.locator(".am-SessionView-title")).to_have_text("Live notes")
    session_id = view.get_attribute("data-session-id")
    # Notebook on the left, the session on the right: both in sight.
    lab.page.evaluate(
        """([viewId, notebookId]) => {
            const shell = window.jupyterapp.shell;
            const view = Array.from(shell.widgets('main')).find(w => w.id === viewId);
            shell.add(view, 'main', { mode: 'split-right', ref: notebookId });
        }""",
        [f"activemirror-session-{session_id}", notebook_id],
    )

    # Panel → kernel: a note typed in the panel is in the kernel's session.
    box = view.locator(".am-NoteBox-input")
    box.fill("Written in the panel")
    box.press("Control+Enter")
    expect(view.locator(".am-Message")).to_have_count(1)
    activate(lab, notebook_id)
    output = lab.run_cell("%mirror_session messages")
    expect(output).to_contain_text("Written in the panel")

    # Kernel → panel: what the kernel saves appears in the open view, no click.
    lab.run_cell("%%mirror_send --role assistant\nSaved by the **kernel**")
    expect(view.locator(".am-Message")).to_have_count(2)
    expect(view.locator(".am-Message").last.locator("strong")).to_have_text("kernel")
    expect(view.locator(".am-Message").last).to_have_attribute("data-role", "assistant")

    lab.run_cell("%mirror_session autolog on")
    lab.run_cell('print("hello from the kernel")')
    cell = view.locator('.am-Message[data-kind="cell"]', has_text="hello from the kernel").last
    expect(cell.locator(".am-Message-content pre")).to_contain_text(
        'print("hello from the kernel")'
    )
    expect(cell.locator(".am-Output")).to_contain_text("hello from the kernel")
    lab.screenshot("side-by-side")


def test_browser_writes_need_the_xsrf_token(lab):
    lab.open()
    mirror = lab.server.mirror()
    before = mirror.count_sessions()

    statuses = lab.page.evaluate(
        """async (base) => {
            const post = (headers) => fetch(base + 'activemirror/api/sessions', {
                method: 'POST', credentials: 'same-origin',
                headers: { 'Content-Type': 'application/json', ...headers },
                body: JSON.stringify({ title: 'forged from a page' })
            }).then(r => r.status);
            const xsrf = (document.cookie.match(/(?:^|; )_xsrf=([^;]*)/) || [])[1] || '';
            return [await post({}), await post({ 'X-XSRFToken': 'not-the-token' }),
                    await post({ 'X-XSRFToken': decodeURIComponent(xsrf) })];
        }""",
        lab.server.url,
    )

    assert statuses == [403, 403, 201]
    titles = [s.title for s in mirror.list_sessions()]
    assert titles.count("forged from a page") == 1 and len(titles) == before + 1
