"""Who you are across your devices: :class:`Identity`, a name and a secret 256-bit sync key,
kept in the vault.

**In the vault.** One entry, :data:`ENTRY_KEY` (``"activemirror.identity"``, category
``private``, metadata ``{"kind": "sync-identity"}``), encrypted like every other entry. Its
value is ``{"format": 1, "name": …, "key": <64 lowercase hex digits>, "remote": <str> |
null, "created_at": <ISO 8601>}``. One identity per vault: :meth:`Identity.create` refuses
a vault that has one. (Create checks, then writes: two processes creating an identity in
one vault at the same instant would leave the later one.)

**The key stays in the vault.** An :class:`Identity` holds the name, the fingerprint and the
remote, never the key: each use of the key (:meth:`~Identity.pairing_code`,
:meth:`~Identity.cipher_key`) reads it from the vault, so once the vault is locked they
raise :class:`VaultLockedError`, and nothing of the key is in the object to show. The key
is in no repr, no exception message, no log line (this module logs nothing).

**What the sync code uses.** :meth:`Identity.cipher_key` gives a 256-bit subkey per
*purpose*: HKDF-SHA256 (RFC 5869) of the sync key, no salt, info
``b"activemirror-jupyter/sync/v1/" + purpose``. Purposes are short lowercase names —
``"folder-files"`` (AES-256-GCM of what a device writes to a folder), ``"file-names"``
(names derived from content) and whatever the sync modules add; different purposes give
independent keys, and none of them reveals the sync key or another subkey.

**The fingerprint** is for people to compare: ``xxxx-xxxx-xxxx`` (12 Crockford base32
characters, 60 bits) of SHA-256(``b"activemirror-jupyter/identity/v1/fingerprint\\0"`` ‖
key). Every device of one identity shows the same one; another identity shows another; the
key cannot be worked back from it.

**The pairing code** carries the identity to another device (:meth:`Identity.join`): it
holds the name and the key, so it is a password. Its format (``amid1-`` and Crockford base32
in groups of 4, with a checksum that refuses any one mistyped character) is written down in
:mod:`.pairing`. A refused code stores nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..errors import PairingCodeError, VaultError
from ..models import check_unicode
from ..timeutil import from_iso, to_iso, utcnow
from ..vault import VaultCategory, VaultMemory
from . import pairing

__all__ = ["ENTRY_KEY", "Identity"]

ENTRY_KEY = "activemirror.identity"
KIND = "sync-identity"
FORMAT = 1
KEY_BYTES = pairing.KEY_BYTES  # 256 bits
MAX_NAME_LENGTH = 64
MAX_REMOTE_LENGTH = 4096

_FINGERPRINT_DOMAIN = b"activemirror-jupyter/identity/v1/fingerprint\0"
_CIPHER_DOMAIN = b"activemirror-jupyter/sync/v1/"
_PURPOSE = re.compile(r"[a-z0-9][a-z0-9.-]{0,63}")
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_DSN_SCHEMES = ("postgresql", "postgres")
_MISSING = object()


class Identity:
    """Who you are across your devices: a name and a secret sync key, kept in the vault.

    Make one with :meth:`create`, read it with :meth:`load`, carry it to another device
    with :meth:`pairing_code` and :meth:`join`. ``repr`` shows the name and the
    fingerprint only.
    """

    __slots__ = ("_created_at", "_fingerprint", "_name", "_remote", "_vault")

    def __init__(self, vault: VaultMemory, record: _Record) -> None:
        # Internal: use create / load / join. The record's key is not kept.
        self._vault = vault
        self._name = record.name
        self._fingerprint = _fingerprint(record.key)
        self._remote = record.remote
        self._created_at = record.created_at

    # ---------------------------------------------------------------- making and reading

    @classmethod
    def create(
        cls, vault: VaultMemory, name: str, remote: str | os.PathLike[str] | None = None
    ) -> Identity:
        """Make a new identity with a fresh random key in the unlocked ``vault``.

        ``name`` is up to 64 characters of text (surrounding spaces dropped); ``remote`` is
        where this device syncs: a folder (kept as an absolute path) or a
        ``postgresql://`` DSN, or None. A vault that already has an identity raises
        :class:`VaultError`; a locked one :class:`VaultLockedError`.
        """
        name = _check_name(name)
        remote = _check_remote(remote)
        _check_vault(vault)
        existing = _read(vault)
        if existing is not None:
            raise VaultError(
                f"the vault at {vault.vault_path} already has an identity, {existing.name!r} "
                f"(fingerprint {_fingerprint(existing.key)}); one vault holds one identity: "
                "Identity.load(vault) reads it"
            )
        record = _Record(name, os.urandom(KEY_BYTES), remote, to_iso(utcnow()))
        _write(vault, record)
        return cls(vault, record)

    @classmethod
    def load(cls, vault: VaultMemory) -> Identity:
        """The identity kept in ``vault``: :class:`VaultError` if there is none (or its entry
        is damaged), :class:`VaultLockedError` if the vault is locked."""
        _check_vault(vault)
        record = _read(vault)
        if record is None:
            raise VaultError(
                f"the vault at {vault.vault_path} has no identity: make one with "
                "Identity.create(vault, name), or bring one from another device with "
                "Identity.join(vault, code)"
            )
        return cls(vault, record)

    @classmethod
    def join(
        cls, vault: VaultMemory, code: str, remote: str | os.PathLike[str] | None = None
    ) -> Identity:
        """Keep the identity of a pairing code (from :meth:`pairing_code` on another device)
        in the unlocked ``vault``, with this device's ``remote``.

        A mistyped or incomplete code raises :class:`PairingCodeError` (a ``ValueError``)
        and stores nothing. Joining the identity the vault already has is fine: it is
        returned as kept (a ``remote`` given replaces the one kept). A vault with another
        identity raises :class:`VaultError` and is left as it is.
        """
        raw_name, key = pairing.decode(code)
        try:
            name = _check_name(raw_name)
        except ValueError:
            raise PairingCodeError("this pairing code holds no usable name") from None
        remote = _check_remote(remote)
        _check_vault(vault)
        existing = _read(vault)
        if existing is not None:
            if existing.key != key:
                raise VaultError(
                    f"the vault at {vault.vault_path} already has another identity, "
                    f"{existing.name!r} (fingerprint {_fingerprint(existing.key)}); the code "
                    f"is for {name!r} (fingerprint {_fingerprint(key)}). One vault holds one "
                    "identity: join with another vault; nothing was changed"
                )
            identity = cls(vault, existing)
            if remote is not None and remote != existing.remote:
                identity.set_remote(remote)
            return identity
        record = _Record(name, key, remote, to_iso(utcnow()))
        _write(vault, record)
        return cls(vault, record)

    # ---------------------------------------------------------------- what it is

    @property
    def name(self) -> str:
        return self._name

    @property
    def fingerprint(self) -> str:
        """``xxxx-xxxx-xxxx``: the same on every device of this identity, never the key."""
        return self._fingerprint

    @property
    def remote(self) -> str | None:
        """Where this device syncs: a folder (absolute path), a ``postgresql://`` DSN, or
        None."""
        return self._remote

    @property
    def created_at(self) -> datetime:
        """When the identity was made, or joined on this device."""
        return from_iso(self._created_at)

    def __repr__(self) -> str:
        return f"Identity(name={self._name!r}, fingerprint={self._fingerprint!r})"

    # ---------------------------------------------------------------- what it does

    def set_remote(self, remote: str | os.PathLike[str] | None) -> None:
        """Keep a new remote for this device in the vault (checked as in :meth:`create`;
        None clears it)."""
        checked = _check_remote(remote)
        record = self._current()
        record.remote = checked
        _write(self._vault, record)
        self._remote = checked

    def pairing_code(self) -> str:
        """The code that carries this identity to another device (:meth:`join`). It holds
        the key: treat it as a password — type or paste it, never log or store it."""
        record = self._current()
        return pairing.encode(record.name, record.key)

    def cipher_key(self, purpose: str) -> bytes:
        """A 256-bit key for one ``purpose`` (e.g. ``"folder-files"``), derived from the
        sync key with HKDF-SHA256; the same on every device of this identity."""
        if not isinstance(purpose, str) or not _PURPOSE.fullmatch(purpose):
            raise ValueError(
                "a key purpose is a short lowercase name (a-z, 0-9, '-', '.'; at most 64 "
                f"characters), such as 'folder-files', not {purpose!r}"
            )
        hkdf = HKDF(
            algorithm=hashes.SHA256(),
            length=KEY_BYTES,
            salt=None,
            info=_CIPHER_DOMAIN + purpose.encode("ascii"),
        )
        return hkdf.derive(self._current().key)

    def _current(self) -> _Record:
        """The record in the vault, which must still be this identity."""
        record = _read(self._vault)
        if record is None or _fingerprint(record.key) != self._fingerprint:
            raise VaultError(
                f"the identity {self._name!r} (fingerprint {self._fingerprint}) is no longer "
                f"in the vault at {self._vault.vault_path}: it was deleted or replaced; "
                "Identity.load(vault) reads what is there now"
            )
        return record


class _Record:
    """The entry's contents, with the key hidden from ``repr``."""

    __slots__ = ("created_at", "key", "name", "remote")

    def __init__(self, name: str, key: bytes, remote: str | None, created_at: str) -> None:
        self.name = name
        self.key = key
        self.remote = remote
        self.created_at = created_at

    def __repr__(self) -> str:
        return f"_Record(name={self.name!r}, key=<hidden>, remote=…)"


