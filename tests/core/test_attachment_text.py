"""0.3's polish: an HTML attachment (a DataFrame's rich output) is searched and snippeted
by its text, never its markup, on every store; mime types are taken as ``mimetypes`` and
HTTP write them (any case, parameters), kept in normal form, the bare type deciding; and
stores written before, whose indexes hold the markup's words, are fixed by a migration."""

from __future__ import annotations

import json
import sqlite3

import pytest
from images import tiny_png

from activemirror_jupyter import ActiveMirror, import_session
from activemirror_jupyter.core.errors import InvalidImportError
from activemirror_jupyter.core.models import Attachment
from activemirror_jupyter.core.search.text import attachment_text, html_text

TABLE = (
    b"<style scoped>.dataframe td { color: teal }</style>\n"
    b'<table border="1" class="dataframe">\n  <thead><tr><th>city</th><th>rain_mm</th>'
    b"</tr></thead>\n  <tbody><tr><td>Oslo</td><td>763</td></tr>"
    b"<tr><td>Bergen&nbsp;&amp;&nbsp;Voss</td><td>2250</td></tr></tbody>\n</table>"
    b'<script>var hidden = "xylophone";</script><!-- a comment: zeppelin -->'
)
TABLE_TEXT = "city rain_mm Oslo 763 Bergen & Voss 2250"
MARKUP_WORDS = ["td", "tr", "class", "dataframe", "border", "teal", "xylophone", "zeppelin", "nbsp"]


def send_table(mirror: ActiveMirror, mime: str = "text/html", title: str = "Rain") -> str:
    session = mirror.create_session(title)
    session.send("the rainfall table", attachments=[Attachment.from_bytes("df", mime, TABLE)])
    session.save()
    return session.id


# -- the text of an attachment ------------------------------------------------------------


def test_td_oslo_is_oslo_and_html_is_read_for_its_text():
    assert html_text("<td>Oslo</td>") == "Oslo"
    assert attachment_text("text/html", TABLE) == TABLE_TEXT
    assert html_text("<td>Oslo</td><td>Bergen</td>") == "Oslo Bergen"  # cells are words
    assert html_text("<b>Os</b>lo<br>caf&eacute; &lt;b&gt;") == "Oslo café <b>"
    assert html_text("<p>unclosed <script>alert('x')") == "unclosed"
    assert html_text("") == "" and html_text("<<>>") == "<<>>"
    assert attachment_text("text/plain", b"<td>Oslo</td>") == "<td>Oslo</td>"  # not HTML
    assert attachment_text("image/png", b"<td>Oslo</td>") is None
    assert attachment_text("application/json", b'{"a": 1}') is None  # not searched, as before


def test_text_is_decoded_by_its_charset_or_as_utf_8():
    latin = "Tromsø café".encode("latin-1")
    assert attachment_text("text/plain; charset=latin-1", latin) == "Tromsø café"
    assert attachment_text("text/html; charset=iso-8859-1", b"<td>" + latin) == "Tromsø café"
    assert attachment_text("text/plain", latin) == "Troms\ufffd caf\ufffd"
    for charset in ("no-such-charset", "base64", "rot13", '"utf-8"'):  # else UTF-8
        assert attachment_text(f"text/plain; charset={charset}", "é".encode()) == "é"


# -- search and snippets, every store -----------------------------------------------------


def test_an_html_table_is_found_by_its_text_never_its_markup(mirror_factory):
    send_table(mirror_factory())
    mirror = mirror_factory()  # reopened: what the store's index holds
    (hit,) = mirror.search_hits("OSLO")
    assert hit.message.content == "the rainfall table"
    assert hit.snippet == TABLE_TEXT
    assert "<" not in hit.snippet and ">" not in hit.snippet
    assert [hit.snippet[s:e] for s, e in hit.highlights] == ["Oslo"]
    assert mirror.count_search("oslo") == 1
    assert [h.snippet for h in mirror.search_hits("voss 2250")] == [TABLE_TEXT]  # &amp; read
    for word in MARKUP_WORDS:
        assert mirror.search(word) == [] and mirror.count_search(word) == 0, word
        assert mirror.search_hits(f"oslo {word}") == []


def test_the_same_bytes_are_markup_as_plain_text_and_text_as_html(mirror_factory):
    mirror = mirror_factory()
    plain = send_table(mirror, "text/plain", "As text")
    html = send_table(mirror, "text/html", "As HTML")
    again = mirror_factory()
    assert [m.session_id for m in again.search("td")] == [plain]
    assert {m.session_id for m in again.search("oslo")} == {plain, html}
    assert again.count_search("oslo") == 2


