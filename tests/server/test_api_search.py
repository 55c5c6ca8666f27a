"""``GET /activemirror/api/search``: hits with snippets and marked words, the filters, paging,
and hostile query strings answered as a 400 or as plain words — never a 500."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest
from waiting import wait_for_clock_past

from activemirror_jupyter.core.models import Attachment

one_store = pytest.mark.parametrize("store", ["default"], indirect=True)


def seed(store):
    """Two sessions: a tagged 'Ferns' one with notes by several roles, and 'Moss'."""
    mirror = store.open()
    ferns = mirror.create_session("Ferns <b>bold</b>", tags=["botany"])
    ferns.send("The fronds of the bracken uncurl in spring.")
    ferns.send("Bracken spores spread by wind", role="assistant")
    ferns.send("Unrelated note about lunch", role="system")
    ferns.save()
    wait_for_clock_past(ferns.updated_at)
    moss = mirror.create_session("Moss")
    moss.send("Moss grows beside the bracken on the north side.")
    moss.save()
    return mirror, ferns, moss


async def test_hits_carry_the_session_a_snippet_and_the_marked_words(store, api):
    _, ferns, moss = seed(store)

    status, body, _ = await api("search", params={"q": "BRACKEN"})

    assert status == 200
    assert body["total"] == 3
    assert [h["session_id"] for h in body["hits"]] == [moss.id, ferns.id, ferns.id]
    newest = body["hits"][0]
    assert newest["session_title"] == "Moss"
    assert newest["message"]["content"] == "Moss grows beside the bracken on the north side."
    assert newest["message"]["session_id"] == moss.id
    assert len(newest["message"]["hash"]) == 64
    for hit in body["hits"]:
        marked = [hit["snippet"][s:e] for s, e in hit["highlights"]]
        assert marked and all(word.lower() == "bracken" for word in marked)
    assert body["hits"][1]["session_title"] == "Ferns <b>bold</b>"  # text, as stored


async def test_filters_narrow_the_hits_and_the_total(store, api):
    _, ferns, moss = seed(store)

    async def found(**params):
        _, body, _ = await api("search", params={"q": "bracken", **params})
        assert body["total"] == len(body["hits"])
        return [h["message"]["content"][:12] for h in body["hits"]]

    assert await found(role="assistant") == ["Bracken spor"]
    assert await found(tag="botany") == ["Bracken spor", "The fronds o"]
    assert await found(session_id=moss.id) == ["Moss grows b"]
    first = ferns.get_messages()[0].timestamp
    assert await found(until=first.strftime("%Y-%m-%dT%H:%M:%S.%fZ")) == []
    assert len(await found(since=first.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00"))) == 3
    day = first.date()
    assert len(await found(since=day.isoformat())) == 3
    assert await found(since=(day + timedelta(days=2)).isoformat()) == []
    assert len(await found(until=(day + timedelta(days=1)).isoformat())) == 3


async def test_search_pages_with_a_total_of_every_match(store, api):
    mirror = store.open()
    session = mirror.create_session("Many")
    for i in range(12):
        session.send(f"quartz sample {i}")
    session.save()

    _, first, _ = await api("search", params={"q": "quartz", "limit": 5})
    _, last, _ = await api("search", params={"q": "quartz", "limit": 5, "offset": 10})

    assert first["total"] == last["total"] == 12
    assert [h["message"]["content"] for h in first["hits"]] == [
        f"quartz sample {i}" for i in range(11, 6, -1)
    ]
    assert [h["message"]["content"] for h in last["hits"]] == ["quartz sample 1", "quartz sample 0"]


async def test_text_attachments_are_searched_and_snippeted(store, api):
    mirror = store.open()
    session = mirror.create_session("Data")
    csv = Attachment.from_bytes("df", "text/csv", b"site,species\nA,obsidianwort\n")
    session.send("the survey table", attachments=[csv])
    session.save()

    _, body, _ = await api("search", params={"q": "obsidianwort"})

    assert body["total"] == 1
    hit = body["hits"][0]
    assert hit["message"]["content"] == "the survey table"
    assert hit["message"]["attachments"][0]["name"] == "df"
    assert [hit["snippet"][s:e] for s, e in hit["highlights"]] == ["obsidianwort"]


@one_store
async def test_highlights_count_code_points_in_non_ascii_text(store, api):
    mirror = store.open()
    session = mirror.create_session("Café")
    session.send("🌿 Le café crème, puis CAFÉ noir")
    session.save()

    _, body, _ = await api("search", params={"q": "cafe"})

    hit = body["hits"][0]
    assert [hit["snippet"][s:e] for s, e in hit["highlights"]] == ["café", "CAFÉ"]


HOSTILE_QUERIES = [
    '"unterminated',
    "bracken OR 1=1; DROP TABLE messages; --",
    "NEAR(bracken spring)",
    "bracken*",
    "col:bracken",
    "^bracken",
    "%00bracken",
    "\\' OR \\'1",
    "<script>alert(1)</script> bracken",
    "bracken\u202e\u200b",
    "😀 bracken",
]


@one_store
@pytest.mark.parametrize("query", HOSTILE_QUERIES)
async def test_hostile_queries_are_plain_words(store, api, query):
    seed(store)
    status, body, _ = await api("search", params={"q": query})
    assert status == 200, body
    assert body["total"] == len(body["hits"])


@one_store
async def test_a_query_of_no_words_finds_nothing(store, api):
    seed(store)
    for query in ("", "   ", "!!! ??? ---", "\u0000"):
        status, body, _ = await api("search", params={"q": query})
        assert status == 200
        assert body["total"] == 0 and body["hits"] == []


BAD_SEARCHES = [
    ({}, "q"),
    ({"q": "x" * 1001}, "q is 1,001 characters"),
    ({"q": "x", "role": "root"}, "role must be one of user, assistant, system"),
    ({"q": "x", "tag": "../etc"}, "tag"),
    ({"q": "x", "session_id": "a b"}, "session id"),
    ({"q": "x", "since": "yesterday"}, "since must be a date"),
    ({"q": "x", "since": "2024-13-01"}, "since must be a date"),
    ({"q": "x", "since": "2024-02-30"}, "since must be a date"),
    ({"q": "x", "until": "2024-05-01T08:00:00"}, "until must be a date"),  # no timezone
    ({"q": "x", "until": "2024-05-01T08:00:00+25:00"}, "until must be a date"),
    ({"q": "x", "until": "２０２４-05-01"}, "until must be a date"),  # full-width digits
    ({"q": "x", "limit": "-1"}, "limit"),
    ({"q": "x", "offset": "1e3"}, "offset"),
]


@one_store
@pytest.mark.parametrize(("params", "expected"), BAD_SEARCHES, ids=lambda v: repr(v)[:40])
async def test_bad_search_parameters_are_a_400(store, api, params, expected):
    status, body, _ = await api("search", params=params)
    assert status == 400, body
    assert expected in body["message"]


@one_store
async def test_times_with_offsets_are_understood(store, api):
    seed(store)
    for value in ("2000-01-01T00:00Z", "2000-01-01T01:00:00+01:00", "2000-01-01 00:00:00.5-0130"):
        status, body, _ = await api("search", params={"q": "bracken", "since": value})
        assert status == 200, (value, body)
        assert body["total"] == 3


@one_store
async def test_the_server_and_the_magics_read_a_date_alike(store, api):
    """One parser: each form the sidebar or a script may send finds, over HTTP, what
    ``%mirror_session search --since``/``--until`` finds with the same text."""
    from activemirror_jupyter.magics.args import moment

    mirror, ferns, _ = seed(store)
    second = ferns.get_messages()[1].timestamp  # hits on both sides of it, and on it
    plus_two = second.astimezone(timezone(timedelta(hours=2)))
    values = [
        second.date().isoformat(),
        (second.date() + timedelta(days=1)).isoformat(),
        second.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        second.strftime("%Y-%m-%d %H:%M:%S.%f+00:00"),
        plus_two.strftime("%Y-%m-%dT%H:%M:%S.%f%z"),  # +0200
        plus_two.isoformat(),  # +02:00
    ]
    for value in values:
        for name in ("since", "until"):
            status, body, _ = await api("search", params={"q": "bracken", name: value})
            assert status == 200, (name, value, body)
            assert body["total"] == mirror.count_search("bracken", **{name: moment(value)})
