"""Exports, imports and bundles: lossless, deterministic, and strict about bad input."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from spec_examples import SPEC_SESSION

from activemirror_jupyter import (
    ActiveMirror,
    InvalidImportError,
    VaultMemory,
    delete_all_data,
    export_all_data,
    import_all_data,
    import_session,
)
from activemirror_jupyter.core.transfer.exports import dumps


def open_store(kind: str, tmp_path: Path, name: str = "store") -> ActiveMirror:
    if kind == "sqlite":
        return ActiveMirror("sqlite", db_path=tmp_path / name / "conversations.db")
    if kind == "json":
        return ActiveMirror("json", storage_path=tmp_path / name / "conversations")
    return ActiveMirror("memory")


def fill(mirror: ActiveMirror) -> list[str]:
    """A small store: a parent with a child, metadata, limits, every role, hostile text."""
    parent = mirror.create_session("Project Alpha", user_id="user_001", max_context_messages=30)
    parent.send("Kick-off <img src=x onerror=alert(1)>", metadata={"tags": ["a", "b"], "n": 1.5})
    parent.send("Noted.", role="assistant")
    parent.send("Be brief.", role="system")
    parent.status = "archived"
    parent.save()
    child = mirror.create_session("Sprint 1", parent.id)
    child.send("emoji 🧪 and ünïcödé\nmulti-line")
    child.save()
    empty = mirror.create_session("Empty")
    empty.save()
    return [parent.id, child.id, empty.id]


# -- single sessions ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, target",
    [("sqlite", "json"), ("json", "sqlite"), ("json", "json"), ("memory", "sqlite")],
)
def test_json_export_import_export_is_identical(tmp_path, source, target):
    a = open_store(source, tmp_path, "a")
    b = open_store(target, tmp_path, "b")
    for session_id in fill(a):
        text = a.load_session(session_id).export("json")
        imported = import_session(text, b)
        assert imported.id == session_id
        assert imported.export("json") == text
        assert b.load_session(session_id).export("json") == text


def test_json_export_is_deterministic_and_complete(mirror):
    ids = fill(mirror)
    parent = mirror.load_session(ids[0])
    first = parent.export("json")
    assert first == mirror.load_session(ids[0]).export("json")
    data = json.loads(first)
    assert data["format"] == "activemirror-session"
    assert (data["id"], data["title"], data["userId"]) == (ids[0], "Project Alpha", "user_001")
    assert data["status"] == "archived"
    assert data["maxContextMessages"] == 30
    assert data["messageCount"] == 3
    assert [m["role"] for m in data["messages"]] == ["user", "assistant", "system"]
    assert data["messages"][0]["metadata"] == {"tags": ["a", "b"], "n": 1.5}
    assert data["createdAt"].endswith("Z")
    child = json.loads(mirror.load_session(ids[1]).export("json"))
    assert child["parentSessionId"] == ids[0]


def test_export_includes_unsaved_messages(tmp_path):
    mirror = open_store("memory", tmp_path)
    session = mirror.create_session("Draft")
    session.send("not saved yet")
    assert [m["content"] for m in json.loads(session.export())["messages"]] == ["not saved yet"]


def test_markdown_export_is_readable_and_inert(mirror):
    ids = fill(mirror)
    md = mirror.load_session(ids[0]).export("markdown")
    assert md.startswith("# Project Alpha\n")
    assert f"`{ids[0]}`" in md
    assert "**Created:**" in md and "UTC" in md
    assert "### User ·" in md and "### Assistant ·" in md and "### System ·" in md
    assert "<img" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    child = mirror.load_session(ids[1]).export("markdown")
    assert f"**Parent:** `{ids[0]}`" in child


def test_markdown_export_shows_attached_dataframes_as_tables(tmp_path):
    mirror = open_store("memory", tmp_path)
    session = mirror.create_session("Analysis")
    snapshot = {
        "name": "df",
        "type": "pandas.DataFrame",
        "shape": [100, 2],
        "columns": ["city", "temp"],
        "dtypes": ["object", "float64"],
        "head": [["Paris", 12.5], ["<b>Oslo</b>|x", -3.0]],
    }
    session.send(
        "Look at this",
        metadata={"attachments": [snapshot, {"name": "n", "type": "int", "repr": "42"}]},
    )
    md = session.export("markdown")
    assert "**Attached `df`** (pandas.DataFrame, 100 × 2)" in md
    assert "| city | temp |" in md
    assert "| Paris | 12.5 |" in md
    assert "| &lt;b&gt;Oslo&lt;/b&gt;\\|x | -3.0 |" in md
    assert "_first 2 of 100 rows_" in md
    assert "```\n42\n```" in md


def test_text_export_is_a_transcript(mirror):
    ids = fill(mirror)
    txt = mirror.load_session(ids[1]).export("txt")
    lines = txt.splitlines()
    assert lines[0] == "Sprint 1"
    assert any("] user: emoji 🧪 and ünïcödé" in line for line in lines)
    assert "    multi-line" in lines


def test_unknown_export_format_lists_the_formats(mirror):
    with pytest.raises(ValueError, match="json, markdown, txt"):
        mirror.create_session("x").export("pdf")


def test_import_takes_text_bytes_dict_and_paths(tmp_path):
    mirror = open_store("sqlite", tmp_path)
    path = tmp_path / "session.json"
    path.write_text(json.dumps(SPEC_SESSION), encoding="utf-8")
    sources = [
        json.dumps(SPEC_SESSION),
        json.dumps(SPEC_SESSION).encode(),
        SPEC_SESSION,
        path,
        str(path),
    ]
    for source in sources:
        session = import_session(source, mirror, on_conflict="replace")
        assert (session.id, session.title, session.user_id) == (
            "session_123",
            "Strategic Planning",
            "user_001",
        )
        assert [m.content for m in session.get_messages()] == ["Let's plan Q1"]
    assert mirror.count_sessions() == 1


def test_spec_session_file_import_then_continue(tmp_path):
    mirror = open_store("json", tmp_path)
    session = import_session(SPEC_SESSION, mirror)
    assert session.message_count == 1
    assert session.created_at.isoformat() == "2024-01-15T10:00:00+00:00"
    session.send("Continuing on different device")
    session.save()
    reopened = mirror.load_session("session_123")
    assert [m.content for m in reopened.get_messages()] == [
        "Let's plan Q1",
        "Continuing on different device",
    ]


def test_import_without_a_mirror_uses_the_default_store(activemirror_home):
    session = import_session(SPEC_SESSION)
    assert (activemirror_home / "conversations.db").exists()
    with ActiveMirror() as mirror:
        assert [s.session_id for s in mirror.list_sessions()] == [session.id]


def test_on_conflict_error_names_the_id_and_changes_nothing(tmp_path):
    mirror = open_store("json", tmp_path)
    import_session(SPEC_SESSION, mirror)
    changed = dict(SPEC_SESSION, title="Changed")
    with pytest.raises(InvalidImportError, match="session_123.*already exists"):
        import_session(changed, mirror)
    assert mirror.load_session("session_123").title == "Strategic Planning"


def test_on_conflict_new_id_imports_a_copy(tmp_path):
    mirror = open_store("sqlite", tmp_path)
    ids = fill(mirror)
    copy = import_session(mirror.load_session(ids[1]).export(), mirror, on_conflict="new_id")
    assert copy.id != ids[1] and copy.id.startswith("session_")
    assert copy.parent_session_id == ids[0]  # the link is kept
    original = mirror.load_session(ids[1]).get_messages()
    copied = copy.get_messages()
    assert [m.content for m in copied] == [m.content for m in original]
    assert not {m.id for m in copied} & {m.id for m in original}
    assert mirror.count_sessions() == 4


def test_on_conflict_replace_overwrites(tmp_path):
    mirror = open_store("sqlite", tmp_path)
    import_session(SPEC_SESSION, mirror)
    session = mirror.load_session("session_123")
    session.send("local change")
    session.save()
    replaced = import_session(SPEC_SESSION, mirror, on_conflict="replace")
    assert [m.content for m in replaced.get_messages()] == ["Let's plan Q1"]


def test_unknown_on_conflict_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="error, new_id, replace"):
        import_session(SPEC_SESSION, open_store("memory", tmp_path), on_conflict="merge")


# -- bad input: InvalidImportError naming the problem, nothing written ---------------------------


def spec_with(**changes) -> str:
    data = json.loads(json.dumps(SPEC_SESSION))
    message_changes = changes.pop("message", {})
    data["messages"][0].update(message_changes)
    data.update(changes)
    return json.dumps(data)


def raw_spec(replace_from: str, replace_to: str) -> str:
    text = json.dumps(SPEC_SESSION)
    assert replace_from in text
    return text.replace(replace_from, replace_to, 1)


BAD_IMPORTS = {
    "not json": ("{this is not json", "not valid JSON"),
    "not json or a file": ("hello world", "neither JSON text nor an existing file"),
    "deep nesting": ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    "deep metadata": (
        spec_with(metadata=json.loads('{"a": ' * 150 + "1" + "}" * 150)),
        "nested more than",
    ),
    "duplicate keys": (raw_spec('"title"', '"title": "x", "title"'), "duplicate key 'title'"),
    "NaN": (raw_spec('"messageCount": 24', '"messageCount": NaN'), "NaN"),
    "Infinity": (raw_spec('"messageCount": 24', '"messageCount": Infinity'), "Infinity"),
    "-Infinity": (raw_spec('"messageCount": 24', '"messageCount": -Infinity'), "-Infinity"),
    "lone surrogate": (
        raw_spec('"Let\'s plan Q1"', '"\\ud800"'),
        r"messages\[0\]\.content.*surrogate",
    ),
    "content a list": (spec_with(message={"content": ["a"]}), r"messages\[0\]\.content"),
    "timestamp a number": (
        spec_with(message={"timestamp": 1705312860}),
        r"messages\[0\]\.timestamp.*not int",
    ),
    "bad timestamp text": (spec_with(message={"timestamp": "yesterday"}), "timestamp"),
    "messages a dict": (spec_with(messages={"0": {}}), "messages: must be a list, not dict"),
    "unknown role": (spec_with(message={"role": "bot"}), r"messages\[0\]\.role.*'bot'"),
    "id ../../etc/passwd": (spec_with(id="../../etc/passwd"), "id: invalid session id"),
    "id /abs": (spec_with(id="/abs"), "id: invalid session id"),
    "id with NUL": (spec_with(id="a\u0000b"), "id: invalid session id"),
    "message id ../x": (spec_with(message={"id": "../x"}), r"messages\[0\]\.id"),
    "parent ../x": (spec_with(parentSessionId="../x"), "parentSessionId"),
    "title a number": (spec_with(title=3), "title"),
    "missing createdAt": (
        json.dumps({k: v for k, v in SPEC_SESSION.items() if k != "createdAt"}),
        "createdAt: is missing",
    ),
    "not an object": ("[1, 2]", "must be a JSON object"),
    "foreign sessionId": (spec_with(message={"sessionId": "other"}), "sessionId"),
    "bytes not utf-8": (b'{"id": "\xff"}', "not UTF-8"),
    "a bundle": (json.dumps({"format": "activemirror-bundle"}), "import_all_data"),
}


@pytest.mark.parametrize("store", ["sqlite", "json"])
@pytest.mark.parametrize("case", sorted(BAD_IMPORTS))
def test_bad_imports_are_refused_and_write_nothing(tmp_path, store, case):
    data, message = BAD_IMPORTS[case]
    mirror = open_store(store, tmp_path)
    before = sorted((p.name, p.stat().st_size) for p in (tmp_path / "store").rglob("*"))
    with pytest.raises(InvalidImportError, match=message):
        import_session(data, mirror)
    assert mirror.count_sessions() == 0
    after = sorted((p.name, p.stat().st_size) for p in (tmp_path / "store").rglob("*"))
    assert after == before


def test_existing_id_is_refused_under_on_conflict_error(tmp_path):
    mirror = open_store("json", tmp_path)
    import_session(SPEC_SESSION, mirror)
    folder = tmp_path / "store" / "conversations"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    with pytest.raises(InvalidImportError, match="'session_123' already exists"):
        import_session(spec_with(title="Other"), mirror)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_oversized_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(200 * 1024 * 1024)  # 200 MB (sparse): never read
    mirror = open_store("memory", tmp_path)
    with pytest.raises(InvalidImportError, match="over the import limit"):
        import_session(big, mirror)


def test_size_cap_is_configurable(tmp_path):
    mirror = open_store("memory", tmp_path)
    text = json.dumps(SPEC_SESSION)
    with pytest.raises(InvalidImportError, match=f"limit of {len(text) - 1:,} bytes"):
        import_session(text, mirror, max_bytes=len(text) - 1)
    assert import_session(text, mirror, max_bytes=len(text)).id == "session_123"


# -- bundles ------------------------------------------------------------------------------------


@pytest.fixture
def vault(tmp_path: Path) -> VaultMemory:
    v = VaultMemory("correct horse", vault_path=tmp_path / "vault", kdf_iterations=1_000)
    v.store("health_goal", "Run marathon in 2024")
    v.store("salary_target", 150000, metadata={"category": "private", "tags": ["money"]})
    return v


@pytest.mark.parametrize("source, target", [("sqlite", "json"), ("json", "sqlite")])
def test_whole_store_moves_between_sqlite_and_json(tmp_path, source, target):
    a = open_store(source, tmp_path, "a")
    ids = fill(a)
    bundle = export_all_data(a)
    b = open_store(target, tmp_path, "b")
    counts = import_all_data(json.loads(json.dumps(bundle)), b)
    assert counts == {"sessions": 3, "messages": 4, "vault_files": 0}
    assert dumps(export_all_data(b)) == dumps(bundle)
    assert sorted(s.session_id for s in b.list_sessions()) == sorted(ids)
    assert [s.session_id for s in b.list_sessions(parent_session_id=ids[0])] == [ids[1]]
    assert [m.content for m in b.search("kick-off")] == ["Kick-off <img src=x onerror=alert(1)>"]


def test_bundle_with_vault_round_trips_and_stays_encrypted(tmp_path, vault):
    a = open_store("json", tmp_path, "a")
    fill(a)
    bundle = export_all_data(a, vault)
    text = dumps(bundle)
    assert "Run marathon" not in text and "health_goal" not in text
    assert sorted(bundle["vault"]["files"]) == sorted(
        p.name for p in (tmp_path / "vault").iterdir() if not p.name.startswith(".vault.lock")
    )
    b = open_store("sqlite", tmp_path, "b")
    counts = import_all_data(text, b, vault_path=tmp_path / "restored-vault")
    assert counts["vault_files"] == 3
    restored = VaultMemory("correct horse", vault_path=tmp_path / "restored-vault")
    assert restored.retrieve("health_goal") == "Run marathon in 2024"
    assert restored.retrieve("salary_target") == 150000
    assert dumps(export_all_data(b, restored)) == text


def test_bundles_are_deterministic(tmp_path, vault):
    mirror = open_store("sqlite", tmp_path)
    fill(mirror)
    assert dumps(export_all_data(mirror, vault)) == dumps(export_all_data(mirror, vault))
    assert "exportedAt" not in dumps(export_all_data(mirror))


def test_restore_refuses_an_existing_vault_and_writes_nothing(tmp_path, vault):
    a = open_store("sqlite", tmp_path, "a")
    fill(a)
    bundle = export_all_data(a, vault)
    b = open_store("json", tmp_path, "b")
    before = {p.name: p.read_bytes() for p in (tmp_path / "vault").iterdir()}
    with pytest.raises(InvalidImportError, match="already holds a vault"):
        import_all_data(bundle, b, vault_path=tmp_path / "vault")
    assert b.count_sessions() == 0
    assert {p.name: p.read_bytes() for p in (tmp_path / "vault").iterdir()} == before


def test_restore_refuses_existing_sessions_and_writes_nothing(tmp_path):
    a = open_store("sqlite", tmp_path, "a")
    ids = fill(a)
    bundle = export_all_data(a)
    b = open_store("json", tmp_path, "b")
    import_session(bundle["sessions"][-1], b)
    with pytest.raises(InvalidImportError, match="already exists"):
        import_all_data(bundle, b)
    assert b.count_sessions() == 1
    copied = import_all_data(bundle, b, on_conflict="new_id")
    assert copied["sessions"] == 3
    children = [s for s in b.list_sessions() if s.title == "Sprint 1"]
    parents = {s.session_id for s in b.list_sessions() if s.title == "Project Alpha"}
    assert len(children) == 1 and children[0].parent_session_id in parents - {ids[0]}


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda b: b.update(format="something"), "format"),
        (lambda b: b.update(sessions={}), "sessions: must be a list"),
        (lambda b: b["sessions"][1]["messages"][0].update(role="bot"), r"sessions\[1\]"),
        (lambda b: b["sessions"].append(b["sessions"][0]), "also appears"),
        (lambda b: b.update(vault={"files": {"../x.vault": ""}}), "not the name of a vault"),
        (lambda b: b.update(vault={"files": {".vault_index.enc": "%%%"}}), "not valid base64"),
        (lambda b: b.update(vault={"files": {"0" * 32 + ".vault": "AA=="}}), "no .vault_index"),
    ],
)
def test_bad_bundles_are_refused_and_write_nothing(tmp_path, change, message):
    a = open_store("memory", tmp_path)
    fill(a)
    bundle = json.loads(dumps(export_all_data(a)))
    change(bundle)
    b = open_store("sqlite", tmp_path, "b")
    with pytest.raises(InvalidImportError, match=message):
        import_all_data(bundle, b, vault_path=tmp_path / "new-vault")
    assert b.count_sessions() == 0
    assert not (tmp_path / "new-vault").exists()


def test_delete_all_data_leaves_no_session_and_no_vault_file(tmp_path, vault):
    mirror = open_store("json", tmp_path)
    fill(mirror)
    counts = delete_all_data(mirror, vault)
    assert counts == {"sessions": 3, "vault_files": 3}
    assert mirror.list_sessions() == []
    assert not (tmp_path / "vault").exists()
    assert vault.is_locked
    folder = tmp_path / "store" / "conversations"
    assert [p.name for p in folder.glob("session_*.json")] == []


def test_vault_files_in_a_bundle_are_base64_of_the_files(tmp_path, vault):
    bundle = export_all_data(open_store("memory", tmp_path), vault)
    for name, text in bundle["vault"]["files"].items():
        assert base64.b64decode(text) == (tmp_path / "vault" / name).read_bytes()


def test_a_message_id_held_by_another_session(mirror, storage_type):
    """Database stores keep message ids unique store-wide; the JSON folder, like the
    JavaScript SDK, only within a session file."""
    first = {
        "id": "session_a",
        "title": "A",
        "createdAt": "2024-01-15T10:00:00Z",
        "updatedAt": "2024-01-15T10:00:00Z",
        "messages": [
            {"id": "msg_1", "role": "user", "content": "hi", "timestamp": "2024-01-15T10:01:00Z"}
        ],
    }
    import_session(first, mirror)
    second = {**first, "id": "session_b"}
    if storage_type == "json":
        assert import_session(second, mirror).message_count == 1
        return
    with pytest.raises(InvalidImportError, match=r"messages\[0\]\.id"):
        import_session(second, mirror)
    assert [s.session_id for s in mirror.list_sessions()] == ["session_a"]
    copy = import_session(second, mirror, on_conflict="new_id")
    assert copy.get_messages()[0].content == "hi"
    # replacing a session keeps its own message ids
    assert import_session(first, mirror, on_conflict="replace").message_count == 1


def _doc(session_id: str, parent: str | None) -> dict:
    return {
        "id": session_id,
        "title": session_id,
        "createdAt": "2025-01-01T00:00:00Z",
        "parentSessionId": parent,
        "messages": [],
    }


@pytest.mark.parametrize("kind", ["sqlite", "json"])
@pytest.mark.parametrize("on_conflict", ["error", "new_id", "replace"])
def test_cycles_of_parents_are_refused_and_nothing_is_imported(kind, on_conflict, tmp_path):
    with open_store(kind, tmp_path) as mirror:
        with pytest.raises(InvalidImportError, match=r"cycle of parents \(a -> a\)"):
            import_session(_doc("a", "a"), mirror, on_conflict=on_conflict)
        bundle = {
            "format": "activemirror-bundle",
            "version": 1,
            "sessions": [_doc("a", "b"), _doc("b", "a"), _doc("c", None)],
        }
        with pytest.raises(
            InvalidImportError, match=r"sessions\[0\]\.parentSessionId: .*a -> b -> a"
        ):
            import_all_data(bundle, mirror, tmp_path / "vault", on_conflict=on_conflict)
        assert mirror.list_sessions() == []


def test_a_cycle_through_stored_sessions_is_refused(tmp_path):
    with open_store("sqlite", tmp_path) as mirror:
        import_session(_doc("a", None), mirror)
        import_session(_doc("b", "a"), mirror)
        with pytest.raises(InvalidImportError, match=r"a -> b -> a"):
            import_session(_doc("a", "b"), mirror, on_conflict="replace")
        assert mirror.load_session("a").parent_session_id is None
