"""Attachments and tags, on every store: bytes kept byte-identical and read only when asked
(also after the store is reopened), paging that never reads them, limits and bad names
refused with nothing kept, bytes freed with the last session using them."""

from __future__ import annotations

import hashlib
import os

import pytest

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.errors import InvalidIdError, StorageError
from activemirror_jupyter.core.models import Attachment

PNG = b"\x89PNG\r\n\x1a\n" + os.urandom(2048)
CSV = b"city,temp\nOslo,6.8\nPune,31.2\n"


def test_attachments_round_trip_byte_identical(mirror_factory):
    mirror = mirror_factory()
    session = mirror.create_session("Figures")
    sent = session.send(
        "the plot and its data",
        attachments=[
            Attachment.from_bytes("plot.png", "image/png", PNG),
            Attachment.from_bytes("data.csv", "text/csv", CSV),
        ],
    )
    session.save()
    assert [a.name for a in sent.attachments] == ["plot.png", "data.csv"]
    again = mirror_factory()  # a new ActiveMirror on the same store
    (stored,) = again.load_session(session.id).get_messages()
    plot, data = stored.attachments
    assert (plot.name, plot.mime_type, plot.size) == ("plot.png", "image/png", len(PNG))
    assert plot.sha256 == hashlib.sha256(PNG).hexdigest()
    assert plot.read() == PNG and data.read() == CSV
    assert stored.attachment("data.csv") == data and stored.attachment("nope") is None


def test_attachment_bytes_are_read_after_the_store_is_closed(mirror_factory, storage_type):
    mirror = mirror_factory()
    session = mirror.create_session("Later")
    session.send("x", attachments=[Attachment.from_bytes("a.bin", "application/octet-stream", PNG)])
    session.save()
    reader = mirror_factory()
    (message,) = reader.load_session(session.id).get_messages()
    reader.close()
    assert message.attachments[0].read() == PNG


def test_a_message_without_attachments_has_an_empty_tuple(mirror):
    session = mirror.create_session("Plain")
    assert session.send("no files").attachments == ()
    session.save()
    assert mirror.load_session(session.id).get_messages()[0].attachments == ()


@pytest.mark.parametrize(
    "bad, error, words",
    [
        (
            [
                Attachment.from_bytes("a", "text/plain", b"1"),
                Attachment.from_bytes("a", "text/plain", b"2"),
            ],
            ValueError,
            "twice",
        ),
        (["not an attachment"], TypeError, "Attachment"),
        (b"raw bytes", TypeError, "list of Attachment"),
    ],
)
def test_bad_attachments_are_refused_and_nothing_is_kept(mirror, bad, error, words):
    session = mirror.create_session("Refused")
    with pytest.raises(error, match=words):
        session.send("with bad attachments", attachments=bad)
    assert session.message_count == 0


@pytest.mark.parametrize("name", ["../etc/passwd", "", "a/b", "x" * 200, "<img>", ".hidden"])
def test_hostile_attachment_names_are_refused(name):
    with pytest.raises(InvalidIdError):
        Attachment.from_bytes(name, "text/plain", b"x")


@pytest.mark.parametrize("mime", ["image", "text/html; <script>", "text/plain;;", "", None])
def test_bad_mime_types_are_refused(mime):
    with pytest.raises(ValueError, match="mime type"):
        Attachment.from_bytes("a", mime, b"x")  # type: ignore[arg-type]


def test_an_attachment_over_the_limit_is_refused_naming_size_and_limit(mirror_factory):
    mirror = mirror_factory(max_attachment_bytes=1000, autosave=True)
    session = mirror.create_session("Limits")
    big = Attachment.from_bytes("big.bin", "application/octet-stream", b"x" * 1001)
    with pytest.raises(ValueError, match=r"1,001 bytes.*1,000 bytes"):
        session.send("too big", attachments=[big])
    assert session.message_count == 0
    assert mirror_factory().load_session(session.id).message_count == 0


def test_paging_reads_no_attachment_bytes(mirror_factory, storage_type):
    mirror = mirror_factory()
    session = mirror.create_session("Pages")
    for i in range(3):
        session.send(
            f"m{i}",
            attachments=[
                Attachment.from_bytes("f.bin", "application/octet-stream", PNG + bytes([i]))
            ],
        )
    session.save()
    page = mirror_factory().load_session(session.id).get_messages(limit=2)
    if storage_type != "memory":  # the memory store holds its bytes in RAM anyway
        for message in page:
            source = message.attachments[0]._source
            assert callable(source), "the page carried the bytes instead of a reader"
    assert [m.attachments[0].read()[-1] for m in page] == [1, 2]


