"""Words as PostgreSQL's full-text search takes them: ``tsvector`` text for a row, and
``tsquery`` text for a search. A word is letters and digits only (:func:`..search.search_words`),
so quoting it as a lexeme is always safe; PostgreSQL caps a lexeme at 2047 bytes, so a
longer word is stored and looked up by its digest instead ('#' cannot occur in a word).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ..search import search_words

_MAX_LEXEME_BYTES = 1024


def _lexeme(word: str) -> str:
    data = word.encode("utf-8")
    if len(data) <= _MAX_LEXEME_BYTES:
        return word
    return "#" + hashlib.sha256(data).hexdigest()


def search_vector(content: str) -> str:
    """The ``tsvector`` text of ``content``'s words, e.g. ``cafe menu``. Letters and digits
    need no quoting in a tsvector, and PostgreSQL sorts and de-duplicates them itself."""
    words = search_words(content)
    if any(len(w) > _MAX_LEXEME_BYTES // 4 for w in words):  # may be too long in UTF-8
        words = [_lexeme(w) for w in words]
    return " ".join(words)


def search_query(words: Sequence[str]) -> str:
    """The ``tsquery`` text that matches rows holding every one of ``words``."""
    return " & ".join(f"'{_lexeme(w)}'" for w in words)
