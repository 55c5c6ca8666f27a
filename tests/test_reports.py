"""Reports: ``Session.export`` as a standalone HTML page, an nbformat 4 notebook and Markdown
with its images — for one session or its whole family — and what none of them may do with
hostile text, broken images or a session of 10,000 messages.

``report_session`` (imported by the browser test) builds a session with every kind of
message the writers know: notes in Markdown, autologged cells (0.2 with outputs, and 0.1
without), images, CSV, HTML/Markdown/JSON outputs, a 0.1 variable snapshot — with hostile
text in every field that takes text.
"""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import tracemalloc
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import mistune
import nbformat
import pytest
from images import png

from activemirror_jupyter import ActiveMirror, import_all_data
from activemirror_jupyter.core.errors import ActiveMirrorError, StorageError
from activemirror_jupyter.core.models import Attachment
from activemirror_jupyter.core.reports.attachments import csv_preview, png_is_whole
from activemirror_jupyter.core.reports.family import FamilyCycleError
from activemirror_jupyter.core.reports.sanitize import sanitize_html
from activemirror_jupyter.core.transfer.exports import EXPORT_FORMATS, export_to_path, render
from activemirror_jupyter.core.transfer.imports import verify_export

HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>\"'&"
HOSTILE_LINK = "[click](javascript:alert(3)) ![pixel](http://127.0.0.1:9/track.png)"


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="60" height="30">'
    b'<rect width="60" height="30" fill="teal"/><script>alert(4)</script></svg>'
)
CSV = ("city,temp\n" + "".join(f"c{i},{i / 2}\n" for i in range(1000))).encode()


def cell(source: str, count: int, outputs: list[tuple[str, str, bytes, str]], **facts: Any):
    """``(source, metadata, attachments)`` of an autologged cell; outputs are
    ``(output_type, mime_type, bytes, stream)``."""
    entries, attachments = [], []
    for n, (kind, mime, data, stream) in enumerate(outputs, start=1):
        entry = {"attachment": f"out-{n}", "output_type": kind}
        if kind == "stream":
            entry["stream"] = stream
        entries.append(entry)
        attachments.append(Attachment.from_bytes(f"out-{n}", mime, data))
    metadata = {
        "kind": "cell",
        "execution_count": count,
        "duration_s": 0.25,
        "status": "ok",
        "notebook": "analysis.ipynb",
        "outputs": entries,
        **facts,
    }
    return source, metadata, attachments


def report_session(mirror: ActiveMirror, title: str = f"Study {HOSTILE}") -> Any:
    """A saved, sealed session holding every kind of message the writers show."""
    session = mirror.create_session(title, tags=["analysis", "q3"])
    session.metadata = {
        "provenance": {
            "notebook": f"nb {HOSTILE}.ipynb",
            "python": "3.11.7",
            "platform": "Linux",
            "hostname": HOSTILE,
            "user": "ada",
            "packages": {"pandas": "2.2.1", "evil": HOSTILE},
            "git": {"commit": "a" * 40, "branch": HOSTILE, "dirty": True},
        },
        "note": HOSTILE,
    }
    session.send(
        f"# Findings\n\nThe **mean** is up. {HOSTILE}\n\n{HOSTILE_LINK}\n\n"
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n```python\nprint('<b>x</b>')\n```"
    )
    for source, metadata, attachments in (
        cell(
            "import math\ndef area(r):\n    return math.pi * r ** 2\nprint(area(2))",
            1,
            [
                ("stream", "text/plain", f"12.566 {HOSTILE}\n".encode(), "stdout"),
                ("display_data", "image/png", png(), ""),
                (
                    "execute_result",
                    "text/html",
                    f"<div><style>td{{color:red}}</style><table><tr><th>k</th></tr>"
                    f"<tr><td onclick=alert(5)>v {HOSTILE}</td></tr></table></div>".encode(),
                    "",
                ),
            ],
        ),
        cell(
            "1 / 0",
            2,
            [("stream", "text/plain", b"warning\n", "stderr")],
            status="error",
            error=f"ZeroDivisionError: division by zero {HOSTILE}",
        ),
        cell(
            "summary",
            3,
            [
                ("display_data", "text/markdown", f"**bold** {HOSTILE}".encode(), ""),
                ("execute_result", "application/json", json.dumps({"k": HOSTILE}).encode(), ""),
                ("display_data", "image/svg+xml", SVG, ""),
            ],
        ),
    ):
        session.send(source, "system", metadata, attachments=attachments)
    # A 0.1 autologged cell: no outputs, success False.
    session.send(
        "raise ValueError('old')",
        "system",
        {"autolog": True, "execution_count": 9, "success": False, "error": "ValueError: old"},
    )
    session.send(
        "Here are the data",
        attachments=[
            Attachment.from_bytes("temps", "text/csv", CSV),
            Attachment.from_bytes("fig", "image/png", png(12, 8, (20, 90, 200))),
            Attachment.from_bytes("broken", "image/png", b"\x89PNG\r\n\x1a\n" + b"not really"),
            Attachment.from_bytes("cut", "image/png", png()[:40]),
            Attachment.from_bytes("paper", "application/pdf", b"%PDF-1.4 tiny"),
        ],
    )
    session.send(
        "0.1 snapshot",
        metadata={
            "attachments": [
                {
                    "name": f"df{HOSTILE}",
                    "type": "pandas.DataFrame",
                    "shape": [100, 2],
                    "columns": ["city", HOSTILE],
                    "head": [["Paris", 12.5], [HOSTILE, -3.0]],
                }
            ]
        },
    )
    session.send(f"A reply {HOSTILE}", "assistant")
    session.save()
    session.seal()
    return session


