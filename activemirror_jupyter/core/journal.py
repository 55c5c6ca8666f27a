"""The journal: every saved message is chained to the one before it by a SHA-256 hash, a
finished session can be sealed (and signed), and :func:`verify_rows` tells any change made
behind the API.

The chain (written down in the README so anyone can check it)::

    digest(message) = SHA-256( canonical(message) )
    hash(message)   = SHA-256( previous ‖ "\\n" ‖ digest(message) )

both as lower-case hex (and hashed as their ASCII), where ``previous`` is the hash of the
message saved before it in the session (the session's id for the first message), and
``canonical(message)`` is the UTF-8 of the JSON object
``{"attachments": [{"name", "sha256"}, …], "content", "id", "metadata", "role",
"session_id", "timestamp"}`` dumped with sorted keys, no spaces (``separators=(",", ":")``)
and non-ASCII kept (``ensure_ascii=False``); ``timestamp`` is ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
and the attachments are in the message's order.

A seal is ``metadata["seal"] = {"head", "sealed_at", "messages"}`` plus, when signed,
``{"algorithm": "ed25519", "public_key", "signature"}`` (hex) over :func:`seal_payload`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ActiveMirrorError, SessionNotFoundError, SessionSealedError
from .models import SEALED, Message, SessionMetadata, timestamp_text

# json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False), without
# making a new encoder for every message.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)

KINDS = ("changed", "missing", "reordered", "inserted", "seal", "signature")
SIGNATURE_ALGORITHM = "ed25519"


# -- the chain -------------------------------------------------------------------------------


def canonical(message: Message) -> bytes:
    """The bytes of ``message`` that its hash covers (see the module docstring)."""
    body = {
        "attachments": [{"name": a.name, "sha256": a.sha256} for a in message.attachments],
        "content": message.content,
        "id": message.id,
        "metadata": message.metadata,
        "role": message.role,
        "session_id": message.session_id,
        "timestamp": timestamp_text(message),
    }
    return _CANONICAL.encode(body).encode()


def digest(message: Message) -> str:
    """The SHA-256 of ``message``'s canonical encoding. It depends on the message alone, so
    it is made once per message (when it is sent) and kept with it: a save then only links
    digests, however many messages it writes."""
    found = message.__dict__.get("_digest")
    if found is None and message.redacted is not None and message.kept_digest is not None:
        return message.kept_digest  # what it said is gone: the digest made of it is kept
    if found is None:
        found = hashlib.sha256(canonical(message)).hexdigest()
        object.__setattr__(message, "_digest", found)  # a cache on a frozen, pure value
    return found


def link(previous: str, message: Message) -> str:
    """The hash of ``message`` saved after the message (or session id) ``previous``."""
    return chain(previous, (message,))[0]


def chain(previous: str, messages: Iterable[Message]) -> list[str]:
    """The hashes of ``messages`` saved in this order after ``previous``."""
    sha256 = hashlib.sha256
    hashes = []
    for message in messages:  # the loop a save of many messages spends its Python time in
        found = message.__dict__.get("_digest") or digest(message)  # made when it was sent
        previous = sha256(f"{previous}\n{found}".encode()).hexdigest()
        hashes.append(previous)
    return hashes


def start_of(session_id: str, head: str | None) -> str:
    """What the next message of a session chains from: its head, or its id when empty."""
    return head if head is not None else session_id


# -- one chain per device (0.3) --------------------------------------------------------------

#: The key of a store's own device in the tips a store keeps (its own messages are stored
#: without an origin, so a store given a new device id takes them along).
OWN = ""


def tips_of(stored: str | dict[str, str] | None, head: str | None) -> dict[str, str]:
    """A session's tips (device → last hash) from what a store keeps: the tips (or their
    JSON), or — a session only ever saved on this device, as in 0.2 — its head."""
    if stored:
        return dict(json.loads(stored) if isinstance(stored, str) else stored)
    return {OWN: head} if head is not None else {}


def tips_kept(tips: dict[str, str], head: str | None) -> dict[str, str] | None:
    """What a store keeps of ``tips``: nothing when the head alone says it (0.2's form)."""
    if not tips or (len(tips) == 1 and OWN in tips and tips[OWN] == head):
        return None
    return dict(sorted(tips.items()))


def tips_text(tips: dict[str, str], head: str | None) -> str | None:
    """:func:`tips_kept` as the JSON text an SQL store keeps."""
    kept = tips_kept(tips, head)
    return None if kept is None else json.dumps(kept, separators=(",", ":"))


def chain_tips(
    session_id: str, tips: dict[str, str], messages: Sequence[Message], device_id: str
) -> tuple[list[str], dict[str, str]]:
    """The hashes of ``messages`` saved in this order after ``tips``: each chains to the
    previous message of the same device (its origin; the store's own device when it has
    none), the first of a device from the session id. Returns the hashes and the new tips."""
    if set(tips) <= {OWN} and all(m.origin is None or m.origin == device_id for m in messages):
        hashes = chain(tips.get(OWN, session_id), messages)  # one device: 0.2's chain
        return hashes, ({OWN: hashes[-1]} if hashes else dict(tips))
    tips = dict(tips)
    hashes = []
    sha256 = hashlib.sha256
    for message in messages:
        key = OWN if message.origin in (None, device_id) else message.origin
        previous = tips.get(key, session_id)
        tips[key] = sha256(f"{previous}\n{digest(message)}".encode()).hexdigest()
        hashes.append(tips[key])
    return hashes, tips


def head_of(tips: dict[str, str], device_id: str) -> str | None:
    """A session's head: its one device's last hash, or — saved on several devices — the
    SHA-256 (hex) of ``"activemirror-head-v1\n"`` followed by one line
    ``"<device id> <last hash>\n"`` per device, sorted."""
    if len(tips) <= 1:
        return next(iter(tips.values()), None)
    lines = sorted(f"{device_id if d == OWN else d} {h}\n" for d, h in tips.items())
    return hashlib.sha256(("activemirror-head-v1\n" + "".join(lines)).encode()).hexdigest()


# -- seals -----------------------------------------------------------------------------------


def seal_payload(session_id: str, head: str | None) -> bytes:
    """What a seal's signature signs: the session and its head (which covers every
    message)."""
    return f"activemirror-seal-v1\n{session_id}\n{head or ''}".encode()


def seal_of(meta: SessionMetadata) -> dict[str, Any] | None:
    seal = meta.metadata.get("seal")
    return seal if meta.status == SEALED and isinstance(seal, dict) else None


def check_write(
    stored_sealed: bool, incoming: SessionMetadata, head: str | None, *, gone: bool = False
) -> None:
    """The rule every store applies inside its write (``stored_sealed``: the session as
    stored now is sealed; ``head``: the session's head as the write would leave it;
    ``gone``: the writer had the session stored, and it is not any more): a session deleted
    meanwhile is not made again, a sealed session is never changed, and a session saved as
    sealed must end exactly where its seal says."""
    if gone:
        raise SessionNotFoundError(
            incoming.session_id,
            "the store",
            detail="it was deleted (by another process?) after it was loaded here; nothing "
            "was written, and its unsaved messages are still in this Session",
        )
    if stored_sealed:
        raise SessionSealedError(incoming.session_id)
    seal = seal_of(incoming)
    if incoming.sealed and (seal is None or seal.get("head") != head):
        raise ActiveMirrorError(
            f"session {incoming.session_id!r} changed while it was being sealed (its head is "
            f"{head!r}, the seal says {None if seal is None else seal.get('head')!r}); "
            "nothing was written: seal it again"
        )


def check_signature(session_id: str, seal: dict[str, Any]) -> str | None:
    """Why the seal's signature does not hold (None when it does, or there is none)."""
    if "signature" not in seal and "public_key" not in seal:
        return None
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if seal.get("algorithm") != SIGNATURE_ALGORITHM:
        return f"unknown signature algorithm {seal.get('algorithm')!r}"
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(seal.get("public_key"))))
        signature = bytes.fromhex(str(seal.get("signature")))
        key.verify(signature, seal_payload(session_id, seal.get("head")))
    except (ValueError, TypeError):
        return "the public key or signature is not hex of the right length"
    except InvalidSignature:
        return "the signature does not match the seal's head"
    return None


