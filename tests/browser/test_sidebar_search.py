"""Searching from the Mirror sidebar in a real JupyterLab and Chromium: hits with marked
words, a hit opening its session at the page holding the message (highlighted), the
keyboard, the filters, hostile text staying text, and the search surviving live refreshes."""

from __future__ import annotations

import json
from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from mirror_ui import open_sidebar, record_dialogs, search, session_view
from waiting import wait_for_clock_past, wait_until

expect = pytest.importorskip("playwright.sync_api").expect

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def seeded(jupyter_lab):
    """'Field notes' (tagged botany, 45 messages; the 5th holds the rare word next to
    markup), then 'Kitchen' (an assistant message with the word)."""
    mirror = jupyter_lab.mirror()
    field = mirror.create_session("Field notes", tags=["botany"])
    target = None
    for i in range(1, 46):
        if i == 5:
            target = field.send(f"The Obsidianwort grows near {XSS} the ridge, by the stream.")
        else:
            field.send(f"observation {i}: lichen and moss", role="user" if i % 2 else "assistant")
    field.save()
    wait_for_clock_past(field.updated_at)
    kitchen = mirror.create_session("Kitchen")
    kitchen.send("What can I cook tonight?")
    kitchen.send("An obsidianwort soup, if you have some.", role="assistant")
    kitchen.save()
    return SimpleNamespace(
        mirror=mirror, field_id=field.id, kitchen_id=kitchen.id, target_id=target.id
    )


def test_a_hit_opens_its_session_at_the_message_highlighted(lab, seeded):
    dialogs = record_dialogs(lab.page)
    lab.open()
    sidebar = open_sidebar(lab)

    hits = search(sidebar, "obsidianwort")

    expect(hits.locator(".am-Hit")).to_have_count(2)
    expect(sidebar.locator(".am-Sidebar-status")).to_have_text("2 matching messages")
    hit = hits.locator(f'.am-Hit[data-message-id="{seeded.target_id}"]')
    expect(hit.locator(".am-Hit-title")).to_have_text("Field notes")
    expect(hit.locator("mark")).to_have_text(["Obsidianwort"])
    expect(hit.locator(".am-Hit-snippet")).to_contain_text(XSS)  # markup shown as text
    expect(sidebar.locator("img")).to_have_count(0)
    lab.screenshot("hits")

    hit.click()

    view = session_view(lab, seeded.field_id)
    expect(view.locator(".am-Pager-label")).to_have_text("Page 3 of 3")  # (45-1-4)//20+1
    highlighted = view.locator(".am-Message.am-mod-highlighted")
    expect(highlighted).to_have_count(1)
    expect(highlighted).to_have_attribute("data-message-id", seeded.target_id)
    expect(highlighted).to_contain_text("grows near")
    expect(highlighted).to_be_in_viewport()
    expect(highlighted).to_be_focused()
    expect(lab.page.locator("[onerror]")).to_have_count(0)
    lab.screenshot("message-highlighted")
    assert dialogs == []


def test_the_keyboard_reaches_every_hit(lab, seeded):
    lab.open()
    sidebar = open_sidebar(lab)
    box = sidebar.locator(".am-Search-input")
    box.click()
    lab.page.keyboard.type("obsidianwort")
    hits = sidebar.locator(".am-HitList .am-Hit")
    expect(hits).to_have_count(2)
    expect(sidebar.locator(".am-HitList")).to_have_attribute("role", "listbox")
    expect(hits.first).to_have_attribute("role", "option")

    box.press("ArrowDown")
    expect(hits.nth(0)).to_be_focused()
    lab.page.keyboard.press("ArrowDown")
    expect(hits.nth(1)).to_be_focused()
    expect(hits.nth(1)).to_have_attribute("aria-selected", "true")
    lab.page.keyboard.press("ArrowUp")
    expect(hits.nth(0)).to_be_focused()
    lab.page.keyboard.press("Enter")  # the newest hit: the Kitchen's soup

    view = session_view(lab, seeded.kitchen_id)
    expect(view.locator(".am-Message.am-mod-highlighted")).to_contain_text("obsidianwort soup")


def test_filters_narrow_the_hits(lab, seeded):
    lab.open()
    sidebar = open_sidebar(lab)
    hits = search(sidebar, "obsidianwort").locator(".am-Hit")
    expect(hits).to_have_count(2)
    status = sidebar.locator(".am-Sidebar-status")

    toggle = sidebar.locator(".am-Search-filtersToggle")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    sidebar.locator(".am-Search-role").select_option("assistant")
    expect(hits).to_have_count(1)
    expect(hits.first.locator(".am-Hit-title")).to_have_text("Kitchen")

    sidebar.locator(".am-Search-role").select_option("")
    sidebar.locator(".am-Search-tag").fill("botany")
    expect(hits).to_have_count(1)
    expect(hits.first.locator(".am-Hit-title")).to_have_text("Field notes")
    lab.screenshot("filters")

    sidebar.locator(".am-Search-tag").fill("")
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    sidebar.locator(".am-Search-from").fill(tomorrow)
    expect(status).to_have_text("No messages match.")
    expect(hits).to_have_count(0)
    sidebar.locator(".am-Search-from").fill("")
    sidebar.locator(".am-Search-to").fill(date.today().isoformat())  # up to the end of today
    expect(hits).to_have_count(2)

    sidebar.locator(".am-Search-clear").click()
    expect(sidebar.locator(".am-Search-input")).to_have_value("")
    expect(sidebar.locator(".am-SessionTree .am-SessionItem")).to_have_count(2)


def test_the_search_survives_live_refreshes(lab, seeded):
    lab.open()
    sidebar = open_sidebar(lab)
    hits = search(sidebar, "obsidianwort").locator(".am-Hit")
    expect(hits).to_have_count(2)

    # A kernel saves another message with the word: the hits follow, without a click.
    later = seeded.mirror.create_session("Later")
    later.send("Dried obsidianwort keeps for a year.")
    later.save()

    expect(sidebar.locator(".am-Sidebar-status")).to_have_text("3 matching messages")
    expect(hits).to_have_count(3)
    expect(hits.first.locator(".am-Hit-title")).to_have_text("Later")
    expect(sidebar.locator(".am-Search-input")).to_have_value("obsidianwort")
    seeded.mirror.delete_session(later.id)
    expect(hits).to_have_count(2)


def test_the_search_comes_back_after_a_reload(lab, seeded):
    lab.open()
    sidebar = open_sidebar(lab)
    search(sidebar, "obsidianwort")
    expect(sidebar.locator(".am-Hit")).to_have_count(2)
    sidebar.locator(".am-Search-filtersToggle").click()
    sidebar.locator(".am-Search-role").select_option("assistant")
    expect(sidebar.locator(".am-Hit")).to_have_count(1)

    # The state is saved (into JupyterLab's workspace) a moment after the last change;
    # reload once it is.
    def saved_role():
        for path in (lab.server.root / "lab-workspaces").glob("*.jupyterlab-workspace"):
            try:
                data = json.loads(path.read_text())["data"]
            except ValueError:  # caught mid-write: look again
                return None
            state = data.get("activemirror-jupyter:plugin:sidebar")
            if state:
                return state["search"]["role"]
        return None

    wait_until(lambda: saved_role() == "assistant", "the sidebar's state in the workspace")
    lab.open(reset=False)

    sidebar = lab.page.locator(".am-Sidebar")
    expect(sidebar.locator(".am-Search-input")).to_have_value("obsidianwort")
    expect(sidebar.locator(".am-Search-role")).to_have_value("assistant")
    expect(sidebar.locator(".am-Hit")).to_have_count(1)
