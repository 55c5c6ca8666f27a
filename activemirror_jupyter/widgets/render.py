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
from ..core.models import Message, SessionMetadata
from ..core.session import Session


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
    """The open session's title, id and size, escaped."""
    count = session.message_count
    noun = "message" if count == 1 else "messages"
    unsaved = f", {session.unsaved_count} unsaved" if session.unsaved_count else ""
    extra = f' · <span class="am-muted">{escape(note)}</span>' if note else ""
    return (
        f'<span class="am-heading">{escape(session.title or "(untitled)")}</span> '
        f'<span class="am-muted">{escape(session.id)} · {count} {noun}{unsaved} · '
        f"updated {escape(when(session.updated_at))}</span>{extra}"
    )


def messages_html(messages: Iterable[Message], *, first_number: int = 1) -> str:
    """A table of messages (number, time, role, content), content kept as typed."""
    rows = []
    for number, message in enumerate(messages, start=first_number):
        rows.append(
            "<tr>"
            f'<td class="am-muted am-nowrap">{number}</td>'
            f'<td class="am-muted am-nowrap">{escape(when(message.timestamp))}</td>'
            f'<td class="am-nowrap am-role-{escape(message.role)}">{escape(message.role)}</td>'
            f'<td class="am-text am-wide">{escape(message.content)}</td>'
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
