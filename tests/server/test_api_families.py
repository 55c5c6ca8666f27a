"""Sessions as families for the sidebar: ``roots=1`` lists the top of each family with its
child count, ``parent=`` lists a family's children, and an orphan whose parent was deleted
is a root. Each listing is the store's own query."""

from __future__ import annotations

from dataclasses import replace

import pytest
from waiting import wait_for_clock_past

one_store = pytest.mark.parametrize("store", ["default"], indirect=True)


def family(store):
    """Project Alpha (Sprint 1, Sprint 2 (Retro)), then Solo, saved in that order."""
    mirror = store.open()
    made = {}

    def make(title, parent=None):
        session = mirror.create_session(title, parent.id if parent else None)
        session.send(f"about {title}")
        session.save()
        wait_for_clock_past(session.updated_at)
        made[title] = session
        return session

    alpha = make("Project Alpha")
    make("Sprint 1", alpha)
    sprint2 = make("Sprint 2", alpha)
    make("Retro", sprint2)
    make("Solo")
    return mirror, made


async def test_roots_list_the_top_of_each_family_with_child_counts(store, api):
    _, made = family(store)

    status, body, _ = await api("sessions", params={"roots": "1"})

    assert status == 200
    assert body["total"] == 2 and body["all_total"] == 5
    assert [(s["title"], s["child_count"]) for s in body["sessions"]] == [
        ("Solo", 0),
        ("Project Alpha", 2),
    ]
    _, children, _ = await api("sessions", params={"parent": made["Project Alpha"].id})
    assert [(s["title"], s["child_count"]) for s in children["sessions"]] == [
        ("Sprint 2", 1),
        ("Sprint 1", 0),
    ]
    _, everything, _ = await api("sessions")
    assert everything["total"] == 5
    assert {s["title"]: s["child_count"] for s in everything["sessions"]}["Sprint 2"] == 1


async def test_roots_follow_saves_and_deletes(store, api):
    mirror, made = family(store)
    assert (await api("sessions", params={"roots": "1"}))[1]["total"] == 2

    # A kernel adds a family; the next listing has it, newest first.
    newer = mirror.create_session("Project Beta")
    newer.save()
    _, body, _ = await api("sessions", params={"roots": "1"})
    assert [s["title"] for s in body["sessions"]] == ["Project Beta", "Solo", "Project Alpha"]

    # Deleting a parent keeps its children: they come up to the top, nothing is lost.
    mirror.delete_session(made["Project Alpha"].id)
    _, body, _ = await api("sessions", params={"roots": "1"})
    assert sorted(s["title"] for s in body["sessions"]) == [
        "Project Beta",
        "Solo",
        "Sprint 1",
        "Sprint 2",
    ]


@one_store
async def test_roots_page_like_any_listing(store, api):
    mirror = store.open()
    for i in range(7):
        mirror.create_session(f"Root {i}").save()
        wait_for_clock_past(mirror.list_sessions(limit=1)[0].updated_at)

    _, first, _ = await api("sessions", params={"roots": "1", "limit": 3})
    _, last, _ = await api("sessions", params={"roots": "1", "limit": 3, "offset": 6})

    assert first["total"] == last["total"] == 7
    assert [s["title"] for s in first["sessions"]] == ["Root 6", "Root 5", "Root 4"]
    assert [s["title"] for s in last["sessions"]] == ["Root 0"]


@one_store
async def test_a_cycle_of_parents_made_behind_the_api_is_no_root_and_breaks_nothing(store, api):
    # Only an edit behind the API can make one (imports refuse cycles): A's parent is B,
    # B's is A. Neither is at the top; listing their children still works.
    mirror = store.open()
    a = mirror.create_session("A")
    a.save()
    b = mirror.create_session("B", a.id)
    b.save()
    mirror.create_session("Plain").save()
    mirror.store.save(replace(mirror.store.get_session(a.id), parent_session_id=b.id), [])

    _, roots, _ = await api("sessions", params={"roots": "1"})

    assert [s["title"] for s in roots["sessions"]] == ["Plain"]
    assert roots["total"] == 1 and roots["all_total"] == 3
    _, children, _ = await api("sessions", params={"parent": b.id})
    assert [(s["title"], s["child_count"]) for s in children["sessions"]] == [("A", 1)]


@one_store
@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"roots": "yes"}, "roots must be true or false"),
        ({"roots": "1", "parent": "session_X"}, "leave out parent and tag"),
        ({"roots": "1", "tag": "x"}, "leave out parent and tag"),
        ({"tag": "../x"}, "tag"),
    ],
)
async def test_bad_family_parameters_are_a_400(store, api, params, expected):
    status, body, _ = await api("sessions", params=params)
    assert status == 400
    assert expected in body["message"]


async def test_sessions_can_be_listed_by_tag(store, api):
    mirror = store.open()
    mirror.create_session("Tagged", tags=["botany"]).save()
    mirror.create_session("Plain").save()

    _, body, _ = await api("sessions", params={"tag": "botany"})

    assert body["total"] == 1
    assert body["sessions"][0]["title"] == "Tagged"
    assert body["sessions"][0]["tags"] == ["botany"]


@one_store
async def test_roots_page_past_interleaved_children(store, api):
    mirror = store.open()
    titles = []
    for i in range(7):  # each root saved before its two children: they interleave
        root = mirror.create_session(f"Root {i}")
        root.save()
        for j in range(2):
            mirror.create_session(f"Child {i}.{j}", root.id).save()
        titles.append(f"Root {i}")
        wait_for_clock_past(mirror.list_sessions(limit=1)[0].updated_at)

    pages = []
    for offset in (0, 3, 6):
        _, body, _ = await api("sessions", params={"roots": "1", "limit": 3, "offset": offset})
        assert body["total"] == 7 and body["all_total"] == 21
        pages += [(s["title"], s["child_count"]) for s in body["sessions"]]

    assert pages == [(title, 2) for title in reversed(titles)]


@one_store
async def test_a_session_swapped_for_another_between_looks_is_seen(store, api):
    # One deleted and one created between two listings: the count of sessions is the same,
    # the listing still shows the new one and not the old.
    mirror = store.open()
    family = mirror.create_session("Family")
    family.save()
    mirror.create_session("Member", family.id).save()
    old = mirror.create_session("Old")
    old.save()
    _, before, _ = await api("sessions", params={"roots": "1"})
    assert [s["title"] for s in before["sessions"]] == ["Old", "Family"]

    mirror.delete_session(old.id)
    mirror.create_session("New").save()

    _, after, _ = await api("sessions", params={"roots": "1"})
    assert [s["title"] for s in after["sessions"]] == ["New", "Family"]
    assert after["total"] == 2 and after["sessions"][1]["child_count"] == 1


@one_store
async def test_an_imported_child_with_an_old_date_joins_its_family(store, api):
    from activemirror_jupyter import import_session

    mirror = store.open()
    parent = mirror.create_session("Parent")
    parent.save()
    assert (await api("sessions", params={"roots": "1"}))[1]["sessions"][0]["child_count"] == 0
    elsewhere = store.open()
    child = elsewhere.create_session("Child from last year", parent.id)
    child.send("old news")
    exported = child.export("json")
    import_session(exported, mirror)

    _, body, _ = await api("sessions", params={"roots": "1"})

    assert [(s["title"], s["child_count"]) for s in body["sessions"]] == [("Parent", 1)]
