"""The header of ``.vault_index.enc``: written as version 2, read as version 1 or 2. The
byte layout of both is in :mod:`.format`'s docstring; this module builds and checks it.

A version 2 header keeps what a recovery key needs (the key check) apart from what a
password needs (KDF parameters, salt, wrapped key), each part under its own checksum, so
damage to one part is reported by the path that reads it and does not stop the other.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import VaultAuthError, VaultIntegrityError
from .format import (
    FORMAT_VERSION,
    INDEX_MAGIC,
    KDF_PBKDF2_SHA256,
    KEY_BYTES,
    NONCE_BYTES,
    READ_VERSIONS,
    SALT_BYTES,
    TAG_BYTES,
    check_kdf_params,
    integrity_error,
    kdf_problem,
)

_KEY_CHECK_LABEL = b"activemirror-vault key check"
_KEY_CHECK_BYTES = 16
_CHECKSUM_BYTES = 32
_WRAPPED_BYTES = KEY_BYTES + TAG_BYTES
_LEAD = 5  # magic and version: the bytes both parts are read with
# version 2: magic, version | key check, recovery checksum | algorithm, iterations, salt,
# wrap nonce, wrapped key, password checksum (offsets in the docstring)
_V2 = struct.Struct(f">4sB{_KEY_CHECK_BYTES}s32sBQ{SALT_BYTES}s{NONCE_BYTES}s{_WRAPPED_BYTES}s32s")
_RECOVERY = slice(_LEAD, _LEAD + _KEY_CHECK_BYTES + _CHECKSUM_BYTES)  # bytes 5 … 53
_PASSWORD = slice(_RECOVERY.stop, _V2.size)  # bytes 53 … 170
_WRAP_AAD_END = _PASSWORD.start + 1 + 8 + SALT_BYTES  # 78
_V1 = struct.Struct(">4sBBQB")  # magic, version, algorithm, iterations, salt length


@dataclass(frozen=True)
class Header:
    """The plaintext header of ``.vault_index.enc``, checked and parsed.

    ``password_problem`` / ``recovery_problem`` say why the password / a recovery key cannot
    be used with it (a damaged part, unusable KDF parameters), or are None; a version 1
    header has a single checksum, so there any problem is raised at once instead."""

    version: int
    iterations: int
    salt: bytes
    wrap_nonce: bytes
    wrapped_key: bytes
    wrap_aad: bytes
    key_check: bytes
    raw: bytes  # the header's bytes exactly as on disk, checksums included
    password_problem: str | None = None
    recovery_problem: str | None = None

    @property
    def size(self) -> int:
        return len(self.raw)


def key_check(data_key: bytes) -> bytes:
    return hmac.new(data_key, _KEY_CHECK_LABEL, hashlib.sha256).digest()[:_KEY_CHECK_BYTES]


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def build_header(kek: bytes, data_key: bytes, salt: bytes, iterations: int) -> bytes:
    """Version 2 header bytes wrapping ``data_key`` under ``kek`` (derived with
    ``salt``/``iterations``)."""
    check_kdf_params(iterations, salt, "new vault header")
    if len(salt) != SALT_BYTES:
        raise ValueError(f"a version {FORMAT_VERSION} header holds a {SALT_BYTES}-byte salt")
    lead = INDEX_MAGIC + bytes([FORMAT_VERSION])
    check = key_check(data_key)
    recovery = check + _sha256(lead + check)
    params = struct.pack(">BQ", KDF_PBKDF2_SHA256, iterations) + salt
    wrap_nonce = os.urandom(NONCE_BYTES)
    wrapped = AESGCM(kek).encrypt(wrap_nonce, data_key, lead + params)
    password = params + wrap_nonce + wrapped
    return lead + recovery + password + _sha256(lead + password)


def parse_header(data: bytes, path: Path | str) -> Header:
    """Check and parse the header at the start of ``data`` (the index file's bytes).

    Raises :class:`VaultIntegrityError` naming ``path`` if the file is truncated, is not a
    vault index, or is from an unknown version (and, for version 1, for any damage). In a
    version 2 header, damage to one part is recorded in the :class:`Header` instead, and
    reported by the path that needs that part (:func:`password_part_error`,
    :func:`recovery_part_error`).
    """
    if len(data) < _LEAD:
        raise integrity_error(path, f"is truncated ({len(data)} bytes): not a vault index")
    if data[:4] != INDEX_MAGIC:
        raise integrity_error(path, "is not an activemirror vault index (bad magic bytes)")
    version = data[4]
    if version == 1:
        return _parse_v1(data, path)
    if version != FORMAT_VERSION:
        raise integrity_error(
            path,
            f"has vault format version {version}; this version of activemirror-jupyter "
            f"reads versions {READ_VERSIONS[0]} to {READ_VERSIONS[-1]} (upgrade it, or the "
            "file is damaged)",
        )
    return _parse_v2(data, path)


def _parse_v2(data: bytes, path: Path | str) -> Header:
    """A version 2 header: each part's problem is recorded, none raised (see above)."""
    if len(data) < _V2.size:
        raise integrity_error(path, f"is truncated ({len(data)} bytes, header needs {_V2.size})")
    raw = data[: _V2.size]
    (
        _,
        version,
        check,
        recovery_sum,
        algorithm,
        iterations,
        salt,
        wrap_nonce,
        wrapped,
        password_sum,
    ) = _V2.unpack_from(raw)
    lead = raw[:_LEAD]
    recovery_problem = password_problem = None
    if not hmac.compare_digest(_sha256(raw[: _RECOVERY.stop - _CHECKSUM_BYTES]), recovery_sum):
        recovery_problem = "the header's recovery part is damaged (checksum mismatch)"
    if not hmac.compare_digest(_sha256(lead + raw[_PASSWORD][:-_CHECKSUM_BYTES]), password_sum):
        password_problem = "the header's password part is damaged (checksum mismatch)"
    elif algorithm != KDF_PBKDF2_SHA256:
        password_problem = f"the header names unknown key-derivation algorithm {algorithm}"
    elif kdf_problem(iterations, len(salt)) is not None:
        password_problem = f"the header {kdf_problem(iterations, len(salt))}"
    return Header(
        version=version,
        iterations=iterations,
        salt=salt,
        wrap_nonce=wrap_nonce,
        wrapped_key=wrapped,
        wrap_aad=lead + raw[_PASSWORD.start : _WRAP_AAD_END],
        key_check=check,
        raw=raw,
        password_problem=password_problem,
        recovery_problem=recovery_problem,
    )


def _parse_v1(data: bytes, path: Path | str) -> Header:
    """A version 1 header: one checksum over everything, so any damage is raised here."""
    if len(data) < _V1.size:
        raise integrity_error(path, f"is truncated ({len(data)} bytes): not a vault index")
    _, version, algorithm, iterations, salt_len = _V1.unpack_from(data)
    if algorithm != KDF_PBKDF2_SHA256:
        raise integrity_error(path, f"names unknown key-derivation algorithm {algorithm}")
    problem = kdf_problem(iterations, salt_len)
    if problem is not None:
        raise integrity_error(path, problem)
    salt_end = _V1.size + salt_len
    end = salt_end + NONCE_BYTES + _WRAPPED_BYTES + _KEY_CHECK_BYTES + _CHECKSUM_BYTES
    if len(data) < end:
        raise integrity_error(path, f"is truncated ({len(data)} bytes, header needs {end})")
    body, checksum = data[: end - _CHECKSUM_BYTES], data[end - _CHECKSUM_BYTES : end]
    if not hmac.compare_digest(_sha256(body), checksum):
        raise integrity_error(path, "header is damaged (checksum mismatch)")
    pos = salt_end + NONCE_BYTES + _WRAPPED_BYTES
    return Header(
        version=version,
        iterations=iterations,
        salt=data[_V1.size : salt_end],
        wrap_nonce=data[salt_end : salt_end + NONCE_BYTES],
        wrapped_key=data[salt_end + NONCE_BYTES : pos],
        wrap_aad=data[:salt_end],
        key_check=data[pos : pos + _KEY_CHECK_BYTES],
        raw=data[:end],
    )


def password_part_error(header: Header, path: Path | str) -> VaultIntegrityError | None:
    """Why no password can open the vault with this header, or None: raised on the password
    path, a warning on the recovery path."""
    if header.password_problem is None:
        return None
    return _part_error(header, path, "password")


def recovery_part_error(header: Header, path: Path | str) -> VaultIntegrityError | None:
    """Why no recovery key can open the vault with this header, or None: raised on the
    recovery path, a warning on the password path."""
    if header.recovery_problem is None:
        return None
    return _part_error(header, path, "recovery")


def _part_error(header: Header, path: Path | str, part: str) -> VaultIntegrityError:
    password, recovery = header.password_problem, header.recovery_problem
    if password is not None and recovery is not None:
        why = f"{password}, and {recovery}: neither the password nor a recovery key can open it"
    elif part == "password":
        why = (
            f"{password}: no password can open the vault. Its recovery key still can "
            "(VaultMemory(vault_path=…, key=…)); change_password(recovery key, new password) "
            "then writes a sound header"
        )
    else:
        why = (
            f"{recovery}: no recovery key can open the vault. Its password still can; "
            "change_password(password, new password) then writes a sound header"
        )
    return integrity_error(path, why)


def unwrap_data_key(header: Header, kek: bytes, path: Path | str) -> bytes:
    """The data key, or :class:`VaultAuthError` if ``kek`` came from a wrong password."""
    try:
        data_key = AESGCM(kek).decrypt(header.wrap_nonce, header.wrapped_key, header.wrap_aad)
    except InvalidTag:
        raise VaultAuthError(f"wrong password for the vault at {Path(path).parent}") from None
    if header.recovery_problem is None and not hmac.compare_digest(
        key_check(data_key), header.key_check
    ):
        raise integrity_error(path, "header is inconsistent (key check does not match the key)")
    return data_key


def verify_data_key(header: Header, data_key: bytes, path: Path | str) -> None:
    """Raise :class:`VaultAuthError` unless ``data_key`` is this vault's (recovery keys), or
    :class:`VaultIntegrityError` if the header's recovery part is damaged."""
    damage = recovery_part_error(header, path)
    if damage is not None:
        raise damage
    if not hmac.compare_digest(key_check(data_key), header.key_check):
        raise VaultAuthError(f"this recovery key does not open the vault at {Path(path).parent}")


def check_reread(header: Header, known: Header, data_key: bytes, path: Path | str) -> None:
    """An open vault re-reads its index because another writer replaced it: damage that was
    not in the header it knew (``known``) is an error, as is a header for another key.
    Damage it was opened with, and warned of, is not reported again."""
    if header.recovery_problem is not None and header.raw[_RECOVERY] != known.raw[_RECOVERY]:
        raise _part_error(header, path, "recovery")
    if header.password_problem is not None and header.raw[_PASSWORD] != known.raw[_PASSWORD]:
        raise _part_error(header, path, "password")
    if header.recovery_problem is None and not hmac.compare_digest(
        header.key_check, key_check(data_key)
    ):
        raise integrity_error(
            path, "the vault was replaced by one with a different key; unlock it again"
        )
