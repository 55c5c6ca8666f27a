"""Sessions as families in the Mirror sidebar (real JupyterLab and Chromium): children under
their parent, expanding by mouse and keyboard (an ARIA tree), tags shown, families kept
expanded across live refreshes, and "New session"."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from mirror_ui import open_sidebar, session_item, session_view
from waiting import wait_for_clock_past

expect = pytest.importorskip("playwright.sync_api").expect


@pytest.fixture(scope="module")
def family(jupyter_lab):
    """Project Alpha (tags alpha, q3) with Sprint 1 and Sprint 2, Sprint 2 with Retro;
    then Solo (newest)."""
    mirror = jupyter_lab.mirror()
    made = {}

    def make(title, parent=None, tags=()):
        session = mirror.create_session(title, parent.id if parent else None, tags=tags)
        session.send(f"notes of {title}")
        session.save()
        wait_for_clock_past(session.updated_at)
        made[title] = session.id
        return session

    alpha = make("Project Alpha", tags=["alpha", "q3"])
    make("Sprint 1", alpha)
    sprint2 = make("Sprint 2", alpha)
    make("Retro", sprint2, tags=["retro"])
    make("Solo")
    return SimpleNamespace(mirror=mirror, ids=made)


def top_level(sidebar):
    return sidebar.locator(".am-SessionTree > .am-SessionItem")


def test_children_are_under_their_parent_and_expand(lab, family):
    lab.open()
    sidebar = open_sidebar(lab)
    ids = family.ids

    expect(sidebar.locator(".am-Sidebar-status")).to_have_text("5 sessions")
    expect(top_level(sidebar)).to_have_count(2)
    expect(top_level(sidebar).locator("> .am-SessionItem-row .am-SessionItem-title")).to_have_text(
        ["Solo", "Project Alpha"]
    )
    alpha = session_item(sidebar, ids["Project Alpha"])
    expect(alpha).to_have_attribute("aria-expanded", "false")
    expect(alpha.locator("> .am-SessionItem-row")).to_contain_text("2 sub-sessions")
    expect(alpha.locator("> .am-SessionItem-row .am-Tag")).to_have_text(["alpha", "q3"])
    expect(sidebar.locator(".am-SessionTree")).to_have_attribute("role", "tree")
    expect(session_item(sidebar, ids["Sprint 1"])).to_have_count(0)

    alpha.locator("> .am-SessionItem-row .am-SessionItem-toggle").click()

    expect(alpha).to_have_attribute("aria-expanded", "true")
    group = alpha.locator("> .am-SessionGroup")
    expect(group).to_have_attribute("role", "group")
    children = group.locator("> .am-SessionItem")
    expect(children.locator("> .am-SessionItem-row .am-SessionItem-title")).to_have_text(
        ["Sprint 2", "Sprint 1"]
    )
    expect(children.first).to_have_attribute("aria-level", "2")
    sprint2 = session_item(sidebar, ids["Sprint 2"])
    sprint2.locator("> .am-SessionItem-row .am-SessionItem-toggle").click()
    retro = session_item(sidebar, ids["Retro"])
    expect(retro).to_have_attribute("aria-level", "3")
    expect(retro.locator(".am-Tag")).to_have_text(["retro"])
    lab.screenshot("families-expanded")

    retro.locator(".am-SessionItem-body").click()
    view = session_view(lab, ids["Retro"])
    expect(view.locator(".am-SessionView-title")).to_have_text("Retro")


def test_the_tree_works_from_the_keyboard(lab, family):
    lab.open()
    sidebar = open_sidebar(lab)
    ids = family.ids
    solo = session_item(sidebar, ids["Solo"])
    alpha = session_item(sidebar, ids["Project Alpha"])
    expect(solo).to_have_attribute("tabindex", "0")  # one item takes Tab: a roving tabindex

    solo.focus()
    lab.page.keyboard.press("ArrowDown")
    expect(alpha).to_be_focused()
    lab.page.keyboard.press("ArrowRight")  # expands
    expect(alpha).to_have_attribute("aria-expanded", "true")
    lab.page.keyboard.press("ArrowRight")  # into the family
    sprint2 = session_item(sidebar, ids["Sprint 2"])
    expect(sprint2).to_be_focused()
    lab.page.keyboard.press("ArrowDown")
    expect(session_item(sidebar, ids["Sprint 1"])).to_be_focused()
    lab.page.keyboard.press("ArrowLeft")  # to the parent
    expect(alpha).to_be_focused()
    lab.page.keyboard.press("ArrowLeft")  # collapses
    expect(alpha).to_have_attribute("aria-expanded", "false")
    expect(sprint2).to_have_count(0)
    lab.page.keyboard.press("Enter")
    view = session_view(lab, ids["Project Alpha"])
    expect(view.locator(".am-SessionView-title")).to_have_text("Project Alpha")


def test_expanded_families_and_the_page_survive_live_refreshes(lab, family):
    lab.open()
    sidebar = open_sidebar(lab)
    ids = family.ids
    alpha = session_item(sidebar, ids["Project Alpha"])
    alpha.locator("> .am-SessionItem-row .am-SessionItem-toggle").click()
    sprint1 = session_item(sidebar, ids["Sprint 1"])
    expect(sprint1).to_contain_text("1 message")

    # A kernel adds to Sprint 1 and starts a new family: the tree follows without a click.
    session = family.mirror.load_session(ids["Sprint 1"])
    session.send("another note")
    session.save()
    newer = family.mirror.create_session("Project Beta")
    newer.save()

    expect(top_level(sidebar)).to_have_count(3)
    expect(sprint1).to_contain_text("2 messages")
    expect(alpha).to_have_attribute("aria-expanded", "true")
    expect(top_level(sidebar).first.locator(".am-SessionItem-title")).to_have_text("Project Beta")
    family.mirror.delete_session(newer.id)
    expect(top_level(sidebar)).to_have_count(2)


def test_new_session_starts_one_and_opens_it(lab, family):
    lab.open()
    sidebar = open_sidebar(lab)

    sidebar.locator(".am-Sidebar-new").click()
    dialog = lab.page.locator(".jp-Dialog")
    expect(dialog.locator(".am-NewSession-title")).to_be_focused()
    dialog.locator(".am-NewSession-title").fill("Fresh <b>start</b>")
    dialog.locator(".am-NewSession-tags").fill("new, plan")
    lab.screenshot("new-session-dialog")
    dialog.locator(".jp-mod-accept").click()

    view = lab.page.locator('.am-SessionView[data-state="ready"]', has_text="Fresh <b>start</b>")
    expect(view.locator(".am-SessionView-title")).to_have_text("Fresh <b>start</b>")
    expect(view.locator(".am-Tag")).to_have_text(["new", "plan"])
    expect(view.locator(".am-NoteBox-input")).to_be_focused()
    created = family.mirror.list_sessions(limit=1)[0]
    assert created.title == "Fresh <b>start</b>" and created.tags == ("new", "plan")
    expect(top_level(sidebar).first.locator(".am-SessionItem-title")).to_have_text(
        "Fresh <b>start</b>"
    )
    family.mirror.delete_session(created.session_id)
