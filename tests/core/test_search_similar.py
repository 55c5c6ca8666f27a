"""Search by meaning (0.3): ``mirror.search_similar`` over every store with the real packaged
WordLlama model — offline, vectors kept beside the messages, made for what is new, never
mixed across models, never half-written."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from activemirror_jupyter import ActiveMirror, import_session
from activemirror_jupyter.core.search.model import EXTRA, load_model
from activemirror_jupyter.core.search.similar import MeaningIndex

pytest.importorskip("wordllama", reason="the [semantic] extra (WordLlama) is not installed")

RAIN = "Oslo had a very wet autumn"
UNRELATED = [
    "The quarterly revenue grew by ten percent",
    "I fixed the off-by-one bug in the parser",
    "Meeting with Anna about the grant on Tuesday",
    "Bought coffee beans and oat milk",
    "The cat sat on the mat all afternoon",
    "Refactored the plotting helpers into their own module",
]
REPO = Path(__file__).resolve().parents[2]


def notes(mirror: ActiveMirror, texts: list[str], title: str = "Log", **kw) -> str:
    session = mirror.create_session(title)
    for text in texts:
        session.send(text, **kw)
    session.save()
    return session.id


def test_a_note_in_other_words_is_found_first(mirror_factory):
    mirror = mirror_factory()
    notes(mirror, [*UNRELATED[:3], RAIN, *UNRELATED[3:]])
    hits = mirror_factory().search_similar("how much rain falls in Norway")
    assert hits[0].message.content == RAIN
    assert hits[0].session_title == "Log" and hits[0].snippet == RAIN
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(isinstance(h.score, float) and -1.0 <= h.score <= 1.0 for h in hits)
    assert hits[0].score > hits[1].score
    assert len(mirror.search_similar("rain", limit=3)) == 3
    assert mirror.search_hits("autumn")[0].score is None  # word search has no score


def test_the_filters_are_the_word_search_s(mirror_factory):
    mirror = mirror_factory()
    first = notes(mirror, [RAIN], "Weather")
    second = notes(mirror, ["Bergen is the rainiest city in Europe"], "More weather")
    notes(mirror, ["Rain again in Oslo today"], "Assistant said", role="assistant")
    session = mirror.load_session(second)
    session.tags = ["norway"]
    session.save()
    query = "rain in Norway"
    assert {h.message.session_id for h in mirror.search_similar(query, session_id=first)} == {first}
    assert {h.message.session_id for h in mirror.search_similar(query, tag="norway")} == {second}
    assert [h.message.role for h in mirror.search_similar(query, role="assistant")] == ["assistant"]
    assert {h.message.role for h in mirror.search_similar(query, role="user")} == {"user"}
    now = datetime.now(timezone.utc)
    assert len(mirror.search_similar(query, since=now - timedelta(hours=1))) == 3
    assert mirror.search_similar(query, since=now + timedelta(hours=1)) == []
    assert mirror.search_similar(query, until=now - timedelta(hours=1)) == []
    assert mirror.search_similar(query, tag="nothing-tagged") == []
    assert mirror.search_similar(query, session_id="session_unknown") == []
    assert mirror.search_similar(query, limit=0) == []


@pytest.mark.parametrize("bad", ["", "   ", "\n\t "])
def test_an_empty_query_is_a_clear_error(mirror, bad):
    with pytest.raises(ValueError, match="blank"):
        mirror.search_similar(bad)


def test_bad_filters_and_types_are_refused(mirror):
    with pytest.raises(TypeError):
        mirror.search_similar(None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="role"):
        mirror.search_similar("rain", role="robot")
    with pytest.raises(ValueError, match="aware"):
        mirror.search_similar("rain", since=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="limit"):
        mirror.search_similar("rain", limit=-1)


def test_an_empty_store_a_huge_query_and_any_script(mirror_factory):
    mirror = mirror_factory()
    assert mirror.search_similar("rain") == []
    notes(mirror, [RAIN, "東京は今日も雨でした", "В Москве шёл снег", "🌧️☔", ""])
    assert len(mirror.search_similar("x" * 2**20 + " rain", limit=5)) == 5  # 1 MB
    for query in ("雨", "дождь", "مطر", "🌧️", "\u200b"):
        assert len(mirror.search_similar(query, limit=10)) == 5


def test_deleted_messages_are_never_found_and_edits_are_embedded_again(mirror_factory):
    mirror = mirror_factory()
    gone = notes(mirror, [RAIN], "Gone")
    kept = notes(mirror, UNRELATED, "Kept")
    assert mirror.search_similar("rain in Norway")[0].message.session_id == gone
    assert mirror.delete_session(gone)
    assert gone not in {h.message.session_id for h in mirror.search_similar("rain in Norway")}
    again = mirror_factory()  # another process's view
    assert gone not in {h.message.session_id for h in again.search_similar("rain in Norway")}
    # The same message ids come back with other text: only their vectors are made again.
    session = mirror.load_session(kept)
    data = json.loads(session.export("json"))
    data["messages"][0]["content"] = "Heavy rainfall flooded Oslo in October"
    for message in data["messages"]:  # an edited export carries no hashes (chained on save)
        message.pop("hash", None)
    data.pop("head", None)
    import_session(data, mirror, on_conflict="replace")
    index = mirror._meaning
    assert index.update() == 1  # one text changed: one vector made
    assert mirror.search_similar("rain in Norway")[0].message.content.startswith("Heavy rainfall")
    assert index.update() == 0


def test_vectors_outlive_the_process_and_are_made_only_for_what_is_new(mirror_factory):
    mirror = mirror_factory()
    sid = notes(mirror, UNRELATED)
    mirror.search_similar("rain")
    assert mirror._meaning.update() == 0
    session = mirror.load_session(sid)
    session.send(RAIN)
    session.save()
    assert mirror._meaning.update() == 1
    reopened = mirror_factory()  # its vectors are read, not made again
    index = MeaningIndex(reopened.store, reopened.store.vectors(), load_model())
    assert index.update() == 0
    assert index.update() == 0  # and an unchanged store is not read again


def test_after_a_search_only_what_another_process_changed_is_read_and_embedded(
    mirror_factory,
):
    mirror = mirror_factory()
    kept = notes(mirror, UNRELATED[:3], "Kept")
    gone = notes(mirror, UNRELATED[3:], "Gone")
    assert mirror.search_similar("rain in Norway")  # the index is in RAM now
    elsewhere = mirror_factory()
    wet = notes(elsewhere, [RAIN], "Weather")
    elsewhere.delete_session(gone)
    assert mirror._meaning.update() == 1  # only the new note: the others' vectors are kept
    hits = mirror.search_similar("rain in Norway")
    assert hits[0].message.session_id == wet
    assert gone not in {h.message.session_id for h in hits}
    assert {h.message.session_id for h in hits} == {kept, wet}
    only = mirror.search_similar("rain in Norway", session_id=wet)
    assert [h.message.content for h in only] == [RAIN]  # filters see the new session too
    kept_only = mirror.search_similar("rain in Norway", session_id=kept)
    assert {h.message.content for h in kept_only} == set(UNRELATED[:3])


def test_vectors_of_another_model_are_made_again_never_mixed(tmp_path):
    db = tmp_path / "conversations.db"
    with ActiveMirror("sqlite", db_path=db) as mirror:
        notes(mirror, [RAIN, *UNRELATED])
        mirror.search_similar("rain")
    with sqlite3.connect(db) as raw:  # as an older WordLlama would have left them
        raw.execute(
            "UPDATE message_vectors SET model = 'wordllama-0.3/old', vector = zeroblob(512)"
        )
    with ActiveMirror("sqlite", db_path=db) as mirror:
        assert mirror.search_similar("how much rain falls in Norway")[0].message.content == RAIN
    with sqlite3.connect(db) as raw:
        models = raw.execute("SELECT DISTINCT model FROM message_vectors").fetchall()
    assert models == [(load_model().name,)]


def test_a_text_edited_behind_the_api_is_embedded_again(tmp_path):
    db = tmp_path / "conversations.db"
    with ActiveMirror("sqlite", db_path=db) as mirror:
        notes(mirror, UNRELATED)
        mirror.search_similar("rain")
        with sqlite3.connect(db) as raw:
            raw.execute("UPDATE messages SET content = ? WHERE content = ?", (RAIN, UNRELATED[2]))
        assert mirror.search_similar("how much rain falls in Norway")[0].message.content == RAIN
        assert mirror._meaning.update() == 0


def test_the_model_is_the_packaged_one_and_embeds_as_wordllama_does():
    from tokenizers import Tokenizer
    from wordllama.inference import WordLlamaInference

    model = load_model()
    assert model.name.startswith("wordllama-0.4.0") and model.dimensions == 256
    texts = [RAIN, "", "東京は雨", "x" * 100_000]
    tokenizer = Tokenizer.from_str(model.tokenizer.to_str())  # theirs pads: a copy of ours
    theirs = WordLlamaInference(model.table, tokenizer).embed(texts[:1] + texts[2:], norm=True)
    ours = model.embed(texts)
    assert abs(ours[[0, 2, 3]] - theirs).max() < 1e-4
    assert not ours[1].any()  # no tokens: no direction


def _run(code: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "XDG_"))}
    pythonpath = [str(REPO), env.get("PYTHONPATH", "")]
    env.update(
        HOME=str(home),
        ACTIVEMIRROR_HOME=str(tmp_path / "data"),
        PYTHONPATH=os.pathsep.join(p for p in pythonpath if p),
    )
    return env


def test_nothing_touches_the_network_with_an_empty_home(tmp_path):
    result = _run(
        """
        import socket
        def refuse(*args, **kwargs):
            raise AssertionError(f"network use: {args!r}")
        socket.socket.connect = socket.socket.connect_ex = refuse
        socket.create_connection = socket.getaddrinfo = refuse
        from activemirror_jupyter import ActiveMirror
        mirror = ActiveMirror()
        session = mirror.create_session("Log")
        for text in ["The cat sat on the mat", "Oslo had a very wet autumn", "Bought milk"]:
            session.send(text)
        session.save()
        print(mirror.search_similar("how much rain falls in Norway")[0].message.content)
        """,
        _env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == RAIN
    assert not any((tmp_path / "home").iterdir())  # no cache, no download left behind
    assert "INFO" not in result.stderr  # WordLlama's logging set-up is undone


def test_without_the_extra_an_import_error_names_it(tmp_path):
    result = _run(
        """
        import sys
        sys.modules["wordllama"] = None  # as if the extra were not installed
        from activemirror_jupyter import ActiveMirror
        mirror = ActiveMirror("memory")
        mirror.create_session("Log").send("rain")
        try:
            mirror.search_similar("rain")
        except ImportError as error:
            print(error)
        """,
        _env(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    assert EXTRA in result.stdout and "pip install" in result.stdout


@pytest.mark.parametrize("storage_type", ["sqlite", "json"])
def test_kill_9_while_vectors_are_made_leaves_nothing_half_written(tmp_path, storage_type):
    env = _env(tmp_path)
    opened = f"ActiveMirror({storage_type!r})"
    made = _run(
        f"""
        from activemirror_jupyter import ActiveMirror
        mirror = {opened}
        session = mirror.create_session("Many")
        for i in range(30_000):
            session.send(f"note {{i}} about experiment {{i * 7}} and its results")
        session.send("Oslo had a very wet autumn")
        session.save()
        """,
        env,
    )
    assert made.returncode == 0, made.stderr
    # Make vectors in a process killed once the first batch is written.
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from activemirror_jupyter import ActiveMirror\n{opened}.search_similar('rain')",
        ],
        env=env,
        stderr=subprocess.DEVNULL,
    )
    data = tmp_path / "data"
    try:
        for _ in range(600):
            if process.poll() is not None or _first_batch_written(data, storage_type):
                break
            time.sleep(0.05)
        killed_early = process.poll() is None
        process.kill()
    finally:
        process.wait()
    # The store opens, the vectors written are whole, and the rest are made.
    where = {"db_path": data / "conversations.db", "storage_path": data / "conversations"}
    with ActiveMirror(storage_type, **where) as mirror:
        assert (
            mirror.search_similar("how much rain falls in Norway", limit=1)[0].message.content
            == RAIN
        )
        assert mirror._meaning.update() == 0
    with ActiveMirror(storage_type, **where) as mirror:
        mirror.search_similar("rain")
        assert mirror._meaning.update() == 0
    assert killed_early, "the process finished before it was killed: nothing was tested"


def _first_batch_written(data: Path, storage_type: str) -> bool:
    if storage_type == "json":
        return (data / "conversations" / "vectors.bin").exists()
    try:
        with sqlite3.connect(
            f"file:{data / 'conversations.db'}?mode=ro", uri=True, timeout=0.1
        ) as raw:
            return raw.execute("SELECT count(*) FROM message_vectors").fetchone()[0] > 0
    except sqlite3.Error:
        return False
