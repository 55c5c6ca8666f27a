"""IPython magics: ``%mirror_session``, ``%%mirror_send`` and ``%vault``.

``%load_ext activemirror_jupyter`` registers :class:`MirrorMagics`. The magics are thin:
they parse a line, call the core API and render the result through
:mod:`activemirror_jupyter.display`. Options are traitlets (``%config MirrorMagics.x = …``
or ``c.MirrorMagics.x`` in ``ipython_config.py``).

Each subcommand is one function registered on a :class:`Commands` table with its
arguments, so ``--help`` documents it and adding one is a single decorated function::

    @SESSION.command("touch", "Mark the current session as updated.", arg("--why"))
    def _touch(magics: MirrorMagics, args: argparse.Namespace) -> None: ...

A user mistake (unknown id, bad option, wrong password, locked vault) is raised as
IPython's ``UsageError``, which IPython shows as one line without a traceback.
"""

from __future__ import annotations

import argparse
import ast
import functools
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

import IPython
from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.display import Markdown
from IPython.utils.process import arg_split
from traitlets import Bool, Enum, Int, TraitError, Unicode, observe, validate
from traitlets.config import Configurable

from . import assistant
from .core.errors import ActiveMirrorError, SessionNotFoundError
from .core.mirror import ActiveMirror
from .core.models import ROLES
from .core.session import Session
from .core.storage import BACKENDS

# -- subcommand tables ---------------------------------------------------------------------


