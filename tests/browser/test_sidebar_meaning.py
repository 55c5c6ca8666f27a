"""Search by meaning from the Mirror sidebar in a real JupyterLab and Chromium: the "by
meaning" switch (a labelled switch the keyboard flips) finds a note that shares no word
with the query, best first with its score, under the same filters; a server without the
[semantic] extra is a message on the sidebar, not an empty list."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from mirror_ui import dark_screenshot, open_sidebar, record_dialogs, search

expect = pytest.importorskip("playwright.sync_api").expect
pytest.importorskip("wordllama", reason="the [semantic] extra (WordLlama) is not installed")

QUERY = "how much rain falls in Norway"
WET = "Oslo had a very wet autumn"
SCORE = re.compile(r"^-?[01]\.\d\d$")  # a cosine: -1 to 1


@pytest.fixture(scope="module")
def seeded(jupyter_lab):
    mirror = jupyter_lab.mirror()
    travel = mirror.create_session("Travel log", tags=["weather"])
    wet = travel.send(WET)
    travel.send("Bought coffee beans at the <b>station</b>")
    travel.send("Fixed the parser bug", role="assistant")
    travel.save()
    other = mirror.create_session("Kitchen")
    other.send("The cat sat on the mat")
    other.send("It poured all week in Bergen", role="assistant")
    other.save()
    return SimpleNamespace(travel_id=travel.id, other_id=other.id, wet_id=wet.id)


def meaning_switch(sidebar):
    return sidebar.get_by_role("switch", name="by meaning")


def test_the_switch_finds_what_was_meant_best_first_with_scores(lab, seeded):
    dialogs = record_dialogs(lab.page)
    lab.open()
    sidebar = open_sidebar(lab)
    status = sidebar.locator(".am-Sidebar-status")
    hits = search(sidebar, QUERY)
    expect(status).to_have_text("No messages match.")  # no word in common

    switch = meaning_switch(sidebar)
    expect(switch).not_to_be_checked()
    sidebar.locator(".am-Search-input").press("Tab")  # the keyboard reaches it …
    lab.page.keyboard.press("Tab")  # (past the filters button)
    expect(switch).to_be_focused()
    lab.page.keyboard.press("Space")  # … and flips it
    expect(switch).to_be_checked()

    results = sidebar.locator('.am-SearchResults[data-mode="meaning"][data-state="ready"]')
    expect(results).to_be_attached()
    expect(hits.locator(".am-Hit").first).to_have_attribute("data-message-id", seeded.wet_id)
    expect(hits.locator(".am-Hit").first.locator(".am-Hit-snippet")).to_have_text(WET)
    expect(hits.locator(".am-Hit")).to_have_count(5)
    expect(status).to_contain_text("Closest in meaning first")
    scores = hits.locator(".am-Hit-score").all_inner_texts()
    assert len(scores) == 5 and all(SCORE.match(s) for s in scores), scores
    assert [float(s) for s in scores] == sorted((float(s) for s in scores), reverse=True)
    expect(hits.locator(".am-Hit-snippet").nth(1)).not_to_have_text(WET)
    expect(sidebar.locator("b")).to_have_count(0)  # markup in a note stays text
    lab.screenshot("by-meaning")
    dark_screenshot(lab, "by-meaning-dark")

    # The same filters as the word search: a tag keeps one session's messages.
    sidebar.locator(".am-Search-filtersToggle").click()
    sidebar.locator(".am-Search-tag").fill("weather")
    expect(hits.locator(".am-Hit")).to_have_count(3)
    titles = hits.locator(".am-Hit-title").all_inner_texts()
    assert set(titles) == {"Travel log"}, titles
    expect(hits.locator(".am-Hit").first).to_have_attribute("data-message-id", seeded.wet_id)
    sidebar.locator(".am-Search-role").select_option("assistant")
    expect(hits.locator(".am-Hit")).to_have_count(1)
    expect(hits.locator(".am-Hit-snippet")).to_have_text("Fixed the parser bug")

    # Off again: back to the words, and the query's words match nothing.
    switch.press("Enter")
    expect(switch).not_to_be_checked()
    expect(status).to_have_text("No messages match.")
    assert dialogs == []


def test_a_server_without_the_extra_says_so(lab, seeded):
    message = (
        "search by meaning needs the optional extra 'activemirror-jupyter[semantic]': "
        "pip install 'activemirror-jupyter[semantic]' (it installs WordLlama, whose model "
        "works offline); missing: wordllama"
    )

    def without_extra(route):  # what the server answers when WordLlama is not installed
        route.fulfill(
            status=501,
            content_type="application/json",
            body=json.dumps({"message": message, "reason": "Not Implemented"}),
        )

    lab.page.route(re.compile(r".*/activemirror/api/search\?.*mode=meaning.*"), without_extra)
    lab.open()
    open_sidebar(lab)
    sidebar = lab.page.locator(".am-Sidebar")  # in any state: it will show an error
    meaning_switch(sidebar).check()
    search(sidebar, QUERY)

    status = sidebar.locator(".am-Sidebar-status.am-mod-error")
    expect(status).to_contain_text("Search by meaning is not available on this Jupyter server")
    expect(status).to_contain_text("pip install 'activemirror-jupyter[semantic]'")
    expect(status).to_contain_text('Turn "by meaning" off')
    expect(status).to_have_attribute("role", "alert")
    expect(sidebar.locator(".am-HitList .am-Hit")).to_have_count(0)
    lab.screenshot("no-extra")

    meaning_switch(sidebar).uncheck()  # word search still works
    search(sidebar, "autumn")
    expect(sidebar.locator(".am-HitList .am-Hit")).to_have_count(1)
    expect(sidebar.locator(".am-Sidebar-status")).to_have_text("1 matching message")
