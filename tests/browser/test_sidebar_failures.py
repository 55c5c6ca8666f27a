"""When things go wrong, the Mirror sidebar says so in one clear line and recovers by itself
(real JupyterLab servers and Chromium): a store that cannot be opened, and a server that
went away and came back. (A 409 from a sealed session: see test_session_view.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from mirror_ui import WAIT_MS, LabPage, open_sidebar, session_view, start_jupyter_lab

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture
def page_on(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``page_on(server)``: a fresh browser page on that server, as a :class:`LabPage`."""
    contexts = []

    def make(server: Any) -> LabPage:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT_MS)
        return LabPage(page, server, request.node.name)

    yield make
    for context in contexts:
        context.close()


def status_line(lab: LabPage) -> Any:
    return lab.page.locator(".am-Sidebar .am-Sidebar-status")


def test_a_store_that_cannot_be_opened_is_one_line_until_it_can(tmp_path, page_on):
    root = tmp_path / "lab"
    database = root / "activemirror-home" / "conversations.db"
    database.parent.mkdir(parents=True)
    database.write_bytes(b"not a database, whatever it was " * 64)

    with start_jupyter_lab(root) as server:
        lab = page_on(server)
        lab.open()
        lab.page.click('.jp-SideBar .lm-TabBar-tab[data-id="activemirror-sidebar"]')
        sidebar = lab.page.locator('.am-Sidebar[data-state="error"]')
        expect(sidebar).to_be_visible()
        line = status_line(lab)
        expect(line).to_have_text(
            re.compile(r"^The session store failed: .*not a usable SQLite database")
        )
        expect(line).to_have_attribute("role", "alert")
        assert "\n" not in line.inner_text().strip()
        lab.screenshot("store-unusable")

        # Whoever runs the server moves the broken file away: the panel recovers by itself.
        database.rename(database.with_suffix(".broken"))
        expect(line).to_have_text(re.compile(r"^No saved sessions yet"))
        expect(lab.page.locator('.am-Sidebar[data-state="ready"]')).to_be_visible()


def test_a_server_that_went_away_is_one_line_and_the_panel_recovers(tmp_path, page_on):
    root = tmp_path / "lab"
    with start_jupyter_lab(root) as server:
        mirror = server.mirror()
        session = mirror.create_session("Survives restarts")
        session.send("still here")
        session.save()
        mirror.close()
        port = int(server.url.rstrip("/").rsplit(":", 1)[1])
        lab = page_on(server)
        lab.open()
        open_sidebar(lab)
        lab.page.locator(".am-SessionItem-body", has_text="Survives restarts").click()
        view = session_view(lab, session.id)
        expect(status_line(lab)).to_have_text("1 session")

    # The server is gone; the page is still open.
    line = status_line(lab)
    expect(line).to_have_text(re.compile(r"^The Jupyter server is not answering"))
    expect(view.locator(".am-SessionView-status")).to_have_text(
        re.compile(r"^The Jupyter server is not answering")
    )
    lab.screenshot("server-gone")

    with start_jupyter_lab(root, port=port) as again:
        expect(line).to_have_text("1 session")
        expect(view.locator(".am-SessionView-status")).to_have_text("")
        # And it is live again: a save on the new server shows up.
        mirror = again.mirror()
        later = mirror.load_session(session.id)
        later.send("after the restart")
        later.save()
        expect(view.locator(".am-Message")).to_have_count(2)
