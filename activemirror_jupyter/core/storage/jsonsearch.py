"""Word search in a JSON folder, which has no index on disk: each message record's words
(its content and its text attachments'), kept with the parsed session file they came from
so a session is split into words once while its file is unchanged.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

from ..errors import StorageError
from ..mime import is_text
from ..models import Message, check_mime_type
from ..search import attachment_text, search_words
from .base import SearchQuery
from .filters import matches, newest_first
from .jsonattachments import Attachments
from .jsoncodec import DamagedFileError, Index
from .jsonfolder import Loaded

#: A session's message records: those in its file, and those in the journal.
Records = Callable[[str], tuple[list[Any], list[dict[str, Any]]]]


class Words:
    """The search words of message records, with a cache of text attachments' words."""

    def __init__(self, attachments: Attachments) -> None:
        self._attachments = attachments
        # text attachments' words, by sha256 and mime type
        self._of_bytes: dict[tuple[str, str], frozenset[str]] = {}

    def found(
        self,
        query: SearchQuery,
        view: Index,
        records: Records,
        message: Callable[[str, Any, int], Message],
        loaded: Callable[[str], Loaded | None],
    ) -> list[Message]:
        """Every message of ``view``'s sessions holding all of the query's words and
        passing its filters, newest first. A damaged session file is skipped, with a
        warning naming it."""
        wanted = set(query.words)
        found: list[Message] = []
        ids = [query.session_id] if query.session_id is not None else list(view.order)
        for sid in ids:
            if sid not in view.entries:
                continue
            meta = view.meta(sid)
            try:
                folded, journaled = records(sid)
                words = self.of_file(loaded(sid), folded) + [self.of(r) for r in journaled]
            except DamagedFileError as exc:
                warnings.warn(f"search skipped a session: {exc}", RuntimeWarning, stacklevel=5)
                continue
            for pos, record in enumerate([*folded, *journaled]):
                if wanted <= words[pos]:
                    hit = message(sid, record, pos)
                    if matches(query, hit, meta):
                        found.append(hit)
        return newest_first(found)

    def of_file(self, loaded: Loaded | None, folded: list[Any]) -> list[frozenset[str]]:
        """The words of each of a session file's records (``folded``, as :meth:`loaded`
        holds them: then computed once per version of the file)."""
        if loaded is None or loaded.records is not folded:
            return [self.of(r) for r in folded]
        if loaded.words is None:
            loaded.words = [self.of(r) for r in loaded.records]
        return loaded.words

    def of(self, record: Any) -> frozenset[str]:
        """The search words of a message record: its content and its text attachments."""
        if not isinstance(record, dict) or not isinstance(record.get("content"), str):
            return frozenset()
        words = set(search_words(record["content"]))
        for item in record.get("attachments") or ():
            mime = _text_type(item)
            if mime is None or not isinstance(item.get("sha256"), str):
                continue
            key = (item["sha256"], mime)  # the same bytes are other words as HTML
            if key not in self._of_bytes:
                try:
                    text = attachment_text(mime, self._attachments.reader(key[0])()) or ""
                except StorageError:
                    text = ""
                self._of_bytes[key] = frozenset(search_words(text))
            words |= self._of_bytes[key]
        return frozenset(words)


def _text_type(item: Any) -> str | None:
    """The mime type of an attachment record, if it is text (searched), in normal form."""
    if not isinstance(item, dict):
        return None
    try:
        mime = check_mime_type(item.get("mimeType"))
    except ValueError:
        return None
    return mime if is_text(mime) else None
