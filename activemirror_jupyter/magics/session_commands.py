"""``%mirror_session`` and its subcommands, and ``%%mirror_send``: each subcommand one
function registered on :data:`SESSION` with its arguments."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.display import Markdown

from .. import assistant
from ..core.errors import ResponderError, SessionNotFoundError
from ..core.exports import EXPORT_FORMATS
from ..core.imports import ON_CONFLICT, import_session
from ..core.models import ROLES
from ..core.paging import Page
from .args import (
    Commands,
    MagicsAPI,
    Parser,
    arg,
    count,
    frames,
    plural,
    positive_int,
    split_line,
)

SESSION = Commands(
    "%mirror_session",
    "Sessions of notes next to your analysis. Without a subcommand: show the current session.",
)


# -- %%mirror_send ----------------------------------------------------------------------------

SEND = Parser(
    prog="%%mirror_send",
    description="Send the cell's text as a message to the current session (one titled after "
    "the notebook and today's date is started when none is current).",
)
SEND.add_argument("--role", choices=ROLES, default="user", help="who speaks (default: user)")
SEND.add_argument("--session", metavar="ID", help="send to this session instead of the current one")
SEND.add_argument(
    "--attach",
    nargs="+",
    metavar="VAR",
    help="attach a snapshot of these variables (a DataFrame: shape, columns, dtypes, first "
    "rows; anything else: type and repr)",
)


def send_cell(m: MagicsAPI, line: str, cell: str) -> None:
    """``%%mirror_send``: the cell's text becomes a message of the current session."""
    args = SEND.parse_args(split_line(line))
    content = cell.strip("\n")
    if not content.strip():
        raise UsageError("%%mirror_send: the cell is empty; write the message below the magic")
    attachments = []
    for name in args.attach or []:
        if name not in m.shell.user_ns:
            raise UsageError(f"%%mirror_send --attach: no variable named {name!r}")
        attachments.append(frames().snapshot(name, m.shell.user_ns[name]))
    session = m.open_session(args.session) if args.session else m.current_or_new()
    metadata: dict[str, Any] = {"source": "mirror_send", "execution_count": m.cell_number()}
    if attachments:
        metadata["attachments"] = attachments
    assistant.send_and_show(session, content, args.role, metadata, m.mirror.responder)
    state = "saved" if not session.unsaved_count else f"{session.unsaved_count} unsaved"
    print(
        f"Added a {args.role} message to {session.title!r} "
        f"({plural(session.message_count, 'message')}, {state})."
    )


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
    arg("--limit", type=positive_int, metavar="N", help="how many (default: page_size)"),
    arg("--offset", type=count, default=0, metavar="N", help="skip the N most recent"),
    arg("--parent", metavar="ID", help="only the children of this session"),
)
def _list(m: MagicsAPI, args: argparse.Namespace) -> Any:
    limit = args.limit or m.page_size
    rows = m.mirror.list_sessions(limit=limit, offset=args.offset, parent_session_id=args.parent)
    total = m.mirror.count_sessions(parent_session_id=args.parent)
    if total > len(rows):
        print(f"sessions {args.offset + 1}–{args.offset + len(rows)} of {total} (newest first)")
    elif not rows:
        print("No saved sessions yet: %mirror_session new TITLE starts one.")
    return frames().sessions_frame(rows)


@SESSION.command(
    "messages",
    "A page of the current session's messages as a DataFrame (page 1 is the newest).",
    arg("--limit", type=positive_int, metavar="N", help="messages per page (default: page_size)"),
    arg("--offset", type=count, metavar="N", help="skip the N newest messages"),
    arg("--page", type=positive_int, metavar="K", help="page K, counting from the newest"),
    arg("--session", metavar="ID", help="another session than the current one"),
)
def _messages(m: MagicsAPI, args: argparse.Namespace) -> Any:
    if args.offset is not None and args.page is not None:
        raise UsageError("%mirror_session messages: use --offset or --page, not both")
    session = m.open_session(args.session) if args.session else m.current()
    limit = args.limit or m.page_size
    total = session.message_count
    page = Page(total, limit, args.offset or 0)
    if args.page is not None:
        page = Page.numbered(total, limit, args.page)
        if args.page > page.count:
            raise UsageError(
                f"%mirror_session messages: page {args.page} is past the last page ({page.count})"
            )
    frame = frames().messages_frame(session.get_messages(limit=limit, offset=page.offset))
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
    arg("--session", metavar="ID", help="another session than the current one"),
)
def _export(m: MagicsAPI, args: argparse.Namespace) -> Any:
    from ..core.exports import export_to_path

    session = m.open_session(args.session) if args.session else m.current()
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
        raise SessionNotFoundError(args.id, m.mirror.store.description)
    note = " There is no current session now." if m.forget_session(args.id) else ""
    print(f"Deleted session {args.id}.{note}")


@SESSION.command(
    "search",
    "Saved messages containing every word of QUERY, newest first, as a DataFrame.",
    arg("query", nargs="+", help="plain words"),
    arg("--limit", type=positive_int, default=50, metavar="N", help="at most N (default 50)"),
    arg("--session", metavar="ID", help="only in this session"),
)
def _search(m: MagicsAPI, args: argparse.Namespace) -> Any:
    query = " ".join(args.query)
    found = m.mirror.search(query, session_id=args.session, limit=args.limit)
    if not found:
        print(f"No saved message contains {query!r}.")
    return frames().messages_frame(found, with_session=True)


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


@SESSION.command(
    "autolog",
    "Record every executed cell in the current session (on), or stop (off).",
    arg("state", nargs="?", choices=("on", "off"), help="without it: say whether it is on"),
)
def _autolog(m: MagicsAPI, args: argparse.Namespace) -> None:
    if args.state is not None:
        m.autolog = args.state == "on"
    if not m.autolog:
        print("Autolog is off.")
    elif m.session is None:
        print("Autolog is on: cells will be recorded in a new session, started with the next cell.")
    else:
        print(f"Autolog is on: each cell you run is recorded in {m.session.title!r}.")
