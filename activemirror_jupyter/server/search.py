"""``GET /activemirror/api/search``: full-text search over saved messages, with the sidebar's
filters (role, tag, dates, one session) and a snippet per hit with the matched words marked.

``q`` is plain words — any text is safe, nothing in it is query syntax. ``since`` (inclusive)
and ``until`` (exclusive) are a date (``2024-05-01``, midnight UTC) or an ISO 8601 time with
its timezone (``2024-05-01T08:00:00+02:00``, ``…Z``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import tornado.web

from ..core import timeutil
from ..core.mirror import ActiveMirror
from ..core.models import ROLES
from .base import MirrorHandler, bad_request, shown
from .records import hit_json

#: ``mode``: by the words (the default) or by meaning (:meth:`ActiveMirror.search_similar`).
MODES = ("words", "meaning")
#: How far down the ranking ``mode=meaning`` pages (each hit is read on its own).
MAX_RANKED = 1000
#: The longest query taken, in characters (a longer one is a 400, not a slow search).
MAX_QUERY_CHARS = 1000


def when_argument(raw: str, name: str) -> datetime:
    """The query argument ``name``: a date (midnight UTC) or an ISO 8601 time with its
    timezone (a browser's clock may be anywhere), read by the one parser
    :func:`~..core.timeutil.parse_when`; anything else is a 400."""
    try:
        return timeutil.parse_when(raw, zone_required=True)
    except ValueError:
        raise bad_request(
            f"{name} must be {timeutil.WHEN_FORMS_WITH_ZONE}, not {shown(raw, 30)}"
        ) from None


class SearchHandler(MirrorHandler):
    """``GET /activemirror/api/search?q=&role=&tag=&since=&until=&session_id=&limit=&offset=``
    → ``{"total", "hits": [{"session_id", "session_title", "message", "snippet",
    "highlights", "score"}]}``, newest first; ``total`` counts every match, not just this
    page. With ``mode=meaning``, closest in meaning first, each with its ``score``."""

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.get_query_argument("q", None)
        if query is None:
            raise bad_request("q (the words to search for) is required")
        if len(query) > MAX_QUERY_CHARS:
            raise bad_request(f"q is {len(query):,} characters long, over {MAX_QUERY_CHARS:,}")
        filters = self._filters()
        limit, offset = self.page_arguments()
        mode = self.get_query_argument("mode", None) or "words"
        if mode not in MODES:
            raise bad_request(f"mode must be one of {', '.join(MODES)}, not {shown(mode)}")
        if mode == "meaning" and not query.strip():
            raise bad_request("q (the text to compare with) is blank")
        if mode == "meaning" and limit + offset > MAX_RANKED:
            raise bad_request(
                f"mode=meaning ranks the closest {MAX_RANKED:,}: limit + offset is over"
            )

        def search(mirror: ActiveMirror) -> tuple[list[dict[str, Any]], int]:
            if mode == "meaning":  # ranked, not counted: total is how many were ranked
                found = mirror.search_similar(query, limit=limit + offset, **filters)
                return [hit_json(hit) for hit in found[offset:]], len(found)
            hits = mirror.search_hits(query, limit=limit, offset=offset, **filters)
            return [hit_json(hit) for hit in hits], mirror.count_search(query, **filters)

        try:
            hits, total = await self.call(search)
        except ImportError as error:  # the [semantic] extra is not installed on the server
            raise tornado.web.HTTPError(501, "%s", str(error)) from None
        self.write_json(
            {"query": query, "total": total, "hits": hits, "limit": limit, "offset": offset}
        )

    def _filters(self) -> dict[str, Any]:
        filters: dict[str, Any] = {}
        role = self.get_query_argument("role", None) or None
        if role is not None:
            if role not in ROLES:
                raise bad_request(f"role must be one of {', '.join(ROLES)}, not {shown(role)}")
            filters["role"] = role
        for name, what in (("tag", "tag"), ("session_id", "session id")):
            value = self.get_query_argument(name, None) or None
            if value is not None:
                filters[name] = self.valid_id(value, what)
        for name in ("since", "until"):
            value = self.get_query_argument(name, None) or None
            if value is not None:
                filters[name] = when_argument(value, name)
        return filters
