"""The vault file format, version 1: every byte the vault writes is described here.

A vault is a folder::

    vault/
      .vault_index.enc     plaintext header + the encrypted index (names, metadata, times)
      <entry id>.vault     one encrypted entry; the id is 32 random hex digits, never a name
      .vault.lock          empty lock file that serialises writers

Integers are big-endian. ``‖`` is concatenation. AES-GCM tags (16 bytes) follow their
ciphertext, as ``cryptography``'s ``AESGCM`` returns them.

``.vault_index.enc``::

    offset   size  field
    0        4     magic b"AMVI"
    4        1     format version (1)
    5        1     KDF algorithm (1 = PBKDF2-HMAC-SHA256)
    6        8     KDF iterations (accepted: 1,000 … 10,000,000; new vaults: 600,000)
    14       1     salt length n (accepted: 16 … 64; new vaults: 16)
    15       n     salt (random per vault, new on every password change)
    15+n     12    wrap nonce (random)
    27+n     48    wrapped data key = AES-256-GCM(KEK, data key), AAD = bytes 0 … 15+n
    75+n     16    key check = HMAC-SHA256(data key, b"activemirror-vault key check")[:16]
    91+n     32    header checksum = SHA-256(bytes 0 … 91+n)
    123+n    12    index nonce (random, fresh on every write)
    135+n    …     AES-256-GCM(data key, index JSON), AAD = b"AMVI" ‖ version ‖ b"index"

    KEK = PBKDF2-HMAC-SHA256(NFC-normalised UTF-8 password, salt, iterations, 32 bytes)

The index JSON is ``{"generation": int, "entries": {name: {"id", "nonce", "metadata",
"created_at", "updated_at"}}}``; ``generation`` grows by one on every write and ``nonce``
is the hex nonce of the entry file the name points to.

``<entry id>.vault``::

    0        4     magic b"AMVE"
    4        1     format version (1)
    5        12    nonce (random, fresh on every write)
    17       …     AES-256-GCM(data key, entry JSON), AAD = b"AMVE" ‖ version ‖ entry id (ASCII)

The entry JSON is ``{"key": name, "value": value}``.

Why it is shaped this way:

* One random 256-bit data key encrypts everything; the password only wraps it, so a
  password change rewrites the index file (new header) and no entry.
* The header checksum is keyless on purpose: it tells *damage* (a flipped bit, a truncated
  file → :class:`VaultIntegrityError`) apart from a *wrong password* (checksum fine, key
  does not unwrap → :class:`VaultAuthError`). KDF parameters are checked against their
  bounds before any derivation, so a hostile header cannot make us work for hours.
* The key check lets a recovery key (which is the data key) be verified without touching
  the index, again separating "wrong key" from "damaged index".
* The entry id in each entry's associated data makes a file moved or swapped under another
  entry's name fail authentication; the index's record of each entry's nonce makes an older
  copy of an entry file fail too.
* A recovery key is ``amvk1-`` ‖ base64url(data key ‖ SHA-256(data key)[:4]), unpadded; the
  four check bytes catch typos before any decryption is attempted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ..errors import VaultAuthError, VaultIntegrityError

FORMAT_VERSION = 1
INDEX_MAGIC = b"AMVI"
ENTRY_MAGIC = b"AMVE"
INDEX_FILE = ".vault_index.enc"
LOCK_FILE = ".vault.lock"
ENTRY_SUFFIX = ".vault"
#: An entry file's name: 32 random hex digits (never a key's name) and the suffix.
ENTRY_FILE = re.compile(r"[0-9a-f]{32}\.vault")

KDF_PBKDF2_SHA256 = 1
DEFAULT_ITERATIONS = 600_000
MIN_ITERATIONS = 1_000
MAX_ITERATIONS = 10_000_000
SALT_BYTES = 16
MIN_SALT_BYTES = 16
MAX_SALT_BYTES = 64
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
RECOVERY_PREFIX = "amvk1-"

_FIXED = struct.Struct(">4sBBQB")  # magic, version, algorithm, iterations, salt length
_KEY_CHECK_LABEL = b"activemirror-vault key check"
_KEY_CHECK_BYTES = 16
_CHECKSUM_BYTES = 32
_WRAPPED_BYTES = KEY_BYTES + TAG_BYTES
_ENTRY_HEAD = len(ENTRY_MAGIC) + 1 + NONCE_BYTES


def is_vault_file(name: str) -> bool:
    """Whether a file of the vault folder is one of the vault's own (index or entry)."""
    return name == INDEX_FILE or bool(ENTRY_FILE.fullmatch(name))


def _integrity(path: Path | str, why: str) -> VaultIntegrityError:
    err = VaultIntegrityError(f"{path}: {why}")
    err.path = str(path)  # type: ignore[attr-defined]
    return err


@dataclass(frozen=True)
class Header:
    """The plaintext header of ``.vault_index.enc``, checked and parsed."""

    iterations: int
    salt: bytes
    wrap_nonce: bytes
    wrapped_key: bytes
    key_check: bytes
    raw: bytes  # the header's bytes exactly as on disk, checksum included

    @property
    def size(self) -> int:
        return len(self.raw)


