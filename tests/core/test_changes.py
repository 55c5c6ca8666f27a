"""``mirror.changes(since)``: what any process saved, redacted or deleted after a point —
the one question sync, the sidebar's polling and search by meaning ask a store."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from activemirror_jupyter import ActiveMirror, Changes, import_session
from activemirror_jupyter.core.storage.jsonjournal import FOLD_AT_ONCE_BYTES


def expect(mirror: ActiveMirror, since: str, sessions: set[str], deleted: set[str]) -> None:
    """The answer after ``since`` names ``sessions`` as changed and ``deleted`` as deleted."""
    answer = mirror.changes(since)
    assert not answer.everything
    assert (set(answer.sessions), set(answer.deleted)) == (sessions, deleted)


def two_saved(mirror: ActiveMirror):
    first, second = mirror.create_session("first"), mirror.create_session("second")
    for session in (first, second):
        session.send(f"a note in {session.title}")
        session.save()
    return first, second


def test_a_first_answer_is_everything_and_then_nothing_changed(mirror):
    two_saved(mirror)
    first = mirror.changes()
    assert isinstance(first, Changes) and first.everything and not first.none
    again = mirror.changes(first.token)
    assert again.none and again.token == first.token
    assert again.sessions == () and again.deleted == ()


CHANGES = {
    "a new message": lambda s: (s.send("one more"), s.save()),
    "a new title": lambda s: (setattr(s, "title", "renamed"), s.save()),
    "new tags": lambda s: (setattr(s, "tags", ["later"]), s.save()),
    "a seal": lambda s: s.seal(),
    "a redaction": lambda s: s.redact(s.get_messages()[0].id, "pasted a token"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_each_kind_of_change_names_its_session_and_no_other(mirror, change):
    first, _ = two_saved(mirror)
    token = mirror.changes().token
    CHANGES[change](first)
    expect(mirror, token, {first.id}, set())


def test_a_deleted_session_is_named_as_deleted(mirror):
    first, second = two_saved(mirror)
    token = mirror.changes().token
    mirror.delete_session(first.id)
    second.send("still here")
    second.save()
    expect(mirror, token, {second.id}, {first.id})


def test_a_session_made_again_after_its_delete_is_changed_not_deleted(mirror):
    first, _ = two_saved(mirror)
    token = mirror.changes().token
    exported = first.export("json")
    mirror.delete_session(first.id)
    import_session(exported, mirror)
    expect(mirror, token, {first.id}, set())


def test_another_process_changes_are_seen(mirror_factory):
    here, there = mirror_factory(), mirror_factory()
    first, _ = two_saved(here)
    token = here.changes().token
    elsewhere = there.load_session(first.id)
    elsewhere.send("from the other kernel")
    elsewhere.save()
    expect(here, token, {first.id}, set())
    after = here.changes(here.changes(token).token)
    assert after.none  # and then nothing more


def test_tokens_from_elsewhere_mean_everything(tmp_path):
    with (
        ActiveMirror("sqlite", db_path=tmp_path / "a.db") as a,
        ActiveMirror("json", storage_path=tmp_path / "b") as b,
        ActiveMirror("sqlite", db_path=tmp_path / "c.db") as c,
    ):
        for mirror in (a, b, c):
            two_saved(mirror)
        assert c.changes(a.changes().token).everything  # another SQLite file's numbering
        assert a.changes(b.changes().token).everything
        for junk in ("", "x", "1.2.3.4", "-.-1", f"{a.changes().token}0"):
            assert a.changes(junk).everything and b.changes(junk).everything
        with pytest.raises(TypeError, match="token"):
            a.changes(7)  # type: ignore[arg-type]


def test_an_edit_behind_the_api_is_answered_with_everything(tmp_path):
    db = tmp_path / "c.db"
    with ActiveMirror("sqlite", db_path=db) as mirror:
        first, _ = two_saved(mirror)
        token = mirror.changes().token
        with sqlite3.connect(db) as raw:
            raw.execute("UPDATE sessions SET title = 'edited' WHERE id = ?", (first.id,))
        answer = mirror.changes(token)
        assert answer.everything and answer.token == token
        assert mirror.changes(token).none  # told once


def test_a_json_folder_names_journaled_saves_folds_and_files_another_tool_changed(tmp_path):
    folder = tmp_path / "conversations"
    with ActiveMirror("json", storage_path=folder) as mirror:
        first, second = two_saved(mirror)
        first.send("x" * (FOLD_AT_ONCE_BYTES + 1))  # past the size folded at once
        first.save()
        token = mirror.changes().token
        first.send("journaled")
        first.save()
        assert (folder / ".activemirror-journal.jsonl").stat().st_size > 0
        assert mirror.changes(token).sessions == (first.id,)
    with ActiveMirror("json", storage_path=folder) as reopened:  # the journal folded
        answer = reopened.changes(token)
        assert answer.sessions == (first.id,) and not answer.everything
        token = answer.token
    path = folder / f"{second.id}.json"  # the JavaScript SDK renames a session
    data = json.loads(path.read_text())
    path.write_text(json.dumps({**data, "title": "renamed by the SDK"}))
    with ActiveMirror("json", storage_path=folder) as reopened:
        assert reopened.changes(token).sessions == (second.id,)
        assert reopened.load_session(second.id).title == "renamed by the SDK"


WRITER = """
import sys
from activemirror_jupyter import ActiveMirror

kind, where, name = sys.argv[1:]
option = {"sqlite": "db_path", "json": "storage_path", "postgresql": "dsn"}[kind]
with ActiveMirror(kind, **{option: where}) as mirror:
    for i in range(25):
        session = mirror.create_session(f"{name} {i}")
        session.send("a note")
        session.save()
        if i % 5 == 4:
            mirror.delete_session(session.id)
print("ok")
"""


@pytest.mark.parametrize(
    "kind", ["sqlite", "json", pytest.param("postgresql", marks=pytest.mark.postgresql)]
)
def test_a_reader_polling_while_two_processes_write_misses_nothing(kind, tmp_path, request):
    where = {
        "sqlite": lambda: str(tmp_path / "shared.db"),
        "json": lambda: str(tmp_path / "shared"),
        "postgresql": lambda: request.getfixturevalue("postgres_dsn"),
    }[kind]()
    script = tmp_path / "changes_writer.py"
    script.write_text(WRITER)
    option = {"sqlite": "db_path", "json": "storage_path", "postgresql": "dsn"}[kind]
    with ActiveMirror(kind, **{option: where}) as reader:
        token = reader.changes().token
        seen: set[str] = set()
        gone: set[str] = set()
        writers = [
            subprocess.Popen(
                [sys.executable, str(script), kind, where, name],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name in ("left", "right")
        ]
        try:
            while any(w.poll() is None for w in writers):
                answer = reader.changes(token)
                assert not answer.everything  # (SQLite: the count and the file's
                # data_version are read together, so a commit between is not an edit)
                seen |= set(answer.sessions)
                gone |= set(answer.deleted)
                token = answer.token
            for w in writers:
                out, err = w.communicate(timeout=60)
                assert w.returncode == 0 and out.strip() == "ok", err
        finally:
            for w in writers:
                w.kill()
                w.communicate()
        last = reader.changes(token)
        seen |= set(last.sessions)
        gone |= set(last.deleted)
        stored = {m.session_id for m in reader.list_sessions()}
        assert len(stored) == 40
        assert stored <= seen  # every session saved while the reader polled was named
        assert len(gone) == 10 and not gone & stored
