"""``%mirror_session redact MESSAGE_ID --reason TEXT``: a saved message's content, metadata
and attachments removed for good, one function registered on
:data:`~.session_commands.SESSION`."""

from __future__ import annotations

import argparse
from typing import Any

from ..core.errors import MessageNotFoundError
from ..core.redaction import shown_content
from .args import MagicsAPI, arg, session_option
from .session_commands import SESSION


@SESSION.command(
    "redact",
    "Remove a saved message's content, metadata and attachments for good — from the store's "
    "files too, and from search and exports — keeping its place: it shows as 'redacted: "
    "<reason>, <when>' and %mirror_session verify still holds. A secret that was in it "
    "should still be changed (see the README, 'Redaction'). The message is looked for in "
    "--session, else the current session, else wherever the store holds it.",
    arg("message_id", metavar="MESSAGE_ID", help="the message's id (msg_…)"),
    arg("--reason", required=True, metavar="TEXT", help="why it must go (kept and shown)"),
    session_option("the session holding the message"),
)
def _redact(m: MagicsAPI, args: argparse.Namespace) -> None:
    session = _holding(m, args)
    message = session.redact(args.message_id, args.reason)
    print(f"Message {message.id} of {m.describe(session)}: {shown_content(message)}.")


def _holding(m: MagicsAPI, args: argparse.Namespace) -> Any:
    """The session ``--session`` names; else the current one if it holds the message; else
    the one the store says holds it (a JSON folder cannot say: then the current one)."""
    if args.session:
        return m.open_session(args.session)
    current = m.session
    if current is not None and current.position_of(args.message_id) is not None:
        return current
    owner = m.mirror.message_owners([args.message_id]).get(args.message_id)
    if owner is not None:
        return m.open_session(owner)
    if current is None:
        raise MessageNotFoundError(args.message_id, "(no current session)", m.mirror.description)
    return current
