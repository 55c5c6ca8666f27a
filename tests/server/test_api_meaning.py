"""``GET /activemirror/api/search?mode=meaning``: hits ranked by meaning, with scores and the
same filters; a bad mode or a blank text is a 400."""

from __future__ import annotations

import pytest

pytest.importorskip("wordllama", reason="the [semantic] extra (WordLlama) is not installed")

one_store = pytest.mark.parametrize("store", ["default"], indirect=True)


def seed(store):
    mirror = store.open()
    log = mirror.create_session("Log", tags=["weather"])
    for text in ["Bought coffee beans", "Oslo had a very wet autumn", "Fixed the parser bug"]:
        log.send(text)
    log.save()
    other = mirror.create_session("Other")
    other.send("The cat sat on the mat")
    other.save()
    return log, other


@one_store
async def test_meaning_ranks_by_meaning_with_scores(store, api):
    log, other = seed(store)
    status, body, _ = await api(
        "search", params={"q": "how much rain falls in Norway", "mode": "meaning"}
    )
    assert status == 200
    assert body["hits"][0]["message"]["content"] == "Oslo had a very wet autumn"
    scores = [hit["score"] for hit in body["hits"]]
    assert scores == sorted(scores, reverse=True) and body["total"] == 4
    _, words, _ = await api("search", params={"q": "autumn"})
    assert words["hits"][0]["score"] is None
    _, tagged, _ = await api("search", params={"q": "rain", "mode": "meaning", "tag": "weather"})
    assert {hit["session_id"] for hit in tagged["hits"]} == {log.id}
    _, page, _ = await api(
        "search", params={"q": "rain", "mode": "meaning", "limit": 2, "offset": 2}
    )
    assert len(page["hits"]) == 2


@one_store
@pytest.mark.parametrize(
    "params", [{"q": "rain", "mode": "vibes"}, {"q": "   ", "mode": "meaning"},
               {"q": "rain", "mode": "meaning", "limit": 500, "offset": 900}]
)  # fmt: skip
async def test_a_bad_mode_or_blank_text_is_a_400(store, api, params):
    seed(store)
    status, body, _ = await api("search", params=params)
    assert status == 400 and body["message"]
