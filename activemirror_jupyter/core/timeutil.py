"""Timestamps: aware UTC datetimes in memory, ISO 8601 ending in ``Z`` on disk; and the one
reader of the dates and times people type (:func:`parse_when`: the magics, the server)."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def to_iso(dt: datetime) -> str:
    """``2024-01-15T10:01:00.123456Z``: fixed width, so text order is time order."""
    if dt.tzinfo is not timezone.utc:
        dt = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
    return dt.isoformat(timespec="microseconds")[:-6] + "Z"  # without "+00:00"


def is_written_form(text: str) -> bool:
    """Whether ``text`` has the exact shape :func:`to_iso` writes; such text, once it parses,
    is what :func:`to_iso` gives back for it (so it need not be formatted again)."""
    return (
        len(text) == 27
        and text.isascii()
        and text[26] == "Z"
        and text[10] == "T"
        and text[19] == "."
    )


def from_iso(text: str) -> datetime:
    """Parse an ISO 8601 timestamp; naive ones (older files) are read as UTC.

    Raises ValueError for anything that is not an ISO 8601 timestamp.
    """
    if not isinstance(text, str):
        raise ValueError(f"timestamp must be an ISO 8601 string, not {type(text).__name__}")
    return _utc(_fromisoformat(text.strip()))


def _fromisoformat(text: str) -> datetime:
    if text.endswith(("Z", "z")):  # Python 3.10's fromisoformat does not read "Z"
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _utc(dt: datetime) -> datetime:
    """``dt`` in UTC; a naive one is taken to be UTC already."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)


# -- what people type --------------------------------------------------------------------------

#: What :func:`parse_when` reads, as its errors tell a person.
WHEN_FORMS = "a date (2024-05-01) or an ISO time (2024-05-01T14:30)"
#: The same with ``zone_required``.
WHEN_FORMS_WITH_ZONE = "a date (2024-05-01) or a time with its timezone (2024-05-01T08:00:00Z)"

# The forms every supported Python reads the same way (3.10's fromisoformat lacks some).
_WHEN = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
    r"(Z|z|[+-][0-9]{2}:?[0-9]{2})?)?"
)


def parse_when(text: str, *, zone_required: bool = False) -> datetime:
    """A point in time a person typed, as an aware UTC datetime.

    A date (``2024-05-01``) is its midnight UTC. A time is ``YYYY-MM-DD`` then ``T`` or a
    space, ``HH:MM``, optional ``:SS`` and a fraction of 1 to 6 digits, then ``Z`` or an
    offset (``+02:00``, ``-0130``); other ISO 8601 forms this Python's ``fromisoformat``
    reads (``20240501``, ``2024-05-01T14``) are taken too. A time without an offset is UTC —
    or, with ``zone_required`` (clients that may be in any timezone), a mistake.

    Raises ValueError naming the forms (:data:`WHEN_FORMS`) and the text.
    """
    value = text.strip()
    when = _when(value) if value.isascii() else None
    if when is None or (zone_required and when.tzinfo is None):
        forms = WHEN_FORMS_WITH_ZONE if zone_required else WHEN_FORMS
        raise ValueError(f"expected {forms}, not {text!r}")
    return _utc(when)


def _when(value: str) -> datetime | None:
    """``value`` as a datetime (naive if it names no timezone; a date is aware), or None."""
    match = _WHEN.fullmatch(value)
    try:
        if match is None:
            return _iso_day(value) or _fromisoformat(value)
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        if hour is None:
            return datetime(int(year), int(month), int(day), tzinfo=timezone.utc)
        micro = int((fraction or "0").ljust(6, "0"))
        return datetime(
            *(int(part) for part in (year, month, day, hour, minute, second or 0)),
            micro,
            tzinfo=_zone(zone),
        )
    except ValueError:  # a month 13, a day 31 in April, an offset of 25 hours
        return None


def _iso_day(value: str) -> datetime | None:
    """Midnight UTC of a date in another ISO form (``20240501``, ``2024-W18-3``), or None."""
    try:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=timezone.utc)
    except ValueError:
        return None


def _zone(text: str | None) -> timezone | None:
    if text is None:
        return None
    if text in ("Z", "z"):
        return timezone.utc
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
