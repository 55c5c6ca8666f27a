"""The Mirror sidebar's sync line in a real JupyterLab and Chromium: nothing before the
store has synced; after a sync by another process (here the test, as a kernel or the
command line would), when, where and what moved; after a failed one, its error in a
warning style."""

from __future__ import annotations

import re

import pytest
from mirror_ui import dark_screenshot, open_sidebar
from sync_devices import desk_synced

expect = pytest.importorskip("playwright.sync_api").expect

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_the_last_sync_shows_at_the_foot_of_the_sidebar(lab, tmp_path):
    laptop_id, desk, folder = desk_synced(tmp_path)
    laptop = lab.server.mirror(identity=laptop_id, autosave=True)
    laptop.create_session("On the laptop").send("three")

    lab.open()
    sidebar = open_sidebar(lab)
    line = sidebar.locator(".am-SyncLine")
    expect(sidebar.locator(".am-SessionItem")).to_have_count(1)
    expect(line).to_be_hidden()  # never synced: nothing to say

    laptop.sync(str(folder))

    expect(sidebar.locator(".am-SessionItem")).to_have_count(2)  # live refresh
    expect(line).to_be_visible()
    expect(line).to_have_attribute("data-state", "ok")
    summary = line.locator(".am-SyncLine-summary")
    expect(summary).to_have_text(re.compile(r"^Synced .+ · pushed 1, pulled 2$"))
    expect(line.locator(".am-SyncLine-where")).to_have_text(f"with {folder}")
    expect(line.locator(".am-SyncLine-where")).to_have_attribute("title", str(folder))
    when = line.locator("time")
    assert ISO_Z.match(when.get_attribute("title")), when.get_attribute("title")
    assert when.get_attribute("datetime") == when.get_attribute("title")
    expect(when).to_have_text(re.compile(r"now|second|minute"))
    expect(line).not_to_have_class(re.compile("am-mod-warning"))
    lab.screenshot("synced")

    with pytest.raises(Exception, match="does not exist"):
        laptop.sync(str(tmp_path / "unplugged"))

    expect(line).to_have_attribute("data-state", "failed")
    expect(line).to_have_class(re.compile("am-mod-warning"))
    expect(summary).to_have_text(re.compile(r"^Sync failed \S"))
    expect(line.locator(".am-SyncLine-remote")).to_have_text(str(tmp_path / "unplugged"))
    expect(line.locator(".am-SyncLine-error")).to_contain_text("does not exist")
    expect(line.locator(".am-SyncLine-counts")).to_have_count(0)
    lab.screenshot("sync-failed")
    dark_screenshot(lab, "sync-failed-dark")
    desk.close()
