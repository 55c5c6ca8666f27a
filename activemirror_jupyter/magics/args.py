"""The magics' small argument framework: a table of subcommands per magic, each one function
registered with its arguments, so ``--help`` documents it and adding one is a single
decorated function::

    @SESSION.command("touch", "Mark the current session as updated.", arg("--why"))
    def touch(m: MagicsAPI, args: argparse.Namespace) -> None: ...

A subcommand may have subcommands of its own (``%vault identity create NAME``): a second
table, registered with :meth:`Commands.group`, whose handler runs when none is given.

A magic without subcommands (``%%mirror_send``) is a :class:`Command` with arguments declared
the same way. Options several subcommands share are declared once here: ``--session``
(:data:`SESSION_OPTION`, looked up by :func:`chosen_session`) and ``--limit``/``--offset``
(:func:`page_options`, read by :func:`page_of`).

A user mistake (unknown id, bad option, wrong password, locked vault) is raised as IPython's
``UsageError``, which IPython shows as one line without a traceback.
"""

from __future__ import annotations

import argparse
import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import ModuleType
from typing import Any, Protocol

from IPython.core.error import UsageError
from IPython.utils.process import arg_split

from ..core.errors import ActiveMirrorError
from ..core.timeutil import parse_when


class HelpShown(Exception):
    """argparse printed ``--help``; the magic stops there, quietly."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser that reports mistakes as a one-line UsageError instead of exiting."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def add_argument(self, *flags: Any, **options: Any) -> Any:
        # argparse reads help text as a %-format; ours is plain text ("%mirror_session …").
        if isinstance(options.get("help"), str):
            options["help"] = escape_percent(options["help"])
        return super().add_argument(*flags, **options)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")

    def exit(self, status: int = 0, message: str | None = None) -> None:  # type: ignore[override]
        if message:
            print(message)
        raise HelpShown


Argument = tuple[tuple[str, ...], dict[str, Any]]


def arg(*flags: str, **options: Any) -> Argument:
    """One argument of a subcommand, as ``ArgumentParser.add_argument`` takes it."""
    return flags, options


class MagicsAPI(Protocol):
    """What subcommands use of the magics object: :class:`.MirrorMagics`' public side."""

    shell: Any
    page_size: int
    autolog: bool
    session: Any  # the current Session, or None
    responder: Any

    @property
    def mirror(self) -> Any: ...
    @property
    def vault_memory(self) -> Any: ...
    def unlocked_vault(self) -> Any: ...
    def lock_vault(self) -> None: ...
    def set_current(self, session: Any) -> None: ...
    def open_session(self, session_id: str) -> Any: ...
    def forget_session(self, session_id: str) -> bool: ...
    def current(self) -> Any: ...
    def current_or_new(self) -> Any: ...
    def describe(self, session: Any) -> str: ...
    def cell_number(self) -> int: ...
    def record_provenance(self, session: Any, *, replace: bool = False) -> bool: ...
    @property
    def autolog_options(self) -> Any: ...
    def set_autolog(self, options: Any) -> None: ...
    def make_responder(self, model: str, **options: Any) -> Any: ...
    def set_responder(self, responder: Any) -> None: ...


Handler = Callable[[MagicsAPI, argparse.Namespace], Any]


@dataclass
class Subcommand:
    name: str
    help: str
    arguments: tuple[Argument, ...]
    run: Handler
    table: Commands | None = None  # its own subcommands (Commands.group)


@dataclass
class Commands:
    """The subcommands of one magic (``%mirror_session``, ``%vault``)."""

    magic: str
    summary: str
    commands: dict[str, Subcommand] = field(default_factory=dict)
    _parser: Parser | None = None

    def command(self, name: str, help: str, *arguments: Argument) -> Callable[[Handler], Handler]:
        """Register the decorated ``handler(magics, args)`` as subcommand ``name``."""

        def register(handler: Handler) -> Handler:
            self.commands[name] = Subcommand(name, help, tuple(arguments), handler)
            self._parser = None
            return handler

        return register

    def group(self, name: str, help: str, table: Commands) -> Callable[[Handler], Handler]:
        """Register subcommand ``name`` whose own subcommands are ``table``'s (its magic
        named ``"%vault identity"``, say); the decorated handler runs when none is given."""

        def register(handler: Handler) -> Handler:
            self.commands[name] = Subcommand(name, help, (), handler, table)
            self._parser = None
            return handler

        return register

    def parser(self) -> Parser:
        if self._parser is None:
            self._parser = self._add_to(Parser(prog=self.magic, description=self.summary))
        return self._parser

    def _add_to(self, parser: Parser, dest: str = "command") -> Parser:
        sub = parser.add_subparsers(dest=dest, metavar="SUBCOMMAND", parser_class=Parser)
        for command in self.commands.values():
            p = sub.add_parser(
                command.name, help=escape_percent(command.help), description=command.help
            )
            add_arguments(p, command.arguments)
            p.set_defaults(run=command.run)  # a nested subcommand's own default wins
            if command.table is not None:
                command.table._add_to(p, dest=f"{command.name}_command")
        return parser

    def subparsers(self, parser: Parser | None = None) -> dict[str, Parser]:
        """The parser of each subcommand, in ``parser`` (default: the magic's own)."""
        parser = parser if parser is not None else self.parser()
        action = parser._subparsers._group_actions[0]  # type: ignore[union-attr]
        return dict(action.choices)

    def doc(self) -> str:
        """The magic's docstring: the summary, then each subcommand's usage and help."""
        lines = [self.summary, "", "Subcommands (each documents itself with --help):", ""]
        for name, sub in self.subparsers().items():
            lines += [f"  {usage(sub)}", f"      {self.commands[name].help}", ""]
            table = self.commands[name].table
            if table is not None:
                for inner, nested in table.subparsers(sub).items():
                    lines += [f"  {usage(nested)}", f"      {table.commands[inner].help}", ""]
        return "\n".join(lines)

    def parse(self, argv: Sequence[str]) -> argparse.Namespace:
        return self.parser().parse_args(list(argv))