def derive_kek(password: str, salt: bytes, iterations: int) -> bytes:
    """The key-encryption key: one PBKDF2-HMAC-SHA256 derivation (the expensive step)."""
    check_kdf_params(iterations, salt, "KDF parameters")
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, iterations=iterations)
    return kdf.derive(unicodedata.normalize("NFC", password).encode("utf-8"))


def check_kdf_params(iterations: int, salt: bytes, where: Path | str) -> None:
    """Refuse parameters outside sane bounds, before any work is done."""
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise _integrity(
            where,
            f"asks for {iterations:,} PBKDF2 iterations; this version accepts "
            f"{MIN_ITERATIONS:,} to {MAX_ITERATIONS:,}, so it refuses to derive a key",
        )
    if not MIN_SALT_BYTES <= len(salt) <= MAX_SALT_BYTES:
        raise _integrity(
            where,
            f"has a {len(salt)}-byte salt; this version accepts "
            f"{MIN_SALT_BYTES} to {MAX_SALT_BYTES} bytes, so it refuses to derive a key",
        )


def key_check(data_key: bytes) -> bytes:
    return hmac.new(data_key, _KEY_CHECK_LABEL, hashlib.sha256).digest()[:_KEY_CHECK_BYTES]


def build_header(kek: bytes, data_key: bytes, salt: bytes, iterations: int) -> bytes:
    """Header bytes wrapping ``data_key`` under ``kek`` (derived with ``salt``/``iterations``)."""
    check_kdf_params(iterations, salt, "new vault header")
    prefix = _FIXED.pack(INDEX_MAGIC, FORMAT_VERSION, KDF_PBKDF2_SHA256, iterations, len(salt))
    prefix += salt
    wrap_nonce = os.urandom(NONCE_BYTES)
    wrapped = AESGCM(kek).encrypt(wrap_nonce, data_key, prefix)
    body = prefix + wrap_nonce + wrapped + key_check(data_key)
    return body + hashlib.sha256(body).digest()


def parse_header(data: bytes, path: Path | str) -> Header:
    """Check and parse the header at the start of ``data`` (the index file's bytes).

    Raises :class:`VaultIntegrityError` naming ``path`` for anything damaged, truncated,
    from an unknown version, or with KDF parameters out of bounds.
    """
    if len(data) < _FIXED.size:
        raise _integrity(path, f"is truncated ({len(data)} bytes): not a vault index")
    magic, version, algorithm, iterations, salt_len = _FIXED.unpack_from(data)
    if magic != INDEX_MAGIC:
        raise _integrity(path, "is not an activemirror vault index (bad magic bytes)")
    if version != FORMAT_VERSION:
        raise _integrity(
            path,
            f"has vault format version {version}; this version of activemirror-jupyter "
            f"reads version {FORMAT_VERSION} (upgrade it, or the file is damaged)",
        )
    if algorithm != KDF_PBKDF2_SHA256:
        raise _integrity(path, f"names unknown key-derivation algorithm {algorithm}")
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS or not (
        MIN_SALT_BYTES <= salt_len <= MAX_SALT_BYTES
    ):
        check_kdf_params(iterations, b"\0" * salt_len, path)
    salt_end = _FIXED.size + salt_len
    end = salt_end + NONCE_BYTES + _WRAPPED_BYTES + _KEY_CHECK_BYTES + _CHECKSUM_BYTES
    if len(data) < end:
        raise _integrity(path, f"is truncated ({len(data)} bytes, header needs {end})")
    body, checksum = data[: end - _CHECKSUM_BYTES], data[end - _CHECKSUM_BYTES : end]
    if not hmac.compare_digest(hashlib.sha256(body).digest(), checksum):
        raise _integrity(path, "header is damaged (checksum mismatch)")
    pos = salt_end
    wrap_nonce = data[pos : pos + NONCE_BYTES]
    pos += NONCE_BYTES
    wrapped = data[pos : pos + _WRAPPED_BYTES]
    pos += _WRAPPED_BYTES
    return Header(
        iterations=iterations,
        salt=data[_FIXED.size : salt_end],
        wrap_nonce=wrap_nonce,
        wrapped_key=wrapped,
        key_check=data[pos : pos + _KEY_CHECK_BYTES],
        raw=data[:end],
    )


def unwrap_data_key(header: Header, kek: bytes, path: Path | str) -> bytes:
    """The data key, or :class:`VaultAuthError` if ``kek`` came from a wrong password."""
    prefix = header.raw[: _FIXED.size + len(header.salt)]
    try:
        data_key = AESGCM(kek).decrypt(header.wrap_nonce, header.wrapped_key, prefix)
    except InvalidTag:
        raise VaultAuthError(f"wrong password for the vault at {Path(path).parent}") from None
    if not hmac.compare_digest(key_check(data_key), header.key_check):
        raise _integrity(path, "header is inconsistent (key check does not match the key)")
    return data_key


