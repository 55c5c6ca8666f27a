"""The session view in a real JupyterLab and Chromium: Markdown rendered and sanitised, cell
messages as highlighted code with their outputs, attachments inline (images, CSV tables)
or as downloads, SVG script inert, the seal badge and "Verify", the note box (and a 409 as
one clear line), the export menu, and the dark theme."""

from __future__ import annotations

import io
import json
import re
import sqlite3
from types import SimpleNamespace

import nbformat
import pytest
from mirror_ui import dark_theme, open_sidebar, record_dialogs, session_view
from waiting import wait_for_clock_past

from activemirror_jupyter.core.models import Attachment

expect = pytest.importorskip("playwright.sync_api").expect

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40">'
    b"<script>alert('svg ran')</script>"
    b'<rect width="120" height="40" fill="#4a90d9"/></svg>'
)
CSV = (
    "site,species,count\n"
    + "".join(f"S{i},fern {i},{i * 3}\n" for i in range(1, 30))
    + '"X, quoted","<script>alert(3)</script>",0\n'
)


def figure_png() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2.4), dpi=80)
    ax.bar(["ferns", "moss", "lichen"], [7, 3, 5], color="#4a90d9")
    ax.set_title("Species seen")
    out = io.BytesIO()
    fig.savefig(out, format="png")
    plt.close(fig)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(jupyter_lab):
    mirror = jupyter_lab.mirror()
    png = figure_png()
    analysis = mirror.create_session("Analysis", tags=["botany"])
    analysis.send("# Results\n\n**Bold** finding with `inline code`:\n\n- ferns\n- moss")
    analysis.send(
        "import math\nfor i in range(3):\n    print(i)\nmath.pi",
        role="system",
        metadata={
            "kind": "cell",
            "execution_count": 3,
            "duration_s": 0.12,
            "status": "ok",
            "notebook": "analysis.ipynb",
            "outputs": [
                {"attachment": "out-1", "output_type": "stream", "stream": "stdout"},
                {"attachment": "out-2", "output_type": "display_data"},
                {"attachment": "out-3", "output_type": "execute_result"},
            ],
        },
        attachments=[
            Attachment.from_bytes("out-1", "text/plain", b"0\n1\n2\n"),
            Attachment.from_bytes("out-2", "image/png", png),
            Attachment.from_bytes("out-3", "text/plain", b"3.141592653589793"),
        ],
    )
    analysis.send(
        "1/0",
        role="system",
        metadata={
            "kind": "cell",
            "execution_count": 4,
            "duration_s": 0.01,
            "status": "error",
            "error": "ZeroDivisionError: division by zero",
            "notebook": "analysis.ipynb",
            "outputs": [],
        },
    )
    analysis.send(
        "The survey, a figure, a drawing and the paper.",
        attachments=[
            Attachment.from_bytes("df", "text/csv", CSV.encode()),
            Attachment.from_bytes("fig", "image/png", png),
            Attachment.from_bytes("drawing", "image/svg+xml", SVG),
            Attachment.from_bytes("paper.pdf", "application/pdf", b"%PDF-1.4 " + b"x" * 1000),
        ],
    )
    analysis.send(
        "x = 1", role="system", metadata={"autolog": True, "execution_count": 1, "success": True}
    )
    analysis.send(
        "A 0.1 snapshot",
        metadata={
            "attachments": [
                {
                    "name": "small",
                    "type": "DataFrame",
                    "shape": [2, 2],
                    "columns": ["a", "b"],
                    "head": [[1, 2], [3, 4]],
                }
            ]
        },
    )
    analysis.save()
    wait_for_clock_past(analysis.updated_at)

    sealed = mirror.create_session("Sealed record")
    first = sealed.send("The final answer is 42.")
    sealed.send("Agreed.", role="assistant")
    sealed.save()
    sealed.seal()
    wait_for_clock_past(sealed.updated_at)

    notes = mirror.create_session("Notes")
    notes.save()
    wait_for_clock_past(notes.updated_at)
    late = mirror.create_session("Sealed while open")
    late.send("draft")
    late.save()
    return SimpleNamespace(
        mirror=mirror,
        analysis_id=analysis.id,
        sealed_id=sealed.id,
        sealed_first_id=first.id,
        notes_id=notes.id,
        late_id=late.id,
    )


def open_view(lab, session_id):
    sidebar = open_sidebar(lab)
    sidebar.locator(f'.am-SessionItem[data-session-id="{session_id}"] .am-SessionItem-body').click()
    return session_view(lab, session_id)


