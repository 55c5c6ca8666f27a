"""``%mirror_session`` subcommands of the research record: ``autolog`` (with outputs),
``provenance``, ``tag``, ``search`` (with filters and snippets), ``seal`` and ``verify`` —
each one function registered on :data:`~.session_commands.SESSION`."""

from __future__ import annotations

import argparse
from typing import Any

from IPython.core.error import UsageError

from ..capture.autolog import AutologOptions
from ..capture.provenance import provenance
from ..core.errors import SessionSealedError
from ..core.models import ROLES
from .args import (
    SESSION_OPTION,
    MagicsAPI,
    arg,
    chosen_session,
    frames,
    moment,
    page_of,
    page_options,
    plural,
    session_option,
)
from .session_commands import SESSION

# -- autolog -----------------------------------------------------------------------------------


@SESSION.command(
    "autolog",
    "Record every executed cell in the current session, with what it showed (its result, "
    "displays, figures and printed text, as attachments out-1, out-2, …), or stop (off).",
    arg("state", nargs="?", choices=("on", "off"), help="without it: say whether it is on"),
    arg("--no-outputs", action="store_true", help="keep the code only, not what it showed"),
    arg("--skip-errors", action="store_true", help="leave out cells that fail"),
    arg(
        "--skip-magics",
        action="store_true",
        help="leave out cells that are only magics or shell commands (%…, %%…, !…)",
    ),
)
def _autolog(m: MagicsAPI, args: argparse.Namespace) -> None:
    if (args.no_outputs or args.skip_errors or args.skip_magics) and args.state != "on":
        raise UsageError(
            "%mirror_session autolog: --no-outputs, --skip-errors and --skip-magics go with "
            "`autolog on`"
        )
    if args.state == "on":
        if m.session is not None and m.session.sealed:
            raise SessionSealedError(
                m.session.id,
                m.session.title,
                detail="autolog needs a session it can add to (%mirror_session new TITLE)",
            )
        options = AutologOptions(
            outputs=not args.no_outputs,
            skip_errors=args.skip_errors,
            skip_magics=args.skip_magics,
        )
        m.set_autolog(options)
        if m.session is not None:
            m.record_provenance(m.session)  # the first `autolog on` of a session
    elif args.state == "off":
        m.set_autolog(None)
    if not m.autolog:
        print("Autolog is off.")
        return
    how = m.autolog_options.describe()
    if m.session is None:
        print(
            f"Autolog is on ({how}): cells will be recorded in a new session, started with "
            "the next cell."
        )
    else:
        print(f"Autolog is on ({how}): each cell you run is recorded in {m.session.title!r}.")


# -- provenance --------------------------------------------------------------------------------


@SESSION.command(
    "provenance",
    "Where and with what the current session was recorded (notebook, Python, platform, "
    "host, user, packages, git commit), as a table. `new` and the first `autolog on` store "
    "it in the session.",
    SESSION_OPTION,
    arg("--now", action="store_true", help="this kernel's provenance, not the stored one"),
    arg("--record", action="store_true", help="store this kernel's provenance in the session"),
)
def _provenance(m: MagicsAPI, args: argparse.Namespace) -> Any:
    if args.now or (m.session is None and not args.session and not args.record):
        if not args.now:
            print("No current session: this kernel's provenance.")
        return frames().provenance_frame(provenance())
    session = chosen_session(m, args)
    if args.record:
        m.record_provenance(session, replace=True)
        print(f"Stored this kernel's provenance in {session.title!r}.")
    facts = session.metadata.get("provenance")
    if not isinstance(facts, dict):
        print(
            f"{session.title!r} has no provenance recorded: this kernel's (store it with --record)."
        )
        facts = provenance()
    return frames().provenance_frame(facts)


# -- tags --------------------------------------------------------------------------------------


@SESSION.command(
    "tag",
    "Add or remove tags of the current session; without arguments, show its tags.",
    arg("action", nargs="?", choices=("add", "remove"), help="what to do"),
    arg("names", nargs="*", metavar="NAME", help="tags (letters, digits, . _ -)"),
    SESSION_OPTION,
)
def _tag(m: MagicsAPI, args: argparse.Namespace) -> None:
    session = chosen_session(m, args)
    if args.action is not None and not args.names:
        raise UsageError(f"%mirror_session tag {args.action}: name the tag")
    if args.action == "add":
        session.tags = [*session.tags, *args.names]
    elif args.action == "remove":
        missing = [name for name in args.names if name not in session.tags]
        if missing:
            raise UsageError(f"session {session.title!r} has no tag {missing[0]!r}")
        session.tags = [tag for tag in session.tags if tag not in args.names]
    tags = ", ".join(session.tags) if session.tags else "none"
    unsaved = "" if m.mirror.autosave or args.action is None else " (%mirror_session save keeps it)"
    print(f"Tags of {session.title!r}: {tags}{unsaved}.")


