"""``activemirror`` / ``python -m activemirror_jupyter``: list, export, import, back up and
restore sessions outside notebooks, import other tools' history, and sync with your other
devices.

The store is the default one (``$ACTIVEMIRROR_HOME/conversations.db``) unless ``--db``,
``--json-dir`` or ``--dsn`` names another. Backups are bundles (see
:mod:`activemirror_jupyter.core.transfer.bundles`): every session and, unless ``--no-vault``,
the vault's files still encrypted — the vault's password or recovery key is needed to read
them after a restore, exactly as before. ``sync`` unlocks the vault that holds your identity
with ``$ACTIVEMIRROR_VAULT_PASSWORD``, else a prompt that does not echo, and locks it again.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from .core.errors import ActiveMirrorError
from .core.serialize import session_record
from .core.transfer.exports import EXPORT_FORMATS
from .core.transfer.imports import ON_CONFLICT
from .core.vault.files import vault_file_names, vault_folder

PROG = "activemirror"


def _store_options(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("store (default: $ACTIVEMIRROR_HOME/conversations.db)")
    choice = where.add_mutually_exclusive_group()
    choice.add_argument("--db", metavar="PATH", help="a SQLite database file")
    choice.add_argument("--json-dir", metavar="DIR", help="a JSON folder (index.json + sessions)")
    choice.add_argument("--dsn", metavar="URL", help="a PostgreSQL connection string")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Back up, restore, list, export, import and sync activemirror sessions.",
        epilog="Run '%(prog)s COMMAND --help' for a command's options.",
    )
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (
        _list_parser,
        _export_parser,
        _import_parser,
        _import_from_parser,
        _backup_parser,
        _restore_parser,
        _verify_parser,
        _redact_parser,
        _sync_parser,
    ):
        _store_options(add(commands))
    return parser


def _list_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser("list", help="list sessions, most recently updated first")
    p.add_argument("--limit", type=int, default=None, metavar="N", help="at most N sessions")
    p.add_argument("--offset", type=int, default=0, metavar="N", help="skip the N newest")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return p


def _export_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser(
        "export",
        help="export a session as JSON, Markdown, text, an HTML report or a notebook",
        description="Export a session: json (what 'import' takes back), markdown, txt, html "
        "(a standalone report: no script, nothing fetched) or ipynb (a notebook that re-runs "
        "the logged cells).",
    )
    p.add_argument("session", metavar="SESSION", help="the session id")
    p.add_argument("--format", "-f", choices=EXPORT_FORMATS, default="json")
    p.add_argument(
        "--children",
        action="store_true",
        help="add every descendant session, depth first, oldest first (json: a bundle, "
        "which 'restore' takes back)",
    )
    p.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        help="write to PATH (default: stdout); a folder (DIR/) gets DIR/<title>.<ext>, and "
        "a Markdown export there links its images from DIR/attachments/",
    )
    return p


def _import_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser("import", help="import one session from a JSON export")
    p.add_argument("file", metavar="FILE", help="a session export (ours or the spec's shape)")
    p.add_argument(
        "--on-conflict",
        choices=ON_CONFLICT,
        default="error",
        help="when the id exists: fail (default), import a copy, or overwrite",
    )
    return p


def _import_from_parser(commands: Any) -> argparse.ArgumentParser:
    from .core.transfer.importers import IMPORTERS

    p = commands.add_parser(
        "import-from",
        help="import another tool's history: IPython's, llm's logs, a jupyterlab-chat file",
        description="Import another tool's history as sessions tagged with its name: "
        "ipython (history.sqlite: each session's cells and the outputs IPython logged), "
        "llm (logs.db: each conversation's prompts and responses) or jupyter-chat (a "
        ".chat file). The file is only read; importing again adds only what is new.",
    )
    p.add_argument("source", metavar="SOURCE", help=f"one of {', '.join(IMPORTERS)}")
    p.add_argument(
        "path",
        nargs="?",
        metavar="PATH",
        help="the file (default: the tool's own: IPython's default profile, llm's logs.db)",
    )
    return p


def _backup_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser("backup", help="write every session (and the vault) to one file")
    p.add_argument("path", metavar="PATH", help="the backup file to write ('-' for stdout)")
    vault = p.add_mutually_exclusive_group()
    vault.add_argument(
        "--vault",
        metavar="DIR",
        help="vault folder to include (default: $ACTIVEMIRROR_HOME/vault if any)",
    )
    vault.add_argument("--no-vault", action="store_true", help="leave the vault out")
    return p


def _verify_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser(
        "verify",
        help="check that nothing was changed behind the API: a store, or an exported file",
        description="Check every session's hash chain, head and seal (and signature) in the "
        "store, or in FILE (a session export or a backup) without any store. Exit status 0 "
        "when everything checks, 1 with one line per problem otherwise.",
    )
    p.add_argument("file", nargs="?", metavar="FILE", help="an export or backup to check")
    return p


def _redact_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser(
        "redact",
        help="remove a saved message's content, metadata and attachments for good",
        description="Remove MESSAGE of SESSION for good — its content, metadata and "
        "attachments, from the store's files, search and exports — keeping its place, so "
        "'verify' still holds; the reason is kept and shown. A secret that was in it should "
        "still be changed: see the README, 'Redaction'.",
    )
    p.add_argument("session", metavar="SESSION", help="the session's id")
    p.add_argument("message", metavar="MESSAGE", help="the message's id (msg_…)")
    p.add_argument("--reason", required=True, metavar="TEXT", help="why it must go")
    return p


def _restore_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser("restore", help="restore a backup into a store (and vault folder)")
    p.add_argument("path", metavar="PATH", help="a backup file written by 'backup'")
    p.add_argument(
        "--vault",
        metavar="DIR",
        help="where the vault's files go (default: $ACTIVEMIRROR_HOME/vault)",
    )
    p.add_argument(
        "--on-conflict",
        choices=ON_CONFLICT,
        default="error",
        help="when a session or the vault exists: fail (default), copy, overwrite",
    )
    p.add_argument(
        "--max-bytes",
        type=int,
        default=None,
        metavar="N",
        help="refuse backups larger than N bytes (default: 1 GiB)",
    )
    return p


def _sync_parser(commands: Any) -> argparse.ArgumentParser:
    p = commands.add_parser(
        "sync",
        help="sync the store with your other devices through a folder they all see",
        description="Push what this store has that REMOTE lacks and pull what your other "
        "devices wrote there, with the identity kept in your vault (its password from "
        "$ACTIVEMIRROR_VAULT_PASSWORD, else asked for). Prints 'pushed N, pulled M ↔ "
        "REMOTE'; exit status 0, or 1 with one line saying what went wrong.",
    )
    p.add_argument(
        "remote", nargs="?", metavar="REMOTE", help="a folder (default: the identity's remote)"
    )
    p.add_argument(
        "--vault",
        metavar="DIR",
        help="the vault holding your identity (default: $ACTIVEMIRROR_HOME/vault)",
    )
    return p


def _open_mirror(args: argparse.Namespace, **options: Any) -> Any:
    from .core.mirror import ActiveMirror

    if args.json_dir:
        return ActiveMirror("json", storage_path=args.json_dir, **options)
    if args.dsn:
        return ActiveMirror("postgresql", dsn=args.dsn, **options)
    return ActiveMirror("sqlite", db_path=args.db, **options)


def _progress(total: int, what: str, unit: str = "session") -> Any:
    from tqdm import tqdm

    # disable=None: a bar on a terminal, nothing when stderr is a file or a pipe.
    return tqdm(total=total, desc=what, unit=unit, file=sys.stderr, disable=None)


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """A text stream to ``path`` ('-' or None: stdout), replacing the file only once it is
    complete, as an export's file is (:func:`~.core.reports.files.replacing`)."""
    if path is None or path == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    from .core.reports.files import replacing

    with replacing(Path(path).expanduser(), create_folders=True) as f:
        yield f


