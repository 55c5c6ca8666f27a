"""A ``.chat`` file of jupyterlab-chat: one session tagged ``jupyter-chat``, titled after the
file; each message not deleted, as last edited, with ``{"sender": display name}``, role
``assistant`` when its sender is a bot and ``user`` otherwise, at its time.

On disk a chat is the JSON that jupyterlab-chat's ``YChat.get()`` writes (the Yjs document
lives only in the server's memory), so reading it needs neither pycrdt nor the package::

    {"messages": [{"id", "body", "time" (seconds since 1970), "sender" (a user name),
                   "deleted"?, "edited"?, "mime_model"?, "attachments"?, …}, …],
     "users": {name: {"username", "name", "display_name", "bot"?, …}},
     "attachments": {…}, "metadata": {"id": the chat's id, …}}

An edit replaces ``body`` in place, so the file holds each message's last text; a deleted
message stays in the list with ``"deleted": true``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ...errors import InvalidImportError
from ...limits import MAX_IMPORT_BYTES
from .base import SourceMessage, SourceSession, clean_json, file_time, not_a

KIND = "a jupyterlab-chat file (.chat)"


class JupyterChat:
    kind = KIND

    def default_path(self) -> Path:
        raise ValueError(
            "jupyter-chat has no default file: name the .chat file "
            "(import_from('jupyter-chat', 'notes.chat'))"
        )

    def read(self, path: Path) -> list[SourceSession]:
        doc = _document(path)
        users = doc.get("users")
        users = users if isinstance(users, Mapping) else {}
        messages = []
        for index, item in enumerate(doc["messages"]):
            if not isinstance(item, Mapping):
                raise _field(path, index, "", f"must be an object, not {type(item).__name__}")
            if item.get("deleted") is True:
                continue
            messages.append(_message(path, index, item, users))
        metadata = doc.get("metadata")
        chat_id = metadata.get("id") if isinstance(metadata, Mapping) else None
        created = min((m.timestamp for m in messages), default=None) or file_time(path)
        title = path.name[: -len(".chat")] if path.name.endswith(".chat") else path.name
        key = {"id": chat_id if isinstance(chat_id, str) else None}
        return [SourceSession(key, clean_json(title or path.name), created, messages)]


def _document(path: Path) -> dict[str, Any]:
    try:
        size = path.stat().st_size
        if size > MAX_IMPORT_BYTES:
            raise not_a(path, KIND, f"{size:,} bytes, over the import limit")
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidImportError(f"cannot read {path}: {exc}; nothing was imported") from None
    try:
        doc = json.loads(raw.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise not_a(path, KIND, f"not JSON text: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("messages"), list):
        raise not_a(path, KIND, "it is JSON without a list of chat messages")
    return doc


def _message(
    path: Path, index: int, item: Mapping[str, Any], users: Mapping[str, Any]
) -> SourceMessage:
    for name, kind in (("id", str), ("sender", str), ("body", str)):
        if not isinstance(item.get(name), kind):
            raise _field(path, index, f".{name}", f"must be text, not {item.get(name)!r:.40}")
    moment = item.get("time")
    if isinstance(moment, bool) or not isinstance(moment, (int, float)):
        raise _field(path, index, ".time", f"must be seconds since 1970, not {moment!r:.40}")
    try:
        if not math.isfinite(moment):
            raise ValueError(moment)
        when = datetime.fromtimestamp(moment, timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise _field(path, index, ".time", f"is not a time: {moment!r}") from None
    user = users.get(item["sender"])
    user = user if isinstance(user, Mapping) else {}
    sender = next(
        (
            user[key]
            for key in ("display_name", "name", "username")
            if isinstance(user.get(key), str) and user[key].strip()
        ),
        item["sender"],  # a sender missing from the users: their user name
    )
    role = "assistant" if user.get("bot") is True else "user"
    metadata = {"sender": clean_json(sender)}
    return SourceMessage(item["id"], role, clean_json(_body(item)), when, metadata)


def _body(item: Mapping[str, Any]) -> str:
    """The message's text; a message with only rich output: its Markdown or plain text."""
    if item["body"]:
        return item["body"]
    model = item.get("mime_model")
    data = model.get("data") if isinstance(model, Mapping) else None
    if isinstance(data, Mapping):
        for mime in ("text/markdown", "text/plain"):
            if isinstance(data.get(mime), str):
                return data[mime]
    return ""


def _field(path: Path, index: int, name: str, problem: str) -> InvalidImportError:
    return InvalidImportError(
        f"{path}: messages[{index}]{name} {problem}; it is not {KIND} as jupyterlab-chat "
        "writes it, and nothing was imported"
    )
