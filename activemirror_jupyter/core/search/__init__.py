"""Finding messages: one home for what a search means. :mod:`.words` is the word rule every
store follows (whole words, any case, any accent) and the snippets shown with a hit;
:mod:`.text` is the text of an attachment that is searched and snippeted (HTML's without
its markup). The stores' own indexes keep to both (SQLite's FTS5, PostgreSQL's tsvector,
the JSON folder's word sets in :mod:`..storage.jsonsearch`)."""

from __future__ import annotations

from .text import attachment_text
from .words import fold, search_words, snippet

__all__ = ["attachment_text", "fold", "search_words", "snippet"]