# -- verifying -------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntegrityProblem:
    """One change found by :func:`verify_rows`; ``kind`` is one of :data:`KINDS`."""

    session_id: str
    message_id: str | None
    kind: str
    detail: str


@dataclass
class VerifyReport:
    """What ``verify`` found: ``ok`` when there is no problem."""

    sessions: int = 0
    messages: int = 0
    problems: list[IntegrityProblem] = field(default_factory=list)
    #: How many of the messages were redacted through the API (their place and hash hold).
    redacted: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def __repr__(self) -> str:
        return (
            f"VerifyReport(ok={self.ok}, sessions={self.sessions}, messages={self.messages}, "
            f"redacted={self.redacted}, problems={self.problems!r})"
        )

    def add(self, other: VerifyReport) -> None:
        self.sessions += other.sessions
        self.messages += other.messages
        self.redacted += other.redacted
        self.problems.extend(other.problems)

    def lines(self) -> list[str]:
        """One line per problem, or one line saying what was verified."""
        if self.ok:
            redacted = f" ({self.redacted} redacted)" if self.redacted else ""
            return [
                f"verified: {self.sessions} sessions, {self.messages} messages{redacted}, "
                "no changes"
            ]
        return [
            f"{p.kind}: session {p.session_id}"
            + (f", message {p.message_id}" if p.message_id else "")
            + f": {p.detail}"
            for p in self.problems
        ]

    def to_json(self) -> dict[str, Any]:
        """The report as JSON; ``redacted`` only when some messages are (a report of a store
        without redactions reads as before)."""
        found: dict[str, Any] = {
            "ok": self.ok,
            "sessions": self.sessions,
            "messages": self.messages,
            "problems": [
                {
                    "session_id": p.session_id,
                    "message_id": p.message_id,
                    "kind": p.kind,
                    "detail": p.detail,
                }
                for p in self.problems
            ],
        }
        if self.redacted:
            found["redacted"] = self.redacted
        return found


