"""Assistant replies: calling a responder with a session's context, and streaming its text.

A responder is any callable ``(context: list[Message]) -> str``. It may instead return a
:class:`Reply` to attach metadata (token usage, …) to the assistant message it produces.
The built-in one, :class:`~.responders.LLMResponder`, lives apart: sessions only need what
is here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from .errors import ResponderError
from .models import Message


@dataclass(frozen=True)
class Reply:
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


Responder = Callable[[Sequence[Message]], str | Reply]


def responder_name(responder: Responder) -> str:
    """The model id if the responder has one, else the callable's name."""
    for attr in ("model_id", "__qualname__", "__name__"):
        name = getattr(responder, attr, None)
        if isinstance(name, str) and name:
            return name
    return type(responder).__name__


def call_responder(responder: Responder, context: Sequence[Message]) -> Reply:
    """Ask ``responder`` for a reply; any failure becomes a :class:`ResponderError`."""
    name = responder_name(responder)
    started = time.perf_counter()
    try:
        result = responder(list(context))
    except ResponderError:
        raise
    except Exception as exc:  # a responder is user code: any failure is reported the same way
        raise ResponderError(f"responder {name!r} failed: {type(exc).__name__}: {exc}") from exc
    if isinstance(result, str):
        result = Reply(result)
    if not isinstance(result, Reply) or not isinstance(result.text, str):
        raise ResponderError(
            f"responder {name!r} returned {type(result).__name__}; expected text (str)"
        )
    metadata = {
        "responder": name,
        "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        **result.metadata,
    }
    return Reply(result.text, metadata)


# -- streaming ------------------------------------------------------------------------------

ReplyListener = Callable[[str], None]

#: How often a notebook redraws a streaming reply at most (seconds).
REDRAW_INTERVAL = 0.05

_reply_listener: ContextVar[ReplyListener | None] = ContextVar(
    "activemirror_reply_listener", default=None
)


def reply_listener() -> ReplyListener | None:
    """The listener of the :func:`streaming_replies` block we are in, if any (for
    responders that stream)."""
    return _reply_listener.get()


@contextmanager
def streaming_replies(listener: ReplyListener, *, every: float = 0.0) -> Iterator[None]:
    """Inside this block, a responder that streams calls ``listener(text_so_far)`` as chunks
    arrive, so a notebook can render a reply before it is finished — at most once every
    ``every`` seconds (the first chunk at once; later ones in between are skipped, since
    the finished reply, which :meth:`Session.send` returns, replaces them anyway).

    The text is what would be stored so far (a vault key is never in it). Responders that do
    not stream never call it.
    """
    token = _reply_listener.set(_throttled(listener, every) if every > 0 else listener)
    try:
        yield
    finally:
        _reply_listener.reset(token)


def _throttled(listener: ReplyListener, every: float) -> ReplyListener:
    last = -float("inf")

    def call(text: str) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= every:
            last = now
            listener(text)

    return call
