"""The widget panels in a real JupyterLab and Chromium, opened through the magics:
``%mirror_session browse`` (picker paging, message paging, export, markup as text),
``%vault unlock`` (a wrong then the right password, reveal) and ``%mirror_session chat``.

Each test leaves screenshots of its panel in ``test-artifacts/``.
"""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from waiting import wait_for_clock_past

from activemirror_jupyter.core.vault import VaultCategory, VaultMemory

expect = pytest.importorskip("playwright.sync_api").expect

XSS = "<img src=x onerror=alert(1)>"
PASSWORD = "a long vault passphrase"
SECRET = "sk-live-0123456789"


@pytest.fixture(scope="module")
def seeded(jupyter_lab):
    """60 filler sessions, one titled with markup, then a 45-message session (newest);
    and a vault with two entries, locked."""
    mirror = jupyter_lab.mirror()
    for i in range(60):
        mirror.create_session(f"Filler {i:02d}").save()
    xss = mirror.create_session(XSS)
    xss.send(XSS)
    xss.send("**bold?** <script>alert(2)</script>", role="assistant")
    xss.save()
    wait_for_clock_past(xss.updated_at)  # the long session is the newest
    long = mirror.create_session("Long session")
    for i in range(1, 46):
        long.send(f"message {i}", role="user" if i % 2 else "assistant")
    long.save()
    # 1,000 iterations keeps the test quick; the header records the count, so the kernel
    # unlocks it exactly as it would a 600,000-iteration vault.
    with VaultMemory(PASSWORD, jupyter_lab.home / "vault", kdf_iterations=1_000) as vault:
        vault.store("api_key", SECRET, {"category": VaultCategory.PRIVATE, "tags": ["llm"]})
        vault.store(XSS, "markup as a name", {"tags": ["odd"]})
    return SimpleNamespace(mirror=mirror, long_id=long.id, xss_id=xss.id)


@pytest.fixture
def dialogs(lab):
    """Every alert/confirm the page tries to show (there must be none)."""
    seen: list[str] = []

    def record(dialog):  # type: ignore[no-untyped-def]
        seen.append(dialog.message)
        dialog.dismiss()

    lab.page.on("dialog", record)
    return seen


def new_notebook(lab, name: str) -> None:
    lab.server.write_notebook(name, [""])
    lab.open_notebook(name)
    lab.run_cell("%load_ext activemirror_jupyter")


def button(panel, name: str):  # type: ignore[no-untyped-def]
    """The buttons labelled exactly ``name`` (their icon is not part of the text)."""
    return panel.locator("button").filter(has_text=re.compile(rf"^\s*{re.escape(name)}\s*$"))


def pick(panel, title: str) -> None:  # type: ignore[no-untyped-def]
    """Choose the session titled ``title`` in the panel's picker (its current page), once the
    picker shows it: after a click on the picker's Prev/Next it is redrawn a moment later."""
    picker = panel.locator("select").first
    # "title · 45 messages · …", every space a non-breaking one
    words = r"\s".join(re.escape(word) for word in title.split(" "))
    option = picker.locator("option").filter(has_text=re.compile(rf"^{words}\s·\s"))
    expect(option).to_have_count(1)
    picker.select_option(index=option.evaluate("option => option.index"))


