"""What a notebook's magics save shows up in the sidebar: the kernel JupyterLab starts and the
server extension use the same store."""

from __future__ import annotations

import re

import pytest

expect = pytest.importorskip("playwright.sync_api").expect

SIDEBAR_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="activemirror-sidebar"]'


def test_a_session_made_with_magics_appears_in_the_sidebar(lab):
    lab.server.write_notebook("planning.ipynb", [""])
    lab.open_notebook("planning.ipynb")
    lab.page.click(SIDEBAR_TAB)
    sidebar = lab.page.locator('.am-Sidebar[data-state="ready"]')
    status = sidebar.locator(".am-Sidebar-status")
    expect(status).to_have_text(re.compile(r"^No saved sessions yet"))

    lab.run_cell("%load_ext activemirror_jupyter")
    lab.run_cell('%mirror_session new "Daily Planning"')
    lab.run_cell("%%mirror_send\nShip the <b>sidebar</b> today")

    sidebar.locator(".am-Sidebar-refresh").click()
    expect(status).to_have_text("1 session")
    item = sidebar.locator(".am-SessionItem").first
    expect(item.locator(".am-SessionItem-title")).to_have_text("Daily Planning")
    expect(item).to_contain_text("1 message")

    item.click()
    content = lab.page.locator('.am-SessionView[data-state="ready"] .am-Message-content')
    expect(content).to_have_text(["Ship the sidebar today"])  # Markdown, sanitised
    expect(content.locator("b")).to_have_text("sidebar")
    lab.screenshot("from-magics")
