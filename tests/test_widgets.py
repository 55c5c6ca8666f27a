"""The widget panels, driven from Python as a user would drive them: set values, click.

Every test works on a real SQLite file (or a real vault folder) in a temporary directory
and checks both what the panel shows and what is on disk afterwards.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import ipywidgets as widgets
import llm_models
import pytest
from images import tiny_png

from activemirror_jupyter.core.errors import ResponderError
from activemirror_jupyter.core.markup import escape
from activemirror_jupyter.core.mirror import ActiveMirror
from activemirror_jupyter.core.models import Attachment
from activemirror_jupyter.core.vault import VaultCategory, VaultMemory
from activemirror_jupyter.widgets import ChatPanel, SessionBrowser, VaultPanel

llm_user_dir = llm_models.llm_user_dir  # autouse: llm never touches the real user folder

XSS = "<img src=x onerror=alert(1)>"
PASSWORD = "correct horse battery staple"
FAST_KDF = 1_000  # the vault's minimum; the format is the same at any count


# ------------------------------------------------------------------------------ helpers


@pytest.fixture(autouse=True)
def callbacks_do_not_raise(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """ipywidgets logs an exception raised in a click handler instead of raising it; in a
    notebook that is a traceback in the log console and a dead button. Fail on it here."""
    yield
    broken = [r for r in caplog.records if "Exception in callback" in r.getMessage()]
    assert not broken, broken[0].getMessage()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "conversations.db"


@pytest.fixture
def mirror(db_path: Path) -> Iterator[ActiveMirror]:
    with ActiveMirror(db_path=db_path) as m:
        yield m


@pytest.fixture
def reopen(db_path: Path) -> Iterator:
    """Open the same SQLite file again, as another kernel would."""
    opened: list[ActiveMirror] = []

    def make(**kwargs: object) -> ActiveMirror:
        m = ActiveMirror(db_path=db_path, **kwargs)
        opened.append(m)
        return m

    yield make
    for m in opened:
        m.close()


def make_session(mirror: ActiveMirror, title: str, count: int) -> str:
    session = mirror.create_session(title)
    for i in range(count):
        session.send(f"message {i}")
    return session.save()


def all_widgets(root: widgets.Widget) -> list[widgets.Widget]:
    """``root`` and every widget below it (children, and widgets held as attributes)."""
    seen: dict[int, widgets.Widget] = {}
    stack = [root]
    while stack:
        w = stack.pop()
        if id(w) in seen:
            continue
        seen[id(w)] = w
        stack.extend(getattr(w, "children", ()))
        stack.extend(v for v in vars(w).values() if isinstance(v, widgets.Widget))
    return list(seen.values())


def html_shown(root: widgets.Widget) -> str:
    """All the HTML the panel currently sends to the browser."""
    return "\n".join(
        w.value
        for w in all_widgets(root)
        if isinstance(w, widgets.HTML) and w.layout.display != "none"
    )


def shown_contents(browser_html: str) -> list[str]:
    """The message contents of a rendered message table, in order."""
    import re

    return re.findall(r'<td class="am-text am-wide">(.*?)</td>', browser_html, flags=re.S)


# ------------------------------------------------------------------------------ SessionBrowser


def test_browser_pages_messages_newest_first(mirror: ActiveMirror) -> None:
    sid = make_session(mirror, "Analysis", 45)
    browser = SessionBrowser(mirror, page_size=20)
    browser.picker.value = sid

    pager = browser.message_pager
    assert pager.label.value == "page 1 of 3 · messages 26–45 of 45 (page 1 is the newest)"
    assert pager.prev_button.disabled and not pager.next_button.disabled
    assert shown_contents(browser.messages.value) == [f"message {i}" for i in range(25, 45)]

    pager.next_button.click()
    assert pager.label.value.startswith("page 2 of 3 · messages 6–25 of 45")
    assert shown_contents(browser.messages.value) == [f"message {i}" for i in range(5, 25)]

    pager.next_button.click()
    assert pager.label.value.startswith("page 3 of 3 · messages 1–5 of 45")
    assert shown_contents(browser.messages.value) == [f"message {i}" for i in range(5)]
    assert pager.next_button.disabled

    pager.prev_button.click()
    assert shown_contents(browser.messages.value)[0] == "message 5"

    browser.page_size.value = 50
    assert pager.label.value.startswith("page 1 of 1 · messages 1–45 of 45")
    assert len(shown_contents(browser.messages.value)) == 45


def test_browser_reads_one_page_of_messages(
    mirror: ActiveMirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = make_session(mirror, "Long", 300)
    reads: list[tuple[int, int]] = []
    real = mirror.store.get_messages

    def recording(session_id: str, start: int, stop: int):  # type: ignore[no-untyped-def]
        reads.append((start, stop))
        return real(session_id, start, stop)

    monkeypatch.setattr(mirror.store, "get_messages", recording)
    browser = SessionBrowser(mirror, page_size=20, session_id=sid)
    browser.message_pager.next_button.click()
    assert reads and all(stop - start <= 20 for start, stop in reads)
    assert len(shown_contents(browser.messages.value)) == 20


def test_picker_pages_through_thousands_of_sessions(
    mirror: ActiveMirror, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(1200):
        mirror.create_session(f"session {i:04d}").save()
    asked: list[int | None] = []
    real = mirror.list_sessions

    def recording(**kwargs):  # type: ignore[no-untyped-def]
        asked.append(kwargs.get("limit"))
        return real(**kwargs)

    monkeypatch.setattr(mirror, "list_sessions", recording)
    browser = SessionBrowser(mirror, picker_size=50)
    assert len(browser.picker.options) == 50
    assert browser.picker_pager.label.value == "sessions page 1 of 24"
    assert browser.session_total.value == "1200 sessions"
    # newest first: the last created heads the first page
    assert browser.picker.options[0][0].startswith("session 1199 · 0 messages")

    browser.picker_pager.next_button.click()
    assert browser.picker_pager.label.value == "sessions page 2 of 24"
    assert browser.picker.options[0][0].startswith("session 1149 ")
    assert asked and None not in asked  # never "give me everything"


def test_picking_a_session_opens_it_and_reports_it(mirror: ActiveMirror) -> None:
    first = make_session(mirror, "First", 2)
    second = make_session(mirror, "Second", 3)
    chosen = []
    browser = SessionBrowser(mirror, on_select=chosen.append)
    assert "Pick a session" in browser.header.value
    browser.picker.value = first
    assert browser.session is not None and browser.session.id == first
    assert "First" in browser.header.value and "2 messages" in browser.header.value
    browser.picker.value = second
    assert [s.id for s in chosen] == [first, second]
    # moving the picker to another page keeps the open session on screen
    assert browser.session.id == second


def test_sessions_with_the_same_label_are_told_apart(mirror: ActiveMirror) -> None:
    first = make_session(mirror, "Daily", 0)
    second = make_session(mirror, "Daily", 0)
    browser = SessionBrowser(mirror)
    labels = [label for label, _ in browser.picker.options]
    assert [label.split(" · ")[:2] for label in labels] == [["Daily", "0 messages"]] * 2
    browser.picker.value = first
    assert browser.session is not None and browser.session.id == first
    browser.picker.value = second
    assert browser.session.id == second and browser.picker.value == second


def test_browser_escapes_titles_and_messages(mirror: ActiveMirror) -> None:
    session = mirror.create_session(XSS)
    session.send(XSS)
    session.send('"quoted" & <b>bold</b>')
    session.save()
    browser = SessionBrowser(mirror, session_id=session.id)
    shown = html_shown(browser)
    assert XSS not in shown and "<b>bold" not in shown
    assert "&lt;img src=x onerror=alert(1)&gt;" in shown
    assert "&quot;quoted&quot; &amp; &lt;b&gt;" in shown
    # the picker's labels are plain text (the browser renders them as text)
    assert browser.picker.options[0][0].startswith(XSS)


def test_new_session_is_saved_and_opened(mirror: ActiveMirror, reopen) -> None:  # type: ignore[no-untyped-def]
    make_session(mirror, "Old", 1)
    browser = SessionBrowser(mirror)
    browser.create_button.click()
    assert browser.status.kind == "error" and "title" in browser.status.text

    browser.new_title.value = "Sprint review"
    browser.create_button.click()
    assert browser.status.kind == "ok"
    assert browser.new_title.value == ""
    assert browser.session is not None and browser.session.title == "Sprint review"
    assert browser.picker.value == browser.session.id
    assert browser.session_total.value == "2 sessions"
    other = reopen()
    assert [m.title for m in other.list_sessions()] == ["Sprint review", "Old"]


def test_refresh_shows_changes_made_elsewhere(mirror: ActiveMirror, reopen) -> None:  # type: ignore[no-untyped-def]
    sid = make_session(mirror, "Shared", 1)
    browser = SessionBrowser(mirror, session_id=sid)
    elsewhere = reopen()
    session = elsewhere.load_session(sid)
    session.send("written by another kernel")
    session.save()
    elsewhere.create_session("Made elsewhere").save()

    browser.refresh_button.click()
    assert "written by another kernel" in shown_contents(browser.messages.value)
    assert "2 messages" in browser.header.value
    assert browser.session_total.value == "2 sessions"


def test_session_deleted_elsewhere_is_a_message_not_a_traceback(
    mirror: ActiveMirror,
    reopen,  # type: ignore[no-untyped-def]
) -> None:
    keep = make_session(mirror, "Keep", 1)
    gone = make_session(mirror, "Gone", 1)
    browser = SessionBrowser(mirror)
    reopen().delete_session(gone)
    browser.picker.value = gone
    assert browser.status.kind == "error" and gone in browser.status.text
    assert [v for _, v in browser.picker.options] == [keep]


def test_export_shows_the_session_inline(mirror: ActiveMirror) -> None:
    session = mirror.create_session("Notes " + XSS)
    session.send("First finding")
    session.save()
    browser = SessionBrowser(mirror, session_id=session.id)
    assert not browser.export_shown and browser.hide_export_button.disabled

    browser.export_button.click()  # Markdown by default, rendered by the front end
    assert browser.status.text == ""
    assert browser.export_markdown is not None
    (output,) = browser.export_markdown.outputs
    markdown = output["data"]["text/markdown"]
    assert markdown == mirror.load_session(session.id).export("markdown")
    assert "First finding" in markdown and XSS not in markdown  # the export escapes markup
    assert not browser.hide_export_button.disabled

    browser.export_format.value = "json"
    browser.export_button.click()
    assert browser.export_markdown.outputs == ()
    assert "&quot;First finding&quot;" in browser.export_view.value
    assert XSS not in browser.export_view.value

    browser.hide_export_button.click()
    assert not browser.export_shown


# ------------------------------------------------------------------------------ ChatPanel


def test_chat_message_reaches_the_store(reopen) -> None:  # type: ignore[no-untyped-def]
    mirror = reopen(autosave=True)
    session = mirror.create_session("Chat")
    panel = ChatPanel(session)
    panel.text.value = "Hypothesis: churn rises in winter"
    panel.send_button.click()
    assert panel.text.value == ""
    assert shown_contents(panel.messages.value) == ["Hypothesis: churn rises in winter"]
    assert panel.save_button.layout.display == "none"  # autosave: nothing to save by hand

    panel.role.value = "system"
    panel.text.value = "Be brief."
    panel.send_button.click()

    stored = reopen().load_session(session.id).get_messages()
    assert [(m.role, m.content) for m in stored] == [
        ("user", "Hypothesis: churn rises in winter"),
        ("system", "Be brief."),
    ]


def test_chat_without_autosave_offers_save(reopen) -> None:  # type: ignore[no-untyped-def]
    mirror = reopen()
    session = mirror.create_session("Manual")
    session.save()
    panel = ChatPanel(session)
    assert panel.save_button.layout.display != "none" and panel.save_button.disabled
    panel.text.value = "not yet on disk"
    panel.send_button.click()
    assert "1 unsaved" in panel.status.text
    assert reopen().load_session(session.id).message_count == 0

    panel.save_button.click()
    assert panel.status.text == "Saved." and panel.save_button.disabled
    assert [m.content for m in reopen().load_session(session.id).get_messages()] == [
        "not yet on disk"
    ]


def test_chat_shows_the_responders_reply(reopen) -> None:  # type: ignore[no-untyped-def]
    def shout(context):  # type: ignore[no-untyped-def]
        return context[-1].content.upper() + " " + XSS

    mirror = reopen(autosave=True, responder=shout)
    panel = ChatPanel(mirror, title="With replies")
    panel.text.value = "hello"
    panel.send_button.click()
    assert shown_contents(panel.messages.value) == [
        "hello",
        "HELLO &lt;img src=x onerror=alert(1)&gt;",
    ]
    assert XSS not in html_shown(panel)
    stored = reopen().list_sessions()
    assert [(s.title, s.message_count) for s in stored] == [("With replies", 2)]


def test_chat_shows_a_streaming_reply_as_it_arrives(reopen) -> None:  # type: ignore[no-untyped-def]
    from activemirror_jupyter.core.responders import LLMResponder

    plugin = llm_models.ModelsPlugin()
    llm_models.llm.plugins.pm.register(plugin, name="activemirror-widget-test-models")
    try:
        mirror = reopen(autosave=True, responder=LLMResponder("streamer"))
        panel = ChatPanel(mirror, title="Streaming")
        drawn: list[str] = []
        panel.pending.observe(lambda change: drawn.append(change["new"]), "value")
        panel.text.value = "hello"
        panel.send_button.click()
    finally:
        llm_models.llm.plugins.pm.unregister(plugin)
    full = "".join(llm_models.STREAMED)
    partial = [d for d in drawn if d]
    assert partial, "nothing was drawn before the reply finished"
    assert llm_models.STREAMED[0] in partial[0] and full not in partial[0]
    assert panel.pending.value == ""  # the finished reply replaces it
    assert shown_contents(panel.messages.value) == ["hello", full]


def test_chat_responder_failure_keeps_the_message(reopen) -> None:  # type: ignore[no-untyped-def]
    def broken(context):  # type: ignore[no-untyped-def]
        raise RuntimeError("model offline")

    mirror = reopen(autosave=True, responder=broken)
    session = mirror.create_session("Offline")
    panel = ChatPanel(session)
    panel.text.value = "are you there?"
    panel.send_button.click()
    assert panel.status.kind == "error" and "no reply" in panel.status.text
    assert not panel.send_button.disabled
    assert [m.content for m in reopen().load_session(session.id).get_messages()] == [
        "are you there?"
    ]
    # ResponderError is what the core raises; the panel never lets it escape
    assert issubclass(ResponderError, Exception)


def test_chat_on_a_mirror_creates_the_session_on_first_send(reopen) -> None:  # type: ignore[no-untyped-def]
    mirror = reopen(autosave=True)
    made = []
    panel = ChatPanel(mirror, title="Fresh", on_session=made.append)
    assert panel.session is None and "Fresh" in panel.header.value
    panel.send_button.click()  # nothing typed
    assert panel.status.kind == "error" and panel.session is None
    assert reopen().count_sessions() == 0

    panel.text.value = "first words"
    panel.send_button.click()
    assert panel.session is not None and made == [panel.session]
    assert reopen().load_session(panel.session.id).get_messages()[0].content == "first words"


def test_chat_shows_only_the_latest_messages(mirror: ActiveMirror) -> None:
    sid = make_session(mirror, "Big", 100)
    panel = ChatPanel(mirror.load_session(sid), history=5)
    assert shown_contents(panel.messages.value) == [f"message {i}" for i in range(95, 100)]
    assert ">96<" in panel.messages.value  # numbered from the start of the session


def test_chat_refresh_shows_messages_sent_from_code(mirror: ActiveMirror) -> None:
    session = mirror.create_session("Shared")
    panel = ChatPanel(session)
    session.send("sent by %%mirror_send")
    assert "sent by" not in panel.messages.value
    panel.refresh_button.click()
    assert shown_contents(panel.messages.value) == ["sent by %%mirror_send"]


def test_chat_redraws_after_a_cell_that_sends(mirror: ActiveMirror) -> None:
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    if not InteractiveShell.initialized():
        # the same kind of shell the magics tests use: history in memory, its own folder
        # (IPYTHONDIR, set for every test by tests/conftest.py)
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        InteractiveShell.instance(config=config)
    shell = InteractiveShell.instance()
    session = mirror.create_session("Followed")
    panel = ChatPanel(session)
    try:
        shell.user_ns["followed"] = session
        shell.run_cell("followed.send('sent from a cell')")
        assert shown_contents(panel.messages.value) == ["sent from a cell"]
    finally:
        panel.close()
        shell.user_ns.pop("followed", None)
    assert panel._after_cell not in shell.events.callbacks["post_run_cell"]


# ------------------------------------------------------------------------------ the research record


PNG = tiny_png()
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def cell_session(mirror: ActiveMirror) -> str:
    """A session with an autologged cell whose outputs are of every kind, some hostile."""
    session = mirror.create_session("Record")
    outputs = [
        ("out-1", "text/plain", f"printed {XSS}\n".encode(), "stream"),
        ("out-2", "image/png", PNG, "display_data"),
        ("out-3", "image/svg+xml", SVG, "display_data"),
        ("out-4", "text/html", b"<b onclick=alert(1)>html</b>", "display_data"),
        ("out-5", "text/plain", b"'a result'", "execute_result"),
    ]
    session.send(
        f"x = '{XSS}'  # <script>\nprint(x)",
        role="system",
        metadata={
            "kind": "cell",
            "execution_count": 3,
            "duration_s": 0.1,
            "status": "error",
            "error": f"ValueError: {XSS}",
            "notebook": None,
            "outputs": [
                {"attachment": name, "output_type": kind, **({"truncated": True} if n == 0 else {})}
                for n, (name, _, _, kind) in enumerate(outputs)
            ]
            + [{"attachment": "out-6", "output_type": "display_data"}],  # named, not there
            "outputs_not_kept": 3,
        },
        attachments=[Attachment.from_bytes(n, m, d) for n, m, d, _ in outputs],
    )
    return session.save()


def test_cell_messages_show_as_code_with_their_outputs_under_them(mirror: ActiveMirror) -> None:
    browser = SessionBrowser(mirror, session_id=cell_session(mirror))
    html = browser.messages.value
    assert '<pre class="am-code">' in html and "am-hl-" in html  # highlighted code
    code = html.index("am-code")
    positions = [html.index(f"<b>out-{i}</b>") for i in range(1, 6)]
    assert code < positions[0] and positions == sorted(positions)  # outputs in order, below
    printed = f"printed {XSS}\n".encode()
    assert f"out-1</b> · text/plain · {len(printed)} bytes · truncated" in html
    assert f"printed {escape(XSS)}" in html  # printed text shown, escaped
    png = base64.b64encode(PNG).decode()
    assert f'src="data:image/png;base64,{png}"' in html
    assert 'src="data:image/svg+xml;base64,' in html  # SVG only ever as an <img>
    assert "<svg" not in html and "<script" not in html and "<b onclick" not in html
    assert "&lt;b onclick" not in html  # HTML outputs are named, never shown
    assert f"ValueError: {escape(XSS)}" in html
    assert "<img src=x" not in html
    assert "<b>out-6</b> · this output's attachment is missing" in html
    assert "3 more outputs were not kept" in html


def test_attachment_bytes_are_never_taken_for_markup(mirror: ActiveMirror) -> None:
    session = mirror.create_session("Hostile")
    lies = [
        Attachment.from_bytes("fake.png", "image/png", b"<script>alert(1)</script>"),
        Attachment.from_bytes("fake.svg", "image/svg+xml", b"<html><img src=x onerror=alert(1)>"),
        Attachment.from_bytes("rows.csv", "text/csv", f'a,"{XSS}"\n1,<script>\n'.encode()),
        Attachment.from_bytes("blob", "application/octet-stream", b"\x00<script>"),
        Attachment.from_bytes("bad-utf8", "text/plain", b"\xff\xfe<img src=x>"),
        Attachment.from_bytes("huge.png", "image/png", PNG + b"\x00" * (2 * 2**20)),
    ]
    session.send(XSS, attachments=lies)
    html = SessionBrowser(mirror, session_id=session.save()).messages.value
    assert "<script" not in html and "<img src=x" not in html and "<html" not in html
    assert "data:image/png" not in html and "data:image/svg" not in html  # not what they say
    for name in ("fake.png", "fake.svg", "rows.csv", "blob", "bad-utf8"):
        assert f"<b>{name}</b>" in html  # each still named, with its size
    assert "<b>blob</b> · application/octet-stream · 9 bytes" in html
    assert "<b>huge.png</b> · image/png · 2,097," in html and "too big to preview here" in html
    assert "<b>fake.png</b> · image/png · 25 bytes · its bytes are not a valid PNG image" in html
    assert "<td>&lt;script&gt;</td>" in html and "1 row" in html


def test_a_dataframe_attachment_is_a_table_of_its_first_rows(mirror: ActiveMirror) -> None:
    import pandas as pd

    from activemirror_jupyter import attachment_from

    frame = pd.DataFrame({"city": [f"city {i}" for i in range(300)], "temp": range(300)})
    session = mirror.create_session("Frames")
    session.send("The whole frame", attachments=[attachment_from(frame, "df")])
    html = SessionBrowser(mirror, session_id=session.save()).messages.value
    assert "<th></th><th>city</th><th>temp</th>" in html  # the index is kept
    assert "<td>city 9</td>" in html and "city 10<" not in html
    assert "300 rows, the first 10 shown" in html
    assert shown_contents(html)[0].startswith("The whole frame")


def test_a_dataframe_result_is_rebuilt_as_a_plain_table(mirror: ActiveMirror) -> None:
    import pandas as pd

    frame = pd.DataFrame({"city": ["Oslo", XSS, "Lima"], "temp": [3.5, 19.0, 20.1]})
    hostile = (
        "<style>td {}</style><table><tr><th onclick=alert(1)>head</th></tr>"
        "<tr><td>cell<script>alert(2)</script></td></tr></table><img src=x onerror=alert(3)>"
    )
    session = mirror.create_session("Results")
    session.send(
        "frame",
        role="system",
        metadata={"kind": "cell", "execution_count": 1, "status": "ok", "notebook": None},
        attachments=[
            Attachment.from_bytes("out-1", "text/html", frame._repr_html_().encode()),
            Attachment.from_bytes("out-2", "text/html", hostile.encode()),
        ],
    )
    html = SessionBrowser(mirror, session_id=session.save()).messages.value
    assert "<th></th><th>city</th><th>temp</th>" in html
    assert f"<td>1</td><td>{escape(XSS)}</td><td>19.0</td>" in html and "3 rows" in html
    assert "<th>head</th>" in html and "<td>cell</td>" in html  # only the cells' text
    for markup in ("<script", "alert(2)", "onclick", "<img src=x", "<style"):
        assert markup not in html, markup


def test_0_1_snapshots_still_show_as_tables(mirror: ActiveMirror) -> None:
    session = mirror.create_session("Old")
    snapshot = {
        "name": "summary",
        "type": "pandas.DataFrame",
        "shape": [2, 2],
        "columns": ["city", "mean"],
        "head": [["Oslo", 6.8], [XSS, None]],
    }
    session.send("from 0.1", metadata={"attachments": [snapshot, {"name": "n", "repr": "42"}]})
    html = SessionBrowser(mirror, session_id=session.save()).messages.value
    assert "<th>city</th><th>mean</th>" in html and "<td>6.8</td>" in html
    assert f"<td>{escape(XSS)}</td>" in html and "<td>null</td>" in html
    assert '<pre class="am-output">42</pre>' in html


def test_attachment_bytes_changed_in_the_store_are_a_line_not_a_traceback(
    mirror: ActiveMirror, db_path: Path
) -> None:
    import sqlite3

    sid = cell_session(mirror)
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE attachments SET data = ? WHERE name = 'out-2'", (b"changed",))
    browser = SessionBrowser(mirror, session_id=sid)
    html = browser.messages.value
    assert "out-2" in html and "the store was changed behind the API" in html
    assert "out-5" in html  # the other outputs still show


def test_a_sealed_session_shows_a_badge_and_the_chat_refuses_input(
    mirror: ActiveMirror,
    reopen,  # type: ignore[no-untyped-def]
) -> None:
    session = mirror.create_session("Sealed study", tags=["field", "final"])
    session.send("the last word")
    session.save()
    session.seal()
    browser = SessionBrowser(mirror, session_id=session.id)
    header = browser.header.value
    assert "am-sealed" in header and "sealed at head " + str(session.head) in header
    assert '<span class="am-tag">field</span>' in header
    panel = ChatPanel(mirror.load_session(session.id))
    assert panel.text.disabled and panel.send_button.disabled and panel.role.disabled
    assert "This session is sealed" in panel.notice.value
    panel.text.value = "sneaking in"
    panel.send()
    assert panel.status.kind == "error" and "sealed" in panel.status.text
    assert [m.content for m in reopen().load_session(session.id).get_messages()] == [
        "the last word"
    ]


def test_the_chat_disables_input_when_its_session_is_sealed_elsewhere(
    mirror: ActiveMirror,
    reopen,  # type: ignore[no-untyped-def]
) -> None:
    kernel = reopen(autosave=True)  # as the magics' store: each message saved at once
    session = kernel.create_session("Open for now")
    session.send("first")
    panel = ChatPanel(session)
    assert not panel.text.disabled
    reopen().load_session(session.id).seal()
    panel.text.value = "too late"
    panel.send()
    assert panel.status.kind == "error" and "sealed" in panel.status.text
    assert panel.text.disabled and panel.send_button.disabled


# ------------------------------------------------------------------------------ VaultPanel


@pytest.fixture
def vault_path(tmp_path: Path) -> Path:
    path = tmp_path / "vault"
    with VaultMemory(PASSWORD, path, kdf_iterations=FAST_KDF) as vault:
        vault.store(
            "api_key", "sk-secret-123", {"category": VaultCategory.PRIVATE, "tags": ["llm"]}
        )
        vault.store("goal", {"run": "10k"}, {"category": "goals"})
    return path


def assert_password_not_kept(panel: VaultPanel, password: str) -> None:
    for w in all_widgets(panel):
        assert password not in json.dumps(w.get_state(), default=str)
    for name, value in vars(panel).items():
        assert password not in repr(value), name


def test_wrong_password_keeps_the_vault_locked_and_allows_retry(vault_path: Path) -> None:
    unlocked = []
    panel = VaultPanel(vault_path=vault_path, on_unlock=unlocked.append)
    assert panel.vault.is_locked
    assert panel.confirm.layout.display == "none"  # an existing vault: one password field
    assert panel.unlocked_box.layout.display == "none"

    panel.password.value = "wrong password"
    panel.unlock_button.click()
    assert panel.password.value == ""
    assert panel.vault.is_locked and unlocked == []
    assert panel.status.kind == "error" and "Wrong password" in panel.status.text
    assert "Wrong password" in panel.status.value
    assert_password_not_kept(panel, "wrong password")

    panel.password.value = PASSWORD
    panel.unlock_button.click()
    assert panel.password.value == ""
    assert not panel.vault.is_locked and unlocked == [panel.vault]
    assert panel.locked_box.layout.display == "none"
    assert "2 entries" in panel.summary.value
    assert_password_not_kept(panel, PASSWORD)


def test_enter_in_the_password_field_unlocks(vault_path: Path) -> None:
    panel = VaultPanel(vault_path=vault_path)
    panel.password.value = PASSWORD
    panel.password._handle_custom_msg({"event": "submit"}, [])  # what the browser sends
    assert not panel.vault.is_locked and panel.password.value == ""


def test_empty_password_is_refused(vault_path: Path) -> None:
    panel = VaultPanel(vault_path=vault_path)
    panel.unlock_button.click()
    assert panel.vault.is_locked and "Type the vault password" in panel.status.text


def test_values_stay_hidden_until_revealed_one_at_a_time(vault_path: Path) -> None:
    vault = VaultMemory(PASSWORD, vault_path)
    panel = VaultPanel(vault)
    shown = html_shown(panel)
    assert "api_key" in [w.value for w in all_widgets(panel) if isinstance(w, widgets.Label)]
    assert "sk-secret-123" not in shown and "10k" not in shown

    assert set(panel.reveal_buttons) == {"api_key", "goal"}
    panel.reveal_buttons["api_key"].click()
    assert panel.revealed_key == "api_key"
    assert "sk-secret-123" in html_shown(panel) and "10k" not in html_shown(panel)

    panel.reveal_buttons["goal"].click()
    shown = html_shown(panel)
    assert "sk-secret-123" not in shown and "&quot;10k&quot;" in shown
    assert "10k" in panel.value_cells["goal"].value

    assert panel.reveal_buttons["goal"].description == "Hide"
    panel.reveal_buttons["goal"].click()
    assert panel.revealed_key is None and "10k" not in html_shown(panel)


def test_add_and_delete_entries_reach_the_vault_on_disk(vault_path: Path) -> None:
    panel = VaultPanel(VaultMemory(PASSWORD, vault_path))
    panel.new_key.value = XSS
    panel.new_value.value = '{"token": "abc", "n": 3}'
    panel.value_is_json.value = True
    panel.new_category.value = "knowledge"
    panel.new_tags.value = "work, api"
    panel.add_button.click()
    assert panel.status.kind == "ok" and panel.new_key.value == "" and panel.new_value.value == ""
    assert XSS not in html_shown(panel)

    with VaultMemory(PASSWORD, vault_path) as other:
        assert other.retrieve(XSS) == {"token": "abc", "n": 3}
        (entry,) = other.list_entries(tag="api")
        assert entry.category == VaultCategory.KNOWLEDGE and entry.tags == ["work", "api"]

    panel.new_key.value = "bad"
    panel.new_value.value = "{not json"
    panel.add_button.click()
    assert panel.status.kind == "error" and "JSON" in panel.status.text

    assert XSS in [w.value for w in panel.entries_box.children if isinstance(w, widgets.Label)]
    panel.delete_buttons[XSS].click()  # first click only asks
    with VaultMemory(PASSWORD, vault_path) as other:
        assert other.retrieve(XSS) is not None
    confirm = panel.delete_buttons[XSS]
    assert confirm.description == "Confirm delete"
    confirm.click()
    assert panel.status.kind == "ok"
    with VaultMemory(PASSWORD, vault_path) as other:
        assert other.retrieve(XSS) is None
        assert [e.key for e in other.list_entries()] == ["api_key", "goal"]


def test_lock_forgets_the_key(vault_path: Path) -> None:
    locked = []
    panel = VaultPanel(VaultMemory(PASSWORD, vault_path), on_lock=locked.append)
    panel.lock_button.click()
    assert panel.vault.is_locked and locked == [panel.vault]
    assert panel.unlocked_box.layout.display == "none"
    assert panel.entries_box.children == ()


def test_vault_locked_elsewhere_returns_to_the_password(vault_path: Path) -> None:
    vault = VaultMemory(PASSWORD, vault_path)
    panel = VaultPanel(vault)
    vault.lock()  # e.g. %vault lock in another cell
    panel.new_key.value = "x"
    panel.new_value.value = "y"
    panel.add_button.click()
    assert panel.status.kind == "error" and "locked" in panel.status.text
    assert panel.locked_box.layout.display != "none"


def test_new_vault_needs_the_password_twice(tmp_path: Path) -> None:
    path = tmp_path / "new-vault"
    panel = VaultPanel(VaultMemory(vault_path=path, kdf_iterations=FAST_KDF))
    assert panel.is_new and panel.confirm.layout.display != "none"
    assert panel.unlock_button.description == "Create vault"

    panel.password.value = "first try"
    panel.confirm.value = "first tyr"
    panel.unlock_button.click()
    assert panel.vault.is_locked and not path.exists() or not any(path.iterdir())
    assert panel.password.value == "" and panel.confirm.value == ""
    assert "differ" in panel.status.text

    panel.password.value = PASSWORD
    panel.confirm.value = PASSWORD
    panel.unlock_button.click()
    assert not panel.vault.is_locked
    with VaultMemory(PASSWORD, path) as again:
        assert again.list_entries() == []


def test_entries_page_when_there_are_many(tmp_path: Path) -> None:
    vault = VaultMemory(PASSWORD, tmp_path / "v", kdf_iterations=FAST_KDF)
    for i in range(45):
        vault.store(f"k{i:02d}", i)
    panel = VaultPanel(vault, page_size=20)
    assert list(panel.reveal_buttons) == [f"k{i:02d}" for i in range(20)]
    assert panel.pager.label.value == "page 1 of 3"
    panel.pager.next_button.click()
    assert list(panel.reveal_buttons) == [f"k{i:02d}" for i in range(20, 40)]
