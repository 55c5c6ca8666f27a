"""The records the stores hand back: a message, and a session's metadata."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ROLES = ("user", "assistant", "system")


@dataclass(frozen=True)
class Message:
    """One message of a session. ``timestamp`` is an aware UTC datetime."""

    id: str
    session_id: str
    role: str
    content: str
    timestamp: datetime
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionMetadata:
    """What ``list_sessions`` returns: everything about a session but its messages."""

    session_id: str
    title: str
    user_id: str | None
    parent_session_id: str | None
    status: str
    created_at: datetime
    updated_at: datetime
    message_count: int
    max_context_messages: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def is_cell(message: Message) -> bool:
    """Whether ``message`` records an executed cell (autolog): its content is code."""
    return message.metadata.get("kind") == "cell" or message.metadata.get("autolog") is True


def check_role(role: object) -> str:
    if role not in ROLES:
        raise ValueError(f"invalid role {role!r}: use one of {', '.join(ROLES)}")
    return role  # type: ignore[return-value]


def check_content(content: object) -> str:
    return _check_text(content, "message content")


def check_title(title: object) -> str:
    return _check_text(title, "session title")


def _check_text(value: object, what: str) -> str:
    """Text a store can keep verbatim: a str without NUL characters or lone surrogates."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be text (str), not {type(value).__name__}")
    if "\x00" in value:
        raise ValueError(f"{what} must not contain NUL characters")
    check_unicode(value, what)
    return value


def check_max_context(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_context_messages must be a positive integer or None, not {value!r}")
    return value


def check_metadata(metadata: object, what: str = "metadata") -> dict[str, Any]:
    """A JSON object: a dict of JSON values (no NaN, no sets, no bytes). Returns a copy."""
    if metadata is None:
        return {}
    if not isinstance(metadata, dict):
        raise TypeError(f"{what} must be a dict, not {type(metadata).__name__}")
    try:
        text = json.dumps(metadata, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} must be JSON-serialisable: {exc}") from None
    check_unicode(text, what)
    return json.loads(text)


def check_unicode(text: str, what: str) -> None:
    """Raise ValueError if ``text`` cannot be written as UTF-8 (it holds a lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} contains a lone surrogate and is not valid Unicode") from None