class Command:
    """A magic without subcommands (``%%mirror_send``): its arguments are declared as a
    subcommand's are, and its ``--help`` is its docstring."""

    def __init__(self, magic: str, summary: str, *arguments: Argument) -> None:
        self.magic = magic
        self.summary = summary
        self.arguments = arguments
        self._parser: Parser | None = None

    def parser(self) -> Parser:
        if self._parser is None:
            self._parser = add_arguments(
                Parser(prog=self.magic, description=self.summary), self.arguments
            )
        return self._parser

    def doc(self) -> str:
        return self.parser().format_help()

    def parse(self, argv: Sequence[str]) -> argparse.Namespace:
        return self.parser().parse_args(list(argv))


def add_arguments(parser: Parser, arguments: Sequence[Argument]) -> Parser:
    for flags, options in arguments:
        parser.add_argument(*flags, **options)
    return parser


def escape_percent(text: str) -> str:
    """Help text as argparse wants it (it is a %-format there): ``%`` doubled."""
    return text.replace("%", "%%")


def usage(parser: argparse.ArgumentParser) -> str:
    """A parser's usage on one line, without ``usage:``."""
    return " ".join(parser.format_usage().split())[len("usage: ") :]


def split_line(line: str) -> list[str]:
    """Split a magic's line like a shell does: quotes group words."""
    try:
        return arg_split(line, posix=os.name != "nt", strict=True)
    except ValueError as exc:
        raise UsageError(f"cannot read the arguments: {exc}") from None


def positive_int(text: str) -> int:
    value = _int(text, "a positive whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, not {text!r}")
    return value


def count(text: str) -> int:
    value = _int(text, "a whole number ≥ 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, not {text!r}")
    return value


def moment(text: str) -> datetime:
    """A point in time from the command line, read by :func:`~..core.timeutil.parse_when`: a
    date (``2024-05-01``, midnight UTC) or an ISO 8601 time (``2024-05-01T14:30``, ``…Z``,
    ``…+02:00``); without an offset it is UTC."""
    try:
        return parse_when(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _int(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}") from None


# -- options several subcommands share --------------------------------------------------------


def session_option(help: str = "another session than the current one") -> Argument:
    """``--session ID``, ``help`` saying what it means to the subcommand: most work on that
    session instead of the current one (:func:`chosen_session`); ``search`` looks only in it."""
    return arg("--session", metavar="ID", help=help)


#: ``--session ID`` as most subcommands take it.
SESSION_OPTION = session_option()


def chosen_session(m: MagicsAPI, args: argparse.Namespace, *, or_new: bool = False) -> Any:
    """The session ``--session`` names, else the current one (with ``or_new``: else a new
    one, as ``%%mirror_send`` starts)."""
    if args.session:
        return m.open_session(args.session)
    return m.current_or_new() if or_new else m.current()


def page_options(
    limit: str, offset: str, *, default: int | None = None
) -> tuple[Argument, Argument]:
    """``--limit N`` and ``--offset N``, with these help texts; :func:`page_of` reads them.
    Without ``--limit`` a page is ``default`` rows, or the magics' ``page_size``."""
    return (
        arg("--limit", type=positive_int, default=default, metavar="N", help=limit),
        arg("--offset", type=count, metavar="N", help=offset),
    )


def page_of(m: MagicsAPI, args: argparse.Namespace) -> tuple[int, int]:
    """``(limit, offset)`` of :func:`page_options`' arguments."""
    return args.limit or m.page_size, args.offset or 0


def user_errors(method: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the errors a user can cause into one-line UsageErrors; ``--help`` ends quietly."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except HelpShown:
            return None
        except UsageError:
            raise
        except (ActiveMirrorError, ValueError, OSError) as exc:
            raise UsageError(one_line(exc)) from None

    return wrapper


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename:
        text = f"{exc.strerror or text}: {exc.filename}"
    return text


def frames() -> ModuleType:
    """:mod:`activemirror_jupyter.display`, imported on first use: pandas is slow to import,
    ``%load_ext`` is not."""
    from .. import display

    return display


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