def test_cells_are_highlighted_code_with_their_outputs(lab, seeded):
    lab.open()
    view = open_view(lab, seeded.analysis_id)

    note = view.locator('.am-Message[data-kind="note"]').first
    expect(note.locator("h1")).to_have_text(re.compile(r"^Results"))  # and its ¶ anchor
    expect(note.locator("strong")).to_have_text("Bold")
    expect(note.locator("li")).to_have_text(["ferns", "moss"])

    cells = view.locator('.am-Message[data-kind="cell"]')
    expect(cells).to_have_count(3)
    cell = cells.first
    expect(cell.locator(".am-Message-prompt")).to_have_text("In [3]")
    expect(cell.locator(".am-Message-status")).to_have_text("ok")
    code = cell.locator(".am-Message-content pre")
    expect(code).to_contain_text("for i in range(3):")
    keyword = code.locator("code span", has_text="import").first
    expect(keyword).to_be_visible()  # highlighted by JupyterLab's CodeMirror: its own colour
    lab.page.wait_for_function(
        "k => getComputedStyle(k).color !== getComputedStyle(k.closest('code')).color",
        arg=keyword.element_handle(),
    )
    outputs = cell.locator(".am-Output")
    expect(outputs).to_have_count(3)
    expect(outputs.nth(0)).to_have_text("0\n1\n2\n")
    expect(outputs.nth(2)).to_have_text("3.141592653589793")
    image = outputs.nth(1).locator("img")
    expect(image).to_be_visible()
    lab.page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )

    failed = cells.nth(1)
    expect(failed.locator(".am-Message-status")).to_have_text("error")
    expect(failed.locator(".am-Output-error")).to_have_text("ZeroDivisionError: division by zero")
    old = cells.nth(2)  # 0.1's autolog: no outputs, still code
    expect(old.locator(".am-Message-prompt")).to_have_text("In [1]")
    expect(old.locator(".am-Message-content pre")).to_have_text("x = 1")
    snapshot = view.locator(".am-Snapshot")
    expect(snapshot.locator("th")).to_have_text(["a", "b"])
    expect(snapshot.locator("td")).to_have_text(["1", "2", "3", "4"])
    lab.screenshot("cells-light")


def test_attachments_show_inline_and_svg_script_stays_inert(lab, seeded, browser):
    dialogs = record_dialogs(lab.page)
    lab.open()
    view = open_view(lab, seeded.analysis_id)

    files = view.locator(".am-Message-attachments").first
    table = files.locator('.am-Attachment[data-name="df"] .am-Table')
    expect(table.locator("th")).to_have_text(["site", "species", "count"])
    expect(table.locator("tbody tr")).to_have_count(20)  # the first rows
    expect(files.locator('.am-Attachment[data-name="df"]')).to_contain_text("First 20 rows")
    for name in ("fig", "drawing"):
        image = files.locator(f'.am-Attachment[data-name="{name}"] img')
        expect(image).to_be_visible()
        lab.page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
    paper = files.locator('.am-Attachment[data-name="paper.pdf"]')
    expect(paper).to_contain_text("application/pdf · 1.0 kB")
    link = paper.locator("a")
    expect(link).to_have_attribute("href", re.compile(r"download=1"))
    view.locator(".am-MessageList").dispatch_event("wheel")  # the user scrolls up to them
    files.scroll_into_view_if_needed()
    lab.screenshot("attachments")

    # Opened on its own, the SVG is served sandboxed: its script cannot run.
    svg_url = files.locator('.am-Attachment[data-name="drawing"] img').get_attribute("src")
    response = lab.page.request.get(svg_url)
    assert response.headers["content-security-policy"] == "sandbox"
    assert response.headers["x-content-type-options"] == "nosniff"
    page = lab.page.context.new_page()
    svg_dialogs = record_dialogs(page)
    page.goto(svg_url)
    page.wait_for_load_state("load")
    expect(page.locator("rect")).to_have_count(1)
    page.close()
    assert dialogs == [] and svg_dialogs == []
    expect(lab.page.locator(".am-SessionView script")).to_have_count(0)


def test_a_sealed_session_shows_its_seal_and_verifies(lab, seeded, jupyter_lab):
    lab.open()
    view = open_view(lab, seeded.sealed_id)

    expect(view.locator(".am-Seal")).to_have_text("Sealed")
    expect(view.locator(".am-NoteBox-input")).to_be_disabled()
    expect(view.locator(".am-NoteBox-sealed")).to_be_visible()
    view.locator(".am-SessionView-verify").click()
    report = view.locator(".am-VerifyReport")
    expect(report).to_have_text(
        "✓ Verified: 2 messages, hash chain and seal intact — nothing changed since saved."
    )
    lab.screenshot("verified")

    # Someone edits the store behind the API: Verify names the message.
    db = sqlite3.connect(jupyter_lab.home / "conversations.db")
    db.execute(
        "UPDATE messages SET content = 'The final answer is 43.' WHERE id = ?",
        (seeded.sealed_first_id,),
    )
    db.commit()
    db.close()
    view.locator(".am-SessionView-verify").click()
    expect(report).to_contain_text("✗ ")
    expect(report.locator(".am-VerifyReport-problems li").first).to_contain_text(
        f"changed: message {seeded.sealed_first_id}"
    )
    expect(report).to_have_class(re.compile(r"am-mod-error"))
    lab.screenshot("tampered")


