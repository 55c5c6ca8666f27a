"""The JupyterLab "Mirror" sidebar in a real JupyterLab and Chromium: listing and paging
sessions, reading a session page by page, inserting its export into a notebook, and
markup in user text staying text."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

XSS = "<img src=x onerror=alert(1)>"
SIDEBAR_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="activemirror-sidebar"]'


@pytest.fixture(scope="module")
def seeded(jupyter_lab):
    """25 small sessions, then one titled with markup, then a 45-message session (newest)."""
    mirror = jupyter_lab.mirror()
    for i in range(1, 26):
        session = mirror.create_session(f"Session {i:02d}")
        session.send(f"note for session {i:02d}")
        session.save()
        time.sleep(0.002)
    xss = mirror.create_session(XSS)
    xss.send(XSS)
    xss.send("**bold?** <script>alert(2)</script>", role="assistant")
    xss.save()
    time.sleep(0.002)
    long = mirror.create_session("Long session")
    for i in range(1, 46):
        long.send(f"message {i}", role="user" if i % 2 else "assistant")
    long.save()
    return SimpleNamespace(xss_id=xss.id, long_id=long.id, mirror=mirror)


@pytest.fixture
def dialogs(lab):
    """Every alert/confirm the page tries to show (there should be none)."""
    seen: list[str] = []

    def record(dialog):
        seen.append(dialog.message)
        dialog.dismiss()

    lab.page.on("dialog", record)
    return seen


def open_sidebar(lab):
    lab.page.click(SIDEBAR_TAB)
    sidebar = lab.page.locator(".am-Sidebar")
    sidebar.wait_for(state="visible")
    lab.page.wait_for_selector('.am-Sidebar[data-state="ready"]')
    return sidebar


def session_titles(lab) -> list[str]:
    return lab.page.locator(".am-Sidebar .am-SessionItem-title").all_inner_texts()


def open_session(lab, session_id):
    lab.page.click(f'.am-SessionItem[data-session-id="{session_id}"]')
    view = lab.page.locator(f'.am-SessionView[data-session-id="{session_id}"]')
    view.wait_for(state="visible")
    lab.page.wait_for_selector(
        f'.am-SessionView[data-session-id="{session_id}"][data-state="ready"]'
    )
    return view


def message_texts(view) -> list[str]:
    return view.locator(".am-Message-content").all_inner_texts()


def test_sidebar_lists_sessions_newest_first_and_pages(lab, seeded):
    lab.open()
    sidebar = open_sidebar(lab)

    assert sidebar.locator(".am-Sidebar-status").inner_text() == "27 sessions"
    assert sidebar.locator(".am-Pager-label").inner_text() == "Page 1 of 2"
    titles = session_titles(lab)
    assert len(titles) == 20
    assert titles[:3] == ["Long session", XSS, "Session 25"]
    first = sidebar.locator(".am-SessionItem").first
    assert "45 messages" in first.inner_text()
    assert first.locator("time").get_attribute("datetime").endswith("Z")
    assert sidebar.locator(".am-Pager-prev").is_disabled()
    lab.screenshot("page-1")

    sidebar.locator(".am-Pager-next").click()
    lab.page.wait_for_function(
        "() => document.querySelector('.am-Sidebar .am-Pager-label').textContent === 'Page 2 of 2'"
    )
    assert session_titles(lab) == [f"Session {i:02d}" for i in range(7, 0, -1)]
    assert sidebar.locator(".am-Pager-next").is_disabled()
    lab.screenshot("page-2")

    # A kernel saves a new session while the sidebar is open; Refresh shows it.
    sidebar.locator(".am-Pager-prev").click()
    lab.page.wait_for_function(
        "() => document.querySelector('.am-Sidebar .am-Pager-label').textContent === 'Page 1 of 2'"
    )
    fresh = seeded.mirror.create_session("Saved just now")
    fresh.send("hello")
    fresh.save()
    sidebar.locator(".am-Sidebar-refresh").click()
    lab.page.wait_for_function(
        "() => document.querySelector('.am-Sidebar .am-Sidebar-status').textContent === '28 sessions'"
    )
    assert session_titles(lab)[0] == "Saved just now"


def test_opening_a_session_shows_its_messages_newest_page_first(lab, seeded):
    lab.open()
    open_sidebar(lab)
    view = open_session(lab, seeded.long_id)

    assert view.locator(".am-SessionView-title").inner_text() == "Long session"
    assert "45 messages" in view.locator(".am-SessionView-meta").inner_text()
    assert view.locator(".am-Pager-label").inner_text() == "Page 1 of 3"
    assert message_texts(view) == [f"message {i}" for i in range(26, 46)]
    assert view.locator(".am-Message").last.get_attribute("data-role") == "user"
    assert view.locator(".am-Pager-newer").is_disabled()
    tab = lab.page.locator(".jp-MainAreaWidget.am-SessionPanel")
    assert tab.is_visible()
    lab.screenshot("newest-page")

    older = view.locator(".am-Pager-older")
    older.click()
    lab.page.wait_for_function(
        "() => document.querySelector('.am-SessionView .am-Pager-label').textContent === 'Page 2 of 3'"
    )
    assert message_texts(view) == [f"message {i}" for i in range(6, 26)]
    older.click()
    lab.page.wait_for_function(
        "() => document.querySelector('.am-SessionView .am-Pager-label').textContent === 'Page 3 of 3'"
    )
    assert message_texts(view) == [f"message {i}" for i in range(1, 6)]
    assert older.is_disabled()
    lab.screenshot("oldest-page")

    view.locator(".am-Pager-newer").click()
    lab.page.wait_for_function(
        "() => document.querySelector('.am-SessionView .am-Pager-label').textContent === 'Page 2 of 3'"
    )
    assert message_texts(view)[0] == "message 6"


def test_inserting_a_session_export_adds_a_markdown_cell(lab, seeded):
    expected = seeded.mirror.load_session(seeded.long_id).export("markdown")
    lab.server.write_notebook("analysis.ipynb", ["x = 1"])
    lab.open_notebook("analysis.ipynb")
    open_sidebar(lab)
    view = open_session(lab, seeded.long_id)

    view.locator(".am-SessionView-insert").click()

    # The notebook comes back to the front with the export below the active cell.
    lab.page.wait_for_selector(".jp-NotebookPanel .jp-MarkdownCell")
    assert lab.notebook_sources() == ["x = 1", expected]
    rendered = lab.page.locator(".jp-NotebookPanel .jp-MarkdownCell .jp-RenderedMarkdown").first
    expect(rendered).to_contain_text("Long session")  # rendering is asynchronous
    expect(rendered).to_contain_text("message 45")
    lab.screenshot("inserted-by-button")

    # The same from the command palette, as a keyboard user would do it (focus first in the
    # notebook: the button that had it is on the panel now hidden behind the notebook).
    lab.page.locator(".jp-NotebookPanel .jp-Cell .jp-InputPrompt").first.click()
    lab.page.keyboard.press("Control+Shift+C")
    palette = lab.page.locator(".lm-CommandPalette-input")
    palette.wait_for(state="visible")
    palette.fill("Insert Mirror Session Export")
    lab.page.locator(
        ".lm-CommandPalette-item", has_text="Insert Mirror Session Export"
    ).first.click()
    lab.page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.widgets.length === 3"
    )
    sources = lab.notebook_sources()
    assert sources[0] == "x = 1"
    assert sources.count(expected) == 2


def test_markup_in_titles_and_messages_stays_text(lab, seeded, dialogs):
    lab.server.write_notebook("xss.ipynb", [""])
    lab.open_notebook("xss.ipynb")
    sidebar = open_sidebar(lab)

    item = sidebar.locator(f'.am-SessionItem[data-session-id="{seeded.xss_id}"]')
    assert item.locator(".am-SessionItem-title").inner_text() == XSS
    view = open_session(lab, seeded.xss_id)
    assert view.locator(".am-SessionView-title").inner_text() == XSS
    assert message_texts(view) == [XSS, "**bold?** <script>alert(2)</script>"]
    assert lab.page.locator(".lm-TabBar-tab", has_text=XSS).count() == 1  # the tab's label

    view.locator(".am-SessionView-insert").click()
    lab.page.wait_for_selector(".jp-NotebookPanel .jp-MarkdownCell .jp-RenderedMarkdown")
    lab.page.wait_for_timeout(500)  # give any injected handler the chance to fire
    lab.screenshot("markup-as-text")

    assert lab.page.locator(".am-Sidebar img, .am-SessionView img").count() == 0
    assert lab.page.locator(".am-SessionView script").count() == 0
    assert lab.page.locator("img[onerror]").count() == 0
    assert dialogs == []


def test_the_panels_follow_the_dark_theme(lab, seeded):
    lab.open()
    sidebar = open_sidebar(lab)
    open_session(lab, seeded.long_id)

    def colors():
        return lab.page.evaluate(
            """() => {
                const style = el => getComputedStyle(document.querySelector(el));
                return [style('.am-Sidebar').backgroundColor,
                        style('.am-Message-content').color];
            }"""
        )

    light = colors()
    lab.execute("apputils:change-theme", {"theme": "JupyterLab Dark"})
    lab.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    try:
        lab.page.wait_for_function(
            "(light) => getComputedStyle(document.querySelector('.am-Sidebar')).backgroundColor"
            " !== light",
            arg=light[0],
        )
        lab.page.wait_for_selector("#jupyterlab-splash", state="detached")
        dark = colors()
        lab.screenshot("dark-theme")
        assert dark[0] != light[0] and dark[1] != light[1]
        assert sidebar.locator(".am-SessionItem").count() > 0
    finally:
        lab.execute("apputils:change-theme", {"theme": "JupyterLab Light"})
