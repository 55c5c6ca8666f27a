"""The notebook side of assistant replies: choosing the responder from the magics, and
showing a reply as Markdown while it streams.

``%mirror_session responder MODEL`` and the ``default_model`` option make an
:class:`~activemirror_jupyter.core.responders.LLMResponder` whose API key, if any, comes
from the magics' vault when a reply is asked for. ``%%mirror_send`` shows the reply through
one display handle, updated as chunks arrive.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from IPython.display import Markdown, display

from .core.errors import ResponderError
from .core.markdown import safe_markdown
from .core.models import Message
from .core.responders import LLMResponder, responder_name, streaming_replies
from .core.session import Session

if TYPE_CHECKING:
    from .magics import MirrorMagics

#: the ``%mirror_session responder`` subcommand: its help and arguments (as ``arg`` makes them)
RESPONDER_HELP = (
    "Answer user messages with a model the llm library knows (`llm models` lists them; "
    "plugins such as llm-ollama add local ones), or `off`. Without MODEL: say which is used."
)
RESPONDER_ARGUMENTS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("model",), {"nargs": "?", "help": "a model id or alias, or off"}),
    (("--system",), {"metavar": "TEXT", "help": "the system prompt"}),
    (
        ("--key-from-vault",),
        {"metavar": "NAME", "help": "read the API key from this vault entry at each reply"},
    ),
    (
        ("--option", "-o"),
        {
            "nargs": 2,
            "action": "append",
            "metavar": ("NAME", "VALUE"),
            "help": "a model option (`llm models --options`), e.g. -o temperature 0.2",
        },
    ),
)

#: how often a streaming reply is redrawn at most (seconds); the last chunk always is
REDRAW_INTERVAL = 0.05


def make_responder(
    magics: MirrorMagics,
    model: str,
    *,
    system: str | None = None,
    key_from_vault: str | None = None,
    options: dict[str, Any] | None = None,
) -> LLMResponder:
    """An LLMResponder that reads its key from the magics' vault (the one ``%vault unlock``
    opens), whenever a reply is asked for."""
    return LLMResponder(
        model,
        system=system,
        key_from_vault=key_from_vault,
        options=options,
        vault=lambda: magics.vault_memory,
    )


def set_responder(magics: MirrorMagics, responder: Any) -> None:
    """Use ``responder`` (None: none) for the magics' store, now and after a store change."""
    magics.responder = responder
    mirror = getattr(magics, "_mirror", None)
    if mirror is not None:
        mirror.responder = responder


def describe(responder: Any) -> str:
    if responder is None:
        return "No responder: messages get no reply, and nothing leaves this machine."
    if isinstance(responder, LLMResponder):
        key = (
            f", API key from the vault entry {responder.key_from_vault!r}"
            if responder.key_from_vault
            else ""
        )
        system = ", with a system prompt" if responder.system else ""
        return f"Replies come from the model {responder.model_id!r}{system}{key}."
    return f"Replies come from {responder_name(responder)!r}."


def responder_command(magics: MirrorMagics, args: argparse.Namespace) -> None:
    """``%mirror_session responder [MODEL|off] [--system TEXT] [--key-from-vault NAME]``."""
    if args.model is None:
        if args.system or args.key_from_vault or args.option:
            raise ResponderError("name the model the options are for: responder MODEL …")
        print(describe(magics.responder))
        return
    if args.model == "off":
        set_responder(magics, None)
        print(describe(None))
        return
    responder = make_responder(
        magics,
        args.model,
        system=args.system,
        key_from_vault=args.key_from_vault,
        options=dict(args.option or []),
    )
    set_responder(magics, responder)
    print(describe(responder))


def use_default_model(magics: MirrorMagics) -> None:
    """Apply the ``default_model`` option (at start, and when ``%config`` changes it).

    A model that cannot be used is reported in one line, not raised: configuration is read
    while the extension loads, and a typo there should not stop the magics from loading."""
    model = magics.default_model
    if not model:
        set_responder(magics, None)
        return
    try:
        responder = make_responder(
            magics, model, key_from_vault=magics.default_key_from_vault or None
        )
    except ResponderError as exc:
        print(f"MirrorMagics.default_model is not used: {exc}")
        set_responder(magics, None)
        return
    set_responder(magics, responder)


# -- showing replies ----------------------------------------------------------------------------


class ReplyView:
    """One display for a reply, created at its first chunk and updated as more arrive."""

    def __init__(self, heading: str, clock: Callable[[], float] = time.perf_counter) -> None:
        self.heading = heading
        self.handle: Any = None
        self.clock = clock
        self.drawn_at = 0.0
        self.pending: str | None = None

    def markdown(self, text: str) -> Markdown:
        return Markdown(f"{self.heading}\n\n{safe_markdown(text)}")

    def stream(self, text: str) -> None:
        """The reply so far (redrawn at most every REDRAW_INTERVAL seconds)."""
        now = self.clock()
        if self.handle is not None and now - self.drawn_at < REDRAW_INTERVAL:
            self.pending = text
            return
        self.show(text)
        self.drawn_at = now

    def show(self, text: str) -> None:
        self.pending = None
        if self.handle is None:
            self.handle = display(self.markdown(text), display_id=True)
        else:
            self.handle.update(self.markdown(text))


def send_and_show(
    session: Session,
    content: str,
    role: str,
    metadata: dict[str, Any] | None,
    responder: Any,
) -> Message:
    """``session.send(…)``, showing the assistant's reply as Markdown as it streams
    (``responder`` is the one the session's mirror uses).

    Returns what ``send`` returns. When the responder fails, the error says that the user's
    message was kept (``send`` has stored it) and that no reply was stored."""
    if responder is None or role != "user":
        return session.send(content, role=role, metadata=metadata)
    name = responder_name(responder).replace("`", "")
    view = ReplyView(f"**assistant** · `{name}`")
    try:
        with streaming_replies(view.stream):
            reply = session.send(content, role=role, metadata=metadata)
    except ResponderError as exc:
        raise ResponderError(
            f"{exc} — your message was added to {session.title!r}; no reply was stored"
        ) from None
    view.show(reply.content)
    return reply