# A stored message as verify sees it: its position in the session (None where the store
# keeps none), the message, and for each attachment the SHA-256 of the bytes actually
# stored (None: the bytes are gone).
Row = tuple[int | None, Message, Sequence[str | None]]


class UnreadableMessage(Exception):
    """Raised by a store's rows when a stored message cannot be read at all (a truncated or
    edited file); ``message_id`` when it can still be made out."""

    def __init__(self, message_id: str | None, detail: str, *, truncated: bool) -> None:
        super().__init__(detail)
        self.message_id = message_id
        self.detail = detail
        self.truncated = truncated


def verify_rows(meta: SessionMetadata, rows: Iterable[Row]) -> VerifyReport:
    """Check one session's stored messages, in stored order, against their chain, the
    session's head and count, and its seal. Streams: holds two rows at a time."""
    report = VerifyReport(sessions=1)
    walk = _Walk(meta, report)
    try:
        for row, following in _pairs(rows):
            walk.step(row, following)
    except UnreadableMessage as exc:
        walk.problem(exc.message_id, "missing" if exc.truncated else "changed", exc.detail)
    else:
        walk.finish()
    walk.check_seal()
    return report


def _pairs(rows: Iterable[Row]) -> Iterator[tuple[Row, Row | None]]:
    it = iter(rows)
    current = next(it, None)
    while current is not None:
        following = next(it, None)
        yield current, following
        current = following