def test_an_html_attachment_with_parameters_and_capitals_is_html(mirror_factory):
    send_table(mirror_factory(), "Text/HTML; Charset=UTF-8")
    mirror = mirror_factory()
    (hit,) = mirror.search_hits("oslo")
    assert hit.message.attachments[0].mime_type == "text/html; charset=utf-8"
    assert hit.snippet == TABLE_TEXT
    assert mirror.search("td") == []


def test_a_deleted_session_s_html_words_are_gone(mirror_factory):
    mirror = mirror_factory()
    session_id = send_table(mirror)
    assert mirror.delete_session(session_id)
    again = mirror_factory()
    assert again.search("oslo") == [] and again.count_search("oslo") == 0
    send_table(again)  # the index takes the same words again after the delete
    assert again.count_search("oslo") == 1


# -- mime types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "kept", "bare"),
    [
        ("Text/Plain; charset=UTF-8", "text/plain; charset=utf-8", "text/plain"),
        ("text/plain;charset=utf-8", "text/plain; charset=utf-8", "text/plain"),
        ("TEXT/CSV ;  Header=Present;charset=UTF-8", "text/csv; header=present; charset=utf-8",
         "text/csv"),
        ('text/plain; charset="UTF-8"', 'text/plain; charset="utf-8"', "text/plain"),
        ("IMAGE/SVG+XML", "image/svg+xml", "image/svg+xml"),
        ("application/vnd.ms-excel", "application/vnd.ms-excel", "application/vnd.ms-excel"),
    ],
)  # fmt: skip
def test_mime_types_are_taken_as_http_writes_them_and_kept_in_normal_form(
    mirror_factory, given, kept, bare
):
    attachment = Attachment.from_bytes("a", given, b"some words")
    assert (attachment.mime_type, attachment.bare_type) == (kept, bare)
    assert attachment.is_text == bare.startswith("text/")
    session = mirror_factory().create_session("Types")
    session.send("typed", attachments=[attachment])
    session.save()
    (stored,) = mirror_factory().load_session(session.id).get_messages()[0].attachments
    assert (stored.mime_type, stored.bare_type, stored.read()) == (kept, bare, b"some words")
    assert mirror_factory().count_search("words") == (1 if bare.startswith("text/") else 0)


@pytest.mark.parametrize(
    "mime",
    [
        "image",
        "text/",
        "/plain",
        "text/plain;",
        "text/plain; charset",
        "text/plain; =utf-8",
        "text/plain; charset =utf-8",
        "text/plain; charset=utf-8; charset=latin-1",
        "text/html; <script>",
        'text/plain; a="x\\"',
        'text/plain; a="x;y"',
        " text/plain",
        "text/plain\n",
        "text/plain\x00",
        "tëxt/plain",
        "text plain",
        "text/plain/extra",
        "text/plain; charset=" + "u" * 300,
        "",
        None,
        b"text/plain",
    ],
)
def test_bad_mime_types_are_refused(mime):
    with pytest.raises(ValueError, match="mime type"):
        Attachment.from_bytes("a", mime, b"x")  # type: ignore[arg-type]


def test_imports_take_the_same_mime_types_and_refuse_the_same(mirror):
    session = mirror.create_session("Exported")
    session.send("rain", attachments=[Attachment.from_bytes("df", "text/html", TABLE)])
    session.save()
    data = json.loads(session.export("json"))
    mirror.delete_session(session.id)
    data["messages"][0]["attachments"][0]["mimeType"] = "Text/HTML; Charset=UTF-8"
    imported = import_session(data, mirror)
    (attachment,) = imported.get_messages()[0].attachments
    assert attachment.mime_type == "text/html; charset=utf-8"
    assert mirror.search_hits("oslo")[0].snippet == TABLE_TEXT
    mirror.delete_session(imported.id)
    data["messages"][0]["attachments"][0]["mimeType"] = "text/html; <script>"
    with pytest.raises(InvalidImportError, match=r"mimeType"):
        import_session(data, mirror)