def test_session_browser_pages_sessions_and_messages(lab, seeded, dialogs):
    new_notebook(lab, "browse.ipynb")
    lab.run_cell("%mirror_session browse")
    panel = lab.page.locator(".am-session-browser").last
    expect(panel).to_be_visible()
    expect(panel).to_contain_text("62 sessions")
    picker_pager = panel.locator(".am-pager").first
    expect(picker_pager).to_contain_text("sessions page 1 of 2")
    options = panel.locator("select").first.locator("option")
    expect(options).to_have_count(50)
    expect(options.first).to_contain_text("Long session")

    # the picker pages: thousands of sessions never sit in one list
    button(picker_pager, "Next").click()
    expect(picker_pager).to_contain_text("sessions page 2 of 2")
    expect(options).to_have_count(12)
    expect(options.last).to_contain_text("Filler 00")
    button(picker_pager, "Prev").click()
    expect(picker_pager).to_contain_text("sessions page 1 of 2")

    # open the long session: newest page first
    pick(panel, "Long session")
    message_pager = panel.locator(".am-pager").nth(1)
    expect(message_pager).to_contain_text("page 1 of 3 · messages 26–45 of 45")
    contents = panel.locator("td.am-text")
    expect(contents).to_have_count(20)
    expect(contents.first).to_have_text("message 26")
    expect(contents.last).to_have_text("message 45")
    lab.screenshot("session-browser-newest-page")

    button(message_pager, "Next").click()
    expect(message_pager).to_contain_text("page 2 of 3 · messages 6–25 of 45")
    expect(contents.first).to_have_text("message 6")
    button(message_pager, "Next").click()
    expect(message_pager).to_contain_text("page 3 of 3 · messages 1–5 of 45")
    expect(contents).to_have_count(5)
    expect(button(message_pager, "Next")).to_be_disabled()
    lab.screenshot("session-browser-oldest-page")
    button(message_pager, "Prev").click()
    expect(message_pager).to_contain_text("page 2 of 3")
    expect(contents.first).to_have_text("message 6")

    # export shows the Markdown inline, rendered
    button(panel, "Export").click()
    export = panel.locator(".am-export-rendered .jp-RenderedMarkdown")
    # the heading ends in JupyterLab's "¶" anchor link
    expect(export.locator("h1")).to_have_text(re.compile(r"^Long session\W*$"))
    expect(export).to_contain_text("message 45")
    lab.screenshot("session-browser-export")
    button(panel, "Hide export").click()
    expect(export).to_have_count(0)
    assert dialogs == []


def test_markup_in_a_session_stays_text(lab, seeded, dialogs):
    new_notebook(lab, "markup.ipynb")
    lab.run_cell("%mirror_session browse")
    panel = lab.page.locator(".am-session-browser").last
    pick(panel, XSS)
    contents = panel.locator("td.am-text")
    expect(contents).to_have_count(2)
    expect(contents.first).to_have_text(XSS)
    expect(contents.last).to_have_text("**bold?** <script>alert(2)</script>")
    expect(panel.locator(".am-heading").filter(has_text="<img")).to_have_count(1)
    button(panel, "Export").click()
    export = panel.locator(".am-export-rendered .jp-RenderedMarkdown")
    expect(export.locator("h1")).to_have_text(re.compile(rf"^{re.escape(XSS)}\W*$"))
    expect(export).to_contain_text("<script>alert(2)</script>")
    expect(panel.locator("img")).to_have_count(0)
    expect(panel.locator("script")).to_have_count(0)
    lab.screenshot("session-browser-markup")
    assert dialogs == []


