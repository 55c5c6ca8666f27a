"""Reading ActiveMirrorOS vaults, for ``VaultMemory.import_legacy``.

Both SDKs derive one key: PBKDF2-HMAC-SHA256(password, salt ``b"activemirror_vault"``,
100,000 iterations, 32 bytes), and keep one ``<key>.vault`` file per entry holding the JSON
``{key, value, metadata, created_at|createdAt, updated_at|updatedAt}``, beside an
encrypted ``.vault_index.enc``.

* Python SDK 0.2.0: each file is a Fernet token; the Fernet key is the urlsafe-base64 of
  the derived key.
* JavaScript SDK: each file is iv (16 bytes) ‖ GCM tag (16) ‖ AES-256-GCM ciphertext under
  the raw derived key, with no associated data.

Entries are found by listing ``*.vault`` files in the folder: the old index is not needed,
and its absolute paths are stale once a folder has moved. Nothing here writes anything.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ..errors import VaultAuthError, VaultError, VaultIntegrityError
from ..timeutil import from_iso, to_iso, utcnow

LEGACY_SALT = b"activemirror_vault"
LEGACY_ITERATIONS = 100_000
_JS_IV_BYTES = 16
_JS_TAG_BYTES = 16
_FERNET_START = b"gAAAAA"  # base64 of Fernet's version byte 0x80 and a timestamp's top bytes


@dataclass(frozen=True)
class LegacyEntry:
    """One entry read from a legacy vault, already checked for this vault."""

    key: str
    value: Any
    metadata: dict[str, Any]
    created_at: str  # ISO 8601 UTC, ``…Z``
    updated_at: str
    source: Path


class _Undecryptable(Exception):
    pass


def legacy_key(password: str) -> bytes:
    """The raw 32-byte key both ActiveMirrorOS SDKs derive from a password."""
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=32, salt=LEGACY_SALT, iterations=LEGACY_ITERATIONS
    )
    return kdf.derive(password.encode("utf-8"))


def read_legacy_vault(path: str | os.PathLike[str], password: str) -> list[LegacyEntry]:
    """Decrypt and check every entry of the legacy vault folder ``path``.

    Raises :class:`VaultAuthError` if the password opens none of its files,
    :class:`VaultIntegrityError` naming the files that do not open when others do, and
    :class:`VaultError` if ``path`` holds no ActiveMirrorOS vault or an entry cannot be
    stored here (an unusable key name or a non-JSON value).
    """
    if not isinstance(password, str) or not password:
        raise ValueError("the legacy vault's password must be a non-empty string")
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise VaultError(f"no legacy vault folder at {folder}")
    files = sorted(p for p in folder.iterdir() if p.suffix == ".vault" and p.is_file())
    if not files:
        if (folder / ".vault_index.enc").is_file():
            return []
        raise VaultError(f"{folder} holds no ActiveMirrorOS vault (no .vault files, no index)")

    raw = legacy_key(password)
    fernet = Fernet(base64.urlsafe_b64encode(raw))
    aesgcm = AESGCM(raw)
    decrypted: list[tuple[Path, bytes]] = []
    failed: list[Path] = []
    for file in files:
        try:
            decrypted.append((file, _decrypt(file.read_bytes(), fernet, aesgcm)))
        except _Undecryptable:
            failed.append(file)
    if not decrypted:
        raise VaultAuthError(f"wrong password for the ActiveMirrorOS vault at {folder}")
    if failed:
        names = ", ".join(str(p) for p in failed)
        err = VaultIntegrityError(
            f"{names}: cannot be decrypted although the password opens the other files "
            "(damaged?); nothing was imported"
        )
        err.path = str(failed[0])  # type: ignore[attr-defined]
        raise err

    by_key: dict[str, LegacyEntry] = {}
    for file, plain in decrypted:
        entry = _entry(file, plain)
        kept = by_key.get(entry.key)
        if kept is None or entry.updated_at >= kept.updated_at:
            by_key[entry.key] = entry
    return [by_key[k] for k in sorted(by_key)]


def _decrypt(data: bytes, fernet: Fernet, aesgcm: AESGCM) -> bytes:
    token = data.strip()
    if token.startswith(_FERNET_START):
        try:
            return fernet.decrypt(token)
        except InvalidToken:
            raise _Undecryptable from None
    if len(data) < _JS_IV_BYTES + _JS_TAG_BYTES:
        raise _Undecryptable
    iv = data[:_JS_IV_BYTES]
    tag = data[_JS_IV_BYTES : _JS_IV_BYTES + _JS_TAG_BYTES]
    try:
        return aesgcm.decrypt(iv, data[_JS_IV_BYTES + _JS_TAG_BYTES :] + tag, None)
    except InvalidTag:
        raise _Undecryptable from None


def _entry(file: Path, plain: bytes) -> LegacyEntry:
    from .entries import check_json_value, check_key, normalise_metadata

    try:
        record = json.loads(plain)
    except ValueError:
        raise VaultError(f"{file}: decrypts, but does not hold JSON") from None
    if not isinstance(record, dict) or "value" not in record:
        raise VaultError(f"{file}: decrypts, but is not a vault entry (no 'value')")
    key = record.get("key") if isinstance(record.get("key"), str) else file.stem
    try:
        check_key(key)
        check_json_value(record["value"], f"the value of {key!r}")
        metadata = normalise_metadata(_metadata(record.get("metadata")))
    except (TypeError, ValueError) as err:
        raise VaultError(f"{file}: cannot be stored in this vault: {err}") from None
    created = _timestamp(record.get("created_at", record.get("createdAt")))
    updated = _timestamp(record.get("updated_at", record.get("updatedAt")), created)
    return LegacyEntry(key, record["value"], metadata, created, updated, file)


def _metadata(metadata: object) -> dict[str, Any]:
    """Legacy metadata, with fields this vault would refuse kept under ``legacy_<name>``."""
    from .entries import normalise_metadata

    if not isinstance(metadata, dict):
        return {} if metadata is None else {"legacy_metadata": metadata}
    out: dict[str, Any] = {}
    for k, item in metadata.items():
        try:
            normalise_metadata({k: item})
            out[k] = item
        except (TypeError, ValueError):
            out[f"legacy_{k}"] = item
    return out


def _timestamp(value: object, fallback: str | None = None) -> str:
    try:
        return to_iso(from_iso(value))  # type: ignore[arg-type]
    except ValueError:
        return fallback or to_iso(utcnow())
