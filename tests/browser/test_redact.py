""" "Redact…" in the session view, in a real JupyterLab and Chromium: it asks once more and
needs a reason; the message then shows as "redacted: <reason>, <when>", its secret gone
from the page and from the store, and the session still verifies."""

from __future__ import annotations

import re

import pytest
from mirror_ui import dark_screenshot, open_sidebar, record_dialogs, session_view

from activemirror_jupyter.core.models import Attachment

expect = pytest.importorskip("playwright.sync_api").expect

SECRET = "sk-live-Zq7browserSECRET"


def test_redact_asks_once_more_needs_a_reason_and_shows_the_redaction(lab, jupyter_lab):
    mirror = jupyter_lab.mirror()
    session = mirror.create_session("Keys pasted")
    session.send("first note")
    leaked = session.send(
        f"the key is {SECRET}",
        attachments=[Attachment.from_bytes("key.txt", "text/plain", SECRET.encode())],
    )
    session.send("last note")
    session.save()
    session.seal()  # a sealed session can be redacted too
    dialogs = record_dialogs(lab.page)

    lab.open()
    sidebar = open_sidebar(lab)
    sidebar.locator(f'.am-SessionItem[data-session-id="{session.id}"] .am-SessionItem-body').click()
    view = session_view(lab, session.id)
    item = view.locator(f'.am-Message[data-message-id="{leaked.id}"]')
    expect(item).to_contain_text(SECRET)

    # Cancel: nothing happens.
    item.locator(".am-Message-redact").click()
    dialog = lab.page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Redact this message?")
    expect(dialog).to_contain_text("cannot be undone")
    lab.screenshot("asked")
    dialog.locator(".jp-Dialog-button.jp-mod-reject").click()
    expect(dialog).to_have_count(0)
    expect(item).to_contain_text(SECRET)

    # No reason: asked again, saying a reason is needed.
    item.locator(".am-Message-redact").click()
    lab.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-warn").click()
    expect(lab.page.locator(".jp-Dialog .am-RedactForm-missing")).to_have_text(
        "A reason is needed to redact."
    )
    lab.page.locator(".jp-Dialog .am-RedactForm-reason").fill("a live key pasted")
    lab.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-warn").click()

    expect(item.locator(".am-Message-redacted")).to_have_text(
        re.compile(r"^redacted: a live key pasted, .+")
    )
    expect(item).to_have_class(re.compile(r"am-mod-redacted"))
    expect(item.locator(".am-Message-redact")).to_have_count(0)
    expect(view).not_to_contain_text(SECRET)
    lab.screenshot("redacted")
    dark_screenshot(lab, "redacted-dark")
    stored = jupyter_lab.mirror().load_session(session.id).get_messages()[1]
    assert stored.content == "" and stored.redacted["reason"] == "a live key pasted"
    view.locator(".am-SessionView-verify").click()
    expect(view.locator(".am-VerifyReport")).to_contain_text("✓ Verified: 3 messages")
    assert dialogs == []
