"""Reports from every surface: the command line's ``export``, ``%mirror_session export``
in a real IPython shell, and the SessionBrowser's export."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import nbformat
import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from ipython_shell import ipython  # noqa: F401
from test_reports import HOSTILE, assert_inert_html, family, report_session

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.cli import main
from activemirror_jupyter.magics import load_ipython_extension
from activemirror_jupyter.magics import unload_ipython_extension as unload
from activemirror_jupyter.widgets import SessionBrowser

# -- command line ---------------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, dict]:
    db = tmp_path / "store.db"
    with ActiveMirror(db_path=db) as mirror:
        made = family(mirror)
        report_session(mirror)
    return db, made


def test_cli_exports_html_and_ipynb_to_stdout_and_files(store, tmp_path, capsys) -> None:
    db, made = store
    root = made["root"].id
    assert main(["export", root, "--db", str(db), "--format", "html"]) == 0
    html = capsys.readouterr().out
    assert html.startswith("<!DOCTYPE html>") and "note of root" in html
    assert "note of older" not in html
    assert main(["export", root, "--db", str(db), "-f", "ipynb", "--children"]) == 0
    nb = nbformat.reads(capsys.readouterr().out, as_version=4)
    nbformat.validate(nb)
    assert sum("note of" in c.source for c in nb.cells) == 4
    target = tmp_path / "new" / "folder" / "report.html"
    assert main(["export", root, "--db", str(db), "-f", "html", "-o", str(target)]) == 0
    assert "wrote the html export" in capsys.readouterr().err
    with ActiveMirror(db_path=db) as mirror:
        assert target.read_text(encoding="utf-8") == mirror.load_session(root).export("html")


def test_cli_exports_markdown_to_a_folder_with_its_attachments(store, tmp_path, capsys) -> None:
    db, _ = store
    with ActiveMirror(db_path=db) as mirror:
        (study,) = [s for s in mirror.list_sessions() if s.title.startswith("Study")]
    out = tmp_path / "exports"
    assert (
        main(["export", study.session_id, "--db", str(db), "-f", "markdown", "-o", f"{out}/"]) == 0
    )
    (written,) = out.glob("*.md")
    assert written.name == "Study _img src=x onerror=alert(1)_script_alert(2)_script.md"
    md = written.read_text(encoding="utf-8")
    images = re.findall(r"!\[[^]]*\]\((attachments/[^)]+)\)", md)
    assert len(images) == 3 and all((out / link).is_file() for link in images)
    assert "data:image" not in md


def test_cli_family_json_is_a_bundle_that_restore_takes_back(store, tmp_path, capsys) -> None:
    db, made = store
    bundle = tmp_path / "family.json"
    assert main(["export", made["root"].id, "--db", str(db), "--children", "-o", str(bundle)]) == 0
    assert [s["title"] for s in json.loads(bundle.read_text())["sessions"]] == [
        "root session",
        "older session",
        "grandchild session",
        "newer session",
    ]
    copy = tmp_path / "copy.db"
    assert main(["restore", str(bundle), "--db", str(copy), "--vault", str(tmp_path / "v")]) == 0
    with ActiveMirror(db_path=copy) as mirror:
        assert mirror.count_sessions() == 4
    assert main(["verify", str(bundle)]) == 0


def test_cli_export_names_the_formats(store, capsys) -> None:
    db, made = store
    with pytest.raises(SystemExit):
        main(["export", made["root"].id, "--db", str(db), "-f", "pdf"])
    err = capsys.readouterr().err
    for fmt in ("json", "markdown", "txt", "html", "ipynb"):
        assert fmt in err


# -- magics -----------------------------------------------------------------------------------


@pytest.fixture
def shell(ipython: InteractiveShell, activemirror_home: Path):  # noqa: F811
    ipython.reset(new_session=True)
    load_ipython_extension(ipython)
    with ActiveMirror() as mirror:
        made = family(mirror)
        study = report_session(mirror)
    ipython.run_cell(f"%mirror_session load {study.id}")
    yield ipython, made, study
    unload(ipython)
    ipython.reset(new_session=True)


def test_magic_shows_an_html_report_in_a_frame_without_scripts(shell) -> None:
    ip, _, study = shell
    with capture_output() as captured:
        assert ip.run_cell("%mirror_session export --format html").success
    (shown,) = captured.outputs
    frame = shown.data["text/html"]
    assert frame.startswith("<iframe ") and frame.endswith("></iframe>")
    attributes = re.match(
        r'<iframe title="[^"]*" sandbox="" referrerpolicy="no-referrer" style="[^"]*" srcdoc="',
        frame,
    )
    assert attributes, frame[:300]
    assert "allow-scripts" not in frame and "<script" not in frame.lower()
    report = unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
    with ActiveMirror() as mirror:
        assert report == mirror.load_session(study.id).export("html")
    assert_inert_html(report)
    assert "HTML report of" in shown.data["text/plain"]


def test_magic_writes_reports_and_families_to_files(shell, tmp_path) -> None:
    ip, made, study = shell
    with capture_output() as captured:
        ip.run_cell(f"%mirror_session export --format ipynb --output {tmp_path / 'log.ipynb'}")
    assert "Wrote the ipynb export" in captured.stdout
    nbformat.validate(nbformat.read(tmp_path / "log.ipynb", as_version=4))
    with capture_output() as captured:
        ip.run_cell(
            f"%mirror_session export --session {made['root'].id} --children --format html "
            f"--output {tmp_path}/family/"
        )
    assert "and its family" in captured.stdout
    html = (tmp_path / "family" / "root session.html").read_text(encoding="utf-8")
    assert all(f"note of {name}" in html for name in ("root", "older", "grandchild", "newer"))
    with capture_output() as captured:
        ip.run_cell("%mirror_session export --format ipynb")
    nbformat.validate(nbformat.reads(captured.stdout, as_version=4))


def test_magic_export_help_lists_the_new_options(shell) -> None:
    ip, _, _ = shell
    with capture_output() as captured:
        ip.run_cell("%mirror_session export --help")
    for word in ("html", "ipynb", "--children", "--output", "DIR/"):
        assert word in captured.stdout


# -- widget -----------------------------------------------------------------------------------


def test_browser_exports_html_in_a_sandboxed_frame_and_ipynb_as_source(tmp_path) -> None:
    with ActiveMirror(db_path=tmp_path / "store.db") as mirror:
        made = family(mirror)
        study = report_session(mirror)
        browser = SessionBrowser(mirror, session_id=study.id)
        assert "html" in browser.export_format.options and "ipynb" in browser.export_format.options
        browser.export_format.value = "html"
        browser.export_button.click()
        frame = browser.export_view.value
        assert frame.startswith('<iframe title="Study &lt;img') and 'sandbox=""' in frame
        assert "allow-scripts" not in frame and HOSTILE not in frame
        report = unescape(re.search(r'srcdoc="([^"]*)"', frame).group(1))
        assert_inert_html(report)
        assert not browser.hide_export_button.disabled
        browser.export_format.value = "ipynb"
        browser.export_button.click()
        source = unescape(
            re.search(r"<pre[^>]*>(.*)</pre>", browser.export_view.value, re.S).group(1)
        )
        nbformat.validate(nbformat.reads(source, as_version=4))
        assert "<script" not in browser.export_view.value
        # With children ticked, the family comes too.
        browser.open_session(made["root"].id)
        browser.export_children.value = True
        browser.export_format.value = "markdown"
        browser.export_button.click()
        (output,) = browser.export_markdown.outputs
        assert "## newer session" in output["data"]["text/markdown"]
        browser.hide_export_button.click()
        assert not browser.export_shown
