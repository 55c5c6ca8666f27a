"""Timestamps: aware UTC datetimes in memory, ISO 8601 ending in ``Z`` on disk."""

from __future__ import annotations

from datetime import datetime, timezone


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
    text = text.strip()
    if text.endswith(("Z", "z")):  # Python 3.10's fromisoformat does not read "Z"
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)