# -------------------------------------------------------------------- the vault entry


def _check_vault(vault: object) -> None:
    if not isinstance(vault, VaultMemory):
        raise TypeError(f"an identity is kept in a VaultMemory, not {type(vault).__name__}")


def _write(vault: VaultMemory, record: _Record) -> None:
    value = {
        "format": FORMAT,
        "name": record.name,
        "key": record.key.hex(),
        "remote": record.remote,
        "created_at": record.created_at,
    }
    vault.store(ENTRY_KEY, value, metadata={"category": VaultCategory.PRIVATE, "kind": KIND})


def _read(vault: VaultMemory) -> _Record | None:
    """The identity entry of ``vault``, None if it has none; :class:`VaultError` if the
    entry is there but is not an identity this version reads."""
    value = vault.retrieve(ENTRY_KEY, _MISSING)
    if value is _MISSING:
        return None

    def damaged(what: str) -> VaultError:
        return VaultError(
            f"the vault entry {ENTRY_KEY!r} in {vault.vault_path} is not an identity this "
            f"version can read ({what}): it is damaged or was written by something else; "
            f"delete it (vault.delete({ENTRY_KEY!r})) only if you have the identity elsewhere"
        )

    if not isinstance(value, dict):
        raise damaged(f"a {type(value).__name__}, not an object")
    version = value.get("format")
    if type(version) is int and version > FORMAT:
        raise damaged(f"format {version}, from a newer activemirror-jupyter")
    if type(version) is not int or version != FORMAT:
        raise damaged("no known format")
    key = value.get("key")
    if not (isinstance(key, str) and re.fullmatch(r"[0-9a-f]{64}", key)):
        raise damaged("its key is not 64 hex digits")
    try:
        name = _check_name(value.get("name"))
        remote = _check_remote(value.get("remote"))
        created_at = value.get("created_at")
        from_iso(created_at)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise damaged(str(err)) from None
    return _Record(name, bytes.fromhex(key), remote, created_at)  # type: ignore[arg-type]


