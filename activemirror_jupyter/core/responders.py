"""Assistant replies: calling a responder with a session's context.

A responder is any callable ``(context: list[Message]) -> str``. It may instead return a
:class:`Reply` to attach metadata (token usage, …) to the assistant message it produces.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
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
