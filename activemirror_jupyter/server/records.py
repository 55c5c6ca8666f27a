"""The JSON the API answers with: the core's one serializer (:mod:`..core.serialize`), plus
what only the sidebar needs (``sealed``, a session's ``child_count``, a hit's snippet)."""

from __future__ import annotations

from typing import Any

from ..core.models import SearchHit, SessionMetadata
from ..core.serialize import message_record, session_record


def session_json(meta: SessionMetadata, child_count: int | None = None) -> dict[str, Any]:
    """A session as :func:`session_record` has it, with ``sealed`` and (in listings) how many
    children it has."""
    record = session_record(meta)
    record["sealed"] = meta.sealed
    if child_count is not None:
        record["child_count"] = child_count
    return record


def hit_json(hit: SearchHit) -> dict[str, Any]:
    """A search hit: the message, its session, a plain-text snippet and the ``[start, end)``
    offsets of the matched words in it (counted in Unicode code points)."""
    return {
        "session_id": hit.message.session_id,
        "session_title": hit.session_title,
        "message": message_record(hit.message),
        "snippet": hit.snippet,
        "highlights": [[start, end] for start, end in hit.highlights],
        "score": hit.score,
    }
