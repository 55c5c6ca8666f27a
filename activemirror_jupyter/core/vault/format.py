"""The vault file format, version 2: every byte the vault writes is described here.

A vault is a folder::

    vault/
      .vault_index.enc     plaintext header + the encrypted index (names, metadata, times)
      <entry id>.vault     one encrypted entry; the id is 32 random hex digits, never a name
      .vault.lock          empty lock file that serialises writers

The index file's header is built and checked in :mod:`.header`, everything else here.
Integers are big-endian. ``‖`` is concatenation; ``bytes a … b`` are bytes a to b−1.
AES-GCM tags (16 bytes) follow their ciphertext, as ``cryptography``'s ``AESGCM`` returns
them.

``.vault_index.enc``, version 2. The header has two parts, each with its own checksum: the
*recovery part* is all a recovery key needs, the *password part* all a password needs (with
the magic and version, which both read). Every offset is fixed, so no field of one part
decides where anything else lies::

    offset   size  field
    0        4     magic b"AMVI"
    4        1     format version (2)
                   -- recovery part
    5        16    key check = HMAC-SHA256(data key, b"activemirror-vault key check")[:16]
    21       32    recovery checksum = SHA-256(bytes 0 … 21)
                   -- password part
    53       1     KDF algorithm (1 = PBKDF2-HMAC-SHA256)
    54       8     KDF iterations (accepted: 1,000 … 10,000,000; new vaults: 600,000)
    62       16    salt (random per vault, new on every password change)
    78       12    wrap nonce (random)
    90       48    wrapped data key = AES-256-GCM(KEK, data key),
                   AAD = bytes 0 … 5 ‖ bytes 53 … 78
    138      32    password checksum = SHA-256(bytes 0 … 5 ‖ bytes 53 … 138)
                   -- the encrypted index
    170      12    index nonce (random, fresh on every write)
    182      …     AES-256-GCM(data key, index JSON), AAD = b"AMVI" ‖ version ‖ b"index"

    KEK = PBKDF2-HMAC-SHA256(NFC-normalised UTF-8 password, salt, iterations, 32 bytes)

Version 1 (written before the header was split; still read)::

    0        4     magic b"AMVI"
    4        1     format version (1)
    5        1     KDF algorithm (1 = PBKDF2-HMAC-SHA256)
    6        8     KDF iterations (accepted: 1,000 … 10,000,000)
    14       1     salt length n (accepted: 16 … 64)
    15       n     salt
    15+n     12    wrap nonce
    27+n     48    wrapped data key = AES-256-GCM(KEK, data key), AAD = bytes 0 … 15+n
    75+n     16    key check (as in version 2)
    91+n     32    header checksum = SHA-256(bytes 0 … 91+n)
    123+n    12    index nonce
    135+n    …     AES-256-GCM(data key, index JSON), AAD = b"AMVI" ‖ 1 ‖ b"index"

A version 1 vault stays version 1 through ordinary writes (its header is kept byte for
byte, as a write without the password cannot re-wrap the key); :meth:`change_password
<.memory.VaultMemory.change_password>` writes a version 2 header, so changing a password,
even to itself, upgrades the vault. Entry files are the same in both versions.

The index JSON is ``{"generation": int, "entries": {name: {"id", "nonce", "metadata",
"created_at", "updated_at"}}}``; ``generation`` grows by one on every write and ``nonce``
is the hex nonce of the entry file the name points to.

``<entry id>.vault`` (entry format version 1, in vaults of either version)::

    0        4     magic b"AMVE"
    4        1     entry format version (1)
    5        12    nonce (random, fresh on every write)
    17       …     AES-256-GCM(data key, entry JSON), AAD = b"AMVE" ‖ 1 ‖ entry id (ASCII)

The entry JSON is ``{"key": name, "value": value}``.

Why it is shaped this way:

* One random 256-bit data key encrypts everything; the password only wraps it, so a
  password change rewrites the index file (new header) and no entry.
* The checksums are keyless on purpose: they tell *damage* (a flipped bit, a truncated
  file → :class:`VaultIntegrityError`) apart from a *wrong password* (checksum fine, key
  does not unwrap → :class:`VaultAuthError`). KDF parameters are checked against their
  bounds before any derivation, so a hostile header cannot make us work for hours.
* One checksum per part, and fixed offsets, so damage to one part locks out only the
  credential that reads it: with the password part damaged the recovery key still opens
  the vault (and says what is damaged), and with the recovery part damaged the password
  still does. Damage to the magic, the version or the encrypted index stops both.
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
import json
import os
import re
import unicodedata
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ..errors import VaultAuthError, VaultIntegrityError

FORMAT_VERSION = 2  # what new headers are written as
READ_VERSIONS = (1, 2)
ENTRY_VERSION = 1
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

_ENTRY_HEAD = len(ENTRY_MAGIC) + 1 + NONCE_BYTES


def is_vault_file(name: str) -> bool:
    """Whether a file of the vault folder is one of the vault's own (index or entry)."""
    return name == INDEX_FILE or bool(ENTRY_FILE.fullmatch(name))


