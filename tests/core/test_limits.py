"""One depth limit and one size limit, the same on every path: what a save accepts, an
export writes, an import and a backup take back, and ``verify`` of the file reads — and
what one path refuses, every path refuses, with a clear error and nothing lost."""

from __future__ import annotations

import json

import pytest

from activemirror_jupyter import (
    ActiveMirror,
    Attachment,
    InvalidImportError,
    export_all_data,
    import_all_data,
    import_session,
    verify_export,
)
from activemirror_jupyter.cli import main
from activemirror_jupyter.core.limits import MAX_JSON_DEPTH


def nested(depth: int) -> dict:
    """Metadata whose lists and objects nest ``depth`` deep."""
    value: dict = {"leaf": 1}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


def test_metadata_at_the_limit_goes_through_save_export_backup_restore_and_verify(
    mirror, tmp_path, capsys
):
    session = mirror.create_session("Deep")
    session.metadata = nested(MAX_JSON_DEPTH)
    session.send("deep note", metadata=nested(MAX_JSON_DEPTH))
    session.save()
    assert mirror.verify(session.id).ok
    export = session.export("json")
    assert verify_export(export).ok
    copy = import_session(export, mirror, on_conflict="new_id")
    assert copy.get_messages()[0].metadata == nested(MAX_JSON_DEPTH)
    backup = tmp_path / "backup.json"
    backup.write_text(json.dumps(export_all_data(mirror)), encoding="utf-8")
    assert verify_export(backup).ok
    with ActiveMirror("sqlite", db_path=tmp_path / "restored.db") as restored:
        counts = import_all_data(backup, restored, tmp_path / "vault")
        assert counts["sessions"] == 2
        assert restored.verify().ok
    assert main(["verify", str(backup)]) == 0
    assert main(["restore", str(backup), "--json-dir", str(tmp_path / "cli-restore")]) == 0
    capsys.readouterr()


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 990, 5000])
def test_deeper_metadata_is_refused_by_send_and_the_session_goes_on(mirror, depth):
    mirror.autosave = True
    session = mirror.create_session("Deep")
    with pytest.raises(ValueError, match=f"nested more than {MAX_JSON_DEPTH} levels deep"):
        session.send("too deep", metadata=nested(depth))
    with pytest.raises(ValueError, match="levels deep"):
        session.metadata = nested(depth)
    session.send("next note")  # nothing of the refused one poisons the session
    assert [m.content for m in mirror.load_session(session.id).get_messages()] == ["next note"]
    assert mirror.verify().ok


def test_metadata_that_contains_itself_is_refused_clearly(mirror):
    loop: dict = {}
    loop["self"] = loop
    session = mirror.create_session("Loop")
    with pytest.raises(ValueError, match="contains itself"):
        session.send("x", metadata=loop)


def test_deeper_metadata_in_an_import_is_refused_naming_the_field(mirror):
    doc = {
        "id": "deep",
        "title": "Deep",
        "createdAt": "2025-01-01T00:00:00Z",
        "messages": [
            {
                "id": "m1",
                "role": "user",
                "content": "x",
                "timestamp": "2025-01-01T00:00:00Z",
                "metadata": nested(MAX_JSON_DEPTH + 1),
            }
        ],
    }
    with pytest.raises(InvalidImportError, match=r"messages\[0\]\.metadata.*levels deep"):
        import_session(doc, mirror)
    assert mirror.list_sessions() == []


def test_a_bundle_nested_thousands_deep_is_refused_not_a_crash(mirror):
    # Deeper than Python's json reads on some versions, not on others: either way a clear
    # InvalidImportError naming the nesting, and nothing imported.
    deep = "[" * 5000 + "]" * 5000
    text = (
        '{"format": "activemirror-bundle", "version": 1, "sessions": [{"id": "s", "title": "t",'
        ' "createdAt": "2025-01-01T00:00:00Z", "messages": [{"id": "m", "role": "user",'
        f' "content": "x", "timestamp": "2025-01-01T00:00:00Z", "metadata": {{"a": {deep}}}}}]}}]}}'
    )
    with pytest.raises(InvalidImportError, match="nested"):
        import_all_data(text, mirror)
    assert mirror.list_sessions() == []


def test_attachments_over_the_store_s_limit_are_refused_by_import_as_by_send(
    mirror_factory, tmp_path
):
    big = mirror_factory(max_attachment_bytes=1000)
    session = big.create_session("Files")
    with pytest.raises(ValueError, match="over"):
        session.send("x", attachments=[Attachment.from_bytes("f", "text/plain", b"a" * 1001)])
    with ActiveMirror("sqlite", db_path=tmp_path / "roomy.db") as roomy:
        other = roomy.create_session("Files")
        other.send("x", attachments=[Attachment.from_bytes("f", "text/plain", b"a" * 1001)])
        other.save()
        doc = json.loads(other.export("json"))
    doc["messages"][0]["attachments"][0]["size"] = 10  # a size field that lies changes nothing
    with pytest.raises(InvalidImportError, match=r"attachments\[0\].*1,001 bytes.*1,000"):
        import_session(doc, big)
    bundle = {"format": "activemirror-bundle", "version": 1, "sessions": [doc]}
    with pytest.raises(InvalidImportError, match="over this store's limit"):
        import_all_data(bundle, big, tmp_path / "vault")
    assert big.list_sessions() == []
