"""History from other tools (``mirror.import_from``) against files the tools wrote
themselves: IPython's history, llm's logs (both layouts) and a jupyterlab-chat file — on
every store, with importing again, and every kind of bad input."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest
from history_tools import (
    ipython_history,
    legacy_llm_logs,
    live_ipython,
    llm,
    llm_turn_times,
    write_chat,
)

from activemirror_jupyter import ActiveMirror, ImportReport, InvalidImportError
from activemirror_jupyter.core.ids import validate_id
from activemirror_jupyter.core.transfer.importers import IMPORTERS

CELLS = ["x = 1", "x + 41", "%time y = 2", "print('hi')"]


@pytest.fixture(scope="module")
def ipython_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """IPython's history: two sessions with input and, between them, one without."""
    folder = tmp_path_factory.mktemp("ipython-history")
    return ipython_history(folder, [CELLS, [], ["z = 'second'", "z.upper()"]])


@pytest.fixture
def history(ipython_file: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "history.sqlite"
    shutil.copyfile(ipython_file, copy)
    return copy


def messages_of(mirror: ActiveMirror, tag: str) -> dict[str, list]:
    """Each session tagged ``tag``, by title, with its saved messages."""
    return {s.title: mirror.saved_messages(s.session_id) for s in mirror.list_sessions(tag=tag)}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- IPython --------------------------------------------------------------------------------


def test_ipython_sessions_become_sessions_of_cells_with_their_outputs(mirror, history):
    report = mirror.import_from("ipython", history)
    assert report == ImportReport(sessions=2, messages=6, skipped=1)
    with sqlite3.connect(history) as db:
        starts = [row[0] for row in db.execute("SELECT start FROM sessions ORDER BY session")]
    sessions = sorted(mirror.list_sessions(tag="ipython"), key=lambda s: s.created_at)
    assert [s.tags for s in sessions] == [("ipython",), ("ipython",)]
    # titled with its start time (IPython's local time, as it logged it)
    assert [s.title for s in sessions] == [f"IPython {t[:19]}" for t in (starts[0], starts[2])]
    first = mirror.saved_messages(sessions[0].session_id)
    assert [m.content for m in first] == CELLS  # as typed: %time, not get_ipython()…
    assert {m.role for m in first} == {"system"}
    assert [m.metadata for m in first] == [
        {"kind": "cell", "execution_count": n} for n in (1, 2, 3, 4)
    ]
    assert first[1].attachment("out-1").read() == b"42"
    assert first[1].attachment("out-1").mime_type == "text/plain"
    assert [m.attachments for m in first if m is not first[1]] == [(), (), ()]
    second = mirror.saved_messages(sessions[1].session_id)
    assert [m.content for m in second] == ["z = 'second'", "z.upper()"]
    assert second[1].attachment("out-1").read() == b"'SECOND'"
    assert sessions[0].metadata["source"] == {
        "path": str(history.resolve()),
        "id": 1,
        "started": starts[0],
    }
    for message in first + second:
        validate_id(message.id)


def test_the_default_is_the_current_profiles_history(history, monkeypatch, tmp_path):
    from IPython.paths import get_ipython_dir

    folder = tmp_path / "ipython-folder"
    monkeypatch.setenv("IPYTHONDIR", str(folder))
    (folder / "profile_default").mkdir(parents=True)
    shutil.copyfile(history, folder / "profile_default" / "history.sqlite")
    assert Path(get_ipython_dir()) == folder  # IPython's own rule says the same
    with ActiveMirror("memory") as mirror:
        assert mirror.import_from("ipython").messages == 6
    monkeypatch.delenv("IPYTHONDIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(FileNotFoundError, match=r"home/\.ipython/profile_default/history"):
        ActiveMirror("memory").import_from("ipython")


def test_ipython_history_is_read_while_ipython_writes_it_and_again_adds_only_what_is_new(
    mirror, tmp_path
):
    folder = tmp_path / "live-ipython"
    with live_ipython(folder, ["a = 1", "a + 1"]) as run:
        path = folder / "profile_default" / "history.sqlite"
        first = mirror.import_from("ipython", path)
        assert (first.sessions, first.messages) == (1, 2)
        run("a + 2")
        run("!flush")
        second = mirror.import_from("ipython", path)
        run("!new")
        run("b = 'new session'")
        run("!flush")
        third = mirror.import_from("ipython", path)
    assert (second.sessions, second.messages) == (1, 1)
    assert second.session_ids == first.session_ids  # added to the same session
    assert (third.sessions, third.messages) == (1, 1)
    assert third.session_ids != first.session_ids
    assert mirror.import_from("ipython", path) == ImportReport(0, 0, 0)
    cells = [
        [m.content for m in mirror.saved_messages(s.session_id)]
        for s in mirror.list_sessions(tag="ipython")
    ]
    assert sorted(cells) == [["a = 1", "a + 1", "a + 2"], ["b = 'new session'"]]
    assert mirror.count_sessions() == 2


# -- llm ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llm_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """llm's logs: a conversation with a system prompt continued once, another, and one
    llm left unnamed (its name comes from its prompt, which is empty)."""
    folder = tmp_path_factory.mktemp("llm-user")
    llm(folder, "-m", "echo", "-s", "Be brief.", "What is 2+2?")
    llm(folder, "-c", "And 3+3?")
    llm(folder, "-m", "echo", "Another topic " * 500)
    llm(folder, "-m", "echo", "")
    return folder / "logs.db"


@pytest.fixture
def llm_dir(llm_file: Path, tmp_path: Path) -> Path:
    """A copy of llm's user folder with those logs, for llm to go on writing."""
    folder = tmp_path / "llm-user"
    folder.mkdir()
    shutil.copyfile(llm_file, folder / "logs.db")
    return folder


def conversation(path: Path, name: str) -> str:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT id FROM threads WHERE name = ?", (name,)).fetchone()[0]


def test_llm_conversations_become_sessions_at_the_logged_times(mirror, llm_dir):
    report = mirror.import_from("llm", llm_dir / "logs.db")
    assert (report.sessions, report.messages, report.skipped) == (3, 8, 0)
    sessions = messages_of(mirror, "llm")
    assert "What is 2+2?" in sessions and ("Another topic " * 2).strip() in str(list(sessions))
    talk = sessions["What is 2+2?"]
    assert [(m.role, m.content) for m in talk if m.role != "assistant"] == [
        ("system", "Be brief."),
        ("user", "What is 2+2?"),
        ("user", "And 3+3?"),
    ]
    answers = [m for m in talk if m.role == "assistant"]
    assert [m.metadata for m in answers] == [{"model": "echo"}, {"model": "echo"}]
    assert '"prompt": "And 3+3?"' in answers[1].content  # the echo model's reply
    logged = sorted(datetime.fromisoformat(t) for t in llm_turn_times(llm_dir / "logs.db").values())
    assert sorted({m.timestamp for ms in sessions.values() for m in ms}) == logged
    assert [m.timestamp for m in talk] == [logged[0]] * 3 + [logged[1]] * 2


def test_llm_again_adds_only_new_prompts_and_conversations(mirror, llm_dir):
    path = llm_dir / "logs.db"
    first = mirror.import_from("llm", path)
    llm(llm_dir, "-c", "--cid", conversation(path, "What is 2+2?"), "And 4+4?")
    llm(llm_dir, "-m", "echo", "elsewhere")
    again = mirror.import_from("llm", path)
    assert (again.sessions, again.messages) == (2, 4)
    assert set(first.session_ids) & set(again.session_ids)  # added to the first one
    assert mirror.import_from("llm", path) == ImportReport(0, 0, 0)
    sessions = messages_of(mirror, "llm")
    assert [m.content for m in sessions["What is 2+2?"] if m.role == "user"] == [
        "What is 2+2?",
        "And 3+3?",
        "And 4+4?",
    ]
    assert len(sessions["What is 2+2?"]) == 7 and len(sessions["elsewhere"]) == 2


def test_an_unnamed_llm_conversation_gets_a_title(mirror, llm_dir):
    path = llm_dir / "logs.db"
    unnamed = conversation(path, "")  # llm names a conversation after its prompt: empty
    mirror.import_from("llm", path)
    (session,) = [
        s for s in mirror.list_sessions(tag="llm") if s.metadata["source"]["id"] == unnamed
    ]
    assert session.title.startswith("llm conversation 20")
    assert [m.role for m in mirror.saved_messages(session.session_id)] == ["assistant"]


OLD = [
    {
        "id": "01h5aaaaaaaaaaaaaaaaaaaaa1",
        "conversation_id": "01h5cccccccccccccccccccccc",
        "prompt": "first old prompt",
        "system": "You are old.",
        "response": "old answer 1",
        "datetime_utc": "2023-07-01T10:00:00.000000",
    },
    {
        "id": "01h5aaaaaaaaaaaaaaaaaaaaa2",
        "conversation_id": "01h5cccccccccccccccccccccc",
        "prompt": "second old prompt",
        "system": None,
        "response": "old answer 2",
        "datetime_utc": "2023-07-01T10:01:00.000000",
        "model": "gpt-3.5-turbo",
    },
    {
        "id": "01h5aaaaaaaaaaaaaaaaaaaaa3",
        "conversation_id": "01h5dddddddddddddddddddddd",
        "prompt": "unnamed",
        "system": None,
        "response": "yes",
        "datetime_utc": "2023-07-02 09:00:00.5",
    },
]


@pytest.fixture(scope="module")
def legacy_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("old-llm")
    return legacy_llm_logs(folder / "logs.db", OLD, {"01h5cccccccccccccccccccccc": "Old chat"})


def test_the_older_responses_layout_and_a_conversation_continued_after_llm_upgraded(
    mirror, legacy_file, tmp_path
):
    llm_dir = tmp_path / "old-llm"
    llm_dir.mkdir()
    path = llm_dir / "logs.db"
    shutil.copyfile(legacy_file, path)
    report = mirror.import_from("llm", path)
    assert (report.sessions, report.messages) == (2, 7)
    old = messages_of(mirror, "llm")
    assert sorted(old) == ["Old chat", "unnamed"]  # a conversation without a name row
    assert [(m.role, m.content) for m in old["Old chat"]] == [
        ("system", "You are old."),
        ("user", "first old prompt"),
        ("assistant", "old answer 1"),
        ("user", "second old prompt"),
        ("assistant", "old answer 2"),
    ]
    assert old["Old chat"][4].metadata == {"model": "gpt-3.5-turbo"}
    assert old["Old chat"][0].timestamp == datetime(2023, 7, 1, 10, tzinfo=timezone.utc)
    # llm upgrades the file (its thread tables) and continues the old conversation there
    llm(llm_dir, "-c", "--cid", "01h5cccccccccccccccccccccc", "a new prompt")
    again = mirror.import_from("llm", path)
    assert (again.sessions, again.messages) == (1, 2)
    chat = messages_of(mirror, "llm")["Old chat"]
    assert [m.content for m in chat if m.role == "user"] == [
        "first old prompt",
        "second old prompt",
        "a new prompt",
    ]
    assert mirror.import_from("llm", path) == ImportReport(0, 0, 0)


# -- jupyterlab-chat ------------------------------------------------------------------------


def team_chat(chat) -> None:
    from jupyterlab_chat.models import NewMessage, User

    chat.set_id("b8a5e1f6-0000-4000-8000-000000000001")
    chat.set_user(User(username="u-alice", name="alice", display_name="Alice Smith"))
    chat.set_user(User(username="u-bot", name="Jupyternaut", display_name="Jupyternaut", bot=True))
    chat.add_message(NewMessage(body="Is the model converging?", sender="u-alice"))
    chat.add_message(NewMessage(body="Yes: the loss falls.", sender="u-bot"))
    typo = chat.add_message(NewMessage(body="Thnaks", sender="u-alice"))
    edited = chat.get_message(typo)
    edited.body, edited.edited = "Thanks", True
    chat.update_message(edited)
    gone = chat.add_message(NewMessage(body="my password is hunter2", sender="u-alice"))
    deleted = chat.get_message(gone)
    deleted.body, deleted.deleted = "", True
    chat.update_message(deleted)
    chat.add_message(NewMessage(body="Hello from outside", sender="u-guest"))


def test_a_chat_file_becomes_one_session_of_its_messages(mirror, tmp_path):
    path = write_chat(tmp_path / "Team notes.chat", team_chat)
    report = mirror.import_from("jupyter-chat", path)
    assert (report.sessions, report.messages, report.skipped) == (1, 4, 0)
    (session,) = mirror.list_sessions(tag="jupyter-chat")
    assert session.title == "Team notes"
    assert session.metadata["source"] == {
        "path": str(path.resolve()),
        "id": "b8a5e1f6-0000-4000-8000-000000000001",
    }
    messages = mirror.saved_messages(session.session_id)
    assert [(m.role, m.metadata["sender"], m.content) for m in messages] == [
        ("user", "Alice Smith", "Is the model converging?"),
        ("assistant", "Jupyternaut", "Yes: the loss falls."),
        ("user", "Alice Smith", "Thanks"),  # its last edit
        ("user", "u-guest", "Hello from outside"),  # a sender missing from the users
    ]
    assert "hunter2" not in str([m.content for m in messages])  # deleted: left out
    from jupyterlab_chat.ychat import YChat

    chat = YChat()
    chat.set(path.read_text(encoding="utf-8"))
    times = [datetime.fromtimestamp(m.time, timezone.utc) for m in chat.get_messages()]
    assert [m.timestamp for m in messages] == times[:3] + times[4:]


def test_a_chat_again_adds_only_new_messages(mirror, tmp_path):
    from jupyterlab_chat.models import NewMessage

    path = write_chat(tmp_path / "team.chat", team_chat)
    first = mirror.import_from("jupyter-chat", path)

    def more(chat) -> None:
        chat.add_message(NewMessage(body="One more thing", sender="u-alice"))

    write_chat(path, more, start=path.read_text(encoding="utf-8"))
    again = mirror.import_from("jupyter-chat", path)
    assert again == ImportReport(1, 1, 0)
    assert again.session_ids == first.session_ids
    assert mirror.import_from("jupyter-chat", path) == ImportReport(0, 0, 0)
    (session,) = mirror.list_sessions(tag="jupyter-chat")
    assert mirror.saved_messages(session.session_id)[-1].content == "One more thing"


def test_an_empty_chat_is_skipped(mirror, tmp_path):
    path = write_chat(tmp_path / "empty.chat", lambda chat: None)
    assert mirror.import_from("jupyter-chat", path) == ImportReport(0, 0, 1)
    assert mirror.count_sessions() == 0


# -- bad input ------------------------------------------------------------------------------


def test_a_file_of_the_wrong_kind_names_it_and_imports_nothing(history, llm_dir, tmp_path):
    logs = llm_dir / "logs.db"
    chat = write_chat(tmp_path / "a.chat", team_chat)
    notebook = tmp_path / "analysis.chat"
    notebook.write_text('{"cells": [], "metadata": {}, "nbformat": 4}', encoding="utf-8")
    text = tmp_path / "notes.txt"
    text.write_text("just some notes\n", encoding="utf-8")
    wrong = [
        ("ipython", logs, "not an IPython history"),
        ("ipython", chat, "not an IPython history"),
        ("ipython", text, "not an IPython history"),
        ("llm", history, "not an llm logs database"),
        ("llm", chat, "not an llm logs database"),
        ("jupyter-chat", logs, "not a jupyterlab-chat file"),
        ("jupyter-chat", history, "not a jupyterlab-chat file"),
        ("jupyter-chat", notebook, "not a jupyterlab-chat file"),
    ]
    with ActiveMirror("memory") as mirror:
        for source, path, says in wrong:
            before = digest(path)
            with pytest.raises(InvalidImportError, match=says) as info:
                mirror.import_from(source, path)
            assert str(path.resolve()) in str(info.value)
            assert "nothing was imported" in str(info.value)
            assert digest(path) == before
        assert mirror.count_sessions() == 0


def test_a_truncated_or_damaged_database_imports_nothing(mirror, history, llm_dir, tmp_path):
    for source, original in (("ipython", history), ("llm", llm_dir / "logs.db")):
        data = original.read_bytes()
        for name, damaged in (
            ("truncated", data[: len(data) // 2]),
            ("zeroed", data[:1024] + bytes(len(data) - 1024)),
        ):
            path = tmp_path / f"{source}-{name}.db"
            path.write_bytes(damaged)
            with pytest.raises(InvalidImportError, match="nothing was imported") as info:
                mirror.import_from(source, path)
            assert str(path) in str(info.value)
    assert mirror.count_sessions() == 0


def test_a_chat_message_of_the_wrong_shape_is_named(tmp_path):
    path = tmp_path / "odd.chat"
    path.write_text(
        '{"messages": [{"id": "m1", "body": "hi", "sender": "a", "time": "yesterday"}], '
        '"users": {}}',
        encoding="utf-8",
    )
    with pytest.raises(InvalidImportError, match=r"messages\[0\]\.time"):
        ActiveMirror("memory").import_from("jupyter-chat", path)


def test_a_source_that_does_not_exist_is_not_created(tmp_path):
    mirror = ActiveMirror("memory")
    for source in IMPORTERS:
        path = tmp_path / "nowhere" / "history.sqlite"
        with pytest.raises(FileNotFoundError, match="does not exist"):
            mirror.import_from(source, path)
        assert not path.exists() and not path.parent.exists()
    with pytest.raises(ValueError, match="name the .chat file"):
        mirror.import_from("jupyter-chat")
    with pytest.raises(InvalidImportError, match="is a folder"):
        mirror.import_from("llm", tmp_path)


def test_an_unknown_source_lists_the_known_ones():
    with pytest.raises(ValueError, match="use one of ipython, llm, jupyter-chat") as info:
        ActiveMirror("memory").import_from("zsh-history")
    assert "'zsh-history'" in str(info.value)


def test_sources_are_only_read(history, tmp_path):
    """The file is opened read-only: not changed, and nothing made beside it."""
    before = (digest(history), sorted(p.name for p in history.parent.iterdir()))
    ActiveMirror("memory").import_from("ipython", history)
    assert (digest(history), sorted(p.name for p in history.parent.iterdir())) == before


def test_a_sealed_imported_session_is_left_as_it_is(tmp_path):
    from jupyterlab_chat.models import NewMessage

    path = write_chat(tmp_path / "team.chat", team_chat)
    mirror = ActiveMirror("memory")
    (sid,) = mirror.import_from("jupyter-chat", path).session_ids
    mirror.load_session(sid).seal()
    write_chat(
        path,
        lambda chat: chat.add_message(NewMessage(body="later", sender="u-alice")),
        start=path.read_text(encoding="utf-8"),
    )
    assert mirror.import_from("jupyter-chat", path) == ImportReport(0, 0, 1)
    assert mirror.saved_count(sid) == 4


def test_text_that_is_not_utf8_or_holds_nul_is_kept_with_replacements(history):
    with sqlite3.connect(history) as db:  # as a damaged disk or another writer might leave it
        db.execute(
            "UPDATE history SET source_raw = CAST(X'6162FF00' AS TEXT) WHERE session = 1 "
            "AND line = 1"
        )
    mirror = ActiveMirror("memory")
    assert mirror.import_from("ipython", history).messages == 6
    first = min(mirror.list_sessions(tag="ipython"), key=lambda s: s.created_at)
    assert mirror.saved_messages(first.session_id)[0].content == "ab\ufffd\ufffd"
