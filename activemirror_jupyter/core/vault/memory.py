"""Tier 3, the vault: :class:`VaultMemory`, encrypted key/value entries with metadata,
unlocked by a password.

The bytes on disk are described (and only produced) in :mod:`.format`; what an entry is and
the checks on its name, value and metadata in :mod:`.entries`; migration from
ActiveMirrorOS vaults in :mod:`.legacy`.

How writes stay safe:

* Every file is replaced atomically: a temporary file in the vault folder, flushed and
  fsynced, ``os.replace``-d over the target, then the folder is fsynced.
* Each write of an entry goes to a *fresh* ``<random id>.vault`` file, made durable before
  the index that points to it; the old file is removed only afterwards. A crash therefore
  leaves at worst an orphaned entry file, which no name points to: it is never shown and
  is removed by the next write.
* Writers hold ``.vault.lock`` (``filelock``) and re-read the index under it, so two
  processes writing one vault never lose each other's entries. Readers need no lock: they
  see whole files only, and notice another process's write by the index's fresh nonce.

Size: a little over 400 lines because it is one class, the vault's public API; the format,
entries, signing and files are already apart.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from filelock import FileLock

from ..errors import VaultAuthError, VaultError, VaultIntegrityError, VaultLockedError
from ..fsutil import PRIVATE, atomic_write
from ..paths import default_vault_path
from ..timeutil import from_iso, to_iso, utcnow
from . import format as fmt
from . import header as hdr
from . import signing
from .entries import (
    VaultCategory,
    VaultEntry,
    check_json_value,
    check_key,
    normalise_metadata,
    shown_metadata,
    value_text,
)
from .unlocked import UnlockedVault, open_with_key, open_with_password, unlink

__all__ = ["VaultMemory"]


class VaultMemory:
    """An encrypted vault of key/value entries with metadata.

    ``VaultMemory(password)`` opens the vault at ``$ACTIVEMIRROR_HOME/vault`` (creating it
    with that password if there is none); ``VaultMemory(vault_path=…, key=…)`` opens it with
    a recovery key from :meth:`export_key`. With neither, the object starts locked and
    :meth:`unlock` opens it later. ``kdf_iterations`` is used only when a vault is created,
    or when :meth:`change_password` replaces a damaged header (default 600,000; tests may
    pass a smaller count, which the header records).

    Unlocking costs one key derivation; nothing after it derives again. The password is
    used and forgotten: only the random data key stays in memory until :meth:`lock`.
    """

    def __init__(
        self,
        password: str | None = None,
        vault_path: str | os.PathLike[str] | None = None,
        *,
        key: str | None = None,
        kdf_iterations: int | None = None,
    ) -> None:
        self._path = (
            Path(vault_path).expanduser() if vault_path is not None else default_vault_path()
        )
        if kdf_iterations is not None and not (
            isinstance(kdf_iterations, int)
            and fmt.MIN_ITERATIONS <= kdf_iterations <= fmt.MAX_ITERATIONS
        ):
            raise ValueError(
                f"kdf_iterations must be an int from {fmt.MIN_ITERATIONS:,} to "
                f"{fmt.MAX_ITERATIONS:,}, not {kdf_iterations!r}"
            )
        self._new_iterations = kdf_iterations or fmt.DEFAULT_ITERATIONS
        self._mutex = threading.RLock()
        self._file_lock = FileLock(str(self._path / fmt.LOCK_FILE))
        self._open: UnlockedVault | None = None
        if password is not None or key is not None:
            self.unlock(password, key=key)

    # ---------------------------------------------------------------- state

    @property
    def vault_path(self) -> Path:
        """The vault's folder."""
        return self._path

    @property
    def exists(self) -> bool:
        """Whether there is a vault at :attr:`vault_path` (else unlocking creates one)."""
        return self._index_path.exists()

    @property
    def is_locked(self) -> bool:
        return self._open is None

    def __repr__(self) -> str:
        state = "locked" if self.is_locked else "unlocked"
        return f"VaultMemory(vault_path={str(self._path)!r}, {state})"

    def __enter__(self) -> VaultMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock()

    def __reduce__(self) -> Any:
        # Pickling would write the unlocked data key to wherever the pickle goes.
        raise TypeError("a VaultMemory cannot be pickled or copied: it may hold the vault's key")

    @property
    def _index_path(self) -> Path:
        return self._path / fmt.INDEX_FILE

    def _unlocked(self) -> UnlockedVault:
        if self._open is None:
            raise VaultLockedError(
                f"the vault at {self._path} is locked: unlock it with its password first"
            )
        return self._open

    # ---------------------------------------------------------------- lock / unlock

    def unlock(self, password: str | None = None, *, key: str | None = None) -> None:
        """Open the vault with its password or a recovery key (creating it if absent and a
        password is given). A wrong password raises :class:`VaultAuthError` and changes
        nothing, on disk or in this object. A damaged header raises
        :class:`VaultIntegrityError` naming the file; when only the part the *other* way in
        reads is damaged, the vault opens and a ``RuntimeWarning`` says what is damaged."""
        if (password is None) == (key is None):
            raise ValueError("unlock needs either a password or a recovery key (key=…), not both")
        with self._mutex:
            if password is not None:
                _check_password(password)
                if not self._index_path.exists():
                    self._create(password)
                    return
                opened = open_with_password(self._path, password)
                damage = hdr.recovery_part_error(opened.header, self._index_path)
            else:
                data_key = fmt.decode_recovery_key(key)  # type: ignore[arg-type]
                if not self._index_path.exists():
                    raise VaultError(
                        f"no vault at {self._path}; a new vault is created with a password"
                    )
                opened = open_with_key(self._path, data_key)
                damage = hdr.password_part_error(opened.header, self._index_path)
            self._set_open(opened)
        if damage is not None:  # opened, but the other way in is damaged: say so
            warnings.warn(str(damage), RuntimeWarning, stacklevel=2)

    def lock(self) -> None:
        """Forget the key and every decrypted name; any use then raises VaultLockedError."""
        self._set_open(None)

    def _set_open(self, opened: UnlockedVault | None) -> None:
        with self._mutex:
            if self._open is not None:
                self._open.wipe()
            self._open = opened

    def _create(self, password: str) -> None:
        self._path.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._file_lock:
            if self._index_path.exists():  # another process created it meanwhile
                self.unlock(password)
                return
            data_key = os.urandom(fmt.KEY_BYTES)
            salt = os.urandom(fmt.SALT_BYTES)
            kek = fmt.derive_kek(password, salt, self._new_iterations)
            header_bytes = hdr.build_header(kek, data_key, salt, self._new_iterations)
            header = hdr.parse_header(header_bytes, self._index_path)
            index_json = fmt.index_json(0, [])
            data = header_bytes + fmt.encrypt_index(AESGCM(data_key), index_json, header.version)
            atomic_write(self._index_path, data, mode=PRIVATE)
            index: dict[str, Any] = {"generation": 0, "entries": {}}
            self._set_open(UnlockedVault(self._path, data_key, header, index, data))

    @contextlib.contextmanager
    def _writing(self) -> Iterator[UnlockedVault]:
        """Hold the in-process and cross-process locks around a read-modify-write of the
        index; yields the open vault with its index freshly read."""
        with self._mutex:
            vault = self._unlocked()
            with self._file_lock:
                vault.refresh()
                yield vault
                if not vault.swept:
                    vault.sweep()

    @staticmethod
    def _entry(name: str, record: dict[str, Any], value: Any = None) -> VaultEntry:
        return VaultEntry(
            key=name,
            value=value,
            metadata=shown_metadata(record["metadata"]),
            created_at=from_iso(record["created_at"]),
            updated_at=from_iso(record["updated_at"]),
        )

    # ---------------------------------------------------------------- the API

    def store(self, key: str, value: Any, metadata: dict[str, Any] | None = None) -> None:
        """Store ``value`` (any JSON value) under ``key``. Overwriting keeps ``created_at``,
        and keeps the old metadata unless new ``metadata`` is given (``{}`` clears it)."""
        name = check_key(key)
        check_json_value(value)
        meta = normalise_metadata(metadata) if metadata is not None else None
        self._store_many([(name, value, meta, None, None)], on_conflict="replace")

    def _store_many(
        self,
        items: list[tuple[str, Any, dict[str, Any] | None, str | None, str | None]],
        on_conflict: str,
    ) -> list[str]:
        """Write entries ``(name, value, metadata, created_at, updated_at)`` with one index
        write; returns the names written. Entry files are durable before the index."""
        with self._writing() as vault:
            entries = vault.index["entries"]
            clashes = sorted(name for name, *_ in items if name in entries)
            if clashes and on_conflict == "error":
                raise VaultError(
                    f"already in the vault: {', '.join(map(repr, clashes))}; nothing was "
                    "imported (on_conflict='skip' keeps them, 'replace' overwrites them)"
                )
            new_entries = dict(entries)
            written: list[str] = []
            replaced: list[str] = []
            try:
                for name, value, meta, created, updated in items:
                    old = new_entries.get(name)
                    if old is not None and on_conflict == "skip":
                        continue
                    now = to_iso(utcnow())
                    record = vault.write_entry(name, value)
                    written.append(record["id"])
                    if meta is None:
                        meta = old["metadata"] if old is not None else {}
                    record["metadata"] = meta
                    record["created_at"] = created or (old["created_at"] if old else now)
                    record["updated_at"] = updated or now
                    new_entries[name] = record
                    if old is not None:
                        replaced.append(old["id"])
                if written:
                    vault.commit(new_entries)
            except BaseException:
                # Files written but perhaps never pointed to: the next write sweeps them,
                # judging by the index on disk (deleting here could race a finished commit).
                vault.swept = False
                raise
            for entry_id in replaced:
                unlink(vault.entry_path(entry_id))
            return [name for name, *_ in items if new_entries.get(name, {}).get("id") in written]

    def retrieve(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key`` (same JSON type as stored), or ``default``."""
        name = check_key(key)
        with self._mutex:
            vault = self._unlocked()
            record = vault.refresh()["entries"].get(name)
            if record is None:
                return default
            if signing.is_signing_key(record["metadata"]):
                raise VaultError(
                    f"{name!r} is the vault's signing key: it signs sealed sessions "
                    "(VaultMemory.sign) and never leaves the vault"
                )
            return vault.read_entry(name, record)

    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it existed."""
        name = check_key(key)
        with self._writing() as vault:
            old = vault.index["entries"].get(name)
            if old is None:
                return False
            vault.commit({k: v for k, v in vault.index["entries"].items() if k != name})
            unlink(vault.entry_path(old["id"]))
            return True

    def list_entries(
        self, category: VaultCategory | str | None = None, tag: str | None = None
    ) -> list[VaultEntry]:
        """Entries sorted by key, with metadata and times but no values (``value`` is None)."""
        wanted = VaultCategory.coerce(category).value if category is not None else None
        if tag is not None and not isinstance(tag, str):
            raise TypeError(f"tag must be a string, not {type(tag).__name__}")
        with self._mutex:
            entries = self._unlocked().refresh()["entries"]
            out = []
            for name in sorted(entries):
                meta = entries[name]["metadata"]
                if wanted is not None and meta.get("category") != wanted:
                    continue
                if tag is not None and tag not in meta.get("tags", []):
                    continue
                out.append(self._entry(name, entries[name]))
            return out

    def search(self, query: str) -> list[VaultEntry]:
        """Entries (with values) whose key, value text, category or tags contain ``query``,
        ignoring case; sorted by key. A damaged entry is skipped with a warning naming its
        file, so one bad file does not hide the rest."""
        if not isinstance(query, str):
            raise TypeError(f"a search query is a string, not {type(query).__name__}")
        needle = query.casefold()
        with self._mutex:
            vault = self._unlocked()
            entries = vault.refresh()["entries"]
            out = []
            for name in sorted(entries):
                record = entries[name]
                meta = record["metadata"]
                try:
                    value = None
                    if not signing.is_signing_key(meta):  # its value is never shown
                        value = vault.read_entry(name, record)
                except VaultIntegrityError as err:
                    warnings.warn(str(err), RuntimeWarning, stacklevel=2)
                    continue
                haystack = [name, value_text(value), str(meta.get("category") or "")]
                haystack += meta.get("tags", [])
                if any(needle in text.casefold() for text in haystack):
                    out.append(self._entry(name, record, value))
            return out

    def sign(self, payload: bytes) -> tuple[str, str]:
        """Sign ``payload`` with the vault's Ed25519 key (made on first use, kept as the
        entry ``activemirror.signing-key``, never returned); returns ``(public key,
        signature)`` as hex. A locked vault raises :class:`VaultLockedError`."""
        with self._mutex:
            vault = self._unlocked()
            record = vault.refresh()["entries"].get(signing.KEY_NAME)
            if record is None or not signing.is_signing_key(record["metadata"]):
                private, metadata = signing.new_key()
                self._store_many([(signing.KEY_NAME, private, metadata, None, None)], "replace")
                record = self._unlocked().index["entries"][signing.KEY_NAME]
            return signing.sign(vault.read_entry(signing.KEY_NAME, record), payload)

    def export_key(self) -> str:
        """A recovery key (``amvk1-…``) that opens this vault without the password:
        ``VaultMemory(vault_path=…, key=…)``. It is the vault's data key, so it keeps working
        after password changes; keep it as safe as the vault itself."""
        with self._mutex:
            return fmt.encode_recovery_key(self._unlocked().data_key)

    def change_password(self, old: str, new: str) -> None:
        """Re-wrap the data key under ``new`` (fresh salt, same iteration count) in a new
        header, which also upgrades a version 1 vault and replaces a damaged header; entries
        are not touched. ``old`` is the current password or a recovery key. A wrong ``old``
        raises :class:`VaultAuthError` and changes nothing."""
        if not isinstance(old, str):
            raise TypeError(f"the old password is a string, not {type(old).__name__}")
        _check_password(new, "the new password")
        with self._writing() as vault:
            header = vault.header
            data_key = vault.data_key
            if old.startswith(fmt.RECOVERY_PREFIX):
                try:
                    ok = secrets.compare_digest(fmt.decode_recovery_key(old), data_key)
                except VaultAuthError:
                    ok = False
            else:
                ok = False
            if not ok:
                damage = hdr.password_part_error(header, self._index_path)
                if damage is not None:  # no password can be checked against it
                    raise damage
                kek = fmt.derive_kek(old, header.salt, header.iterations)
                try:
                    unwrapped = hdr.unwrap_data_key(header, kek, self._index_path)
                except VaultAuthError:
                    raise VaultAuthError(
                        f"the current password is wrong for the vault at {self._path}; "
                        "nothing changed"
                    ) from None
                ok = secrets.compare_digest(unwrapped, data_key)
            if not ok:
                raise VaultAuthError("the current password is wrong; nothing changed")
            iterations = header.iterations
            if header.password_problem is not None:  # a damaged part's count is not trusted
                iterations = self._new_iterations
            salt = os.urandom(fmt.SALT_BYTES)
            kek = fmt.derive_kek(new, salt, iterations)
            header_bytes = hdr.build_header(kek, data_key, salt, iterations)
            # Only the index file is rewritten, with a version 2 header (its fresh nonce tells
            # other processes to re-read the header); no entry is touched.
            vault.commit(vault.index["entries"], header_bytes)

    def import_legacy(
        self, path: str | os.PathLike[str], password: str, *, on_conflict: str = "error"
    ) -> list[str]:
        """Copy every entry of an ActiveMirrorOS vault folder (Python SDK 0.2.0 Fernet or
        JavaScript SDK AES-GCM) into this vault; returns the keys imported, sorted.

        Everything is decrypted and checked before anything is written. ``on_conflict``
        for keys already here: ``"error"`` (nothing imported), ``"skip"``, ``"replace"``.
        """
        from .legacy import read_legacy_vault

        if on_conflict not in ("error", "skip", "replace"):
            raise ValueError("on_conflict must be 'error', 'skip' or 'replace'")
        self._unlocked()
        items = []
        for entry in read_legacy_vault(path, password):
            items.append(
                (entry.key, entry.value, entry.metadata, entry.created_at, entry.updated_at)
            )
        if not items:
            return []
        return sorted(self._store_many(items, on_conflict=on_conflict))


def _check_password(password: object, what: str = "the password") -> None:
    if not isinstance(password, str):
        raise TypeError(f"{what} must be a string, not {type(password).__name__}")
    if not password:
        raise ValueError(f"{what} must not be empty")