class _Walk:
    """One session's check: where its chain should continue from, and what was seen."""

    def __init__(self, meta: SessionMetadata, report: VerifyReport) -> None:
        self.meta = meta
        self.report = report
        self.previous = meta.session_id  # what the next row should chain from
        self.tips: dict[str, str] = {}  # each device's last accepted hash
        self.device = ""  # the device of the row being checked
        self.expected_seq = 0  # the position the next row should have
        self.recent: list[str] = []  # the last few hashes accepted (for "reordered")
        self.past_head = meta.head is None  # rows from here on were not saved by the API

    def problem(self, message_id: str | None, kind: str, detail: str) -> None:
        self.report.problems.append(
            IntegrityProblem(self.meta.session_id, message_id, kind, detail)
        )

    def step(self, row: Row, following: Row | None) -> None:
        seq, message, digests = row
        self.report.messages += 1
        self.device = message.origin or OWN
        self.previous = self.tips.get(self.device, self.meta.session_id)
        self._check_attachments(message, digests)
        if message.redacted is not None:
            self.report.redacted += 1
            if message.content or message.metadata or message.attachments:
                # A redaction leaves nothing; what is there now was put back behind the API.
                self.problem(message.id, "changed", "a redacted message holds content again")
        gap = seq is not None and seq > self.expected_seq
        if seq is not None:
            self.expected_seq = max(self.expected_seq, seq + 1)
        if self.past_head:
            self.problem(message.id, "inserted", "a message after the session's last saved one")
        elif message.hash is None:
            self.problem(message.id, "inserted", "a message the API did not write (no hash)")
        elif link(self.previous, message) == message.hash:
            self._accept(message.hash)
        elif self._moved(message, following):  # before gaps: a moved row's seq jumps too
            self.problem(message.id, "reordered", "the message is out of its saved order")
            self._accept(message.hash)
        elif gap:
            self.problem(message.id, "missing", "the message(s) saved just before it are gone")
            self._accept(message.hash)
        elif following is not None and following[1].hash == link(
            self.tips.get(following[1].origin or OWN, self.meta.session_id), following[1]
        ):
            self.problem(message.id, "inserted", "a message the API did not write")
        else:
            self.problem(message.id, "changed", "the message is not what was saved")
            self._accept(message.hash)

    def _check_attachments(self, message: Message, digests: Sequence[str | None]) -> None:
        for attachment, digest in zip(message.attachments, digests, strict=True):
            if digest is None:
                detail = f"the bytes of attachment {attachment.name!r} are gone"
                self.problem(message.id, "missing", detail)
            elif digest != attachment.sha256:
                detail = f"the bytes of attachment {attachment.name!r} changed"
                self.problem(message.id, "changed", detail)

    def _moved(self, message: Message, following: Row | None) -> bool:
        """Whether ``message`` chains from a neighbour other than the one before it."""
        candidates = [self.meta.session_id, *self.recent[:-1]]  # the first chains from the id
        if following is not None and following[1].hash is not None:
            candidates.append(following[1].hash)
        return any(link(c, message) == message.hash for c in candidates)

    def _accept(self, stored_hash: str) -> None:
        self.previous = stored_hash
        self.tips[self.device] = stored_hash
        self.recent = [*self.recent[-3:], stored_hash]
        if stored_hash == self.meta.head:
            self.past_head = True

    def finish(self) -> None:
        several = len(self.tips) > 1  # a head over several devices is no message's hash
        if several and head_of(self.tips, OWN) == self.meta.head:
            self.past_head = True
        if not self.past_head:
            gone = self.meta.message_count - self.expected_seq
            count = f" ({gone})" if gone > 0 else ""
            self.problem(None, "missing", f"the last saved message(s){count} are gone")

    def check_seal(self) -> None:
        meta = self.meta
        seal = seal_of(meta)
        if meta.sealed and seal is None:
            self.problem(None, "seal", "the session is marked sealed but holds no seal")
        elif seal is not None:
            if seal.get("head") != meta.head:
                self.problem(None, "seal", "the session's head is not the one its seal records")
            why = check_signature(meta.session_id, seal)
            if why is not None:
                self.problem(None, "signature", why)
