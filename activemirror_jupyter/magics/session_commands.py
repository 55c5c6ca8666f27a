"""``%mirror_session`` and its subcommands, and ``%%mirror_send``: each subcommand one
function registered on :data:`SESSION` with its arguments."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.display import Markdown

from .. import assistant
from ..capture.values import attachment_from
from ..core.errors import ResponderError, SessionNotFoundError
from ..core.models import ROLES, Attachment
from ..core.paging import Page
from ..core.transfer.exports import EXPORT_FORMATS
from ..core.transfer.imports import ON_CONFLICT, import_session
from .args import (
    SESSION_OPTION,
    Command,
    Commands,
    MagicsAPI,
    arg,
    chosen_session,
    frames,
    one_line,
    page_of,
    page_options,
    plural,
    positive_int,
    session_option,
    split_line,
)

SESSION = Commands(
    "%mirror_session",
    "Sessions of notes next to your analysis. Without a subcommand: show the current session.",
)


# -- %%mirror_send ----------------------------------------------------------------------------

SEND = Command(
    "%%mirror_send",
    "Send the cell's text as a message to the current session (one titled after the notebook "
    "and today's date is started when none is current).",
    arg("--role", choices=ROLES, default="user", help="who speaks (default: user)"),
    session_option("send to this session instead of the current one"),
    arg(
        "--attach",
        nargs="+",
        metavar="VAR",
        help="attach these variables, each named after its variable: a matplotlib figure as a "
        "PNG, a DataFrame as CSV (the whole frame), anything else as its best rich "
        "representation (see activemirror_jupyter.attachment_from)",
    ),
)


def send_cell(m: MagicsAPI, line: str, cell: str) -> None:
    """``%%mirror_send``: the cell's text becomes a message of the current session."""
    args = SEND.parse(split_line(line))
    content = cell.strip("\n")
    if not content.strip():
        raise UsageError("%%mirror_send: the cell is empty; write the message below the magic")
    attachments = [attached(m, name) for name in args.attach or []]
    session = chosen_session(m, args, or_new=True)
    metadata: dict[str, Any] = {"source": "mirror_send", "execution_count": m.cell_number()}
    assistant.send_and_show(
        session, content, args.role, metadata, m.mirror.responder, attachments=attachments
    )
    state = "saved" if not session.unsaved_count else f"{session.unsaved_count} unsaved"
    print(
        f"Added a {args.role} message to {session.title!r} "
        f"({plural(session.message_count, 'message')}, {state})."
    )


def attached(m: MagicsAPI, name: str) -> Attachment:
    """The notebook variable ``name`` as an attachment named after it."""
    if name not in m.shell.user_ns:
        raise UsageError(f"%%mirror_send --attach: no variable named {name!r}")
    try:
        return attachment_from(m.shell.user_ns[name], name)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"%%mirror_send --attach {name}: {one_line(exc)}") from None


# -- %mirror_session subcommands --------------------------------------------------------------


@SESSION.command(
    "new",
    "Start a new session and make it current.",
    arg("title", nargs="+", help="the session's title (quote it or not)"),
    arg("--parent", metavar="ID", help="the parent session's id"),
    arg("--max-context", type=positive_int, metavar="N", help="messages a responder sees"),
)
def _new(m: MagicsAPI, args: argparse.Namespace) -> None:
    if args.parent:
        m.open_session(args.parent)  # a parent that does not exist is a mistake
    session = m.mirror.create_session(
        " ".join(args.title), args.parent, max_context_messages=args.max_context
    )
    m.set_current(session)
    m.record_provenance(session)
    print(f"Started session {session.title!r} ({session.id}); it is now current.")


@SESSION.command(
    "load",
    "Open a saved session and make it current.",
    arg("id", help="the session's id (see %mirror_session list)"),
)
def _load(m: MagicsAPI, args: argparse.Namespace) -> None:
    session = m.open_session(args.id)
    m.set_current(session)
    print(f"Loaded session {m.describe(session)}.")


@SESSION.command(
    "list",
    "Saved sessions, most recently updated first, as a DataFrame.",
    *page_options("how many (default: page_size)", "skip the N most recent"),
    arg("--parent", metavar="ID", help="only the children of this session"),
    arg("--tag", metavar="NAME", help="only the sessions tagged NAME"),
)
def _list(m: MagicsAPI, args: argparse.Namespace) -> Any:
    limit, offset = page_of(m, args)
    which = {"parent_session_id": args.parent, "tag": args.tag}
    rows = m.mirror.list_sessions(limit=limit, offset=offset, **which)
    total = m.mirror.count_sessions(**which)
    if total > len(rows):
        print(f"sessions {offset + 1}–{offset + len(rows)} of {total} (newest first)")
    elif not rows and args.tag and not total:
        print(f"No saved session is tagged {args.tag!r}.")
    elif not rows:
        print("No saved sessions yet: %mirror_session new TITLE starts one.")
    return frames().sessions_frame(rows)