def test_a_note_from_the_box_is_saved_with_its_role(lab, seeded):
    lab.open()
    view = open_view(lab, seeded.notes_id)
    box = view.locator(".am-NoteBox-input")

    box.fill("First **note** from the panel")
    box.press("Control+Enter")
    expect(view.locator(".am-Message")).to_have_count(1)
    expect(view.locator(".am-Message strong")).to_have_text("note")
    expect(box).to_have_value("")
    view.locator(".am-NoteBox-role").select_option("assistant")
    box.fill("An answer")
    view.locator(".am-NoteBox-send").click()
    expect(view.locator(".am-Message")).to_have_count(2)
    expect(view.locator(".am-Message").last).to_have_attribute("data-role", "assistant")

    messages = seeded.mirror.load_session(seeded.notes_id).get_messages()
    assert [(m.role, m.content) for m in messages] == [
        ("user", "First **note** from the panel"),
        ("assistant", "An answer"),
    ]
    assert all(m.hash for m in messages)


def test_a_409_is_one_clear_line_and_the_view_catches_up(lab, seeded):
    lab.open()
    view = open_view(lab, seeded.late_id)
    box = view.locator(".am-NoteBox-input")
    box.fill("one more thought")

    # The session is sealed elsewhere just as the note is on its way (the request reaches
    # the real server only after the seal).
    def seal_then_send(route):
        if route.request.method == "POST":
            seeded.mirror.load_session(seeded.late_id).seal()
        route.continue_()

    writes = re.compile(r"/activemirror/api/sessions/[^/?]+/messages(\?|$)")
    lab.page.route(writes, seal_then_send)
    box.press("Control+Enter")

    status = view.locator(".am-SessionView-status")
    expect(status).to_contain_text("is sealed")
    expect(status).to_have_attribute("role", "alert")
    assert "\n" not in status.inner_text().strip()
    expect(view.locator(".am-Seal")).to_have_text("Sealed")  # refreshed after the 409
    expect(box).to_be_disabled()
    expect(box).to_have_value("one more thought")  # nothing typed is lost
    lab.page.unroute(writes)
    lab.screenshot("sealed-409")
    assert seeded.mirror.load_session(seeded.late_id).message_count == 1


def test_the_export_menu_opens_a_notebook_and_downloads_html(lab, seeded):
    lab.server.write_notebook("work/start.ipynb", ["x = 1"])
    lab.open_notebook("work/start.ipynb")
    view = open_view(lab, seeded.analysis_id)

    view.locator(".am-SessionView-export").click()
    menu = lab.page.locator(".am-ExportMenu")
    expect(menu.locator(".lm-Menu-itemLabel")).to_have_text(
        [
            "Download Mirror Session as HTML",
            "Insert Mirror Session Export into Notebook",
            "Open Mirror Session as Notebook",
        ]
    )
    lab.screenshot("export-menu")
    with lab.page.expect_download() as download_info:
        menu.locator(".lm-Menu-item", has_text="as HTML").click()
    download = download_info.value
    assert download.suggested_filename == "Analysis.html"
    html = open(download.path(), encoding="utf-8").read()
    assert "Analysis" in html and "<script" not in html.lower()

    view.locator(".am-SessionView-export").click()
    lab.page.locator(".am-ExportMenu .lm-Menu-item", has_text="as Notebook").click()
    lab.page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.context && w.context.path === 'work/Analysis.ipynb'; }"
    )
    written = lab.server.notebook_dir / "work" / "Analysis.ipynb"
    notebook = nbformat.read(written, as_version=4)
    nbformat.validate(notebook)
    assert any("math.pi" in cell.source for cell in notebook.cells if cell.cell_type == "code")
    expect(lab.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first).to_be_visible()
    lab.screenshot("opened-as-notebook")
    assert json.loads(written.read_text())["nbformat"] == 4


def test_the_view_reads_well_in_the_dark_theme(lab, seeded):
    lab.open()
    view = open_view(lab, seeded.analysis_id)
    light = lab.page.evaluate(
        "() => getComputedStyle(document.querySelector('.am-Message')).backgroundColor"
    )
    dark_theme(lab)
    try:
        lab.page.wait_for_function(
            "(light) => getComputedStyle(document.querySelector('.am-Message'))"
            ".backgroundColor !== light",
            arg=light,
        )
        sidebar = lab.page.locator(".am-Sidebar")
        sidebar.locator(".am-Search-input").fill("ferns")
        expect(sidebar.locator(".am-Hit").first).to_be_visible()
        expect(view.locator(".am-Output img").first).to_be_visible()
        lab.screenshot("dark-theme")
    finally:
        lab.execute("apputils:change-theme", {"theme": "JupyterLab Light"})
