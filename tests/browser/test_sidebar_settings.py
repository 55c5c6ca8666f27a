"""The Mirror settings in JupyterLab's settings system (real JupyterLab and Chromium): the
schema is served for the settings editor, and a user's page size, refresh interval and
date format change what the sidebar and the session view show."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from mirror_ui import WAIT_MS, LabPage, open_sidebar, session_view, start_jupyter_lab

expect = pytest.importorskip("playwright.sync_api").expect

PLUGIN = "activemirror-jupyter:plugin"


@pytest.fixture(scope="module")
def configured_lab(tmp_path_factory) -> Iterator[Any]:
    """A JupyterLab whose user has set page size 5, ISO dates and a 1 s refresh; with 7
    sessions and a 12-message session."""
    root = tmp_path_factory.mktemp("configured-lab")
    settings = root / "lab-settings" / "activemirror-jupyter" / "plugin.jupyterlab-settings"
    settings.parent.mkdir(parents=True)
    settings.write_text(json.dumps({"pageSize": 5, "dateFormat": "iso", "refreshInterval": 1}))
    with start_jupyter_lab(root) as server:
        mirror = server.mirror()
        for i in range(6):
            mirror.create_session(f"Small {i}").save()
        long = mirror.create_session("Twelve")
        for i in range(1, 13):
            long.send(f"message {i}")
        long.save()
        server.long_id = long.id  # type: ignore[attr-defined]
        yield server


@pytest.fixture
def lab_on(browser: Any, configured_lab: Any, request: pytest.FixtureRequest) -> Iterator[LabPage]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield LabPage(page, configured_lab, request.node.name)
    context.close()


def test_the_settings_schema_is_in_jupyterlab(lab_on):
    lab_on.open()
    schema = lab_on.page.evaluate(
        "async (id) => (await window.jupyterapp.serviceManager.settings.fetch(id)).schema",
        PLUGIN,
    )
    properties = schema["properties"]
    assert properties["pageSize"]["default"] == 20
    assert properties["refreshInterval"]["default"] == 3
    assert properties["dateFormat"]["enum"] == ["locale", "iso", "relative"]
    assert schema["title"] == "Mirror"


def test_page_size_and_date_format_follow_the_settings(lab_on, configured_lab):
    lab_on.open()
    sidebar = open_sidebar(lab_on)
    expect(sidebar.locator(".am-SessionTree > .am-SessionItem")).to_have_count(5)
    expect(sidebar.locator(".am-Pager-label")).to_have_text("Page 1 of 2")
    expect(sidebar.locator("time").first).to_have_text(
        re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ$")
    )

    sidebar.locator(".am-SessionItem-body", has_text="Twelve").click()
    view = session_view(lab_on, configured_lab.long_id)
    expect(view.locator(".am-Pager-label")).to_have_text("Page 1 of 3")
    expect(view.locator(".am-Message-content")).to_have_text([f"message {i}" for i in range(8, 13)])
    lab_on.screenshot("page-size-5-iso-dates")