def test_the_bare_type_decides_how_an_attachment_is_shown():
    from activemirror_jupyter.widgets.attachments import attachment_html

    mirror = ActiveMirror("memory")
    session = mirror.create_session("Shown")
    png = Attachment.from_bytes("fig", "Image/PNG; x=y", tiny_png())
    table = Attachment.from_bytes("df", "TEXT/HTML; charset=utf-8", TABLE)
    session.send("shown", attachments=[png, table])
    html = session.export("html")
    assert '<img src="data:image/png;base64,' in html
    assert "data:image/png; x=y" not in html
    assert "![fig](data:image/png;base64," in session.export("markdown")
    assert 'src="data:image/png;base64,' in attachment_html(png)
    shown = attachment_html(table)  # the table rebuilt from its cells' text
    assert "Oslo" in shown and "dataframe" not in shown and "xylophone" not in shown
    paragraph = Attachment.from_bytes(
        "p", "text/html", b"<p>Rain in <b>Oslo</b></p><script>x</script>"
    )
    assert "Rain in Oslo" in attachment_html(paragraph) and "&lt;b&gt;" not in attachment_html(
        paragraph
    )


# -- stores written before 0.3 ------------------------------------------------------------


def test_a_sqlite_store_with_markup_indexed_is_fixed_by_its_migration(tmp_path):
    db = tmp_path / "conversations.db"
    with ActiveMirror("sqlite", db_path=db) as mirror:
        old = send_table(mirror, title="Before 0.3")
        kept = send_table(mirror, "text/plain", title="Plain")
    with sqlite3.connect(db) as raw:  # the index as 0.2 made it: the bytes cast to text
        raw.execute("INSERT INTO attachments_fts(attachments_fts) VALUES ('delete-all')")
        raw.execute(
            "INSERT INTO attachments_fts(rowid, text) SELECT rowid, CAST(data AS TEXT) "
            "FROM attachments WHERE mime_type LIKE 'text/%'"
        )
        raw.execute(
            "DELETE FROM activemirror_migrations WHERE name = 'm011_attachment_text_and_vectors'"
        )
        assert len(raw.execute(_MATCH, ('"dataframe"',)).fetchall()) == 2  # markup indexed
    with ActiveMirror("sqlite", db_path=db) as mirror:
        assert "m011_attachment_text_and_vectors" in mirror.store.applied_migrations()
        assert [m.session_id for m in mirror.search("dataframe")] == [kept]  # plain text only
        assert {m.session_id for m in mirror.search("oslo")} == {old, kept}
        assert [h.snippet for h in mirror.search_hits("voss", session_id=old)] == [TABLE_TEXT]
        # The index now holds what a delete tells it: nothing of the sessions is left.
        assert mirror.delete_session(old) and mirror.delete_session(kept)
    with sqlite3.connect(db) as raw:
        for word in ("oslo", "dataframe", "td", "voss"):
            assert raw.execute(_MATCH, (f'"{word}"',)).fetchall() == [], word


_MATCH = "SELECT rowid FROM attachments_fts WHERE attachments_fts MATCH ?"


def test_saving_and_deleting_html_keeps_the_sqlite_index_exact(tmp_path):
    db = tmp_path / "conversations.db"
    with ActiveMirror("sqlite", db_path=db) as mirror:
        sessions = [
            send_table(mirror, mime) for mime in ("text/html", "text/plain; charset=latin-1")
        ]
        for session_id in sessions:
            mirror.delete_session(session_id)
    with sqlite3.connect(db) as raw:
        for word in ("oslo", "td", "dataframe"):
            assert raw.execute(_MATCH, (f'"{word}"',)).fetchall() == [], word
        raw.execute("INSERT INTO attachments_fts(attachments_fts) VALUES ('integrity-check')")


def test_a_postgresql_store_with_markup_indexed_is_fixed_by_its_migration(postgres_dsn):
    psycopg = pytest.importorskip("psycopg")
    from activemirror_jupyter.core.storage.postgresql_schema import search_vector

    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        old = send_table(mirror, title="Before 0.3")
        kept = send_table(mirror, "text/plain", title="Plain")
    with psycopg.connect(postgres_dsn, autocommit=True) as raw:  # the words 0.2 gave HTML
        raw.execute(
            "UPDATE attachments SET search_vector = %s::tsvector WHERE mime_type = 'text/html'",
            (search_vector(TABLE.decode()),),
        )
        raw.execute(
            "DELETE FROM activemirror_migrations WHERE name = 'm014_attachment_text_and_vectors'"
        )
    with ActiveMirror("postgresql", dsn=postgres_dsn) as mirror:
        assert "m014_attachment_text_and_vectors" in mirror.store.applied_migrations()
        assert [m.session_id for m in mirror.search("dataframe")] == [kept]
        assert {m.session_id for m in mirror.search("oslo")} == {old, kept}
        assert mirror.count_search("td") == 1
