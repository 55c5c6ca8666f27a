"""The records the stores hand back: a message with its attachments, a session's metadata,
and a search hit — with the checks on what goes into them."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .ids import validate_id
from .limits import check_json_depth
from .mime import bare_type, check_mime_type
from .mime import is_text as _is_text
from .timeutil import to_iso

ROLES = ("user", "assistant", "system")
#: A session that is sealed has this status (and ``metadata["seal"]``).
SEALED = "sealed"

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Attachment:
    """Bytes kept with a message: a figure, a table, a file. ``read()`` returns them,
    reading them from the store only when asked (also after the store was reopened).

    Made with :meth:`from_bytes`; the stores make the ones they hand back."""

    name: str
    mime_type: str
    size: int
    sha256: str
    _source: bytes | Callable[[], bytes] = field(default=b"", repr=False, compare=False)

    @classmethod
    def from_bytes(cls, name: str, mime_type: str, data: bytes) -> Attachment:
        """An attachment of ``data`` held in memory. ``name`` follows the id rule
        (``out-1``, ``figure.png``); ``mime_type`` is ``type/subtype`` (``image/png``) with
        any parameters, in any case (``Text/Plain; charset=UTF-8``), and is kept in normal
        form (``text/plain; charset=utf-8``: see :func:`.mime.check_mime_type`)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"attachment data must be bytes, not {type(data).__name__}")
        data = bytes(data)
        return cls(
            check_attachment_name(name),
            check_mime_type(mime_type),
            len(data),
            hashlib.sha256(data).hexdigest(),
            data,
        )

    @classmethod
    def stored(
        cls, name: str, mime_type: str, size: int, sha256: str, reader: Callable[[], bytes]
    ) -> Attachment:
        """An attachment whose bytes ``reader()`` fetches from a store (not read yet)."""
        return cls(name, mime_type, size, sha256, reader)

    def read(self) -> bytes:
        """The bytes. Raises :class:`~.errors.StorageError` if the store's bytes are gone or
        are not the ones recorded (their SHA-256 differs)."""
        source = self._source
        data = source if isinstance(source, bytes) else source()
        if len(data) != self.size or hashlib.sha256(data).hexdigest() != self.sha256:
            from .errors import StorageError

            raise StorageError(
                f"attachment {self.name!r}: the stored bytes are not the ones recorded "
                f"(sha256 {self.sha256[:12]}…); the store was changed behind the API"
            )
        return data

    @property
    def bare_type(self) -> str:
        """The mime type without its parameters (``text/html``): it decides how the
        attachment is shown and searched."""
        return bare_type(self.mime_type)

    @property
    def is_text(self) -> bool:
        return _is_text(self.mime_type)

    def info(self) -> dict[str, Any]:
        """``{"name", "mime_type", "size", "sha256"}``: everything but the bytes."""
        return {
            "name": self.name,
            "mime_type": self.mime_type,
            "size": self.size,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class Message:
    """One message of a session. ``timestamp`` is an aware UTC datetime; ``hash`` links it
    to the message before it once saved (None until then)."""

    id: str
    session_id: str
    role: str
    content: str
    timestamp: datetime
    metadata: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    # Where the message sits in its store's chain, and the device whose store first saved
    # it: not part of what it says, so a message is equal to its saved self.
    hash: str | None = field(default=None, compare=False)
    origin: str | None = field(default=None, compare=False)
    # Its place in the session's one order across devices: a Lamport clock (one more than
    # the largest its device had seen in the session), ties by origin. None until saved.
    clock: int | None = field(default=None, compare=False, repr=False)
    #: ``{"at": aware datetime, "reason": str}`` once the message was redacted (its content,
    #: metadata and attachments removed for good: :mod:`.redaction`); None otherwise.
    redacted: dict[str, Any] | None = None
    #: For a redacted message, the digest of what it said (:func:`.journal.digest`), kept so
    #: its hash still chains; None otherwise.
    kept_digest: str | None = field(default=None, compare=False, repr=False)

    def attachment(self, name: str) -> Attachment | None:
        """The attachment called ``name``, if the message has one."""
        return next((a for a in self.attachments if a.name == name), None)


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
    tags: tuple[str, ...] = ()
    head: str | None = None  # the hash of the last saved message

    @property
    def sealed(self) -> bool:
        return self.status == SEALED


@dataclass(frozen=True)
class SearchHit:
    """One search result: the message, its session's title, and a short plain-text
    ``snippet`` around the matches with the ``(start, end)`` offsets of the matched words.
    ``score`` is how close in meaning a :meth:`~.mirror.ActiveMirror.search_similar` hit is
    (higher is closer; None on a word-search hit)."""

    message: Message
    session_title: str
    snippet: str
    highlights: list[tuple[int, int]]
    score: float | None = None


def timestamp_text(message: Message) -> str:
    """The message's timestamp as it is written everywhere (:func:`~.timeutil.to_iso`),
    made once per message (it is immutable) and kept with it."""
    found = message.__dict__.get("_timestamp_text")
    if found is None:
        found = to_iso(message.timestamp)
        keep_timestamp_text(message, found)
    return found


def keep_timestamp_text(message: Message, text: str) -> Message:
    """Keep ``text`` — which must be ``to_iso(message.timestamp)``, e.g. the text a store
    just parsed it from — as the message's timestamp text; returns the message."""
    object.__setattr__(message, "_timestamp_text", text)  # a cache on a frozen value
    return message


def is_cell(message: Message) -> bool:
    """Whether ``message`` records an executed cell (autolog): its content is code."""
    return message.metadata.get("kind") == "cell" or message.metadata.get("autolog") is True


def check_attachment_name(name: object) -> str:
    return validate_id(name, "attachment name")


def check_sha256(value: object, what: str = "sha256") -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ValueError(f"{what} must be 64 lower-case hex digits, not {value!r}")
    return value


def check_attachments(attachments: object, max_bytes: int | None = None) -> tuple[Attachment, ...]:
    """A tuple of attachments with distinct names, each at most ``max_bytes`` long."""
    if attachments is None:
        return ()
    if isinstance(attachments, (str, bytes, Attachment)) or not isinstance(attachments, Iterable):
        raise TypeError("attachments must be a list of Attachment (Attachment.from_bytes(...))")
    found: list[Attachment] = []
    for item in attachments:
        if not isinstance(item, Attachment):
            raise TypeError(
                f"attachments must be Attachment objects (Attachment.from_bytes(...)), "
                f"not {type(item).__name__}"
            )
        if any(a.name == item.name for a in found):
            raise ValueError(f"attachment name {item.name!r} appears twice in one message")
        if max_bytes is not None and item.size > max_bytes:
            raise ValueError(
                f"attachment {item.name!r} is {item.size:,} bytes, over the limit of "
                f"{max_bytes:,} bytes (ActiveMirror(max_attachment_bytes=…)); nothing was kept"
            )
        found.append(item)
    return tuple(found)


def check_tags(tags: object) -> tuple[str, ...]:
    """Tags: a list of names following the id rule, each kept once, in order."""
    if isinstance(tags, str) or not isinstance(tags, Iterable):
        raise TypeError(f"tags must be a list of strings, not {type(tags).__name__}")
    return tuple(dict.fromkeys(validate_id(tag, "tag") for tag in tags))


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
    if not metadata:
        return {}  # most messages: nothing to walk or copy
    check_json_depth(metadata, what)
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
