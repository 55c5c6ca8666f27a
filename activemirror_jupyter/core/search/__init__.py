"""Finding messages: one home for what a search means. :mod:`.words` is the word rule every
store follows (whole words, any case, any accent) and the snippets shown with a hit; the
stores' own indexes keep to it (SQLite's FTS5, PostgreSQL's tsvector, the JSON folder's
word sets in :mod:`..storage.jsonsearch`)."""

from __future__ import annotations

from .words import fold, search_words, snippet

__all__ = ["fold", "search_words", "snippet"]
