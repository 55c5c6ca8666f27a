"""The storage protocol: the few operations every persistent store implements.

A store keeps sessions (a row of metadata each) and their messages, which are append-only
and numbered 0, 1, 2… within their session in the order they were saved. Paging, counting
and listing are the store's job so that none of them reads message bodies (or attachment
bytes) it does not need. Each store chains the messages it saves (:mod:`..journal`) inside
the same write, so concurrent writers still make one chain.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from ..journal import Row
from ..models import Message, SessionMetadata


@dataclass(frozen=True)
class Saved:
    """What a save left: the session's message count and head, and the hashes of the
    messages it added (those already stored are not added again)."""

    count: int
    head: str | None
    hashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SessionQuery:
    """Which sessions to list, newest update first, ``limit`` (None: all) from ``offset``:
    every session, the children of ``parent``, those tagged ``tag``, or the ``roots`` —
    sessions without a parent, whose parent is gone (deleted: children are kept) or is
    the session itself."""

    parent: str | None = None
    tag: str | None = None
    roots: bool = False
    limit: int | None = None
    offset: int = 0


@dataclass(frozen=True)
class SearchQuery:
    """A search: messages holding every one of ``words`` (in their text or a text
    attachment), filtered, newest first, ``limit`` from ``offset``."""

    words: tuple[str, ...]
    session_id: str | None = None
    role: str | None = None
    tag: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class Changes:
    """What changed in a store after a point (:meth:`Storage.changes`).

    ``token`` marks the point this answer reaches: give it as ``since`` next time.
    ``sessions`` are the ids saved (new messages, a new title, tags, parent, a seal),
    redacted or replaced since ``since`` and stored now; ``deleted`` those deleted since
    and not stored now (an id may be one the caller never saw). ``everything`` says the
    store cannot tell what changed since ``since`` (None, another store's token, one from
    before a rebuild, or a store that keeps no list): treat every session as changed —
    list them — and any session you knew of and do not find as deleted."""

    token: str
    sessions: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    everything: bool = False

    @property
    def none(self) -> bool:
        """Nothing changed since ``since``."""
        return not (self.everything or self.sessions or self.deleted)


def counted_changes(
    since: str | None,
    epoch: str,
    count: int,
    changed_after: Callable[[int], tuple[list[str], list[str]]],
) -> Changes:
    """:meth:`Storage.changes` for a store that numbers its changes 1, 2, 3… (``count`` is
    the last), tokens being ``"<epoch>.<number>"``: ``changed_after(n)`` gives the ids
    changed after change ``n`` — those stored, those deleted. ``epoch`` names the
    numbering, so a token from another store (or another numbering) means everything."""
    token = f"{epoch}.{count}"
    seen_epoch, _, seen = (since or "").rpartition(".")
    if since is None or seen_epoch != epoch or not seen.isdigit() or int(seen) > count:
        return Changes(token, everything=True)
    if int(seen) == count:
        return Changes(token)
    stored, deleted = changed_after(int(seen))
    return Changes(token, tuple(stored), tuple(deleted))


@runtime_checkable
class Storage(Protocol):
    """What every persistent store implements (memory, SQLite, a JSON folder, PostgreSQL).
    Only :class:`~..mirror.ActiveMirror` and :class:`~..session.Session` call it: everything
    else goes through them.

    Every method raises :class:`~..errors.StorageError` — naming the store — when the store
    cannot be read or written (a damaged file, a full disk, a busy database, a lost
    server, a read-only folder), and then has changed nothing. Ids reach the store
    validated (:func:`~..ids.validate_id`); a store may refuse one it cannot keep (the JSON
    folder's ``index``) with :class:`~..errors.InvalidIdError`.
    """

    #: Human-readable location for error messages, e.g. "SQLite database /x/conversations.db".
    description: str
    #: This store's device id (32 lowercase hex characters), made when the store was made
    #: and kept in it. Messages it saves get it as their ``origin`` unless they have one.
    device_id: str

    def set_device_id(self, device_id: str) -> None:
        """Keep ``device_id`` as the store's device id from now on; the messages it saved
        under the old one (none has been sent anywhere) move to the new one."""

    def read_state(self, key: str) -> str | None:
        """The text kept under ``key`` (``[a-z0-9-]``, a few words) by :meth:`write_state`,
        or None: what the sync layer remembers of a remote (what it sent and received)."""

    def write_state(self, key: str, value: str) -> None:
        """Keep ``value`` under ``key``, replacing what was there, all or nothing."""

    def save(
        self,
        session: SessionMetadata,
        new_messages: Sequence[Message],
        *,
        replace: bool = False,
        existing: bool = False,
    ) -> Saved:
        """Create or update ``session`` and append ``new_messages``, all or nothing,
        chaining them to the session's head and applying :func:`..journal.check_write`.

        The cost follows ``len(new_messages)``, not the size of the session. With
        ``replace``, the session's stored messages and metadata are replaced by these, in
        the same all-or-nothing write (an import with ``on_conflict="replace"``). With
        ``existing`` (the caller has the session stored), a session that is not stored any
        more — deleted by another process — raises :class:`SessionNotFoundError` and
        nothing is written.
        """

    def get_session(self, session_id: str) -> SessionMetadata | None:
        """The session's metadata (with its message count), or None. Reads no messages."""

    def list_sessions(self, query: SessionQuery) -> list[SessionMetadata]:
        """The sessions ``query`` names, newest ``updated_at`` first (ties: larger id
        first); reads no message bodies."""

    def count_sessions(self, query: SessionQuery) -> int:
        """How many sessions ``query`` names (its ``limit`` and ``offset`` aside)."""

    def child_counts(self, session_ids: Sequence[str]) -> dict[str, int]:
        """How many children each of ``session_ids`` has (ids without children are left
        out). One query, whatever the number of ids."""

    def count_messages(self, session_id: str) -> int: ...

    def get_messages(self, session_id: str, start: int, stop: int) -> list[Message]:
        """Messages numbered ``start`` to ``stop - 1`` (chronological). Reads only those, and
        no attachment bytes (each attachment reads its own when asked)."""

    def message_position(self, session_id: str, message_id: str) -> int | None:
        """Where the saved message is in its session (0 is the oldest), or None."""

    def damaged_sessions(self) -> list[SessionMetadata]:
        """Sessions whose stored form cannot be read (a damaged file), as far as their
        metadata can still be made out: listing leaves them out, ``verify`` reports them."""

    def stored_rows(self, session_id: str) -> Iterator[Row]:
        """Every stored message of the session as it is stored, in stored order, with the
        SHA-256 of each attachment's bytes: what ``verify`` checks. Reads a page at a time."""

    def redact(self, session_id: str, message_id: str, at: datetime, reason: str) -> Message | None:
        """Remove the saved message's content, metadata and attachments for good — from the
        store's files too, as far as the store can (:mod:`..redaction`) — keeping its place,
        hash and the digest its hash chains from, and record ``{"at", "reason"}``; all or
        nothing. Returns the message as it now is, or None if the session holds no such
        message. A message already redacted is returned as it is (the first redaction
        stands), so a redaction made elsewhere (a sync) is applied by the same call.
        Attachment bytes that another message uses stay."""

    def delete_session(self, session_id: str) -> bool:
        """Delete the session, its messages and the attachment bytes no other message uses."""

    def message_owners(self, message_ids: Sequence[str]) -> dict[str, str]:
        """For each of ``message_ids`` already stored, the session holding it. Stores whose
        message ids need only be unique within a session (the JSON folder) return ``{}``."""

    def search(self, query: SearchQuery) -> list[Message]:
        """Saved messages matching ``query`` (whole words, case-insensitive), newest first."""

    def count_search(self, query: SearchQuery) -> int: ...

    def changes(self, since: str | None) -> Changes:
        """What any process saved, redacted or deleted here after ``since`` (a token from an
        earlier answer, or None), and the token for next time. Cheap when nothing
        changed: what sync pushes, the sidebar's polling and the vectors' refresh all
        start from it. Read the token before the sessions: a change made while the caller
        works on this answer is in the next one."""

    def close(self) -> None: ...