# -- search ------------------------------------------------------------------------------------


@SESSION.command(
    "search",
    "Saved messages containing every word of QUERY (in their text or a text attachment), "
    "newest first, as a DataFrame with a snippet around the words; with --meaning, those "
    "closest in meaning to QUERY, best first, with a score (needs the [semantic] extra). "
    "Dates are YYYY-MM-DD or ISO times, read as UTC; --since is inclusive, --until exclusive.",
    arg("query", nargs="+", help="plain words"),
    arg("--meaning", action="store_true", help="rank by meaning, not by the words"),
    arg("--role", choices=ROLES, help="only messages of this role"),
    arg("--tag", metavar="NAME", help="only in sessions tagged NAME"),
    arg("--since", type=moment, metavar="DATE", help="only messages from DATE on"),
    arg("--until", type=moment, metavar="DATE", help="only messages before DATE"),
    session_option("only in this session"),
    *page_options("at most N (default 50)", "skip the N newest matches", default=50),
)
def _search(m: MagicsAPI, args: argparse.Namespace) -> Any:
    if args.since is not None and args.until is not None and args.since >= args.until:
        raise UsageError("%mirror_session search: --since must be earlier than --until")
    query = " ".join(args.query)
    filters = {
        "session_id": args.session,
        "role": args.role,
        "tag": args.tag,
        "since": args.since,
        "until": args.until,
    }
    limit, offset = page_of(m, args)
    if args.meaning:
        return _search_meaning(m, query, filters, limit, offset)
    hits = m.mirror.search_hits(query, **filters, limit=limit, offset=offset)
    total = m.mirror.count_search(query, **filters)
    filtered = any(value is not None for value in filters.values())
    if not hits:
        where = " with these filters" if filtered else ""
        print(
            f"No saved message contains {query!r}{where}"
            + (f" past the first {offset}." if total else ".")
        )
    elif total > len(hits):
        print(f"matches {offset + 1}–{offset + len(hits)} of {total} (newest first)")
    return frames().hits_frame(hits)


def _search_meaning(
    m: MagicsAPI, query: str, filters: dict[str, Any], limit: int | None, offset: int
) -> Any:
    try:
        found = m.mirror.search_similar(query, **filters, limit=(limit or 10) + offset)
    except ImportError as error:
        raise UsageError(f"%mirror_session search --meaning: {error}") from None
    hits = found[offset:]
    if not hits:
        print(
            "No saved message to compare with"
            + (
                " with these filters."
                if any(value is not None for value in filters.values())
                else "."
            )
        )
    return frames().hits_frame(hits, scores=True)


# -- integrity ---------------------------------------------------------------------------------


@SESSION.command(
    "seal",
    "Seal the current session: record the hash of its last message and make it read-only "
    "(reading, exporting and deleting still work). --sign also signs it with a key kept in "
    "the vault (unlock the vault first).",
    arg("--sign", action="store_true", help="sign the seal with the vault's key"),
    SESSION_OPTION,
)
def _seal(m: MagicsAPI, args: argparse.Namespace) -> None:
    session = chosen_session(m, args)
    if session.sealed:
        raise UsageError(f"session {session.title!r} is already sealed")
    if session.unsaved_count:
        raise UsageError(
            f"session {session.title!r} has {plural(session.unsaved_count, 'unsaved message')}: "
            "run %mirror_session save first; nothing was sealed"
        )
    vault = m.unlocked_vault() if args.sign else None  # a locked vault: nothing is sealed
    seal = session.seal(sign_with=vault)
    head = seal.get("head") or "none (no messages)"
    signed = f", signed with key {str(seal['public_key'])[:16]}…" if "signature" in seal else ""
    print(
        f"Sealed {session.title!r} ({session.id}): "
        f"{plural(int(seal.get('messages', session.message_count)), 'message')}, "
        f"head {head[:16]}{'…' if seal.get('head') else ''}{signed}. It can no longer change."
    )
    if m.autolog and m.session is session:
        m.set_autolog(None)
        print("Autolog is now off: a sealed session takes no more cells.")


@SESSION.command(
    "verify",
    "Check that saved sessions were not changed behind the API (the hash chain, the seal "
    "and its signature): one line per problem, or one line saying what was verified.",
    arg("id", nargs="?", help="one session's id (default: every session in the store)"),
)
def _verify(m: MagicsAPI, args: argparse.Namespace) -> None:
    report = m.mirror.verify(args.id)
    for line in report.lines():
        print(line)