# -------------------------------------------------------------------- checks


def _check_name(name: object) -> str:
    if not isinstance(name, str):
        raise TypeError(f"an identity's name is text, not {type(name).__name__}")
    name = name.strip()
    if not name:
        raise ValueError("an identity's name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"an identity's name is at most {MAX_NAME_LENGTH} characters, not {len(name):,}"
        )
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in name):
        raise ValueError("an identity's name must not contain control characters or line breaks")
    check_unicode(name, "the identity's name")
    return name


def _check_remote(remote: object) -> str | None:
    """None, a ``postgresql://`` DSN as given, or a folder as an absolute path. Messages
    never repeat the remote (a DSN may hold a password)."""
    if remote is None:
        return None
    if isinstance(remote, os.PathLike):
        remote = os.fspath(remote)
    if not isinstance(remote, str):
        raise TypeError(
            "a remote is a folder (str or path) or a postgresql:// DSN, not "
            f"{type(remote).__name__}"
        )
    if not remote.strip():
        raise ValueError("a remote must not be empty (None means no remote)")
    if len(remote) > MAX_REMOTE_LENGTH:
        raise ValueError(f"a remote is at most {MAX_REMOTE_LENGTH:,} characters")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in remote):
        raise ValueError("a remote must not contain control characters or line breaks")
    check_unicode(remote, "the remote")
    url = _URL.match(remote)
    if url is not None:
        if url.group(1).lower() in _DSN_SCHEMES:
            return remote
        raise ValueError(
            f"a remote is a folder or a postgresql:// DSN; {url.group(1)}:// is neither "
            "(give a folder as a path)"
        )
    return str(Path(remote).expanduser().absolute())


# -------------------------------------------------------------------- fingerprint


def _fingerprint(key: bytes) -> str:
    digest = hashlib.sha256(_FINGERPRINT_DOMAIN + key).digest()
    text = pairing.base32(digest[:8])[:12]
    return "-".join(text[i : i + 4] for i in range(0, 12, 4))