def verify_data_key(header: Header, data_key: bytes, path: Path | str) -> None:
    """Raise :class:`VaultAuthError` unless ``data_key`` is this vault's (recovery keys)."""
    if not hmac.compare_digest(key_check(data_key), header.key_check):
        raise VaultAuthError(f"this recovery key does not open the vault at {Path(path).parent}")


def _index_aad() -> bytes:
    return INDEX_MAGIC + bytes([FORMAT_VERSION]) + b"index"


def _entry_aad(entry_id: str) -> bytes:
    return ENTRY_MAGIC + bytes([FORMAT_VERSION]) + entry_id.encode("ascii")


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def index_fragment(name: str, record: dict[str, Any]) -> str:
    """One ``"name":{record}`` member of the index JSON. A record never changes once
    written (every write makes a new entry id), so callers cache fragments by entry id and
    a write re-encodes one record, not the whole index."""
    return json.dumps(name, ensure_ascii=False) + ":" + _dumps(record).decode()


def index_json(generation: int, fragments: list[str]) -> bytes:
    members = ",".join(fragments)
    return f'{{"generation":{int(generation)},"entries":{{{members}}}}}'.encode()


def encrypt_index(cipher: AESGCM, index_json: bytes) -> bytes:
    """The index body: nonce ‖ AES-GCM ciphertext of the index JSON."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + cipher.encrypt(nonce, index_json, _index_aad())


def decrypt_index(cipher: AESGCM, body: bytes, path: Path | str) -> dict[str, Any]:
    if len(body) < NONCE_BYTES + TAG_BYTES:
        raise _integrity(path, "is truncated (the encrypted index is cut short)")
    try:
        plain = cipher.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], _index_aad())
    except InvalidTag:
        raise _integrity(path, "encrypted index is damaged or tampered with") from None
    try:
        index = json.loads(plain)
    except ValueError:
        raise _integrity(path, "encrypted index does not hold JSON") from None
    if not (
        isinstance(index, dict)
        and isinstance(index.get("generation"), int)
        and isinstance(index.get("entries"), dict)
    ):
        raise _integrity(path, "encrypted index has an unexpected shape")
    return index


def encrypt_entry(cipher: AESGCM, entry_id: str, payload: dict[str, Any]) -> tuple[bytes, bytes]:
    """An entry file's bytes and its nonce (which the index records)."""
    nonce = os.urandom(NONCE_BYTES)
    head = ENTRY_MAGIC + bytes([FORMAT_VERSION]) + nonce
    return head + cipher.encrypt(nonce, _dumps(payload), _entry_aad(entry_id)), nonce


def entry_nonce(data: bytes) -> bytes:
    return data[len(ENTRY_MAGIC) + 1 : _ENTRY_HEAD]


def decrypt_entry(cipher: AESGCM, entry_id: str, data: bytes, path: Path | str) -> dict[str, Any]:
    """Decrypt an entry file written for ``entry_id``; anything else is an integrity error."""
    if len(data) < _ENTRY_HEAD + TAG_BYTES:
        raise _integrity(path, f"is truncated ({len(data)} bytes): not a vault entry")
    if data[: len(ENTRY_MAGIC)] != ENTRY_MAGIC:
        raise _integrity(path, "is not a vault entry (bad magic bytes)")
    if data[len(ENTRY_MAGIC)] != FORMAT_VERSION:
        raise _integrity(path, f"has unknown entry format version {data[len(ENTRY_MAGIC)]}")
    try:
        plain = cipher.decrypt(entry_nonce(data), data[_ENTRY_HEAD:], _entry_aad(entry_id))
    except InvalidTag:
        raise _integrity(
            path, "entry is damaged, tampered with, or belongs to another entry (swapped)"
        ) from None
    try:
        payload = json.loads(plain)
    except ValueError:
        raise _integrity(path, "entry does not hold JSON") from None
    if not isinstance(payload, dict) or "key" not in payload or "value" not in payload:
        raise _integrity(path, "entry has an unexpected shape")
    return payload


def encode_recovery_key(data_key: bytes) -> str:
    raw = data_key + hashlib.sha256(data_key).digest()[:4]
    return RECOVERY_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_recovery_key(text: str) -> bytes:
    """The data key inside a recovery key; :class:`VaultAuthError` if it is not one."""
    if not isinstance(text, str):
        raise TypeError(f"a recovery key is a string, not {type(text).__name__}")
    text = text.strip()
    if not text.startswith(RECOVERY_PREFIX):
        raise VaultAuthError(f"not a vault recovery key (it should start with {RECOVERY_PREFIX!r})")
    body = text[len(RECOVERY_PREFIX) :]
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except ValueError:
        raw = b""
    data_key, check = raw[:KEY_BYTES], raw[KEY_BYTES:]
    if len(raw) != KEY_BYTES + 4 or hashlib.sha256(data_key).digest()[:4] != check:
        raise VaultAuthError("this recovery key is mistyped or incomplete (its checksum fails)")
    return data_key
