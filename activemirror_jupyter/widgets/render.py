"""The HTML fragments the panels put in their ``HTML`` widgets.

ipywidgets' ``HTML`` sets ``innerHTML`` as given, so every piece of user text passes through
:func:`activemirror_jupyter.display.escape` here: a title or message like
``<img src=x onerror=…>`` is shown as text. Text-only widgets (``Label``, the option lists
of ``Select``/``Dropdown``) render text themselves and get plain strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..core.markup import escape
from ..core.models import Message, SessionMetadata, is_cell
from ..core.redaction import shown_content
from ..core.reports.attachments import cell_facts, cell_outputs, snapshots
from ..core.session import Session
from .attachments import attachment_html, missing_html, snapshot_html


def when(moment: datetime | None) -> str:
    """A timestamp as the kernel's local time, to the minute."""
    if moment is None:
        return ""
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def session_label(meta: SessionMetadata) -> str:
    """One picker line (plain text): title, message count, last update."""
    title = meta.title.replace("\n", " ").strip() or "(untitled)"
    if len(title) > 60:
        title = title[:59] + "…"
    noun = "message" if meta.message_count == 1 else "messages"
    return f"{title} · {meta.message_count} {noun} · updated {when(meta.updated_at)}"


def session_header_html(session: Session, note: str = "") -> str:
    """The open session's title, id, size and tags, escaped, with a badge when sealed."""
    count = session.message_count
    noun = "message" if count == 1 else "messages"
    unsaved = f", {session.unsaved_count} unsaved" if session.unsaved_count else ""
    extra = f' · <span class="am-muted">{escape(note)}</span>' if note else ""
    tags = "".join(f' <span class="am-tag">{escape(tag)}</span>' for tag in session.tags)
    return (
        f'<span class="am-heading">{escape(session.title or "(untitled)")}</span>'
        f"{sealed_badge(session)}{tags} "
        f'<span class="am-muted">{escape(session.id)} · {count} {noun}{unsaved} · '
        f"updated {escape(when(session.updated_at))}</span>{extra}"
    )


def sealed_badge(session: Session) -> str:
    """A "sealed" badge (its tooltip: the head hash it was sealed at), or nothing."""
    if not session.sealed:
        return ""
    seal = session.metadata.get("seal")
    head = seal.get("head") if isinstance(seal, dict) else None
    signed = isinstance(seal, dict) and "signature" in seal
    tip = f"sealed at head {head or '(empty)'}" + (", signed" if signed else "")
    label = "sealed · signed" if signed else "sealed"
    return f' <span class="am-badge am-sealed" title="{escape(tip)}">🔒 {escape(label)}</span>'


def messages_html(messages: Iterable[Message], *, first_number: int = 1) -> str:
    """A table of messages (number, time, role, content): notes as typed, autologged cells
    as code with their outputs under them, attachments previewed (all escaped)."""
    rows = []
    for number, message in enumerate(messages, start=first_number):
        rows.append(
            "<tr>"
            f'<td class="am-muted am-nowrap">{number}</td>'
            f'<td class="am-muted am-nowrap">{escape(when(message.timestamp))}</td>'
            f'<td class="am-nowrap am-role-{escape(message.role)}">{escape(message.role)}</td>'
            f"{message_cell_html(message)}"
            "</tr>"
        )
    if not rows:
        return '<span class="am-muted">No messages yet.</span>'
    return (
        '<table class="am-table am-messages">'
        "<thead><tr><th>#</th><th>time</th><th>role</th>"
        '<th class="am-wide">content</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def message_cell_html(message: Message) -> str:
    """The table cell of one message: its content and attachments (see :mod:`.attachments`);
    a note's text as typed, an autologged cell as code with its outputs under it."""
    if not is_cell(message):
        parts = [escape(shown_content(message))]
        parts += [attachment_html(a) for a in message.attachments]
        parts += [snapshot_html(item) for item in snapshots(message)]  # 0.1's --attach
        return f'<td class="am-text am-wide">{"".join(parts)}</td>'
    parts = [code_html(message.content)]
    facts = cell_facts(message)
    if facts.failed:
        parts.append(f'<div class="am-error">{escape(facts.error or "the cell failed")}</div>')
    for output in cell_outputs(message):
        if output.attachment is None:
            parts.append(missing_html(output.name))
        else:
            parts.append(attachment_html(output.attachment, truncated=output.truncated))
    if facts.not_kept:
        parts.append(f'<div class="am-muted">{facts.not_kept:,} more outputs were not kept</div>')
    return f'<td class="am-wide am-cell-message">{"".join(parts)}</td>'


def code_html(source: str) -> str:
    """Code, highlighted (Pygments escapes every token), monospace and preformatted."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    formatter = HtmlFormatter(nowrap=True, classprefix="am-hl-")
    return f'<pre class="am-code">{highlight(source, _lexer(), formatter)}</pre>'


def _lexer() -> Any:
    """IPython's lexer (magics and ``!`` commands are code too) where it is installed."""
    options = {"stripnl": False, "ensurenl": False}
    try:
        from ipython_pygments_lexers import IPython3Lexer
    except ImportError:
        from pygments.lexers import PythonLexer

        return PythonLexer(**options)
    return IPython3Lexer(**options)


def markdown_output(markdown: str) -> dict[str, Any]:
    """An output (as an ``Output`` widget holds them) that the front end renders as
    Markdown; ``markdown`` must already escape user text, as the Markdown export does."""
    return {
        "output_type": "display_data",
        "data": {"text/markdown": markdown, "text/plain": markdown},
        "metadata": {},
    }


def export_html(text: str) -> str:
    """An export (JSON or text) shown as its source, escaped."""
    return f'<pre class="am-export">{escape(text)}</pre>'