def test_identical_bytes_are_stored_once_in_the_json_folder(tmp_path):
    folder = tmp_path / "conversations"
    with ActiveMirror("json", storage_path=folder, autosave=True) as mirror:
        a = mirror.create_session("A")
        b = mirror.create_session("B")
        for session in (a, b):
            session.send(
                "same plot", attachments=[Attachment.from_bytes("p.png", "image/png", PNG)]
            )
    files = list((folder / "attachments").iterdir())
    assert [f.name for f in files] == [hashlib.sha256(PNG).hexdigest()]
    assert files[0].read_bytes() == PNG


def test_deleting_a_session_frees_bytes_nothing_else_uses(mirror_factory, storage_type, tmp_path):
    mirror = mirror_factory(autosave=True)
    keep = mirror.create_session("Keep")
    drop = mirror.create_session("Drop")
    shared = Attachment.from_bytes("shared.png", "image/png", PNG)
    own = Attachment.from_bytes("own.csv", "text/csv", CSV)
    keep.send("shared", attachments=[shared])
    drop.send("shared and own", attachments=[shared, own])
    assert mirror.delete_session(drop.id)
    (kept,) = mirror.load_session(keep.id).get_messages()
    assert kept.attachments[0].read() == PNG
    if storage_type == "json":
        names = {f.name for f in (tmp_path / "store" / "conversations" / "attachments").iterdir()}
        assert names == {shared.sha256}
    if storage_type == "sqlite":
        import sqlite3

        with sqlite3.connect(tmp_path / "store" / "conversations.db") as db:
            assert db.execute("SELECT count(*) FROM attachments").fetchone() == (1,)


def test_changed_attachment_bytes_are_noticed_on_read(tmp_path):
    folder = tmp_path / "conversations"
    with ActiveMirror("json", storage_path=folder, autosave=True) as mirror:
        session = mirror.create_session("Tampered")
        session.send("plot", attachments=[Attachment.from_bytes("p.png", "image/png", PNG)])
    (folder / "attachments" / hashlib.sha256(PNG).hexdigest()).write_bytes(b"not the plot")
    with ActiveMirror("json", storage_path=folder) as mirror:
        (message,) = mirror.load_session(session.id).get_messages()
        with pytest.raises(StorageError, match="not the ones recorded"):
            message.attachments[0].read()


# -- tags ---------------------------------------------------------------------------------------


def test_tags_are_saved_listed_and_counted(mirror_factory):
    mirror = mirror_factory()
    a = mirror.create_session("Alpha", tags=["weather", "2024"])
    b = mirror.create_session("Beta")
    b.tags = ["weather"]
    for s in (a, b):
        s.save()
    c = mirror.create_session("Gamma", tags=["other"])
    c.save()
    again = mirror_factory()
    assert again.load_session(a.id).tags == ("weather", "2024")
    assert {s.title for s in again.list_sessions(tag="weather")} == {"Alpha", "Beta"}
    assert again.count_sessions(tag="weather") == 2
    assert again.count_sessions(tag="missing") == 0
    assert [s.tags for s in again.list_sessions(tag="other")] == [("other",)]
    b2 = again.load_session(b.id)
    b2.tags = []
    b2.save()
    assert again.count_sessions(tag="weather") == 1


@pytest.mark.parametrize(
    "tags, error",
    [
        ("weather", TypeError),
        ([1], InvalidIdError),
        (["a b"], InvalidIdError),
        (["../x"], InvalidIdError),
    ],
)
def test_bad_tags_are_refused(mirror, tags, error):
    with pytest.raises(error):
        mirror.create_session("Bad tags", tags=tags)
    session = mirror.create_session("Later")
    with pytest.raises(error):
        session.tags = tags
    assert session.tags == ()


def test_tag_filters_are_checked(mirror):
    with pytest.raises(InvalidIdError):
        mirror.list_sessions(tag="../x")
    with pytest.raises(InvalidIdError):
        mirror.count_sessions(tag=3)  # type: ignore[arg-type]
