"""The pairing code: an identity's name and key as text a person can type on another device
(:meth:`Identity.pairing_code <.identity.Identity.pairing_code>`, :meth:`Identity.join
<.identity.Identity.join>`). It holds the key, so it is a password: no message here ever
repeats it.

Version 1::

    amid1-xxxx-xxxx-…-xxxx        "amid1", then the body in groups of 4, joined by "-"
    body  = base32(data) ‖ check  Crockford base32, lowercase: 0-9 a-z without i l o u
    data  = name (UTF-8) ‖ key (32 bytes)     bits most significant first, the last
                                              character zero-padded
    check = 8 characters (40 bits): CRC-32(b"amid1" ‖ one byte per data character, its
            value 0…31), then the number of data characters mod 256 (8 bits)

Reading ignores case, spaces and dashes, and reads ``o`` as ``0`` and ``i``/``l`` as ``1``
(Crockford's rule); the ``amid1`` in front is read as it is.

What the check refuses:

* *for certain*, any one changed character and any two neighbouring characters swapped. A
  CRC-32 finds every error within 32 consecutive bits of its input, and here one or two
  characters are one or two bytes of it; a change or swap inside the check changes the
  stored check and nothing else. The one case left, the last data character swapped with
  the first check character, changes the CRC by a value that depends only on the two
  characters (never on the rest), and :func:`boundary_swaps_are_caught` tries all 31 of
  them: none changes it by exactly the 5 bits the swap moved into the check;
* *for certain*, a data character dropped or added: the count no longer matches;
* a character dropped from the check's last two places, or several mistakes at once, with
  a chance of about 1 in 4 billion (2**-32) of passing.
"""

from __future__ import annotations

import re
import zlib

from ..errors import PairingCodeError

__all__ = ["PREFIX", "base32", "boundary_swaps_are_caught", "decode", "encode"]

PREFIX = "amid1"
KEY_BYTES = 32
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lowercase
_VALUES = {c: i for i, c in enumerate(ALPHABET)} | {"o": 0, "i": 1, "l": 1}
_GROUP = 4
_CHECK_CHARS = 8  # 40 bits: the CRC-32 and the count
_TYPED_SEPARATORS = re.compile(r"[\s\-]+")


def encode(name: str, key: bytes) -> str:
    """The pairing code of ``name`` and the 32-byte ``key``."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a sync key is {KEY_BYTES} bytes")
    values = _to_values(name.encode("utf-8") + key)
    body = "".join(ALPHABET[v] for v in values + check(values))
    return "-".join([PREFIX] + [body[i : i + _GROUP] for i in range(0, len(body), _GROUP)])


def decode(code: object) -> tuple[str, bytes]:
    """``(name, key)`` of a pairing code as typed; :class:`PairingCodeError` (a
    ``ValueError``) if it is mistyped, incomplete or not a pairing code. The name is
    decoded UTF-8, not yet checked as a name."""
    if not isinstance(code, str):
        raise TypeError(f"a pairing code is text, not {type(code).__name__}")
    text = _TYPED_SEPARATORS.sub("", code).lower()
    if not text.startswith(PREFIX):
        other = re.match(r"amid(\d+)", text)
        if other is not None:
            raise PairingCodeError(
                f"this pairing code is of version {other.group(1)}, which this version of "
                "activemirror-jupyter cannot read: update it on this device"
            )
        raise PairingCodeError(
            f"this is not a pairing code (they start with {PREFIX}-): copy it again from "
            "the first device, identity.pairing_code()"
        )
    body = text[len(PREFIX) :]
    unknown = sorted({c for c in body if c not in _VALUES})
    if unknown:
        raise PairingCodeError(
            "a pairing code has only the letters and digits it was given; "
            f"{', '.join(map(repr, unknown))} is not one of them: check the code as typed"
        )
    values = [_VALUES[c] for c in body]
    data_values, stored = values[:-_CHECK_CHARS], values[-_CHECK_CHARS:]
    if not data_values or check(data_values) != stored:
        raise PairingCodeError(
            "this pairing code is mistyped or incomplete (its checksum fails); nothing was "
            "stored: copy it again from the first device, identity.pairing_code()"
        )
    data = _from_values(data_values)
    if data is None or len(data) <= KEY_BYTES:
        raise PairingCodeError("this is not a pairing code this version can read")
    try:
        name = data[:-KEY_BYTES].decode("utf-8")
    except UnicodeDecodeError:
        raise PairingCodeError("this pairing code holds no usable name") from None
    return name, data[-KEY_BYTES:]


def base32(data: bytes) -> str:
    """``data`` in the code's alphabet (also used for fingerprints)."""
    return "".join(ALPHABET[v] for v in _to_values(data))


def check(data_values: list[int]) -> list[int]:
    """The 8 check characters' values for the data characters' values."""
    crc = zlib.crc32(PREFIX.encode("ascii") + bytes(data_values))
    number = crc << 8 | (len(data_values) % 256)
    return [(number >> (5 * (_CHECK_CHARS - 1 - i))) & 31 for i in range(_CHECK_CHARS)]


def boundary_swaps_are_caught() -> bool:
    """Whether swapping the last data character with the first check character is always
    refused. The swap changes the CRC's input by ``delta`` (1…31) in its last byte, which
    changes the CRC by a value of ``delta`` alone; it passes only if that value is exactly
    ``delta`` in the 5 bits the first check character holds (the CRC's top 5)."""
    base = bytes(8)
    for delta in range(1, 32):
        change = zlib.crc32(base) ^ zlib.crc32(base[:-1] + bytes([delta]))
        if change == delta << 27:
            return False
    return True


def _to_values(data: bytes) -> list[int]:
    """Base32 values of ``data``, bits most significant first, the last zero-padded."""
    bits = len(data) * 8
    count = -(-bits // 5)
    number = int.from_bytes(data, "big") << (count * 5 - bits)
    return [(number >> (5 * (count - 1 - i))) & 31 for i in range(count)]


def _from_values(values: list[int]) -> bytes | None:
    """The bytes :func:`_to_values` made ``values`` from, or None if it made no such."""
    size = len(values) * 5 // 8
    pad = len(values) * 5 - size * 8
    if pad >= 5:
        return None
    number = 0
    for v in values:
        number = number << 5 | v
    if number & ((1 << pad) - 1):
        return None
    return (number >> pad).to_bytes(size, "big")