@pytest.fixture
def sqlite_mirror(tmp_path: Path):
    with ActiveMirror(db_path=tmp_path / "store.db") as mirror:
        yield mirror


# -- HTML ---------------------------------------------------------------------------------


class Markup(HTMLParser):
    """Every tag and attribute of a document, and its text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def named(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs in self.tags if name == tag]


def assert_inert_html(html: str) -> Markup:
    """No script, no event handler, nothing that points outside the document."""
    markup = Markup(html)
    names = {name for name, _ in markup.tags}
    assert not names & {"script", "iframe", "object", "embed", "link", "base", "form", "svg"}
    for name, attrs in markup.tags:
        for attr, value in attrs.items():
            assert not attr.startswith("on"), (name, attr, value)
            if attr in ("src", "href", "srcset", "action", "poster", "background"):
                assert value and (value.startswith(("data:image/", "#"))), (name, attr, value)
    assert not re.search(
        r"https?://|//[a-z0-9]", "".join(v or "" for _, a in markup.tags for v in a.values())
    )
    assert "url(" not in html.lower().split("</style>")[0].split("<style>")[-1].replace("url(#", "")
    return markup


def test_html_report_is_one_inert_standalone_page(sqlite_mirror: ActiveMirror) -> None:
    session = report_session(sqlite_mirror)
    html = session.export("html")
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<script" not in html.lower() and HOSTILE not in html and "<img src=x" not in html
    markup = assert_inert_html(html)
    csp = [a for a in markup.named("meta") if a.get("http-equiv") == "Content-Security-Policy"]
    assert csp and "default-src 'none'" in (csp[0]["content"] or "")
    text = "".join(markup.text)
    # Hostile text is shown as the text it is, wherever it was.
    assert text.count(HOSTILE) >= 8, text.count(HOSTILE)
    assert "javascript:" not in "".join(str(a) for _, a in markup.tags)


def test_html_header_shows_title_dates_tags_provenance_and_the_seal(sqlite_mirror) -> None:
    session = report_session(sqlite_mirror)
    markup = Markup(session.export("html"))
    text = " ".join(markup.text)
    assert f"Study {HOSTILE}" in text
    assert "analysis" in text and "q3" in text
    assert session.metadata["seal"]["head"] == session.head
    assert session.head in text and "Sealed" in text
    for value in ("3.11.7", "Linux", "ada", "a" * 40, "pandas", "2.2.1", f"nb {HOSTILE}.ipynb"):
        assert value in text, value
    assert re.search(r"Created\s*\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", text)


def test_html_renders_markdown_code_images_and_tables(sqlite_mirror) -> None:
    session = report_session(sqlite_mirror)
    html = session.export("html")
    markup = Markup(html)
    assert "<strong>mean</strong>" in html and "<h1>Findings</h1>" in html
    assert "<td>1</td>" in html  # the note's Markdown table
    # Cells: Pygments' classes (keyword, function name, number).
    assert '<span class="k">def</span>' in html and '<span class="nf">area</span>' in html
    assert "In [1]" in html and "In [2]" in html and "0.25 s" in html
    # Images: PNG and SVG as data: URIs in <img> (the SVG's script cannot run there).
    sources = [a["src"] or "" for a in markup.named("img")]
    assert f"data:image/png;base64,{base64.b64encode(png()).decode()}" in sources
    assert f"data:image/svg+xml;base64,{base64.b64encode(SVG).decode()}" in sources
    assert len(sources) == 3  # out-2, the SVG, fig — not the broken or cut PNGs
    # CSV: the first 20 rows and the row count.
    assert "<th>city</th><th>temp</th>" in html and "<td>c19</td>" in html
    assert "<td>c20</td>" not in html and "first 20 of 1,000 rows" in html
    # The HTML output keeps its table, not its style, handler or tag soup.
    assert "<table><tr><th>k</th></tr><tr><td>v &lt;img" in html and "color:red" not in html
    # Errors are marked, 0.1 cells shown.
    assert "ZeroDivisionError: division by zero" in html and "In [9]" in html
    assert html.count('class="am-badge">error<') == 2


def test_html_broken_images_are_file_lines_not_images(sqlite_mirror) -> None:
    html = report_session(sqlite_mirror).export("html")
    for name in ("broken", "cut"):
        line = re.search(rf'<p class="am-file">File <code>{name}</code>[^\n]*', html)
        assert line and "not a valid PNG image" in line.group(0)
    assert re.search(r'<p class="am-file">File <code>paper</code>', html)


def test_png_check_walks_every_chunk() -> None:
    good = png()
    assert png_is_whole(good)
    assert not png_is_whole(good[:-1])  # IEND cut
    assert not png_is_whole(good[:8])
    flipped = bytearray(good)
    flipped[40] ^= 0xFF  # inside IDAT: its CRC no longer matches
    assert not png_is_whole(bytes(flipped))
    assert not png_is_whole(b"GIF89a" + good[6:])


def test_csv_preview_counts_every_row() -> None:
    preview = csv_preview('a,b\n1,"two\nlines"\n3,4\n', rows=1)
    assert preview.header == ["a", "b"] and preview.rows == [["1", "two\nlines"]]
    assert preview.total == 2


def test_sanitized_html_keeps_structure_and_nothing_else() -> None:
    dirty = (
        '<table border="1" class="x" style="color:red"><tr><td colspan="2" onclick="x()">a'
        "</td></tr></table><script>alert(1)</script><style>p{}</style>"
        '<a href="javascript:alert(1)">link</a><svg onload="alert(1)"><circle/></svg>'
        "<img src=x onerror=alert(1)>&lt;b&gt;<p>ok"
    )
    clean = sanitize_html(dirty)
    assert clean.startswith('<table><tr><td colspan="2">a</td></tr></table>')
    assert "alert(1)</script" not in clean and "p{}" not in clean and "<svg" not in clean
    assert "&lt;a href=&quot;javascript:alert(1)&quot;&gt;link&lt;/a&gt;" in clean
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;b&gt;<p>ok</p>" in clean  # text stays text
    assert Markup(clean).tags == [("table", {}), ("tr", {}), ("td", {"colspan": "2"}), ("p", {})]


# -- ipynb --------------------------------------------------------------------------------


def test_ipynb_is_a_valid_notebook_of_the_log(sqlite_mirror) -> None:
    session = report_session(sqlite_mirror)
    nb = nbformat.reads(session.export("ipynb"), as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4 and nb.metadata.kernelspec.name == "python3"
    kinds = [(c.cell_type, c.get("execution_count")) for c in nb.cells]
    assert kinds == [
        ("markdown", None),  # the session's header
        ("markdown", None),  # the note
        ("code", 1),
        ("code", 2),
        ("code", 3),
        ("code", 9),  # 0.1's cell
        ("markdown", None),  # "Here are the data" …
        ("code", None),  # … and its attachments as outputs
        ("markdown", None),  # the 0.1 snapshot
        ("markdown", None),  # the assistant's reply
    ]
    header, note, ok, failed, rich, old, data, attached, snapshot, reply = nb.cells
    assert header.source.startswith("# Study &lt;img") and session.head in header.source
    assert re.match(r"\*\*User · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\*\*\n\n# Findings", note.source)
    assert reply.source.startswith("**Assistant · ")
    assert ok.source.startswith("import math") and "raises-exception" not in ok.metadata.get(
        "tags", []
    )
    stream, image, result = ok.outputs
    assert (
        stream.output_type == "stream"
        and stream.name == "stdout"
        and stream.text.startswith("12.566")
    )
    assert image.output_type == "display_data"
    assert base64.b64decode(image.data["image/png"]) == png()
    assert result.output_type == "execute_result" and result.execution_count == 1
    # Errors are kept as they were and marked, so Run All goes past them.
    assert failed.metadata.tags == ["raises-exception"] and old.metadata.tags == [
        "raises-exception"
    ]
    assert [o.output_type for o in failed.outputs] == ["stream", "error"]
    assert failed.outputs[0].name == "stderr" and failed.outputs[1].ename == "ZeroDivisionError"
    assert [o.output_type for o in old.outputs] == ["error"] and old.outputs[0].evalue == "old"
    markdown_out, json_out, svg_out = rich.outputs
    assert "**bold**" in markdown_out.data["text/markdown"]
    assert json_out.data["application/json"] == {"k": HOSTILE}
    assert svg_out.data["image/svg+xml"] == SVG.decode()
    assert data.source.endswith("Here are the data")
    csv_out, fig_out, broken_out, cut_out, pdf_out = attached.outputs
    assert (
        "| c19 | 9.5 |" in csv_out.data["text/markdown"]
        and "1,000 rows" in csv_out.data["text/markdown"]
    )
    assert "image/png" in fig_out.data and "image/png" not in broken_out.data
    assert (
        "not a valid PNG image" in broken_out.data["text/plain"] and "image/png" not in cut_out.data
    )
    assert "paper (application/pdf" in pdf_out.data["text/plain"]
    assert "| Paris | 12.5 |" in snapshot.source


def test_ipynb_markdown_cells_and_html_outputs_carry_no_live_html(sqlite_mirror) -> None:
    nb = nbformat.reads(report_session(sqlite_mirror).export("ipynb"), as_version=4)
    for c in nb.cells:
        if c.cell_type == "markdown":
            assert "<img" not in c.source and "<script" not in c.source, c.source
            assert "](javascript:" not in c.source
        for output in c.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if html:
                assert_inert_html(html)
                assert all(not attrs for _, attrs in Markup(html).tags)
            markdown = output.get("data", {}).get("text/markdown", "")
            assert "<img" not in markdown and "<script" not in markdown


def test_ipynb_cell_ids_are_unique_and_the_export_is_deterministic(sqlite_mirror) -> None:
    session = report_session(sqlite_mirror)
    text = session.export("ipynb")
    assert text == sqlite_mirror.load_session(session.id).export("ipynb")
    ids = [c["id"] for c in json.loads(text)["cells"]]
    assert len(ids) == len(set(ids))
    # The layout nbformat itself writes: a notebook opened and saved does not change.
    assert nbformat.writes(nbformat.reads(text, as_version=4)) + "\n" == text


# -- Markdown -----------------------------------------------------------------------------


def test_markdown_shows_images_inline_and_csv_as_tables(sqlite_mirror) -> None:
    md = report_session(sqlite_mirror).export("markdown")
    assert f"![out-2](data:image/png;base64,{base64.b64encode(png()).decode()})" in md
    assert f"![out-3](data:image/svg+xml;base64,{base64.b64encode(SVG).decode()})" in md
    assert "| city | temp |" in md and "| c19 | 9.5 |" in md and "_first 20 of 1,000 rows_" in md
    assert "**`broken`** (image/png, 18 bytes): its bytes are not a valid PNG image" in md
    assert "](javascript:" not in md and "&lt;img src=x onerror=alert(1)&gt;" in md
    # Rendered by a Markdown renderer that lets raw HTML through, nothing is live: hostile
    # text is escaped, or inside a code fence (cells and their text outputs).
    # (A note's own Markdown image stays the note's: the export is the note as written.)
    rendered = mistune.create_markdown(escape=False, plugins=["table"])(md)
    markup = Markup(rendered)
    assert not {name for name, _ in markup.tags} & {"script", "iframe", "object", "svg"}
    assert not [attr for _, attrs in markup.tags for attr in attrs if attr.startswith("on")]
    assert "<img src=x" not in rendered
    assert "**Attached `df&lt;img src=x onerror=alert(1)&gt;" in md  # 0.1 snapshots as before
    assert "_In [1] · 0.25 s_" in md and "**Error:** ZeroDivisionError" in md


def test_markdown_to_a_folder_links_its_attachments_as_files(sqlite_mirror, tmp_path) -> None:
    session = report_session(sqlite_mirror, title="Q3 study: a/b <test>")
    path = export_to_path(session, "markdown", f"{tmp_path / 'out'}/")
    assert path == tmp_path / "out" / "Q3 study_ a_b _test.md"
    md = path.read_text(encoding="utf-8")
    assert "data:image" not in md
    links = re.findall(r"\]\((attachments/[^)]+)\)", md)
    assert (
        "attachments/out-2-" + Attachment.from_bytes("x", "image/png", png()).sha256[:12] + ".png"
        in links
    )
    for link in links:
        assert (path.parent / link).is_file()
    fig = next(link for link in links if link.startswith("attachments/fig-"))
    assert (path.parent / fig).read_bytes() == png(12, 8, (20, 90, 200))
    assert any(link.startswith("attachments/temps-") and link.endswith(".csv") for link in links)
    assert "| c19 | 9.5 |" in md  # the table stays, with a link to the whole file


def test_exports_to_a_file_need_its_folder_and_leave_no_partial_file(
    sqlite_mirror, tmp_path
) -> None:
    session = report_session(sqlite_mirror)
    with pytest.raises(FileNotFoundError):
        export_to_path(session, "html", tmp_path / "missing" / "r.html")
    target = export_to_path(session, "ipynb", tmp_path / "r.ipynb")
    nbformat.validate(nbformat.read(target, as_version=4))
    assert sorted(
        p.name
        for p in tmp_path.iterdir()
        if p.name != "store.db" and not p.name.startswith("store.db")
    ) == ["r.ipynb"]


# -- families -----------------------------------------------------------------------------


def family(mirror: ActiveMirror) -> dict[str, Any]:
    """root → (older, newer); older → grandchild. Each with one note naming it."""
    made: dict[str, Any] = {}
    for name, parent in (
        ("root", None),
        ("older", "root"),
        ("newer", "root"),
        ("grandchild", "older"),
    ):
        session = mirror.create_session(f"{name} session", made[parent].id if parent else None)
        session.send(f"note of {name}")
        session.save()
        made[name] = session
    return made


ORDER = ["root", "older", "grandchild", "newer"]


@pytest.mark.parametrize("fmt", ["html", "markdown", "txt", "ipynb"])
def test_family_is_depth_first_oldest_first(sqlite_mirror, fmt: str) -> None:
    made = family(sqlite_mirror)
    # "newer" updated last but created after "older": order is by creation.
    made["older"].send("later note")
    made["older"].save()
    text = made["root"].export(fmt, include_children=True)
    positions = [text.index(f"note of {name}") for name in ORDER]
    assert positions == sorted(positions)
    assert "note of" in made["root"].export(fmt) and "note of older" not in made["root"].export(fmt)


def test_family_headings_go_one_level_down_per_generation(sqlite_mirror) -> None:
    made = family(sqlite_mirror)
    html = made["root"].export("html", include_children=True)
    for level, name in ((1, "root"), (2, "older"), (3, "grandchild"), (2, "newer")):
        assert f"<h{level}>{name} session</h{level}>" in html
    assert html.count('href="#s-') == 4  # the table of contents
    md = made["root"].export("markdown", include_children=True)
    for hashes, name in (("#", "root"), ("##", "older"), ("###", "grandchild"), ("##", "newer")):
        assert f"\n{hashes} {name} session\n" in "\n" + md
    nb = nbformat.reads(made["root"].export("ipynb", include_children=True), as_version=4)
    nbformat.validate(nb)
    assert [c.source.split("\n")[0] for c in nb.cells if c.source.startswith("#")] == [
        "# root session",
        "## older session",
        "### grandchild session",
        "## newer session",
    ]


def test_family_json_is_a_bundle_that_restores_and_verifies(sqlite_mirror, tmp_path) -> None:
    made = family(sqlite_mirror)
    text = made["root"].export("json", include_children=True)
    bundle = json.loads(text)
    assert bundle["format"] == "activemirror-bundle" and bundle["vault"] is None
    assert [s["title"] for s in bundle["sessions"]] == [f"{n} session" for n in ORDER]
    assert verify_export(text).ok
    with ActiveMirror(db_path=tmp_path / "copy.db") as copy:
        counts = import_all_data(text, copy)
        assert counts["sessions"] == 4
        restored = copy.load_session(made["root"].id).export("json", include_children=True)
        assert restored == text


def test_a_cycle_in_parent_links_is_reported_not_followed(tmp_path) -> None:
    db = tmp_path / "store.db"
    with ActiveMirror(db_path=db) as mirror:
        made = family(mirror)
    with sqlite3.connect(db) as raw:  # behind the API: root's parent becomes its grandchild
        raw.execute(
            "UPDATE sessions SET parent_session_id = ? WHERE id = ?",
            (made["grandchild"].id, made["root"].id),
        )
    with ActiveMirror(db_path=db) as mirror:
        for fmt in EXPORT_FORMATS:
            with pytest.raises(FamilyCycleError) as error:
                mirror.load_session(made["older"].id).export(fmt, include_children=True)
            assert isinstance(error.value, StorageError) and isinstance(
                error.value, ActiveMirrorError
            )
            for name in ("older", "grandchild", "root"):
                assert made[name].id in str(error.value)
            assert "cycle" in str(error.value)
        # Without children there is nothing to follow.
        assert "note of older" in mirror.load_session(made["older"].id).export("html")


def test_a_session_that_is_its_own_parent_is_a_cycle(tmp_path) -> None:
    db = tmp_path / "store.db"
    with ActiveMirror(db_path=db) as mirror:
        session = mirror.create_session("ouroboros")
        session.save()
    with sqlite3.connect(db) as raw:
        raw.execute("UPDATE sessions SET parent_session_id = id")
    with ActiveMirror(db_path=db) as mirror:
        with pytest.raises(FamilyCycleError, match="ouroboros"):
            mirror.load_session(session.id).export("markdown", include_children=True)


# -- unsaved messages, formats, scale -----------------------------------------------------


def test_reports_include_unsaved_messages_and_unknown_formats_are_listed(tmp_path) -> None:
    with ActiveMirror("memory") as mirror:
        session = mirror.create_session("Draft")
        session.send("not saved yet")
        for fmt in ("html", "ipynb", "markdown", "txt", "json"):
            assert "not saved yet" in session.export(fmt)
        with pytest.raises(ValueError, match="json, markdown, txt, html, ipynb"):
            session.export("pdf")


def test_render_writes_a_session_already_in_memory(sqlite_mirror) -> None:
    session = report_session(sqlite_mirror)
    messages = session.get_messages()
    assert render(session.metadata_snapshot(), messages, "html") == session.export("html")


@pytest.mark.parametrize("fmt", ["html", "ipynb"])
def test_a_10000_message_report_is_written_with_bounded_memory(tmp_path, fmt: str) -> None:
    with ActiveMirror(db_path=tmp_path / "big.db") as mirror:
        session = mirror.create_session("Ten thousand")
        for i in range(10_000):
            if i % 2:
                session.send(f"note {i}: a **finding** " + "and the words around it " * 20)
            else:
                session.send(
                    f"x_{i} = {i} * 2\nprint(x_{i})",
                    "system",
                    {"kind": "cell", "execution_count": i},
                )
        session.save()
        loaded = mirror.load_session(session.id)
        warm = mirror.create_session("warm-up")  # Pygments and mistune loaded before measuring
        warm.send("**note**")
        warm.send("x = 1", "system", {"kind": "cell"})
        warm.export(fmt)
        tracemalloc.start()
        try:
            path = export_to_path(loaded, fmt, tmp_path / f"big.{fmt}")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    size = path.stat().st_size
    text = path.read_text(encoding="utf-8")
    assert "note 9999:" in text and "x_9998" in text and size > 5_000_000
    # A page of messages at a time: the peak is a small part of what was written.
    assert peak < size / 4, (peak, size)


@pytest.mark.parametrize("fmt", EXPORT_FORMATS)
def test_every_store_exports_every_format_with_children(mirror: ActiveMirror, fmt: str) -> None:
    made = family(mirror)
    study = report_session(mirror, title="Study")
    made["root"].send(
        "see the study", attachments=[Attachment.from_bytes("fig", "image/png", png())]
    )
    made["root"].save()
    reopened = mirror.load_session(made["root"].id)
    text = reopened.export(fmt, include_children=True)
    positions = [text.index(f"note of {name}") for name in ORDER]
    assert positions == sorted(positions)
    if fmt != "txt":  # the transcript names attachments; the others hold the image
        assert base64.b64encode(png()).decode() in text
    if fmt == "ipynb":
        nbformat.validate(nbformat.reads(text, as_version=4))
    if fmt == "html":
        assert_inert_html(text)
    assert "Study" in mirror.load_session(study.id).export(fmt)
