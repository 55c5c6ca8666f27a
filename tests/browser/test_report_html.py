"""The HTML report in Debian's Chromium: opened from disk it renders (text, highlighted
code, images, tables, light and dark), runs no script and asks the network for nothing —
with its Content-Security-Policy, and without it (escaping alone holds); and
``%mirror_session export --format html`` shows it inside JupyterLab in a frame sandboxed
without scripts.

Screenshots are kept in ``test-artifacts/`` (report-*.png).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from test_reports import HOSTILE, family, report_session

from activemirror_jupyter import ActiveMirror
from activemirror_jupyter.core.models import Attachment

expect = pytest.importorskip("playwright.sync_api").expect

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# Each would leave a trace if it ran or fetched: a mark on <body>, a dialog, a request.
RUNS = '<img src=x onerror="document.body.dataset.pwned=1"><script>document.body.dataset.pwned=2</script>'
FETCHES = (
    '<iframe src="http://127.0.0.1:9/frame"></iframe><link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
    '<img src="http://127.0.0.1:9/pixel.png"> ![t](http://127.0.0.1:9/t.png) <http://127.0.0.1:9/auto>'
)
SVG_FETCHING = (
    b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
    b'width="80" height="40"><rect width="80" height="40" fill="orange"/>'
    b'<image href="http://127.0.0.1:9/from-svg.png" width="10" height="10"/>'
    b'<script>alert("svg")</script></svg>'
)


def hostile_report(folder: Path) -> tuple[Path, str]:
    """A family (a report session with everything, one child) written as an HTML file."""
    with ActiveMirror(db_path=folder / "store.db") as mirror:
        study = report_session(mirror)
        child = mirror.create_session(f"Follow-up {RUNS}", study.id)
        child.send(f"{RUNS}\n\n{FETCHES}")
        html_output = f"<table><tr><td>{RUNS}{FETCHES}</td></tr></table>".encode()
        child.send(
            "display(things)",
            "system",
            {
                "kind": "cell",
                "execution_count": 1,
                "outputs": [
                    {"attachment": "out-1", "output_type": "display_data"},
                    {"attachment": "out-2", "output_type": "display_data"},
                ],
            },
            attachments=[
                Attachment.from_bytes("out-1", "text/html", html_output),
                Attachment.from_bytes("out-2", "image/svg+xml", SVG_FETCHING),
            ],
        )
        child.save()
        text = mirror.load_session(study.id).export("html", include_children=True)
    path = folder / "report.html"
    path.write_text(text, encoding="utf-8")
    return path, text


class Watch:
    """What a page does beyond showing itself: requests, dialogs, console complaints."""

    def __init__(self, context: Any, page: Any, own_url: str) -> None:
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.dialogs: list[str] = []
        self.console: list[str] = []
        self.own_url = own_url
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("console", lambda message: self.console.append(message.text))
        page.on("dialog", self._dialog)
        context.route("**/*", self._route)

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        if route.request.url == self.own_url:
            route.continue_()
        else:  # anything else would be a request the report must never make
            self.blocked.append(route.request.url)
            route.abort()

    def outside(self) -> list[str]:
        return [
            url
            for url in self.requests + self.blocked
            if url != self.own_url and not url.startswith("data:")
        ]


def open_report(browser: Any, path: Path) -> tuple[Any, Any, Watch]:
    context = browser.new_context(viewport={"width": 1100, "height": 900}, java_script_enabled=True)
    page = context.new_page()
    watch = Watch(context, page, path.as_uri())
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return context, page, watch


def assert_nothing_ran_or_fetched(page: Any, watch: Watch) -> None:
    # Every image has decoded (so any fetch it could make has been made) before we look.
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")
    assert page.evaluate("() => document.body.dataset.pwned") is None
    assert page.evaluate("() => document.scripts.length") == 0
    assert (
        page.evaluate("() => document.querySelectorAll('iframe, link, object, embed').length") == 0
    )
    assert watch.dialogs == []
    assert watch.outside() == [], watch.outside()


def test_the_report_renders_offline_and_runs_nothing(browser, tmp_path) -> None:
    path, text = hostile_report(tmp_path)
    context, page, watch = open_report(browser, path)
    try:
        expect(page.locator(".am-session-head h1")).to_have_text(f"Study {HOSTILE}")
        expect(page.locator(".am-session-head h2")).to_have_text(f"Follow-up {RUNS}")
        expect(page.locator(".am-toc li")).to_have_count(2)
        # Text stays text: the hostile strings are shown, as strings.
        expect(page.locator(".am-note .am-md").first).to_contain_text(HOSTILE)
        expect(page.locator("article").last).to_contain_text("http://127.0.0.1:9/pixel.png")
        # Code highlighted by Pygments: keywords in their own colour.
        keyword = page.locator(".am-cell .highlight .k").first
        expect(keyword).to_have_text("def")
        assert keyword.evaluate("e => getComputedStyle(e).color") != page.locator(
            ".am-cell .highlight .n"
        ).first.evaluate("e => getComputedStyle(e).color")
        # Images decoded (PNG and SVG as data: URIs), CSV as its first 20 rows.
        page.wait_for_function(
            "() => document.images.length === 4 && "
            "Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)"
        )
        expect(page.locator("table.am-csv tbody tr")).to_have_count(20)
        expect(page.locator(".am-table-wrap:has(.am-csv) + p")).to_have_text(
            "first 20 of 1,000 rows"
        )
        expect(page.locator(".am-file").filter(has_text="broken")).to_contain_text(
            "not a valid PNG"
        )
        assert_nothing_ran_or_fetched(page, watch)
        assert not [line for line in watch.console if "Refused" in line], watch.console
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "report-html-light.png"), full_page=True)
        # Dark: the page follows the system's colour scheme.
        page.emulate_media(color_scheme="dark")
        page.wait_for_function(
            "() => getComputedStyle(document.body).backgroundColor === 'rgb(13, 17, 23)'"
        )
        page.screenshot(path=str(ARTIFACTS / "report-html-dark.png"), full_page=True)
    finally:
        context.close()


def test_without_its_policy_the_escaping_alone_holds(browser, tmp_path) -> None:
    path, text = hostile_report(tmp_path)
    stripped = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>\n', "", text)
    assert stripped != text
    path.write_text(stripped, encoding="utf-8")
    context, page, watch = open_report(browser, path)
    try:
        expect(page.locator(".am-session-head h1")).to_have_text(f"Study {HOSTILE}")
        assert_nothing_ran_or_fetched(page, watch)
    finally:
        context.close()


def test_the_magic_shows_the_report_in_jupyterlab_in_a_sandboxed_frame(lab) -> None:
    mirror = lab.server.mirror()
    made = family(mirror)
    dialogs: list[str] = []
    lab.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    lab.server.write_notebook("report.ipynb", [""])
    lab.open_notebook("report.ipynb")
    lab.run_cell("%load_ext activemirror_jupyter")
    area = lab.run_cell(
        f"%mirror_session export --session {made['root'].id} --children --format html"
    )
    frame_element = area.locator("iframe")
    expect(frame_element).to_have_count(1)
    expect(frame_element).to_have_attribute("sandbox", "")
    frame = area.frame_locator("iframe")
    expect(frame.locator(".am-session-head h1")).to_have_text("root session")
    expect(frame.locator(".am-session-head h3")).to_have_text("grandchild session")
    expect(frame.locator(".am-note").last).to_contain_text("note of newer")
    assert dialogs == []
    lab.screenshot("report-in-jupyterlab")


def test_the_session_browser_shows_the_report_in_a_sandboxed_frame(lab) -> None:
    mirror = lab.server.mirror()
    study = report_session(mirror, title="Browsed study")
    lab.server.write_notebook("browse-report.ipynb", [""])
    lab.open_notebook("browse-report.ipynb")
    lab.run_cell(
        "from activemirror_jupyter import ActiveMirror\n"
        "from activemirror_jupyter.widgets import SessionBrowser\n"
        f"panel = SessionBrowser(ActiveMirror(), session_id={study.id!r})\n"
        "panel.export_format.value = 'html'\n"
        "panel.show_export()\n"
        "panel"
    )
    frame_element = lab.page.locator(".am-session-browser iframe")
    expect(frame_element).to_have_count(1)
    expect(frame_element).to_have_attribute("sandbox", "")
    frame = lab.page.frame_locator(".am-session-browser iframe")
    expect(frame.locator(".am-session-head h1")).to_have_text("Browsed study")
    expect(frame.locator("table.am-csv tbody tr")).to_have_count(20)
    lab.screenshot("report-in-session-browser")