def cmd_list(args: argparse.Namespace) -> int:
    with _open_mirror(args) as mirror:
        sessions = mirror.list_sessions(limit=args.limit, offset=args.offset)
    if args.json:
        rows = [session_record(s) for s in sessions]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for s in sessions:
        title = " ".join(s.title.split())
        print(f"{s.session_id}\t{s.updated_at:%Y-%m-%d %H:%M}\t{s.message_count}\t{title}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from .core.transfer.exports import export_to_path, write_export

    with _open_mirror(args) as mirror:
        session = mirror.load_session(args.session)
        if args.output is None or args.output == "-":
            # Written as it is read: a large report never sits whole in memory.
            write_export(session, args.format, sys.stdout, include_children=args.children)
            sys.stdout.flush()
            return 0
        path = export_to_path(
            session,
            args.format,
            args.output,
            include_children=args.children,
            create_folders=True,
        )
    print(f"wrote the {args.format} export of {args.session} to {path}", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .core.transfer.imports import import_session

    with _open_mirror(args) as mirror:
        session = import_session(Path(args.file), mirror, on_conflict=args.on_conflict)
        print(f"imported {session.id} ({session.message_count} messages) into {mirror.description}")
    return 0


def cmd_import_from(args: argparse.Namespace) -> int:
    from .core.transfer.importers import import_history, source_path

    where = source_path(args.source, args.path)
    with _open_mirror(args) as mirror, contextlib.ExitStack() as bars:
        report = import_history(
            mirror,
            args.source,
            where,
            progress=lambda total: bars.enter_context(_progress(total, "import", "message")),
        )
        skipped = f", {report.skipped} skipped" if report.skipped else ""
        print(
            f"imported {report.messages} messages into {report.sessions} sessions "
            f"from {where}{skipped} into {mirror.description}"
        )
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    if args.file is not None:
        from .core.transfer.imports import verify_export

        report = verify_export(Path(args.file))
    else:
        with _open_mirror(args) as mirror:
            report = mirror.verify()
    for line in report.lines():  # the report is the output, problems included
        print(line)
    return 0 if report.ok else 1


def cmd_redact(args: argparse.Namespace) -> int:
    from .core.redaction import shown_content

    with _open_mirror(args) as mirror:
        message = mirror.load_session(args.session).redact(args.message, args.reason)
        print(f"{message.id} of {args.session}: {shown_content(message)}")
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from .core.paths import default_vault_path
    from .core.transfer.bundles import write_bundle

    vault = None
    if not args.no_vault:
        folder = Path(args.vault).expanduser() if args.vault else default_vault_path()
        if args.vault or folder.is_dir():
            from .core.vault import VaultMemory

            vault = VaultMemory(vault_path=folder)  # locked: its files are copied, not read
    with _open_mirror(args) as mirror, _output(args.path) as out:
        with _progress(mirror.count_sessions(), "backup") as bar:
            sessions = write_bundle(mirror, out, vault, progress=bar)
        out.write("\n")
    if args.path != "-":
        files = len(vault_file_names(vault_folder(vault))) if vault is not None else 0
        print(
            f"backed up {sessions} sessions and {files} vault files to {args.path}",
            file=sys.stderr,
        )
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from .core.limits import MAX_BUNDLE_BYTES
    from .core.transfer.bundles import import_all_data
    from .core.transfer.parsing import read_input

    max_bytes = args.max_bytes if args.max_bytes is not None else MAX_BUNDLE_BYTES
    bundle, _ = read_input(Path(args.path), max_bytes, "restore")
    sessions = bundle.get("sessions") if isinstance(bundle, dict) else None
    total = len(sessions) if isinstance(sessions, list) else 0
    with _open_mirror(args) as mirror:
        with _progress(total, "restore") as bar:
            counts = import_all_data(
                bundle, mirror, args.vault, on_conflict=args.on_conflict, progress=bar
            )
        print(
            f"restored {counts['sessions']} sessions ({counts['messages']} messages) and "
            f"{counts['vault_files']} vault files into {mirror.description}",
            file=sys.stderr,
        )
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from .cli_vault import unlocked_vault
    from .core.sync.identity import Identity
    from .sync_output import GrowingBar, report_line

    dsn = args.remote is not None and args.remote.startswith(("postgresql://", "postgres://"))
    vault = None if dsn else unlocked_vault(args.vault)
    try:
        identity = None if vault is None else Identity.load(vault)
        with (
            _open_mirror(args, identity=identity) as mirror,
            GrowingBar(lambda total: _progress(total, "sync", "message")) as bar,
        ):
            report = mirror.sync(args.remote, progress=bar)
    finally:
        if vault is not None:
            vault.lock()
    print(report_line(report))
    return 0


COMMANDS = {
    "list": cmd_list,
    "export": cmd_export,
    "import": cmd_import,
    "import-from": cmd_import_from,
    "backup": cmd_backup,
    "restore": cmd_restore,
    "verify": cmd_verify,
    "redact": cmd_redact,
    "sync": cmd_sync,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ActiveMirrorError, ValueError, OSError) as exc:
        # User mistakes and unreadable files: one clear line, no traceback.
        print(f"{PROG}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