def integrity_error(path: Path | str, why: str) -> VaultIntegrityError:
    """A :class:`VaultIntegrityError` naming the damaged file (also as ``err.path``)."""
    err = VaultIntegrityError(f"{path}: {why}")
    err.path = str(path)  # type: ignore[attr-defined]
    return err


def derive_kek(password: str, salt: bytes, iterations: int) -> bytes:
    """The key-encryption key: one PBKDF2-HMAC-SHA256 derivation (the expensive step)."""
    check_kdf_params(iterations, salt, "KDF parameters")
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=salt, iterations=iterations)
    return kdf.derive(unicodedata.normalize("NFC", password).encode("utf-8"))


def kdf_problem(iterations: int, salt_len: int) -> str | None:
    """Why these KDF parameters are refused (out of bounds), or None."""
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        return (
            f"asks for {iterations:,} PBKDF2 iterations; this version accepts "
            f"{MIN_ITERATIONS:,} to {MAX_ITERATIONS:,}, so it refuses to derive a key"
        )
    if not MIN_SALT_BYTES <= salt_len <= MAX_SALT_BYTES:
        return (
            f"has a {salt_len}-byte salt; this version accepts "
            f"{MIN_SALT_BYTES} to {MAX_SALT_BYTES} bytes, so it refuses to derive a key"
        )
    return None


def check_kdf_params(iterations: int, salt: bytes, where: Path | str) -> None:
    """Refuse parameters outside sane bounds, before any work is done."""
    problem = kdf_problem(iterations, len(salt))
    if problem is not None:
        raise integrity_error(where, problem)


def _index_aad(version: int) -> bytes:
    return INDEX_MAGIC + bytes([version]) + b"index"


def _entry_aad(entry_id: str) -> bytes:
    return ENTRY_MAGIC + bytes([ENTRY_VERSION]) + entry_id.encode("ascii")


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


def encrypt_index(cipher: AESGCM, index_json: bytes, version: int) -> bytes:
    """The index body of a ``version`` header: nonce ‖ AES-GCM ciphertext of the index JSON."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + cipher.encrypt(nonce, index_json, _index_aad(version))


def decrypt_index(cipher: AESGCM, body: bytes, path: Path | str, version: int) -> dict[str, Any]:
    if len(body) < NONCE_BYTES + TAG_BYTES:
        raise integrity_error(path, "is truncated (the encrypted index is cut short)")
    try:
        plain = cipher.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:], _index_aad(version))
    except InvalidTag:
        raise integrity_error(path, "encrypted index is damaged or tampered with") from None
    try:
        index = json.loads(plain)
    except ValueError:
        raise integrity_error(path, "encrypted index does not hold JSON") from None
    if not (
        isinstance(index, dict)
        and isinstance(index.get("generation"), int)
        and isinstance(index.get("entries"), dict)
    ):
        raise integrity_error(path, "encrypted index has an unexpected shape")
    return index


def encrypt_entry(cipher: AESGCM, entry_id: str, payload: dict[str, Any]) -> tuple[bytes, bytes]:
    """An entry file's bytes and its nonce (which the index records)."""
    nonce = os.urandom(NONCE_BYTES)
    head = ENTRY_MAGIC + bytes([ENTRY_VERSION]) + nonce
    return head + cipher.encrypt(nonce, _dumps(payload), _entry_aad(entry_id)), nonce


def entry_nonce(data: bytes) -> bytes:
    return data[len(ENTRY_MAGIC) + 1 : _ENTRY_HEAD]


def decrypt_entry(cipher: AESGCM, entry_id: str, data: bytes, path: Path | str) -> dict[str, Any]:
    """Decrypt an entry file written for ``entry_id``; anything else is an integrity error."""
    if len(data) < _ENTRY_HEAD + TAG_BYTES:
        raise integrity_error(path, f"is truncated ({len(data)} bytes): not a vault entry")
    if data[: len(ENTRY_MAGIC)] != ENTRY_MAGIC:
        raise integrity_error(path, "is not a vault entry (bad magic bytes)")
    if data[len(ENTRY_MAGIC)] != ENTRY_VERSION:
        raise integrity_error(path, f"has unknown entry format version {data[len(ENTRY_MAGIC)]}")
    try:
        plain = cipher.decrypt(entry_nonce(data), data[_ENTRY_HEAD:], _entry_aad(entry_id))
    except InvalidTag:
        raise integrity_error(
            path, "entry is damaged, tampered with, or belongs to another entry (swapped)"
        ) from None
    try:
        payload = json.loads(plain)
    except ValueError:
        raise integrity_error(path, "entry does not hold JSON") from None
    if not isinstance(payload, dict) or "key" not in payload or "value" not in payload:
        raise integrity_error(path, "entry has an unexpected shape")
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
