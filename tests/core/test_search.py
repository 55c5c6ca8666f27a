"""Search with filters, hits with snippets, and counts, on every store: the same answers
whatever keeps the sessions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from activemirror_jupyter.core.errors import InvalidIdError
from activemirror_jupyter.core.models import Attachment


@pytest.fixture
def seeded(mirror_factory):
    mirror = mirror_factory()
    weather = mirror.create_session("Weather study", tags=["weather"])
    weather.send("Oslo readings look cold today")
    weather.send("The model says Oslo warms up", role="assistant")
    weather.send(
        "attached the raw table",
        attachments=[Attachment.from_bytes("raw.csv", "text/csv", b"city,temp\nTromso,-3\n")],
    )
    weather.save()
    budget = mirror.create_session("Budget")
    budget.send("Oslo trip costs too much", role="system")
    budget.save()
    return mirror_factory(), weather, budget


def test_search_finds_whole_words_newest_first(seeded):
    mirror, weather, budget = seeded
    found = mirror.search("oslo")
    assert [m.content for m in found] == [
        "Oslo trip costs too much",
        "The model says Oslo warms up",
        "Oslo readings look cold today",
    ]
    assert mirror.count_search("oslo") == 3
    assert mirror.search("osl") == [] and mirror.count_search("osl") == 0


def test_filters_by_session_role_and_tag(seeded):
    mirror, weather, budget = seeded
    assert [m.session_id for m in mirror.search("oslo", session_id=budget.id)] == [budget.id]
    assert [m.role for m in mirror.search("oslo", role="assistant")] == ["assistant"]
    assert {m.session_id for m in mirror.search("oslo", tag="weather")} == {weather.id}
    assert mirror.count_search("oslo", tag="weather") == 2
    assert mirror.count_search("oslo", role="system", tag="weather") == 0


def test_since_is_inclusive_and_until_exclusive(seeded):
    mirror, weather, budget = seeded
    messages = sorted(mirror.search("oslo"), key=lambda m: m.timestamp)
    middle = messages[1].timestamp
    assert [m.content for m in mirror.search("oslo", since=middle)][-1] == messages[1].content
    assert messages[1].content not in [m.content for m in mirror.search("oslo", until=middle)]
    later = datetime.now(timezone.utc) + timedelta(days=1)
    assert mirror.count_search("oslo", since=later) == 0
    assert mirror.count_search("oslo", until=later) == 3


def test_limit_and_offset_page_through_hits(seeded):
    mirror, *_ = seeded
    everything = [m.id for m in mirror.search("oslo")]
    pages = [m.id for m in mirror.search("oslo", limit=2)] + [
        m.id for m in mirror.search("oslo", limit=2, offset=2)
    ]
    assert pages == everything


def test_text_attachments_are_searched_and_their_message_is_the_hit(seeded):
    mirror, weather, _ = seeded
    (hit,) = mirror.search_hits("tromso")
    assert hit.message.content == "attached the raw table"
    assert hit.session_title == "Weather study"
    assert hit.snippet == "city,temp Tromso,-3"
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["Tromso"]
    assert mirror.count_search("tromso") == 1


def test_hits_carry_a_snippet_with_the_matched_words_marked(mirror):
    session = mirror.create_session("Long")
    text = (
        ("filler words here " * 30)
        + "the Café closed early and the CAFE reopened "
        + ("tail " * 60)
    )
    session.send(text)
    session.save()
    (hit,) = mirror.search_hits("café")
    assert hit.snippet.startswith("…") and hit.snippet.endswith("…")
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["Café", "CAFE"]
    assert len(hit.snippet) < 200


def test_any_text_is_a_safe_query(seeded):
    mirror, *_ = seeded
    for query in ['"', "AND OR NOT", "NEAR(a b)", "*", "oslo -cold", "(", "'; DROP TABLE messages"]:
        mirror.search(query)
        mirror.count_search(query)
    assert mirror.search("") == [] and mirror.count_search("   ") == 0


@pytest.mark.parametrize(
    "options, error",
    [
        ({"role": "robot"}, ValueError),
        ({"tag": "../x"}, InvalidIdError),
        ({"session_id": "a/b"}, InvalidIdError),
        ({"since": datetime(2024, 1, 1)}, ValueError),  # naive
        ({"until": "2024-01-01"}, TypeError),
        ({"limit": -1}, ValueError),
        ({"offset": "2"}, ValueError),
    ],
)
def test_bad_filters_are_clear_errors(seeded, options, error):
    mirror, *_ = seeded
    with pytest.raises(error):
        mirror.search("oslo", **options)
    if "limit" not in options and "offset" not in options:
        with pytest.raises(error):
            mirror.count_search("oslo", **options)
