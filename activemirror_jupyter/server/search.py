"""``GET /activemirror/api/search``: full-text search over saved messages, with the sidebar's
filters (role, tag, dates, one session) and a snippet per hit with the matched words marked.

``q`` is plain words — any text is safe, nothing in it is query syntax. ``since`` (inclusive)
and ``until`` (exclusive) are a date (``2024-05-01``, midnight UTC) or an ISO 8601 time with
its timezone (``2024-05-01T08:00:00+02:00``, ``…Z``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any

import tornado.web

from ..core.mirror import ActiveMirror
from ..core.models import ROLES
from .base import MirrorHandler, bad_request, shown
from .records import hit_json

#: The longest query taken, in characters (a longer one is a 400, not a slow search).
MAX_QUERY_CHARS = 1000
_WHEN = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
    r"(Z|z|[+-][0-9]{2}:?[0-9]{2}))?"
)


def parse_when(raw: str, name: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 time with a timezone, as an aware datetime."""
    match = _WHEN.fullmatch(raw)
    if match is not None:
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        try:
            return datetime(
                int(year),
                int(month),
                int(day),
                int(hour or 0),
                int(minute or 0),
                int(second or 0),
                int((fraction or "0").ljust(6, "0")),
                tzinfo=_zone(zone),
            )
        except ValueError:  # a month 13, a day 31 in April, an offset of 25 hours
            pass
    raise bad_request(
        f"{name} must be a date (2024-05-01) or a time with its timezone "
        f"(2024-05-01T08:00:00Z), not {shown(raw, 30)}"
    )


def _zone(text: str | None) -> timezone:
    if text is None or text in "Zz":
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


class SearchHandler(MirrorHandler):
    """``GET /activemirror/api/search?q=&role=&tag=&since=&until=&session_id=&limit=&offset=``
    → ``{"total", "hits": [{"session_id", "session_title", "message", "snippet",
    "highlights"}]}``, newest first; ``total`` counts every match, not just this page."""

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.get_query_argument("q", None)
        if query is None:
            raise bad_request("q (the words to search for) is required")
        if len(query) > MAX_QUERY_CHARS:
            raise bad_request(f"q is {len(query):,} characters long, over {MAX_QUERY_CHARS:,}")
        filters = self._filters()
        limit, offset = self.page_arguments()

        def search(mirror: ActiveMirror) -> tuple[list[dict[str, Any]], int]:
            hits = mirror.search_hits(query, limit=limit, offset=offset, **filters)
            return [hit_json(hit) for hit in hits], mirror.count_search(query, **filters)

        hits, total = await self.call(search)
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
                filters[name] = parse_when(value, name)
        return filters
