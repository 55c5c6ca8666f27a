"""The JupyterLab "Mirror" sidebar in a real JupyterLab and Chromium: listing and paging
sessions, reading a session page by page, inserting its export into a notebook, and
markup in user text staying inert (titles as text, bodies as sanitised Markdown)."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from waiting import wait_for_clock_past

expect = pytest.importorskip("playwright.sync_api").expect

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
        wait_for_clock_past(session.updated_at)  # newest first is one order
    xss = mirror.create_session(XSS)
    xss.send(XSS)
    xss.send("**bold?** <script>alert(2)</script>", role="assistant")
    xss.save()
    wait_for_clock_past(xss.updated_at)
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
    sidebar = lab.page.locator('.am-Sidebar[data-state="ready"]')
    expect(sidebar).to_be_visible()
    return sidebar


def titles(sidebar):
    return sidebar.locator(".am-SessionItem-title")


def open_session(lab, session_id):
    lab.page.click(f'.am-SessionItem[data-session-id="{session_id}"]')
    view = lab.page.locator(f'.am-SessionView[data-session-id="{session_id}"][data-state="ready"]')
    expect(view).to_be_visible()
    return view


def messages(view):
    return view.locator(".am-Message-content")


def test_sidebar_lists_sessions_newest_first_and_pages(lab, seeded):
    lab.open()
    sidebar = open_sidebar(lab)

    expect(sidebar.locator(".am-Sidebar-status")).to_have_text("27 sessions")
    label = sidebar.locator(".am-Pager-label")
    expect(label).to_have_text("Page 1 of 2")
    expect(titles(sidebar)).to_have_count(20)
    for index, title in enumerate(["Long session", XSS, "Session 25"]):
        expect(titles(sidebar).nth(index)).to_have_text(title)
    first = sidebar.locator(".am-SessionItem").first
    expect(first).to_contain_text("45 messages")
    expect(first.locator("time")).to_have_attribute("datetime", re.compile(r"Z$"))
    expect(sidebar.locator(".am-Pager-prev")).to_be_disabled()
    lab.screenshot("page-1")

    sidebar.locator(".am-Pager-next").click()
    expect(label).to_have_text("Page 2 of 2")
    expect(titles(sidebar)).to_have_text([f"Session {i:02d}" for i in range(7, 0, -1)])
    expect(sidebar.locator(".am-Pager-next")).to_be_disabled()
    lab.screenshot("page-2")

    # A kernel saves a new session while the sidebar is open; Refresh shows it.
    sidebar.locator(".am-Pager-prev").click()
    expect(label).to_have_text("Page 1 of 2")
    fresh = seeded.mirror.create_session("Saved just now")
    fresh.send("hello")
    fresh.save()
    sidebar.locator(".am-Sidebar-refresh").click()
    expect(sidebar.locator(".am-Sidebar-status")).to_have_text("28 sessions")
    expect(titles(sidebar).first).to_have_text("Saved just now")


def test_opening_a_session_shows_its_messages_newest_page_first(lab, seeded):
    lab.open()
    open_sidebar(lab)
    view = open_session(lab, seeded.long_id)

    expect(view.locator(".am-SessionView-title")).to_have_text("Long session")
    expect(view.locator(".am-SessionView-meta")).to_contain_text("45 messages")
    label = view.locator(".am-Pager-label")
    expect(label).to_have_text("Page 1 of 3")
    expect(messages(view)).to_have_text([f"message {i}" for i in range(26, 46)])
    expect(view.locator(".am-Message").last).to_have_attribute("data-role", "user")
    expect(view.locator(".am-Pager-newer")).to_be_disabled()
    expect(lab.page.locator(".jp-MainAreaWidget.am-SessionPanel")).to_be_visible()
    lab.screenshot("newest-page")

    older = view.locator(".am-Pager-older")
    older.click()
    expect(label).to_have_text("Page 2 of 3")
    expect(messages(view)).to_have_text([f"message {i}" for i in range(6, 26)])
    older.click()
    expect(label).to_have_text("Page 3 of 3")
    expect(messages(view)).to_have_text([f"message {i}" for i in range(1, 6)])
    expect(older).to_be_disabled()
    lab.screenshot("oldest-page")

    view.locator(".am-Pager-newer").click()
    expect(label).to_have_text("Page 2 of 3")
    expect(messages(view).first).to_have_text("message 6")


def test_inserting_a_session_export_adds_a_markdown_cell(lab, seeded):
    expected = seeded.mirror.load_session(seeded.long_id).export("markdown")
    lab.server.write_notebook("analysis.ipynb", ["x = 1"])
    lab.open_notebook("analysis.ipynb")
    open_sidebar(lab)
    view = open_session(lab, seeded.long_id)

    view.locator(".am-SessionView-insert").click()

    # The notebook comes back to the front with the export below the active cell.
    lab.wait_for_sources(["x = 1", expected])
    rendered = lab.page.locator(".jp-NotebookPanel .jp-MarkdownCell .jp-RenderedMarkdown").first
    expect(rendered).to_contain_text("Long session")  # rendering is asynchronous
    expect(rendered).to_contain_text("message 45")
    lab.screenshot("inserted-by-button")

    # The same from the command palette, as a keyboard user would do it (focus first in the
    # notebook: the button that had it is on the panel now hidden behind the notebook).
    lab.page.locator(".jp-NotebookPanel .jp-Cell .jp-InputPrompt").first.click()
    lab.page.keyboard.press("Control+Shift+C")
    palette = lab.page.locator(".lm-CommandPalette-input")
    expect(palette).to_be_visible()
    palette.fill("Insert Mirror Session Export")
    lab.page.locator(
        ".lm-CommandPalette-item", has_text="Insert Mirror Session Export"
    ).first.click()
    lab.wait_for_sources(["x = 1", expected, expected])


def test_markup_in_titles_and_messages_stays_text(lab, seeded, dialogs):
    lab.server.write_notebook("xss.ipynb", [""])
    lab.open_notebook("xss.ipynb")
    sidebar = open_sidebar(lab)

    item = sidebar.locator(f'.am-SessionItem[data-session-id="{seeded.xss_id}"]')
    expect(item.locator(".am-SessionItem-title")).to_have_text(XSS)
    view = open_session(lab, seeded.xss_id)
    expect(view.locator(".am-SessionView-title")).to_have_text(XSS)
    # Bodies are Markdown rendered as untrusted output: sanitised by JupyterLab, so the
    # bold stays and the script and the handler are dropped.
    expect(view.locator(".am-Message-content strong")).to_have_text("bold?")
    expect(messages(view).nth(1)).not_to_contain_text("alert(2)")
    expect(lab.page.locator(".lm-TabBar-tab", has_text=XSS)).to_have_count(1)  # the tab's label

    view.locator(".am-SessionView-insert").click()
    rendered = lab.page.locator(".jp-NotebookPanel .jp-MarkdownCell .jp-RenderedMarkdown").first
    expect(rendered).to_contain_text("<script>alert(2)</script>")  # rendered, as text
    lab.screenshot("markup-as-text")

    # No element that could run a handler exists anywhere — rather than waiting a while to
    # see whether one fires: no handler can fire without its element.
    expect(lab.page.locator(".am-Sidebar img")).to_have_count(0)
    expect(lab.page.locator(".am-SessionView script, .jp-RenderedMarkdown script")).to_have_count(0)
    expect(lab.page.locator("[onerror]")).to_have_count(0)
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
        # both colours change once the dark theme's stylesheet applies
        lab.page.wait_for_function(
            """(light) => {
                const style = el => getComputedStyle(document.querySelector(el));
                return style('.am-Sidebar').backgroundColor !== light[0]
                    && style('.am-Message-content').color !== light[1];
            }""",
            arg=light,
        )
        lab.page.wait_for_selector("#jupyterlab-splash", state="detached")
        lab.screenshot("dark-theme")
        expect(sidebar.locator(".am-SessionItem").first).to_be_visible()
    finally:
        lab.execute("apputils:change-theme", {"theme": "JupyterLab Light"})


def test_the_page_survives_live_refreshes(lab, seeded):
    lab.open()
    sidebar = open_sidebar(lab)
    label = sidebar.locator(".am-Pager-label")
    sidebar.locator(".am-Pager-next").click()
    expect(label).to_have_text(re.compile(r"^Page 2 of 2"))
    first_on_page_two = titles(sidebar).first.inner_text()

    # A kernel saves a new session: the list follows without a click, still on page 2,
    # shifted by the one that came in on top.
    fresh = seeded.mirror.create_session("Saved while on page 2")
    fresh.save()

    expect(titles(sidebar).first).not_to_have_text(first_on_page_two)
    expect(label).to_have_text(re.compile(r"^Page 2 of 2"))
    seeded.mirror.delete_session(fresh.id)


def test_the_view_keeps_the_readers_place_and_follows_the_newest(lab, seeded):
    lab.open()
    open_sidebar(lab)
    view = open_session(lab, seeded.long_id)
    listing = view.locator(".am-MessageList")
    at_end = "l => l.scrollHeight - l.scrollTop - l.clientHeight < 24"
    lab.page.wait_for_function(f"() => ({at_end})(document.querySelector('.am-MessageList'))")

    # Reading the newest: a new message is followed.
    session = seeded.mirror.load_session(seeded.long_id)
    session.send("message 46")
    session.save()
    expect(messages(view).last).to_have_text("message 46")
    lab.page.wait_for_function(f"() => ({at_end})(document.querySelector('.am-MessageList'))")

    # Scrolled up to read: a new message does not move the page under the reader.
    listing.hover()
    lab.page.mouse.wheel(0, -10_000)
    lab.page.wait_for_function("() => document.querySelector('.am-MessageList').scrollTop === 0")
    session.send("message 47")
    session.save()
    expect(messages(view).last).to_have_text("message 47")
    assert listing.evaluate("l => l.scrollTop") == 0
