"""``ActiveMirror``: the entry point that ties sessions (tier 1) to a store (tier 2)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from os import PathLike
from typing import Any

from .errors import ActiveMirrorError, SessionNotFoundError
from .ids import new_id, validate_id
from .journal import VerifyReport, verify_rows
from .limits import DEFAULT_MAX_ATTACHMENT_BYTES
from .models import (
    Message,
    SearchHit,
    SessionMetadata,
    check_max_context,
    check_role,
    check_tags,
    check_title,
)
from .paging import check_page
from .replies import Responder
from .search import attachment_text, search_words, snippet
from .session import Session
from .storage import Storage, open_storage
from .storage.base import Changes, Saved, SearchQuery, SessionQuery
from .sync.devices import give_new_device_id
from .sync.run import SyncReport, check_sync_settings, run_sync, sync_quietly
from .sync.state import last_sync
from .timeutil import utcnow
from .transfer.importers import ImportReport, import_history

#: The largest attachment a message takes by default (20 MiB).


class ActiveMirror:
    """Sessions over one store.

    ``storage_type`` is ``"sqlite"`` (default, ``db_path`` or
    ``$ACTIVEMIRROR_HOME/conversations.db``), ``"json"`` (``storage_path`` or
    ``$ACTIVEMIRROR_HOME/conversations/``), ``"memory"``, or ``"postgresql"`` (with ``dsn``).
    With ``autosave=True`` every change is written at once; otherwise on ``Session.save()``.
    A ``responder`` (``(context: list[Message]) -> str``) answers user messages. An
    attachment larger than ``max_attachment_bytes`` is refused.
    """

    def __init__(
        self,
        storage_type: str = "sqlite",
        db_path: str | PathLike[str] | None = None,
        storage_path: str | PathLike[str] | None = None,
        *,
        dsn: str | None = None,
        user_id: str | None = None,
        autosave: bool = False,
        responder: Responder | None = None,
        max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
        identity: Any = None,
        sync_enabled: bool = False,
    ) -> None:
        if (
            isinstance(max_attachment_bytes, bool)
            or not isinstance(max_attachment_bytes, int)
            or max_attachment_bytes < 0
        ):
            raise ValueError(
                "max_attachment_bytes must be a whole number of bytes, "
                f"not {max_attachment_bytes!r}"
            )
        if user_id is not None:
            validate_id(user_id, "user id")
        if responder is not None and not callable(responder):
            raise TypeError(f"responder must be callable, not {type(responder).__name__}")
        self.storage_type = storage_type
        self.user_id = user_id
        self.autosave = bool(autosave)
        self.responder = responder
        self.max_attachment_bytes = max_attachment_bytes
        self.identity = identity
        self.sync_enabled = bool(sync_enabled)
        if self.sync_enabled:
            check_sync_settings(identity)
        self.store: Storage = open_storage(
            storage_type, db_path=db_path, storage_path=storage_path, dsn=dsn
        )
        self._meaning: Any = None  # search.similar.MeaningIndex, made by search_similar
        if self.sync_enabled:
            self._sync_quietly()

    def __repr__(self) -> str:
        return f"<ActiveMirror {self.store.description}>"

    @property
    def device_id(self) -> str:
        """This store's device id: 32 lowercase hex characters, made when the store was
        created and kept in it (the same after reopening; another store, another id)."""
        return self.store.device_id

    def new_device_id(self) -> str:
        """Give the store a fresh device id — for a store copied as files onto a second
        machine, so the copies are two devices — and return it. The messages it saved
        under the old id move to the new one (none has been sent anywhere yet)."""
        return give_new_device_id(self.store)

    # -- sync ------------------------------------------------------------------------------

    def sync(
        self, remote: str | PathLike[str] | None = None, *, progress: Any = None
    ) -> SyncReport:
        """Send this store's new messages and changes to ``remote`` and take in what other
        devices sent there: a folder (str or path) any of your machines see, or a
        ``postgresql://`` DSN; None: the identity's remote. ``progress`` (a ``tqdm`` bar)
        is told how many messages there are and advanced as they go. Raises
        :class:`SyncError`."""
        return run_sync(self.store, self.identity, remote, progress)

    def last_sync(self) -> dict[str, Any] | None:
        """The store's last sync, by any process: ``{"at", "remote", "pushed", "pulled",
        "error"}`` (``error`` None when it worked), or None before the first."""
        return last_sync(self.store)

    def _sync_quietly(self) -> None:
        """Sync now, a failure being a SyncWarning (with ``sync_enabled``: on opening, and
        after every save and delete)."""
        if self.sync_enabled:
            sync_quietly(self.store, self.identity)

    @property
    def description(self) -> str:
        """Where the store is, for messages: ``SQLite database /x/conversations.db``."""
        return self.store.description

    def __enter__(self) -> ActiveMirror:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Release the store's files and connections."""
        self.store.close()

    # -- sessions ---------------------------------------------------------------------------

    def create_session(
        self,
        title: str,
        parent_session_id: str | None = None,
        *,
        max_context_messages: int | None = None,
        user_id: str | None = None,
        tags: Iterable[str] = (),
    ) -> Session:
        """A new session, in RAM until saved (at once with autosave)."""
        check_title(title)
        tags = check_tags(tags)
        if parent_session_id is not None:
            validate_id(parent_session_id, "parent session id")
        if user_id is not None:
            validate_id(user_id, "user id")
        now = utcnow()
        meta = SessionMetadata(
            session_id=new_id("session"),
            title=title,
            user_id=user_id if user_id is not None else self.user_id,
            parent_session_id=parent_session_id,
            status="active",
            created_at=now,
            updated_at=now,
            message_count=0,
            max_context_messages=check_max_context(max_context_messages),
            tags=tags,
        )
        session = Session(self, meta, stored=False)
        if self.autosave:
            session.save()
        return session

    def session_metadata(self, session_id: str) -> SessionMetadata | None:
        """The saved session's metadata (with its message count), or None; reads no
        message."""
        return self.store.get_session(validate_id(session_id, "session id"))

    def saved_messages(
        self, session_id: str, start: int = 0, stop: int | None = None
    ) -> list[Message]:
        """The saved messages of a session at positions ``start`` to ``stop - 1`` (0 is
        the oldest; ``stop=None``: to the end), read a page at a time by the store."""
        validate_id(session_id, "session id")
        if stop is None:
            stop = self.store.count_messages(session_id)
        return self.store.get_messages(session_id, start, stop)

    def saved_count(self, session_id: str) -> int:
        """How many messages of the session are saved (other processes' included)."""
        return self.store.count_messages(validate_id(session_id, "session id"))

    def message_owners(self, message_ids: Iterable[str]) -> dict[str, str]:
        """For each of these message ids already stored, the session holding it (a JSON
        folder needs ids unique only within a session, and answers ``{}``)."""
        return self.store.message_owners(list(message_ids))

    def store_session(
        self, meta: SessionMetadata, messages: Sequence[Message], *, replace: bool = False
    ) -> Saved:
        """Write a session made elsewhere (an import, a sync) with ``messages``, all or
        nothing; with ``replace``, instead of what is stored under its id."""
        return self.store.save(meta, messages, replace=replace)

    def load_session(self, session_id: str) -> Session:
        """The saved session ``session_id``; its messages are read only when asked for."""
        validate_id(session_id, "session id")
        meta = self.store.get_session(session_id)
        if meta is None:
            raise SessionNotFoundError(session_id, self.store.description)
        return Session(self, meta, stored=True)

    def list_sessions(
        self,
        *,
        limit: int | None = None,
        offset: int = 0,
        parent_session_id: str | None = None,
        tag: str | None = None,
        roots: bool = False,
    ) -> list[SessionMetadata]:
        """Saved sessions, most recently updated first: only the children of
        ``parent_session_id`` and those tagged ``tag``, if given; with ``roots``, only the
        sessions at the top of their family (no parent, or a parent that is gone). Reads no
        message bodies."""
        check_page(limit, offset)
        query = _session_query(parent_session_id, tag, roots)
        return self.store.list_sessions(replace(query, limit=limit, offset=offset))

    def count_sessions(
        self, *, parent_session_id: str | None = None, tag: str | None = None, roots: bool = False
    ) -> int:
        """How many saved sessions :meth:`list_sessions` would list with these filters."""
        return self.store.count_sessions(_session_query(parent_session_id, tag, roots))

    def child_counts(self, session_ids: Iterable[str]) -> dict[str, int]:
        """How many children each of these sessions has (those with none are left out)."""
        ids = [validate_id(i, "session id") for i in session_ids]
        return self.store.child_counts(ids) if ids else {}

    def delete_session(self, session_id: str) -> bool:
        """Delete a session and its messages; True if it existed. Its children are kept."""
        validate_id(session_id, "session id")
        existed = self.store.delete_session(session_id)
        self._sync_quietly()
        return existed

    # -- history from other tools -----------------------------------------------------------

    def import_from(self, source: str, path: str | PathLike[str] | None = None) -> ImportReport:
        """Import another tool's history: ``"ipython"`` (``history.sqlite``; default: the
        current profile's), ``"llm"`` (its ``logs.db``; default: llm's) or
        ``"jupyter-chat"`` (a ``.chat`` file). Each session is tagged with ``source`` and
        keeps ``metadata["source"]``, so importing again adds only what is new. The source
        is only read; one that is not what ``source`` says is an
        :class:`~.errors.InvalidImportError` naming it, and nothing is imported."""
        return import_history(self, source, path)

    # -- search ------------------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        session_id: str | None = None,
        role: str | None = None,
        tag: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[Message]:
        """Saved messages holding every word of ``query`` (in their text or a text
        attachment), newest first, filtered by session, role, session tag and time
        (``since``/``until``: aware datetimes).

        ``query`` is plain words: punctuation and operators are ignored, never an error."""
        q = _search_query(query, session_id, role, tag, since, until, limit, offset)
        return self.store.search(q) if q.words else []

    def search_hits(
        self,
        query: str,
        *,
        session_id: str | None = None,
        role: str | None = None,
        tag: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[SearchHit]:
        """:meth:`search`, each message with its session's title and a snippet of where the
        words are (with the offsets of the matched words in it)."""
        q = _search_query(query, session_id, role, tag, since, until, limit, offset)
        if not q.words:
            return []
        titles: dict[str, str] = {}
        hits = []
        for message in self.store.search(q):
            if message.session_id not in titles:
                meta = self.store.get_session(message.session_id)
                titles[message.session_id] = meta.title if meta is not None else ""
            text, highlights = _snippet_of(message, q.words)
            hits.append(SearchHit(message, titles[message.session_id], text, highlights))
        return hits

    def search_similar(
        self,
        text: str,
        *,
        session_id: str | None = None,
        role: str | None = None,
        tag: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 10,
    ) -> list[SearchHit]:
        """Saved messages ranked by closeness of meaning to ``text``, best first, with the
        filters of :meth:`search`: hits whose ``score`` is the cosine similarity (higher is
        closer). The vectors of messages saved since the last call are made first (a
        progress bar when thousands wait), from the model packaged with the optional extra
        ``activemirror-jupyter[semantic]`` — offline, nothing is downloaded. Without the
        extra, an ImportError naming it; an empty ``text``, a ValueError."""
        if not isinstance(text, str):
            raise TypeError(f"search text must be text (str), not {type(text).__name__}")
        if not text.strip():
            raise ValueError("search by meaning needs some text to compare with, not blank text")
        q = _search_query("", session_id, role, tag, since, until, limit, 0)
        if self._meaning is None:
            from .search.model import load_model  # the optional extra, and NumPy: on first use
            from .search.similar import MeaningIndex

            self._meaning = MeaningIndex(self.store, self.store.vectors(), load_model())
        from .search.similar import similar_hits

        return similar_hits(self._meaning, self.store, text, q, limit)

    def count_search(
        self,
        query: str,
        *,
        session_id: str | None = None,
        role: str | None = None,
        tag: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> int:
        """How many saved messages :meth:`search` would find without a limit."""
        q = _search_query(query, session_id, role, tag, since, until, None, 0)
        return self.store.count_search(q) if q.words else 0

    # -- integrity and changes ------------------------------------------------------------------

    def verify(self, session_id: str | None = None) -> VerifyReport:
        """Check the chain, head and seal of one saved session (or of all of them): any
        change made behind the API is a problem in the report, at the first message it
        touches. Reads a page of messages at a time."""
        damaged = {m.session_id: m for m in self.store.damaged_sessions()}
        if session_id is not None:
            validate_id(session_id, "session id")
            meta = damaged.get(session_id) or self.store.get_session(session_id)
            if meta is None:
                raise SessionNotFoundError(session_id, self.store.description)
            return verify_rows(meta, self.store.stored_rows(session_id))
        report = VerifyReport()
        for meta in [*self.store.list_sessions(SessionQuery()), *damaged.values()]:
            report.add(verify_rows(meta, self.store.stored_rows(meta.session_id)))
        return report

    def changes(self, since: str | None = None) -> Changes:
        """What any process saved, redacted or deleted here after ``since`` (a token from an
        earlier answer), and the token for next time (:class:`~.storage.base.Changes`;
        ``everything``, always so for ``since=None``, means: any session may have changed).
        Cheap enough to poll: ``changes().token`` is the store's version."""
        if since is not None and not isinstance(since, str):
            raise TypeError(f"since must be a token (str) or None, not {type(since).__name__}")
        return self.store.changes(since)


def _session_query(parent: str | None, tag: str | None, roots: bool) -> SessionQuery:
    if parent is not None:
        validate_id(parent, "parent session id")
    if tag is not None:
        validate_id(tag, "tag")
    if roots and parent is not None:
        raise ValueError("roots=True lists the top of every family: leave out parent_session_id")
    return SessionQuery(parent=parent, tag=tag, roots=bool(roots))


def _search_query(
    query: str,
    session_id: str | None,
    role: str | None,
    tag: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int | None,
    offset: int,
) -> SearchQuery:
    words = search_words(query)
    if session_id is not None:
        validate_id(session_id, "session id")
    if role is not None:
        check_role(role)
    if tag is not None:
        validate_id(tag, "tag")
    for name, when in (("since", since), ("until", until)):
        if when is not None:
            if not isinstance(when, datetime):
                raise TypeError(f"{name} must be a datetime, not {type(when).__name__}")
            if when.tzinfo is None:
                raise ValueError(f"{name} must be an aware datetime (with a timezone), not {when}")
    check_page(limit, offset)
    return SearchQuery(
        tuple(words),
        session_id,
        role,
        tag,
        since,
        until,
        limit if limit is not None else -1,
        offset,
    )


def _snippet_of(message: Message, words: tuple[str, ...]) -> tuple[str, list[tuple[int, int]]]:
    """The snippet of the message's text, or of the first text attachment holding a word
    (its text as the stores search it: :func:`~.search.attachment_text`, no markup)."""
    wanted = set(words)
    if wanted & set(search_words(message.content)) or not message.attachments:
        return snippet(message.content, words)
    for attachment in message.attachments:
        if attachment.is_text:
            try:
                text = attachment_text(attachment.mime_type, attachment.read()) or ""
            except ActiveMirrorError:
                continue
            if wanted & set(search_words(text)):
                return snippet(text, words)
    return snippet(message.content, words)
