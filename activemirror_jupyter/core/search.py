"""What a search looks for: the plain words of a query, compared case- and accent-insensitively.

Every store follows :func:`search_words` (SQLite's FTS5 ``unicode61 remove_diacritics 2``
tokenizer agrees with it), so "whole words, any case, any accent" means the same everywhere,
and any text a user types is safe: nothing in it is query syntax.
"""

from __future__ import annotations

import re
import unicodedata

# Letters and digits; '_' and punctuation separate words, as in SQLite FTS5's unicode61.
_WORD = re.compile(r"[^\W_]+")


def search_words(query: object) -> list[str]:
    """The plain words of a user's query: any text is safe, nothing is query syntax."""
    if not isinstance(query, str):
        raise TypeError(f"search query must be text (str), not {type(query).__name__}")
    return _WORD.findall(fold(query))


def fold(text: str) -> str:
    """Case- and accent-insensitive form of ``text`` ("Café" -> "cafe")."""
    if text.isascii():
        return text.lower()  # nothing to decompose; the common case, and much faster
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))