@SESSION.command(
    "messages",
    "A page of the current session's messages as a DataFrame (page 1 is the newest).",
    *page_options("messages per page (default: page_size)", "skip the N newest messages"),
    arg("--page", type=positive_int, metavar="K", help="page K, counting from the newest"),
    SESSION_OPTION,
)
def _messages(m: MagicsAPI, args: argparse.Namespace) -> Any:
    if args.offset is not None and args.page is not None:
        raise UsageError("%mirror_session messages: use --offset or --page, not both")
    session = chosen_session(m, args)
    limit, offset = page_of(m, args)
    if args.page is not None:
        offset = (args.page - 1) * limit
    messages = session.get_messages(limit=limit, offset=offset)
    page = Page(session.message_count, limit, offset)  # counted by that read
    if args.page is not None and args.page > page.count:
        raise UsageError(
            f"%mirror_session messages: page {args.page} is past the last page ({page.count})"
        )
    frame = frames().messages_frame(messages)
    print(page.caption())
    return frame


@SESSION.command("save", "Write the current session and its unsaved messages to disk.")
def _save(m: MagicsAPI, args: argparse.Namespace) -> None:
    session = m.current()
    session.save()
    print(f"Saved session {m.describe(session)}.")


@SESSION.command(
    "export",
    "Export the current session: Markdown and HTML are shown inline (HTML in a sandboxed "
    "frame), the others printed; --output writes a file.",
    arg("--format", choices=EXPORT_FORMATS, default="markdown"),
    arg(
        "--children",
        action="store_true",
        help="add every descendant session, depth first, oldest first",
    ),
    arg(
        "--output",
        metavar="PATH",
        help="write the export to this file; a folder (DIR/) gets DIR/<title>.<ext>, and "
        "Markdown there links its images from DIR/attachments/",
    ),
    SESSION_OPTION,
)
def _export(m: MagicsAPI, args: argparse.Namespace) -> Any:
    from ..core.transfer.exports import export_to_path

    session = chosen_session(m, args)
    family = " and its family" if args.children else ""
    if args.output:
        path = export_to_path(session, args.format, args.output, include_children=args.children)
        print(f"Wrote the {args.format} export of {session.title!r}{family} to {path}.")
        return None
    text = session.export(args.format, include_children=args.children)
    if args.format == "markdown":
        return Markdown(text)
    if args.format == "html":
        from IPython.display import display

        from ..core.reports.page import framed

        # A sandboxed frame without allow-scripts: the report renders, nothing in it runs.
        summary = f"HTML report of {session.title!r}{family}; --output PATH saves it as a file"
        display({"text/html": framed(text, session.title), "text/plain": summary}, raw=True)
        return None
    print(text)
    return None


@SESSION.command(
    "import",
    "Import a session from a JSON export file and make it current.",
    arg("path", help="a JSON file from %mirror_session export --format json"),
    arg(
        "--on-conflict",
        choices=ON_CONFLICT,
        default="error",
        help="when the id exists: refuse, give fresh ids, or replace it",
    ),
)
def _import(m: MagicsAPI, args: argparse.Namespace) -> None:
    path = Path(args.path).expanduser()
    if not path.is_file():
        raise UsageError(f"%mirror_session import: no such file: {path}")
    session = import_session(path, m.mirror, on_conflict=args.on_conflict)
    m.set_current(session)
    print(f"Imported session {m.describe(session)}; it is now current.")


@SESSION.command(
    "delete",
    "Delete a saved session and its messages (its children are kept).",
    arg("id", help="the session's id"),
)
def _delete(m: MagicsAPI, args: argparse.Namespace) -> None:
    if not m.mirror.delete_session(args.id):
        raise SessionNotFoundError(args.id, m.mirror.description)
    note = " There is no current session now." if m.forget_session(args.id) else ""
    print(f"Deleted session {args.id}.{note}")


@SESSION.command("browse", "A widget to browse sessions and page through their messages.")
def _browse(m: MagicsAPI, args: argparse.Namespace) -> Any:
    from ..widgets import SessionBrowser

    return SessionBrowser(
        m.mirror,
        m.page_size,
        session_id=m.session.id if m.session is not None else None,
        on_select=m.set_current,
    )


@SESSION.command("chat", "A widget to write messages into the current session.")
def _chat(m: MagicsAPI, args: argparse.Namespace) -> Any:
    from ..widgets import ChatPanel

    target = m.session if m.session is not None else m.mirror
    return ChatPanel(target, history=m.page_size, on_session=m.set_current)


@SESSION.command(
    "responder",
    "Answer user messages with a model the llm library knows (`llm models` lists them; "
    "plugins such as llm-ollama add local ones), or `off`. Without MODEL: say which is used.",
    arg("model", nargs="?", help="a model id or alias, or off"),
    arg("--system", metavar="TEXT", help="the system prompt"),
    arg(
        "--key-from-vault",
        metavar="NAME",
        help="read the API key from this vault entry at each reply",
    ),
    arg(
        "--option",
        "-o",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="a model option (`llm models --options`), e.g. -o temperature 0.2",
    ),
)
def _responder(m: MagicsAPI, args: argparse.Namespace) -> None:
    if args.model is None:
        if args.system or args.key_from_vault or args.option:
            raise ResponderError("name the model the options are for: responder MODEL …")
    elif args.model == "off":
        m.set_responder(None)
    else:
        m.set_responder(
            m.make_responder(
                args.model,
                system=args.system,
                key_from_vault=args.key_from_vault,
                options=dict(args.option or []),
            )
        )
    print(assistant.describe(m.responder))
