"""Identifiers: generating new ones and checking those that come from outside.

Generated ids are ``<prefix>_<ULID>``: 26 Crockford base32 characters whose first ten encode
the creation time in milliseconds, so ids sort by creation time, are unique, and are safe as
file names. Within one millisecond the random part is incremented, keeping the order strict.
"""

from __future__ import annotations

import os
import re
import threading
import time

from .errors import InvalidIdError

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

_lock = threading.Lock()
_last_ms = -1
_last_rand = 0


def _ulid() -> str:
    global _last_ms, _last_rand
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _last_rand += 1
        else:
            _last_rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to increment
        _last_ms = ms
        value = (ms << 80) | _last_rand
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A fresh, time-ordered id such as ``session_01JD…`` or ``msg_01JD…``."""
    return f"{prefix}_{_ulid()}"


def validate_id(value: object, what: str = "id") -> str:
    """Return ``value`` if it is a safe id, else raise :class:`InvalidIdError` saying why.

    Safe means ``[A-Za-z0-9][A-Za-z0-9_.-]{0,127}`` without ``..``: usable as a file name and
    in a query, never a path that leaves its folder.
    """
    if not isinstance(value, str):
        raise InvalidIdError(f"{what} must be a string, not {type(value).__name__}")
    if not value:
        raise InvalidIdError(f"{what} must not be empty")
    if len(value) > 128:
        raise InvalidIdError(f"{what} is too long ({len(value)} characters, at most 128)")
    if ".." in value or not ID_PATTERN.fullmatch(value):
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise InvalidIdError(
            f"invalid {what} {shown!r}: use letters, digits, '_', '.' and '-' "
            "(starting with a letter or digit, no '..')"
        )
    return value


DEVICE_ID = re.compile(r"[0-9a-f]{32}")


def new_device_id() -> str:
    """A fresh device id: 32 lowercase hex characters (128 random bits)."""
    return os.urandom(16).hex()


def validate_device_id(value: object, what: str = "device id") -> str:
    """Return ``value`` if it is a device id (32 lowercase hex characters), else raise
    :class:`InvalidIdError`."""
    if not isinstance(value, str) or not DEVICE_ID.fullmatch(value):
        shown = repr(value) if not isinstance(value, str) or len(value) <= 40 else repr(value[:40])
        raise InvalidIdError(f"invalid {what} {shown}: use 32 lowercase hex characters")
    return value
