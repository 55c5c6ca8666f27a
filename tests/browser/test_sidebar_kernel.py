"""What a notebook's magics save shows up in the sidebar: the kernel JupyterLab starts and the
server extension use the same store."""

from __future__ import annotations

SIDEBAR_TAB = '.jp-SideBar .lm-TabBar-tab[data-id="activemirror-sidebar"]'


def test_a_session_made_with_magics_appears_in_the_sidebar(lab):
    lab.server.write_notebook("planning.ipynb", [""])
    lab.open_notebook("planning.ipynb")
    lab.page.click(SIDEBAR_TAB)
    lab.page.wait_for_selector('.am-Sidebar[data-state="ready"]')
    status = lab.page.locator(".am-Sidebar .am-Sidebar-status")
    assert status.inner_text().startswith("No saved sessions yet")

    lab.run_cell("%load_ext activemirror_jupyter")
    lab.run_cell('%mirror_session new "Daily Planning"')
    lab.run_cell("%%mirror_send\nShip the <b>sidebar</b> today")

    lab.page.click(".am-Sidebar .am-Sidebar-refresh")
    lab.page.wait_for_function(
        "() => document.querySelector('.am-Sidebar .am-Sidebar-status').textContent === '1 session'"
    )
    item = lab.page.locator(".am-Sidebar .am-SessionItem").first
    assert item.locator(".am-SessionItem-title").inner_text() == "Daily Planning"
    assert "1 message" in item.inner_text()

    item.click()
    content = lab.page.locator(".am-SessionView .am-Message-content")
    content.first.wait_for(state="visible")
    assert content.all_inner_texts() == ["Ship the <b>sidebar</b> today"]
    lab.screenshot("from-magics")
