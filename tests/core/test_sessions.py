"""Behaviour of sessions and messages, the same on every store (see STORE_TYPES)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from activemirror_jupyter import (
    ActiveMirror,
    InvalidIdError,
    Message,
    SessionMetadata,
    SessionNotFoundError,
)


def contents(messages: list[Message]) -> list[str]:
    return [m.content for m in messages]


def test_send_keeps_messages_in_ram_until_save(mirror_factory):
    writer = mirror_factory()
    session = writer.create_session("Daily Planning")
    session.send("First thought")
    session.send("Second thought")

    reader = mirror_factory()
    assert reader.list_sessions() == []
    with pytest.raises(SessionNotFoundError):
        reader.load_session(session.id)

    assert session.save() == session.id
    reopened = reader.load_session(session.id)
    assert contents(reopened.get_messages()) == ["First thought", "Second thought"]
    assert reopened.message_count == 2


def test_autosave_writes_each_send_through(mirror_factory):
    writer = mirror_factory(autosave=True)
    session = writer.create_session("Autosaved")
    session.send("on disk at once")
    reader = mirror_factory()
    assert contents(reader.load_session(session.id).get_messages()) == ["on disk at once"]
    assert session.unsaved_count == 0


def test_save_twice_duplicates_nothing(mirror_factory):
    mirror = mirror_factory()
    session = mirror.create_session("Twice")
    session.send("one")
    session.save()
    session.save()
    session.send("two")
    session.save()
    session.save()
    reopened = mirror_factory().load_session(session.id)
    assert contents(reopened.get_messages()) == ["one", "two"]
    assert mirror.list_sessions()[0].message_count == 2


def test_resume_a_loaded_session(mirror_factory):
    session = mirror_factory().create_session("Ideas")
    session.send("Idea 1")
    session.send("Idea 2")
    session_id = session.save()

    session = mirror_factory().load_session(session_id)
    session.send("Idea 3")
    session.save()

    again = mirror_factory().load_session(session_id)
    assert contents(again.get_messages()) == ["Idea 1", "Idea 2", "Idea 3"]
    assert [m.role for m in again.get_messages()] == ["user"] * 3


def test_message_fields(mirror):
    session = mirror.create_session("Fields")
    before = datetime.now(timezone.utc)
    message = session.send("hello", role="system", metadata={"source": "test", "n": [1, 2]})
    session.save()
    (stored,) = mirror.load_session(session.id).get_messages()
    assert stored == message
    assert stored.session_id == session.id
    assert stored.role == "system"
    assert stored.metadata == {"source": "test", "n": [1, 2]}
    assert stored.timestamp.tzinfo is not None
    assert before <= stored.timestamp <= datetime.now(timezone.utc)
    assert stored.id.startswith("msg_")


def test_ids_are_unique_and_sort_by_creation(mirror):
    sessions = [mirror.create_session(f"s{i}") for i in range(50)]
    ids = [s.id for s in sessions]
    assert len(set(ids)) == 50
    assert ids == sorted(ids)
    assert all(i.startswith("session_") for i in ids)
    session = sessions[0]
    message_ids = [session.send(str(i)).id for i in range(200)]
    assert message_ids == sorted(message_ids)


def test_pagination_from_the_newest_end(mirror_factory):
    session = mirror_factory().create_session("Paged")
    for i in range(45):
        session.send(f"m{i}")
    session.save()
    session = mirror_factory().load_session(session.id)

    assert contents(session.get_messages(limit=20)) == [f"m{i}" for i in range(25, 45)]
    assert contents(session.get_messages(limit=20, offset=20)) == [f"m{i}" for i in range(5, 25)]
    assert contents(session.get_messages(limit=20, offset=40)) == [f"m{i}" for i in range(0, 5)]
    assert session.get_messages(limit=20, offset=45) == []
    assert session.get_messages(limit=20, offset=1000) == []
    assert session.get_messages(limit=0) == []
    assert len(session.get_messages()) == 45


def test_pagination_counts_unsaved_messages(mirror):
    session = mirror.create_session("Mixed")
    for i in range(5):
        session.send(f"saved {i}")
    session.save()
    for i in range(3):
        session.send(f"unsaved {i}")
    assert session.message_count == 8
    assert contents(session.get_messages(limit=4)) == ["saved 4"] + [
        f"unsaved {i}" for i in range(3)
    ]
    assert contents(session.get_messages(limit=3, offset=3)) == ["saved 2", "saved 3", "saved 4"]


@pytest.mark.parametrize("limit, offset", [(-1, 0), (1, -1), ("5", 0), (1.5, 0), (True, 0)])
def test_bad_page_arguments(mirror, limit, offset):
    session = mirror.create_session("x")
    with pytest.raises(ValueError):
        session.get_messages(limit=limit, offset=offset)
    with pytest.raises(ValueError):
        mirror.list_sessions(limit=limit, offset=offset)


def test_context_is_the_last_max_context_messages(mirror_factory):
    session = mirror_factory().create_session("Limited Context", max_context_messages=30)
    for i in range(100):
        session.send(f"m{i}")
    assert contents(session.context) == [f"m{i}" for i in range(70, 100)]
    session.save()
    reopened = mirror_factory().load_session(session.id)
    assert reopened.max_context_messages == 30
    assert contents(reopened.context) == [f"m{i}" for i in range(70, 100)]
    assert len(reopened.get_messages()) == 100  # older messages still saved


def test_context_is_everything_without_a_limit(mirror):
    session = mirror.create_session("All")
    for i in range(5):
        session.send(f"m{i}")
    assert contents(session.context) == [f"m{i}" for i in range(5)]


@pytest.mark.parametrize("bad", [0, -3, "30", 2.5])
def test_bad_max_context(mirror, bad):
    with pytest.raises(ValueError, match="max_context_messages"):
        mirror.create_session("x", max_context_messages=bad)


def test_session_families(mirror_factory):
    mirror = mirror_factory()
    parent = mirror.create_session("Project Alpha")
    parent.save()
    sprint1 = mirror.create_session("Sprint 1", parent.id)
    sprint2 = mirror.create_session("Sprint 2", parent_session_id=parent.id)
    sprint1.save()
    sprint2.save()
    unrelated = mirror.create_session("Other")
    unrelated.save()

    reopened = mirror_factory().load_session(parent.id)
    assert {c.session_id for c in reopened.children()} == {sprint1.id, sprint2.id}
    assert mirror_factory().load_session(sprint1.id).parent_session_id == parent.id
    assert {s.session_id for s in mirror.list_sessions(parent_session_id=parent.id)} == {
        sprint1.id,
        sprint2.id,
    }
    assert mirror.count_sessions(parent_session_id=parent.id) == 2


def test_delete_session_keeps_children(mirror_factory):
    mirror = mirror_factory()
    parent = mirror.create_session("Parent")
    parent.send("bye")
    parent.save()
    child = mirror.create_session("Child", parent.id)
    child.send("still here")
    child.save()

    assert mirror.delete_session(parent.id) is True
    assert mirror.delete_session(parent.id) is False
    other = mirror_factory()
    with pytest.raises(SessionNotFoundError):
        other.load_session(parent.id)
    assert contents(other.load_session(child.id).get_messages()) == ["still here"]
    assert other.search("bye") == []


def test_list_sessions_newest_update_first_with_paging(mirror_factory):
    mirror = mirror_factory()
    sessions = []
    for i in range(7):
        s = mirror.create_session(f"s{i}")
        s.send("x")
        s.save()
        sessions.append(s)
    sessions[2].send("touched last")
    sessions[2].save()

    listed = mirror_factory().list_sessions()
    assert [m.title for m in listed] == ["s2", "s6", "s5", "s4", "s3", "s1", "s0"]
    assert all(isinstance(m, SessionMetadata) for m in listed)
    assert listed[0].message_count == 2
    assert [m.title for m in mirror.list_sessions(limit=3, offset=2)] == ["s5", "s4", "s3"]
    assert mirror.count_sessions() == 7


def test_metadata_fields_and_aware_datetimes(mirror_factory):
    mirror = mirror_factory(user_id="user_001")
    session = mirror.create_session("Meta", max_context_messages=5)
    session.send("a")
    session.save()
    (meta,) = mirror_factory().list_sessions()
    assert meta.session_id == session.id
    assert meta.title == "Meta"
    assert meta.user_id == "user_001"
    assert meta.parent_session_id is None
    assert meta.status == "active"
    assert meta.message_count == 1
    assert meta.max_context_messages == 5
    assert meta.created_at <= meta.updated_at
    # the spec's cleanup snippet compares against an aware datetime
    one_year_ago = datetime.now(timezone.utc) - timedelta(days=365)
    assert not meta.created_at < one_year_ago


def test_title_and_status_changes_are_saved(mirror_factory):
    mirror = mirror_factory()
    session = mirror.create_session("Draft")
    session.save()
    session.title = "Final"
    session.status = "archived"
    session.save()
    reopened = mirror_factory().load_session(session.id)
    assert (reopened.title, reopened.status) == ("Final", "archived")


def test_unknown_session(mirror):
    with pytest.raises(SessionNotFoundError) as info:
        mirror.load_session("session_missing")
    assert "session_missing" in str(info.value)
    assert mirror.store.description in str(info.value)
    assert mirror.delete_session("session_missing") is False


@pytest.mark.parametrize(
    "bad_id", ["../etc/passwd", "a/b", "/abs", "a\x00b", "", "x" * 10_000, ".hidden", "a..b", 42]
)
def test_unsafe_ids_are_refused(mirror, bad_id):
    with pytest.raises(InvalidIdError):
        mirror.load_session(bad_id)
    with pytest.raises(InvalidIdError):
        mirror.delete_session(bad_id)
    with pytest.raises(InvalidIdError):
        mirror.create_session("x", bad_id)
    with pytest.raises(InvalidIdError):
        mirror.search("x", session_id=bad_id)
    assert mirror.list_sessions() == []


@pytest.mark.parametrize("role", ["admin", "", "USER", None])
def test_unknown_roles_are_refused(mirror, role):
    session = mirror.create_session("Roles")
    with pytest.raises(ValueError, match="user, assistant, system"):
        session.send("x", role=role)
    assert session.message_count == 0


@pytest.mark.parametrize("content", [None, 42, b"bytes", ["a"], {"a": 1}])
def test_non_text_content_is_refused(mirror, content):
    session = mirror.create_session("Content")
    with pytest.raises(TypeError, match="text"):
        session.send(content)
    assert session.message_count == 0


def test_bad_metadata_is_refused(mirror):
    session = mirror.create_session("Metadata")
    for bad in ({"x": {1, 2}}, {"x": float("nan")}, {"x": b"raw"}, ["not", "a", "dict"]):
        with pytest.raises((TypeError, ValueError)):
            session.send("x", metadata=bad)
    assert session.message_count == 0


INJECTIONS = [
    "'; DROP TABLE sessions; --",
    'Robert"); DELETE FROM messages; --',
    "1 OR 1=1",
    "<img src=x onerror=alert(1)>",
    "emoji 🧪 and ünïcödé",
    "multi\nline\ttext",
    "",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_hostile_text_round_trips_verbatim(mirror_factory, text):
    mirror = mirror_factory()
    session = mirror.create_session(text)
    session.send(text)
    session.save()
    other = mirror.create_session("bystander")
    other.send("unharmed")
    other.save()

    reader = mirror_factory()
    reopened = reader.load_session(session.id)
    assert reopened.title == text
    assert contents(reopened.get_messages()) == [text]
    assert contents(reader.load_session(other.id).get_messages()) == ["unharmed"]
    assert reader.count_sessions() == 2


def test_search_finds_saved_messages_only(mirror_factory):
    mirror = mirror_factory()
    a = mirror.create_session("A")
    a.send("Focus beats multitasking")
    a.send("Coffee first, then focus")
    a.save()
    b = mirror.create_session("B")
    b.send("Multitasking is a myth")
    b.save()
    b.send("focus later (unsaved)")

    reader = mirror_factory()
    assert contents(reader.search("focus")) == [
        "Coffee first, then focus",
        "Focus beats multitasking",
    ]
    assert contents(reader.search("MULTITASKING focus")) == ["Focus beats multitasking"]
    assert contents(reader.search("multitasking", session_id=b.id)) == ["Multitasking is a myth"]
    assert reader.search("absent") == []
    assert len(reader.search("focus", limit=1)) == 1


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "'",
        "NEAR(",
        "AND",
        "OR",
        "NOT",
        "-x",
        "*",
        "focus*",
        "a:b",
        "(",
        ")",
        "^",
        "",
        "   ",
        '"unbalanced',
        "col:focus",
        "{a b}",
        "NEAR(focus multitasking, 2)",
        "\x00",
    ],
)
def test_search_accepts_any_text(mirror, query):
    session = mirror.create_session("S")
    session.send("Focus beats multitasking AND more")
    session.save()
    result = mirror.search(query)
    assert isinstance(result, list)


def test_search_words_are_case_and_accent_insensitive(mirror):
    session = mirror.create_session("S")
    session.send("Un café à Paris")
    session.save()
    assert contents(mirror.search("CAFE paris")) == ["Un café à Paris"]


def test_context_manager_closes(mirror_factory, storage_type):
    with mirror_factory() as mirror:
        session = mirror.create_session("ctx")
        session.save()
    assert isinstance(mirror, ActiveMirror)


def test_unknown_keyword_arguments_raise_type_error():
    with pytest.raises(TypeError):
        ActiveMirror("memory", cloud_sync=True)


def test_unknown_storage_type():
    with pytest.raises(ValueError, match="sqlite"):
        ActiveMirror("cloud")


def test_a_session_deleted_elsewhere_is_not_made_again_by_a_later_send(mirror_factory):
    holder = mirror_factory(autosave=True)
    session = holder.create_session("Held")
    session.send("first")
    other = mirror_factory()  # another kernel on the same store
    assert other.delete_session(session.id)
    with pytest.raises(SessionNotFoundError, match="deleted .* after it was loaded here"):
        session.send("second")
    with pytest.raises(SessionNotFoundError, match="deleted"):
        session.title = "Renamed"
    assert other.list_sessions() == [] and holder.list_sessions() == []
    assert session.unsaved_count == 1  # what was typed is not lost: it stays in RAM
    assert contents(session.get_messages()) == ["second"]


def test_roots_are_listed_by_the_store_newest_first_and_paged(mirror_factory):
    mirror = mirror_factory()
    alpha = mirror.create_session("Alpha")
    alpha.save()
    child = mirror.create_session("Child", alpha.id)
    child.save()
    orphan_parent = mirror.create_session("Gone")
    orphan_parent.save()
    orphan = mirror.create_session("Orphan", orphan_parent.id)
    orphan.save()
    solo = mirror.create_session("Solo", tags=["x"])
    solo.save()
    mirror.delete_session(orphan_parent.id)  # its child stays, and is now a root
    assert [s.title for s in mirror.list_sessions(roots=True)] == ["Solo", "Orphan", "Alpha"]
    assert mirror.count_sessions(roots=True) == 3 and mirror.count_sessions() == 4
    assert [s.title for s in mirror.list_sessions(roots=True, limit=1, offset=1)] == ["Orphan"]
    assert [s.title for s in mirror.list_sessions(roots=True, tag="x")] == ["Solo"]
    assert mirror.child_counts([alpha.id, solo.id, child.id]) == {alpha.id: 1}
    with pytest.raises(ValueError, match="roots"):
        mirror.list_sessions(roots=True, parent_session_id=alpha.id)