class _HelpShown(Exception):
    """argparse printed ``--help``; the magic stops there, quietly."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports mistakes as a one-line UsageError instead of exiting."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            print(message)
        raise _HelpShown


def arg(*flags: str, **options: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    """One argument of a subcommand, as ``ArgumentParser.add_argument`` takes it."""
    return flags, options


Handler = Callable[["MirrorMagics", argparse.Namespace], Any]


@dataclass
class Subcommand:
    name: str
    help: str
    arguments: tuple[tuple[tuple[str, ...], dict[str, Any]], ...]
    run: Handler


@dataclass
class Commands:
    """The subcommands of one magic (``%mirror_session``, ``%vault``)."""

    magic: str
    summary: str
    commands: dict[str, Subcommand] = field(default_factory=dict)
    _parser: _Parser | None = None

    def command(self, name: str, help: str, *arguments: tuple) -> Callable[[Handler], Handler]:
        """Register the decorated ``handler(magics, args)`` as subcommand ``name``."""

        def register(handler: Handler) -> Handler:
            self.commands[name] = Subcommand(name, help, tuple(arguments), handler)
            self._parser = None
            return handler

        return register

    def parser(self) -> _Parser:
        if self._parser is None:
            parser = _Parser(prog=self.magic, description=self.summary)
            sub = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)
            for command in self.commands.values():
                p = sub.add_parser(command.name, help=command.help, description=command.help)
                for flags, options in command.arguments:
                    p.add_argument(*flags, **options)
                p.set_defaults(run=command.run)
            self._parser = parser
        return self._parser

    def doc(self) -> str:
        """The magic's docstring: the summary, then each subcommand's usage and help."""
        parser = self.parser()
        lines = [self.summary, "", "Subcommands (each documents itself with --help):", ""]
        for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
            for name, sub in action.choices.items():
                usage = " ".join(sub.format_usage().split())[len("usage: ") :]
                lines += [f"  {usage}", f"      {self.commands[name].help}", ""]
        return "\n".join(lines)

    def parse(self, argv: Sequence[str]) -> argparse.Namespace:
        return self.parser().parse_args(list(argv))


def split_line(line: str) -> list[str]:
    """Split a magic's line like a shell does: quotes group words."""
    try:
        return arg_split(line, posix=os.name != "nt", strict=True)
    except ValueError as exc:
        raise UsageError(f"cannot read the arguments: {exc}") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive whole number, not {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {text!r}")
    return value


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, not {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, not {text!r}")
    return value


def _user_errors(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can cause into one-line UsageErrors; ``--help`` ends quietly."""

    @functools.wraps(method)
    def wrapper(self: MirrorMagics, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except _HelpShown:
            return None
        except UsageError:
            raise
        except (ActiveMirrorError, ValueError, OSError) as exc:
            raise UsageError(_one_line(exc)) from None

    return wrapper


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename:
        text = f"{exc.strerror or text}: {exc.filename}"
    return text


SESSION = Commands(
    "%mirror_session",
    "Sessions of notes next to your analysis. Without a subcommand: show the current session.",
)
VAULT = Commands(
    "%vault",
    "The encrypted vault. Unlock it with a password widget (or --env VAR when headless); "
    "values are shown only with --show.",
)

# A %vault line in autolog keeps the magic's name and loses its arguments.
_VAULT_LINE = re.compile(r"(%vault\b|run_line_magic\(\s*['\"]vault['\"]).*$", re.MULTILINE)
_SEND_CELL = re.compile(r"\A\s*%%mirror_send\b")
_RETURNING = {"get", "export-key"}  # %vault subcommands that return a secret


def redact(source: str) -> str:
    """``source`` with the arguments of every ``%vault`` call removed (for autolog)."""
    return _VAULT_LINE.sub(r"\1 [arguments not logged]", source)


# -- the magics -------------------------------------------------------------------------------


@magics_class
class MirrorMagics(Magics, Configurable):
    """``%mirror_session``, ``%%mirror_send`` and ``%vault`` over one store and one vault."""

    storage_type = Enum(
        list(BACKENDS),
        default_value="sqlite",
        help="Where sessions are kept: sqlite, json, memory or postgresql.",
    ).tag(config=True)
    db_path = Unicode(
        None, allow_none=True, help="SQLite file (default $ACTIVEMIRROR_HOME/conversations.db)."
    ).tag(config=True)
    storage_path = Unicode(
        None, allow_none=True, help="JSON folder (default $ACTIVEMIRROR_HOME/conversations)."
    ).tag(config=True)
    dsn = Unicode(
        None, allow_none=True, help="PostgreSQL connection string, for storage_type='postgresql'."
    ).tag(config=True)
    vault_path = Unicode(
        None, allow_none=True, help="Vault folder (default $ACTIVEMIRROR_HOME/vault)."
    ).tag(config=True)
    autosave = Bool(True, help="Write every message to disk as it is sent.").tag(config=True)
    page_size = Int(20, help="Rows per page of %mirror_session messages and list.").tag(config=True)
    autolog = Bool(False, help="Record every executed cell in the current session.").tag(
        config=True
    )
    default_model = Unicode(
        None, allow_none=True, help="llm model that answers user messages (none: no replies)."
    ).tag(config=True)
    default_key_from_vault = Unicode(
        None, allow_none=True, help="Vault entry with the default model's API key."
    ).tag(config=True)

    def __init__(self, shell: Any, **kwargs: Any) -> None:
        # State first: loading the configuration below already notifies the observers.
        self._mirror: ActiveMirror | None = None
        self.session: Session | None = None
        self._sessions: dict[str, Session] = {}  # opened here; keeps unsaved messages alive
        self._vault: Any = None  # VaultMemory, made on first use
        self._running_cell: str | None = None
        # IPython 9 counts a cell before running it, IPython 8 after: what to subtract from
        # shell.execution_count inside a cell to get its In [n] (checked after each cell).
        self._count_offset = 1 if IPython.version_info[0] >= 9 else 0
        self._count_at_start = 0
        #: Answers user messages; kept across store changes (``%mirror_session responder``).
        self.responder: Any = None
        # Magics.__init__ registers us in shell.configurables (so %config works) and takes
        # our configuration from the shell's.
        super().__init__(shell=shell, **kwargs)
        type(self).mirror_session.__doc__ = SESSION.doc()
        type(self).vault.__doc__ = VAULT.doc()
        shell.events.register("pre_run_cell", self._pre_run_cell)
        shell.events.register("post_run_cell", self._post_run_cell)

    # -- configuration ----------------------------------------------------------------------

    @validate("page_size")
    def _check_page_size(self, proposal: Any) -> int:
        if proposal["value"] < 1:
            raise TraitError(f"page_size must be at least 1, not {proposal['value']}")
        return proposal["value"]

    @observe("storage_type", "db_path", "storage_path", "dsn")
    def _store_changed(self, change: Any) -> None:
        self._close_store()

    @observe("autosave")
    def _autosave_changed(self, change: Any) -> None:
        if self._mirror is not None:
            self._mirror.autosave = bool(change["new"])
        if change["new"]:
            for session in self._sessions.values():
                session.save()

    @observe("default_model", "default_key_from_vault")
    def _default_model_changed(self, change: Any) -> None:
        assistant.use_default_model(self)

    @observe("vault_path")
    def _vault_path_changed(self, change: Any) -> None:
        if self._vault is not None:
            self._vault.lock()
        self._vault = None

    # -- state ------------------------------------------------------------------------------

    @property
    def mirror(self) -> ActiveMirror:
        """The store the magics use, opened on first use with the current options."""
        if self._mirror is None:
            self._mirror = ActiveMirror(
                self.storage_type,
                db_path=_path(self.db_path),
                storage_path=_path(self.storage_path),
                dsn=self.dsn,
                autosave=self.autosave,
                responder=self.responder,
            )
        return self._mirror

    def _close_store(self) -> None:
        unsaved = sum(s.unsaved_count for s in self._sessions.values())
        if unsaved:
            print(f"Note: {unsaved} unsaved message(s) were dropped with the old store.")
        self._sessions.clear()
        self.session = None
        if self._mirror is not None:
            self._mirror.close()
            self._mirror = None

    def close(self) -> None:
        """Release the store and lock the vault (``unload_ipython_extension``)."""
        for event, callback in (
            ("pre_run_cell", self._pre_run_cell),
            ("post_run_cell", self._post_run_cell),
        ):
            try:
                self.shell.events.unregister(event, callback)
            except ValueError:
                pass
        if self in self.shell.configurables:
            self.shell.configurables.remove(self)
        if self._vault is not None:
            self._vault.lock()
            self._vault = None
        self._close_store()

    def set_current(self, session: Session) -> None:
        """Make ``session`` the one ``%%mirror_send``, ``messages`` and autolog use."""
        self._sessions[session.id] = session
        self.session = session

    def open_session(self, session_id: str) -> Session:
        """The session ``session_id``: the one opened in this kernel, or loaded from the store."""
        session = self._sessions.get(session_id)
        if session is None:
            session = self.mirror.load_session(session_id)
            self._sessions[session_id] = session
        return session

    def current(self) -> Session:
        if self.session is None:
            raise UsageError(
                "no current session: start one with %mirror_session new TITLE "
                "or open one with %mirror_session load ID"
            )
        return self.session

    def current_or_new(self) -> Session:
        """The current session, or a new one titled after the notebook and today's date."""
        if self.session is None:
            session = self.mirror.create_session(
                f"{self.notebook_name()} {date.today().isoformat()}"
            )
            self.set_current(session)
            print(f"Started session {session.title!r} ({session.id}).")
        return self.session  # type: ignore[return-value]

    def notebook_name(self) -> str:
        """The running notebook's file name without extension, if the kernel knows it."""
        ns = self.shell.user_ns
        path = ns.get("__session__") or ns.get("__vsc_ipynb_file__")
        path = path or os.environ.get("JPY_SESSION_NAME")
        if isinstance(path, str) and path.strip():
            return Path(path).stem or "Notebook"
        return "Notebook"

    def _describe(self, session: Session) -> str:
        saved = "" if not session.unsaved_count else f", {session.unsaved_count} unsaved"
        return f"{session.title!r} ({session.id}): {_messages(session.message_count)}{saved}"

    # -- %mirror_session --------------------------------------------------------------------

    @line_magic
    @_user_errors
    def mirror_session(self, line: str = "") -> Any:
        argv = split_line(line)
        if not argv:
            if self.session is None:
                print(
                    "No current session. Start one with %mirror_session new TITLE "
                    "(see %mirror_session --help)."
                )
                return None
            # The Session itself: its repr says which it is, and `s = %mirror_session`
            # hands it to the Python API.
            return self.session
        args = SESSION.parse(argv)
        return args.run(self, args)

    # -- %%mirror_send ----------------------------------------------------------------------

    @cell_magic
    @_user_errors
    def mirror_send(self, line: str, cell: str) -> Any:
        """Send the cell's text as a message to the current session (one titled after the
        notebook and today's date is started when none is current).

        %%mirror_send [--role ROLE] [--session ID] [--attach VAR [VAR ...]]

        --attach stores a small snapshot of each variable in the message's metadata
        (a DataFrame: shape, columns, dtypes, first rows; anything else: type and repr)."""
        args = _SEND.parse_args(split_line(line))
        content = cell.strip("\n")
        if not content.strip():
            raise UsageError("%%mirror_send: the cell is empty; write the message below the magic")
        attachments = []
        for name in args.attach or []:
            if name not in self.shell.user_ns:
                raise UsageError(f"%%mirror_send --attach: no variable named {name!r}")
            attachments.append(_render().snapshot(name, self.shell.user_ns[name]))
        session = self.open_session(args.session) if args.session else self.current_or_new()
        metadata: dict[str, Any] = {
            "source": "mirror_send",
            "execution_count": self.cell_number(),
        }
        if attachments:
            metadata["attachments"] = attachments
        assistant.send_and_show(session, content, args.role, metadata, self.mirror.responder)
        state = "saved" if not session.unsaved_count else f"{session.unsaved_count} unsaved"
        print(
            f"Added a {args.role} message to {session.title!r} "
            f"({_messages(session.message_count)}, {state})."
        )
        return None

    # -- %vault -----------------------------------------------------------------------------

    @line_magic
    @_user_errors
    def vault(self, line: str = "") -> Any:
        argv = split_line(line)
        if not argv:
            argv = ["status"]
        args = VAULT.parse(argv)
        if args.command in _RETURNING:
            args.shown = self._result_shown()
        return args.run(self, args)

    @property
    def vault_memory(self) -> Any:
        """The VaultMemory of ``vault_path`` (locked until unlocked)."""
        if self._vault is None:
            from .core.vault import VaultMemory

            self._vault = VaultMemory(vault_path=_path(self.vault_path))
        return self._vault

    def unlocked_vault(self) -> Any:
        vault = self.vault_memory
        if vault.is_locked:
            raise UsageError("the vault is locked: run %vault unlock first")
        return vault

    def _result_shown(self) -> bool:
        """Whether a value returned by the running ``%vault`` call would be displayed: the
        call is a bare expression of the running cell (``%vault get KEY``) rather than an
        assignment (``x = %vault get KEY``). Unknown source (called from code) counts as
        not shown; source that cannot be parsed counts as shown."""
        cell = self._running_cell
        if cell is None:
            return False
        try:
            tree = ast.parse(self.shell.transform_cell(cell))
        except (SyntaxError, ValueError):
            return True
        for node in ast.walk(tree):
            if isinstance(node, ast.Expr) and _is_vault_call(node.value):
                return True
        return False

    # -- cell hooks (autolog) ---------------------------------------------------------------

    def cell_number(self) -> int:
        """The running cell's execution count (its ``In [n]``)."""
        return self.shell.execution_count - self._count_offset

    def _pre_run_cell(self, info: Any) -> None:
        self._running_cell = getattr(info, "raw_cell", None)
        self._count_at_start = self.shell.execution_count

    def _post_run_cell(self, result: Any) -> None:
        self._running_cell = None
        if result.info is not None and result.info.store_history and result.execution_count:
            self._count_offset = self._count_at_start - result.execution_count
        if not self.autolog:
            return
        info = getattr(result, "info", None)
        source = getattr(info, "raw_cell", None)
        if not isinstance(source, str) or not source.strip() or _SEND_CELL.match(source):
            return
        logged = redact(source)
        error = result.error_before_exec or result.error_in_exec
        metadata: dict[str, Any] = {
            "autolog": True,
            "execution_count": result.execution_count,
            "success": bool(result.success),
        }
        if error is not None:
            text = type(error).__name__
            if logged == source:  # the message of a %vault error stays out of the log
                text = f"{text}: {' '.join(str(error).split())}"[:200]
            metadata["error"] = text
        try:
            self.current_or_new().send(logged.rstrip("\n"), role="system", metadata=metadata)
        except (ActiveMirrorError, ValueError, OSError) as exc:
            print(f"autolog: this cell was not recorded: {_one_line(exc)}")


def _is_vault_call(node: ast.AST) -> bool:
    """``get_ipython().run_line_magic('vault', 'get …')`` (what ``%vault get …`` becomes)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr != "run_line_magic" or len(node.args) < 2:
        return False
    name, line = node.args[0], node.args[1]
    if not (isinstance(name, ast.Constant) and name.value == "vault"):
        return False
    words = (
        line.value.split() if isinstance(line, ast.Constant) and isinstance(line.value, str) else []
    )
    return bool(words) and words[0] in _RETURNING


def _render() -> ModuleType:
    """display.py, imported on first use: pandas is slow to import, %load_ext is not."""
    from . import display

    return display


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def _messages(n: int) -> str:
    return f"{n} message" if n == 1 else f"{n} messages"


_SEND = _Parser(
    prog="%%mirror_send",
    description="Send the cell's text as a message to the current session.",
)
_SEND.add_argument("--role", choices=ROLES, default="user", help="who speaks (default: user)")
_SEND.add_argument(
    "--session", metavar="ID", help="send to this session instead of the current one"
)
_SEND.add_argument(
    "--attach", nargs="+", metavar="VAR", help="attach a snapshot of these variables"
)


# -- %mirror_session subcommands --------------------------------------------------------------


@SESSION.command(
    "new",
    "Start a new session and make it current.",
    arg("title", nargs="+", help="the session's title (quote it or not)"),
    arg("--parent", metavar="ID", help="the parent session's id"),
    arg("--max-context", type=positive_int, metavar="N", help="messages a responder sees"),
)
def _session_new(m: MirrorMagics, args: argparse.Namespace) -> None:
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
def _session_load(m: MirrorMagics, args: argparse.Namespace) -> None:
    session = m.open_session(args.id)
    m.set_current(session)
    print(f"Loaded session {m._describe(session)}.")


@SESSION.command(
    "list",
    "Saved sessions, most recently updated first, as a DataFrame.",
    arg("--limit", type=positive_int, metavar="N", help="how many (default: page_size)"),
    arg("--offset", type=count, default=0, metavar="N", help="skip the N most recent"),
    arg("--parent", metavar="ID", help="only the children of this session"),
)
def _session_list(m: MirrorMagics, args: argparse.Namespace) -> Any:
    limit = args.limit or m.page_size
    rows = m.mirror.list_sessions(limit=limit, offset=args.offset, parent_session_id=args.parent)
    total = m.mirror.count_sessions(parent_session_id=args.parent)
    if total > len(rows):
        print(f"sessions {args.offset + 1}–{args.offset + len(rows)} of {total} (newest first)")
    elif not rows:
        print("No saved sessions yet: %mirror_session new TITLE starts one.")
    return _render().sessions_frame(rows)


@SESSION.command(
    "messages",
    "A page of the current session's messages as a DataFrame (page 1 is the newest).",
    arg("--limit", type=positive_int, metavar="N", help="messages per page (default: page_size)"),
    arg("--offset", type=count, metavar="N", help="skip the N newest messages"),
    arg("--page", type=positive_int, metavar="K", help="page K, counting from the newest"),
    arg("--session", metavar="ID", help="another session than the current one"),
)
def _session_messages(m: MirrorMagics, args: argparse.Namespace) -> Any:
    if args.offset is not None and args.page is not None:
        raise UsageError("%mirror_session messages: use --offset or --page, not both")
    session = m.open_session(args.session) if args.session else m.current()
    limit = args.limit or m.page_size
    total = session.message_count
    page = _render().Page(total, limit, args.offset or 0)
    if args.page is not None:
        page = _render().Page(total, limit, (args.page - 1) * limit)
        if args.page > page.count:
            raise UsageError(
                f"%mirror_session messages: page {args.page} is past the last page ({page.count})"
            )
    frame = _render().messages_frame(session.get_messages(limit=limit, offset=page.offset))
    print(page.caption())
    return frame


@SESSION.command("save", "Write the current session and its unsaved messages to disk.")
def _session_save(m: MirrorMagics, args: argparse.Namespace) -> None:
    session = m.current()
    session.save()
    print(f"Saved session {m._describe(session)}.")


@SESSION.command(
    "export",
    "Export the current session (Markdown is shown inline).",
    arg("--format", choices=("markdown", "json", "txt"), default="markdown"),
    arg("--output", metavar="PATH", help="write the export to this file"),
    arg("--session", metavar="ID", help="another session than the current one"),
)
def _session_export(m: MirrorMagics, args: argparse.Namespace) -> Any:
    session = m.open_session(args.session) if args.session else m.current()
    text = session.export(args.format)
    if args.output:
        path = Path(args.output).expanduser()
        path.write_text(text, encoding="utf-8")
        print(f"Wrote the {args.format} export of {session.title!r} to {path}.")
        return None
    if args.format == "markdown":
        return Markdown(text)
    print(text)
    return None


@SESSION.command(
    "import",
    "Import a session from a JSON export file and make it current.",
    arg("path", help="a JSON file from %mirror_session export --format json"),
    arg(
        "--on-conflict",
        choices=("error", "new_id", "replace"),
        default="error",
        help="when the id exists: refuse, give fresh ids, or replace it",
    ),
)
def _session_import(m: MirrorMagics, args: argparse.Namespace) -> None:
    from .core.portability import import_session

    path = Path(args.path).expanduser()
    if not path.is_file():
        raise UsageError(f"%mirror_session import: no such file: {path}")
    session = import_session(path, m.mirror, on_conflict=args.on_conflict)
    m.set_current(session)
    print(f"Imported session {m._describe(session)}; it is now current.")


@SESSION.command(
    "delete",
    "Delete a saved session and its messages (its children are kept).",
    arg("id", help="the session's id"),
)
def _session_delete(m: MirrorMagics, args: argparse.Namespace) -> None:
    if not m.mirror.delete_session(args.id):
        raise SessionNotFoundError(args.id, m.mirror.store.description)
    m._sessions.pop(args.id, None)
    note = ""
    if m.session is not None and m.session.id == args.id:
        m.session = None
        note = " There is no current session now."
    print(f"Deleted session {args.id}.{note}")


@SESSION.command(
    "search",
    "Saved messages containing every word of QUERY, newest first, as a DataFrame.",
    arg("query", nargs="+", help="plain words"),
    arg("--limit", type=positive_int, default=50, metavar="N", help="at most N (default 50)"),
    arg("--session", metavar="ID", help="only in this session"),
)
def _session_search(m: MirrorMagics, args: argparse.Namespace) -> Any:
    query = " ".join(args.query)
    found = m.mirror.search(query, session_id=args.session, limit=args.limit)
    if not found:
        print(f"No saved message contains {query!r}.")
    return _render().messages_frame(found, with_session=True)


@SESSION.command("browse", "A widget to browse sessions and page through their messages.")
def _session_browse(m: MirrorMagics, args: argparse.Namespace) -> Any:
    from .widgets import SessionBrowser

    return SessionBrowser(
        m.mirror,
        m.page_size,
        session_id=m.session.id if m.session is not None else None,
        on_select=m.set_current,
    )


@SESSION.command("chat", "A widget to write messages into the current session.")
def _session_chat(m: MirrorMagics, args: argparse.Namespace) -> Any:
    from .widgets import ChatPanel

    target = m.session if m.session is not None else m.mirror
    return ChatPanel(target, history=m.page_size, on_session=m.set_current)


@SESSION.command("responder", assistant.RESPONDER_HELP, *assistant.RESPONDER_ARGUMENTS)
def _session_responder(m: MirrorMagics, args: argparse.Namespace) -> None:
    assistant.responder_command(m, args)


@SESSION.command(
    "autolog",
    "Record every executed cell in the current session (on), or stop (off).",
    arg("state", nargs="?", choices=("on", "off"), help="without it: say whether it is on"),
)
def _session_autolog(m: MirrorMagics, args: argparse.Namespace) -> None:
    if args.state is not None:
        m.autolog = args.state == "on"
    if not m.autolog:
        print("Autolog is off.")
    elif m.session is None:
        print("Autolog is on: cells will be recorded in a new session, started with the next cell.")
    else:
        print(f"Autolog is on: each cell you run is recorded in {m.session.title!r}.")


# -- %vault subcommands -----------------------------------------------------------------------


def _env(name: str, what: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise UsageError(f"%vault: the environment variable {name} ({what}) is not set")
    return value


def _vault_exists(vault: Any) -> bool:
    from .core.vault_format import INDEX_FILE

    return (vault.vault_path / INDEX_FILE).exists()


def _entry_names(vault: Any) -> set[str]:
    return {entry.key for entry in vault.list_entries()}


@VAULT.command(
    "unlock",
    "Unlock the vault (creating it on first use): a password widget, or --env VAR headless.",
    arg("--env", metavar="VAR", help="read the password from this environment variable"),
    arg("--key-env", metavar="VAR", help="read a recovery key (amvk1-…) from this variable"),
)
def _vault_unlock(m: MirrorMagics, args: argparse.Namespace) -> Any:
    vault = m.vault_memory
    if args.env and args.key_env:
        raise UsageError("%vault unlock: use --env or --key-env, not both")
    if args.env or args.key_env:
        existed = _vault_exists(vault)
        if args.env:
            vault.unlock(_env(args.env, "the vault password"))
        else:
            vault.unlock(key=_env(args.key_env, "a recovery key"))
        print(_unlocked_line(vault, existed))
        return None
    return _unlock_widget(m)


def _unlocked_line(vault: Any, existed: bool) -> str:
    if not existed:
        return f"Created a new vault at {vault.vault_path}; it is unlocked."
    n = len(vault.list_entries())
    return f"Vault unlocked: {n} entr{'y' if n == 1 else 'ies'} ({vault.vault_path})."


def _unlock_widget(m: MirrorMagics) -> Any:
    """The VaultPanel over the magics' own VaultMemory, so both see one lock state."""
    from .widgets import VaultPanel

    return VaultPanel(m.vault_memory, page_size=m.page_size)


@VAULT.command("lock", "Lock the vault: forget its key until the next unlock.")
def _vault_lock(m: MirrorMagics, args: argparse.Namespace) -> None:
    if m._vault is not None:
        m._vault.lock()
    print("Vault locked.")


@VAULT.command("status", "Say whether the vault is locked or unlocked.")
def _vault_status(m: MirrorMagics, args: argparse.Namespace) -> None:
    vault = m.vault_memory
    if not _vault_exists(vault):
        print(
            f"Vault locked: there is no vault at {vault.vault_path} yet (%vault unlock creates it)."
        )
    elif vault.is_locked:
        print(f"Vault locked ({vault.vault_path}).")
    else:
        print(_unlocked_line(vault, True).replace("Vault unlocked:", "Vault unlocked,"))


@VAULT.command(
    "store",
    "Store VALUE (text; JSON with --json) or a variable's value (--from-var) under KEY.",
    arg("key", help="the entry's name"),
    arg("value", nargs="?", help="the value; prefer $var or --from-var to keep it out of history"),
    arg("--from-var", metavar="NAME", help="store this notebook variable's value"),
    arg("--json", action="store_true", help="read VALUE as JSON (numbers, lists, objects)"),
    arg(
        "--category",
        metavar="C",
        help="goals, reflections, preferences, private, knowledge or relationships",
    ),
    arg("--tags", metavar="A,B", help="comma-separated tags"),
)
def _vault_store(m: MirrorMagics, args: argparse.Namespace) -> None:
    import json

    vault = m.unlocked_vault()
    if (args.value is None) == (args.from_var is None):
        raise UsageError("%vault store: give a VALUE or --from-var NAME (one of them)")
    if args.from_var is not None:
        if args.from_var not in m.shell.user_ns:
            raise UsageError(f"%vault store --from-var: no variable named {args.from_var!r}")
        value = m.shell.user_ns[args.from_var]
    elif args.json:
        try:
            value = json.loads(args.value)
        except ValueError:
            raise UsageError("%vault store --json: the value is not valid JSON") from None
    else:
        value = args.value
    metadata: dict[str, Any] = {}
    if args.category:
        from .core.vault import VaultCategory

        metadata["category"] = VaultCategory.coerce(args.category)
    if args.tags:
        metadata["tags"] = [t.strip() for t in args.tags.split(",") if t.strip()]
    existed = args.key in _entry_names(vault)
    vault.store(args.key, value, metadata or None)
    print(f"{'Updated' if existed else 'Stored'} {args.key!r} in the vault (value not shown).")


@VAULT.command(
    "get",
    "Return KEY's value: x = %vault get KEY. Shown only with --show.",
    arg("key", help="the entry's name"),
    arg("--show", action="store_true", help="display the value"),
)
def _vault_get(m: MirrorMagics, args: argparse.Namespace) -> Any:
    vault = m.unlocked_vault()
    if args.key not in _entry_names(vault):
        raise UsageError(f"%vault get: no vault entry named {args.key!r}")
    value = vault.retrieve(args.key)
    if args.shown and not args.show:
        print(
            f"{args.key!r} is in the vault; its value is hidden. Assign it "
            f"(x = %vault get {args.key}) or add --show to display it."
        )
        return None
    return value


@VAULT.command(
    "list",
    "Entry names and metadata (never values) as a DataFrame.",
    arg("--category", metavar="C", help="only this category"),
    arg("--tag", metavar="T", help="only entries with this tag"),
)
def _vault_list(m: MirrorMagics, args: argparse.Namespace) -> Any:
    entries = m.unlocked_vault().list_entries(category=args.category, tag=args.tag)
    return _render().vault_frame(entries)


@VAULT.command(
    "search",
    "Entries whose name, value, category or tags contain QUERY (values not shown).",
    arg("query", nargs="+", help="text to look for, ignoring case"),
)
def _vault_search(m: MirrorMagics, args: argparse.Namespace) -> Any:
    query = " ".join(args.query)
    found = m.unlocked_vault().search(query)
    if not found:
        print(f"No vault entry matches {query!r}.")
    return _render().vault_frame(found)


@VAULT.command("delete", "Delete the entry KEY.", arg("key", help="the entry's name"))
def _vault_delete(m: MirrorMagics, args: argparse.Namespace) -> None:
    if not m.unlocked_vault().delete(args.key):
        raise UsageError(f"%vault delete: no vault entry named {args.key!r}")
    print(f"Deleted {args.key!r} from the vault.")


@VAULT.command(
    "change-password",
    "Change the vault's password: a widget, or --old-env/--new-env VAR headless.",
    arg("--old-env", metavar="VAR", help="variable holding the current password"),
    arg("--new-env", metavar="VAR", help="variable holding the new password"),
)
def _vault_change_password(m: MirrorMagics, args: argparse.Namespace) -> Any:
    vault = m.unlocked_vault()
    if args.old_env or args.new_env:
        if not (args.old_env and args.new_env):
            raise UsageError("%vault change-password: give both --old-env and --new-env")
        vault.change_password(
            _env(args.old_env, "the current password"), _env(args.new_env, "the new password")
        )
        print("Vault password changed.")
        return None

    import ipywidgets as widgets

    old = widgets.Password(placeholder="current password")
    new = widgets.Password(placeholder="new password")
    again = widgets.Password(placeholder="new password again")
    button = widgets.Button(description="Change password", icon="key")
    status = widgets.Label("")

    def change(_: Any) -> None:
        values = (old.value, new.value, again.value)
        old.value = new.value = again.value = ""  # cleared right after use
        if values[1] != values[2]:
            status.value = "The two new passwords differ; nothing changed."
            return
        try:
            vault.change_password(values[0], values[1])
        except (ActiveMirrorError, ValueError, TypeError) as exc:
            status.value = _one_line(exc)
            return
        status.value = "Vault password changed."

    button.on_click(change)
    return widgets.VBox([old, new, again, button, status])


@VAULT.command(
    "export-key",
    "Return a recovery key that opens the vault without its password: k = %vault export-key.",
    arg("--show", action="store_true", help="display the key"),
    arg("--output", metavar="PATH", help="write the key to this file (readable by you only)"),
)
def _vault_export_key(m: MirrorMagics, args: argparse.Namespace) -> Any:
    key = m.unlocked_vault().export_key()
    if args.output:
        path = Path(args.output).expanduser()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(key + "\n")
        print(f"Wrote the vault's recovery key to {path}; keep it as safe as the vault.")
        return None
    if args.shown and not args.show:
        print(
            "The recovery key is hidden. Assign it (k = %vault export-key), "
            "write it with --output PATH, or add --show."
        )
        return None
    return key


# -- extension entry points -------------------------------------------------------------------


def load_ipython_extension(shell: Any) -> None:
    """Register :class:`MirrorMagics`; loading again keeps the one already there."""
    if shell.magics_manager.registry.get(MirrorMagics.__name__) is not None:
        return
    shell.register_magics(MirrorMagics(shell))


def unload_ipython_extension(shell: Any) -> None:
    """Remove the magics, release the store and lock the vault."""
    magics = shell.magics_manager.registry.pop(MirrorMagics.__name__, None)
    if magics is None:
        return
    magics.close()
    for kind, names in magics.magics.items():
        table = shell.magics_manager.magics[kind]
        for name in names:
            if table.get(name) == names[name]:
                del table[name]
