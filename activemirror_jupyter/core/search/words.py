"""What a search looks for: the plain words of a query, compared case- and accent-insensitively.

Every store follows :func:`search_words` (SQLite's FTS5 ``unicode61 remove_diacritics 2``
tokenizer agrees with it), so "whole words, any case, any accent" means the same everywhere,
and any text a user types is safe: nothing in it is query syntax.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

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


def snippet(text: str, words: Sequence[str], width: int = 160) -> tuple[str, list[tuple[int, int]]]:
    """A plain-text excerpt of ``text``, about ``width`` characters around its first match
    of ``words`` with whitespace folded, and the ``(start, end)`` offsets in the excerpt of
    every word that matches one of ``words`` (compared as :func:`search_words` compares).
    An excerpt that does not reach an end of ``text`` is marked there with "…"."""
    wanted = set(words)
    spans = [m.span() for m in _WORD.finditer(text) if set(search_words(m.group())) & wanted]
    start = max(0, spans[0][0] - width // 3) if spans else 0
    if start > 0:  # begin at a word, not inside one
        space = text.find(" ", start, spans[0][0])
        start = space + 1 if space != -1 else start
    end = min(len(text), start + width)
    excerpt, where = _fold_whitespace(text[start:end])
    lead = len(excerpt) - len(excerpt.lstrip())
    excerpt = excerpt.strip()
    prefix = "…" if start > 0 else ""
    suffix = "…" if end < len(text) else ""
    shift = len(prefix) - lead
    highlights = [
        (shift + where[s - start], shift + where[e - start])
        for s, e in spans
        if start <= s and e <= end
    ]
    return prefix + excerpt + suffix, highlights


def _fold_whitespace(text: str) -> tuple[str, list[int]]:
    """``text`` with each run of whitespace as one space, and for each offset of ``text``
    (its end included) the offset it has in the result."""
    out: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        where.append(len(out))
        if not ch.isspace():
            out.append(ch)
        elif i == 0 or not text[i - 1].isspace():
            out.append(" ")
    where.append(len(out))
    return "".join(out), where