def test_vault_panel_wrong_then_right_password(lab, seeded, dialogs):
    new_notebook(lab, "vault.ipynb")
    lab.run_cell("%vault unlock")
    panel = lab.page.locator(".am-vault").last
    expect(panel).to_contain_text("Locked")
    password = panel.locator("input[type=password]").first

    password.fill("not the password")
    button(panel, "Unlock").click()
    expect(panel.locator(".am-status")).to_contain_text("Wrong password")
    expect(password).to_have_value("")
    expect(panel.locator(".am-entries")).to_be_hidden()
    lab.screenshot("vault-wrong-password")
    # "locked" as a word: "unlocked" does not match
    expect(lab.run_cell("%vault status")).to_contain_text(re.compile(r"\blocked\b", re.I))

    password.fill(PASSWORD)
    password.press("Enter")
    expect(panel.locator(".am-status")).to_contain_text("Unlocked.")
    expect(password).to_have_value("")
    entries = panel.locator(".am-entries")
    expect(entries).to_contain_text("api_key")
    expect(entries).to_contain_text(XSS)  # a key with markup is shown as text
    expect(entries).to_contain_text("private")
    expect(panel).not_to_contain_text(SECRET)  # values stay hidden until revealed
    lab.screenshot("vault-unlocked")

    button(panel, "Reveal").last.click()  # rows are sorted by key: api_key comes last
    expect(panel).to_contain_text(SECRET)
    expect(button(panel, "Hide")).to_have_count(1)
    lab.screenshot("vault-value-revealed")
    button(panel, "Hide").click()
    expect(panel).not_to_contain_text(SECRET)
    expect(panel.locator("img")).to_have_count(0)

    expect(lab.run_cell("%vault status")).to_contain_text("unlocked", ignore_case=True)
    button(panel, "Lock").click()
    expect(panel.locator(".am-status")).to_contain_text("Locked.")
    expect(lab.run_cell("%vault status")).to_contain_text(re.compile(r"\blocked\b", re.I))
    assert dialogs == []


def test_chat_panel_sends_into_the_current_session(lab, seeded):
    new_notebook(lab, "chat.ipynb")
    lab.run_cell('%mirror_session new "Chat from the browser"')
    lab.run_cell("%mirror_session chat")
    panel = lab.page.locator(".am-chat").last
    expect(panel).to_contain_text("Chat from the browser")
    panel.locator("textarea").fill("Typed into the chat panel <b>not bold</b>")
    button(panel, "Send").click()
    contents = panel.locator("td.am-text")
    expect(contents).to_have_count(1)
    expect(contents.first).to_have_text("Typed into the chat panel <b>not bold</b>")
    expect(panel.locator("textarea")).to_have_value("")
    lab.screenshot("chat-panel")

    # the magics autosave: the message is on disk for any other process
    (meta,) = [
        s for s in seeded.mirror.list_sessions(limit=5) if s.title == "Chat from the browser"
    ]
    stored = seeded.mirror.load_session(meta.session_id).get_messages()
    assert [m.content for m in stored] == ["Typed into the chat panel <b>not bold</b>"]


def test_panels_work_in_notebook_7(lab, seeded, dialogs):
    """The same server also serves Notebook 7 (the ``notebook`` package is a test
    dependency): the browser and the vault panel work there too."""
    lab.server.write_notebook("nb7.ipynb", [""])
    lab.open_notebook("nb7.ipynb", ui="notebook")
    assert lab.page.evaluate("() => window.jupyterapp.name") == "Jupyter Notebook"
    lab.run_cell("%load_ext activemirror_jupyter")
    lab.run_cell("%mirror_session browse")
    lab.run_cell("%vault unlock")
    page = lab.page

    browser = page.locator(".am-session-browser").last
    expect(browser).to_contain_text(re.compile(r"\d+ sessions"), timeout=60_000)
    pick(browser, "Long session")
    message_pager = browser.locator(".am-pager").nth(1)
    expect(message_pager).to_contain_text("page 1 of 3")
    button(message_pager, "Next").click()
    expect(message_pager).to_contain_text("page 2 of 3 · messages 6–25 of 45")
    expect(browser.locator("td.am-text").first).to_have_text("message 6")
    lab.screenshot("notebook7-session-browser")

    vault = page.locator(".am-vault").last
    password = vault.locator("input[type=password]").first
    password.fill("wrong")
    button(vault, "Unlock").click()
    expect(vault.locator(".am-status")).to_contain_text("Wrong password")
    expect(password).to_have_value("")
    password.fill(PASSWORD)
    button(vault, "Unlock").click()
    expect(vault.locator(".am-entries")).to_contain_text("api_key")
    expect(vault).not_to_contain_text(SECRET)
    vault.scroll_into_view_if_needed()
    lab.screenshot("notebook7-vault")
    assert dialogs == []
