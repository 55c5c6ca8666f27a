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
from ..fsutil import TMP_PREFIX, atomic_write
from ..paths import default_vault_path
from ..timeutil import from_iso, to_iso, utcnow
from . import format as fmt
from .entries import (
    VaultCategory,
    VaultEntry,
    check_json_value,
    check_key,
    normalise_metadata,
    shown_metadata,
    value_text,
)

__all__ = ["VaultMemory"]


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


class VaultMemory:
    """An encrypted vault of key/value entries with metadata.

    ``VaultMemory(password)`` opens the vault at ``$ACTIVEMIRROR_HOME/vault`` (creating it
    with that password if there is none); ``VaultMemory(vault_path=…, key=…)`` opens it with
    a recovery key from :meth:`export_key`. With neither, the object starts locked and
    :meth:`unlock` opens it later. ``kdf_iterations`` is used only when a vault is created
    (default 600,000; tests may pass a smaller count, which the header records).

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
        self._data_key: bytearray | None = None
        self._cipher: AESGCM | None = None
        self._header: fmt.Header | None = None
        self._index: dict[str, Any] | None = None
        self._index_prefix = b""  # header + index nonce of the index file last read
        self._generation = -1
        self._swept = False
        self._fragments: dict[tuple[str, str], str] = {}  # (name, entry id) → index JSON
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
        return self._cipher is None

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

    # ---------------------------------------------------------------- lock / unlock

    def unlock(self, password: str | None = None, *, key: str | None = None) -> None:
        """Open the vault with its password or a recovery key (creating it if absent and a
        password is given). A wrong password raises :class:`VaultAuthError` and changes
        nothing, on disk or in this object."""
        if (password is None) == (key is None):
            raise ValueError("unlock needs either a password or a recovery key (key=…), not both")
        with self._mutex:
            if password is not None:
                _check_password(password)
                if not self._index_path.exists():
                    self._create(password)
                    return
                data = self._read_index_bytes()
                header = fmt.parse_header(data, self._index_path)
                kek = fmt.derive_kek(password, header.salt, header.iterations)
                data_key = fmt.unwrap_data_key(header, kek, self._index_path)
            else:
                data_key = fmt.decode_recovery_key(key)  # type: ignore[arg-type]
                if not self._index_path.exists():
                    raise VaultError(
                        f"no vault at {self._path}; a new vault is created with a password"
                    )
                data = self._read_index_bytes()
                header = fmt.parse_header(data, self._index_path)
                fmt.verify_data_key(header, data_key, self._index_path)
            cipher = AESGCM(data_key)
            index = fmt.decrypt_index(cipher, data[header.size :], self._index_path)
            self._set_unlocked(data_key, cipher, header, index, data)

    def lock(self) -> None:
        """Forget the key and every decrypted name; any use then raises VaultLockedError."""
        with self._mutex:
            if self._data_key is not None:
                self._data_key[:] = bytes(len(self._data_key))  # best effort: wipe our copy
            self._data_key = None
            self._cipher = None
            self._header = None
            self._index = None
            self._index_prefix = b""
            self._generation = -1
            self._swept = False
            self._fragments = {}

    def _set_unlocked(
        self,
        data_key: bytes,
        cipher: AESGCM,
        header: fmt.Header,
        index: dict[str, Any],
        data: bytes,
    ) -> None:
        self.lock()
        self._data_key = bytearray(data_key)
        self._cipher = cipher
        self._adopt(header, index, data)

    def _adopt(self, header: fmt.Header, index: dict[str, Any], data: bytes) -> None:
        """Make ``index``, read from or written as the index file ``data``, the current one:
        the one place the index state changes (besides :meth:`lock`)."""
        self._header = header
        self._index = index
        self._index_prefix = data[: header.size + fmt.NONCE_BYTES]
        self._generation = index["generation"]

    def _create(self, password: str) -> None:
        self._path.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._file_lock:
            if self._index_path.exists():  # another process created it meanwhile
                self.unlock(password)
                return
            data_key = os.urandom(fmt.KEY_BYTES)
            salt = os.urandom(fmt.SALT_BYTES)
            kek = fmt.derive_kek(password, salt, self._new_iterations)
            header_bytes = fmt.build_header(kek, data_key, salt, self._new_iterations)
            cipher = AESGCM(data_key)
            index: dict[str, Any] = {"generation": 0, "entries": {}}
            data = header_bytes + fmt.encrypt_index(cipher, fmt.index_json(0, []))
            atomic_write(self._index_path, data)
            header = fmt.parse_header(data, self._index_path)
            self._set_unlocked(data_key, cipher, header, index, data)

    # ---------------------------------------------------------------- index I/O

    def _read_index_bytes(self) -> bytes:
        try:
            return self._index_path.read_bytes()
        except FileNotFoundError:
            raise VaultIntegrityError(
                f"{self._index_path}: the vault index is missing (was the folder removed?)"
            ) from None

    def _require_unlocked(self) -> AESGCM:
        if self._cipher is None:
            raise VaultLockedError(
                f"the vault at {self._path} is locked: unlock it with its password first"
            )
        return self._cipher

    def _refresh(self) -> dict[str, Any]:
        """The current index, re-read only if another writer replaced the file."""
        cipher = self._require_unlocked()
        try:
            with open(self._index_path, "rb") as f:
                head = f.read(len(self._index_prefix))
        except FileNotFoundError:
            head = b""
        if head == self._index_prefix and self._index is not None:
            return self._index
        data = self._read_index_bytes()
        header = fmt.parse_header(data, self._index_path)
        if not secrets.compare_digest(
            header.key_check, fmt.key_check(bytes(self._data_key or b""))
        ):
            raise VaultIntegrityError(
                f"{self._index_path}: the vault was replaced by one with a different key; "
                "unlock it again"
            )
        index = fmt.decrypt_index(cipher, data[header.size :], self._index_path)
        if index["generation"] < self._generation:
            raise VaultIntegrityError(
                f"{self._index_path}: the index went back in time (generation "
                f"{index['generation']} after {self._generation}): an older copy was restored"
            )
        self._adopt(header, index, data)
        return index

    def _commit(self, index: dict[str, Any], header_bytes: bytes | None = None) -> None:
        """Write ``index`` (under the write lock) and make it the current one."""
        cipher = self._require_unlocked()
        assert self._header is not None
        header_bytes = header_bytes if header_bytes is not None else self._header.raw
        data = header_bytes + fmt.encrypt_index(cipher, self._encode_index(index))
        atomic_write(self._index_path, data)
        self._adopt(fmt.parse_header(data, self._index_path), index, data)

    def _encode_index(self, index: dict[str, Any]) -> bytes:
        fragments: dict[tuple[str, str], str] = {}
        for name, record in index["entries"].items():
            cache_key = (name, record["id"])
            fragment = self._fragments.get(cache_key)
            fragments[cache_key] = fragment or fmt.index_fragment(name, record)
        self._fragments = fragments
        return fmt.index_json(index["generation"], list(fragments.values()))

    @contextlib.contextmanager
    def _writing(self) -> Iterator[dict[str, Any]]:
        """Hold the in-process and cross-process locks around a read-modify-write of the
        index; yields the freshly read index."""
        with self._mutex:
            self._require_unlocked()
            with self._file_lock:
                index = self._refresh()
                yield index
                if not self._swept:
                    self._sweep()

    def _sweep(self) -> None:
        """Remove files a crashed writer left behind (we hold the write lock, so no writer
        is between its entry write and its index write)."""
        assert self._index is not None
        live = {rec["id"] for rec in self._index["entries"].values()}
        for path in self._path.iterdir():
            name = path.name
            if name.startswith(TMP_PREFIX) or (
                fmt.ENTRY_FILE.fullmatch(name) and name[:32] not in live
            ):
                _unlink(path)
        self._swept = True

    def _entry_path(self, entry_id: str) -> Path:
        return self._path / f"{entry_id}{fmt.ENTRY_SUFFIX}"

    def _write_entry(self, name: str, value: Any) -> dict[str, Any]:
        cipher = self._require_unlocked()
        entry_id = secrets.token_hex(16)
        data, nonce = fmt.encrypt_entry(cipher, entry_id, {"key": name, "value": value})
        atomic_write(self._entry_path(entry_id), data)
        return {"id": entry_id, "nonce": nonce.hex()}

    def _read_entry(self, name: str, record: dict[str, Any]) -> Any:
        cipher = self._require_unlocked()
        path = self._entry_path(record["id"])
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            # another process may have replaced the entry since we read the index
            fresh = self._refresh()["entries"].get(name)
            if fresh is not None and fresh["id"] != record["id"]:
                return self._read_entry(name, fresh)
            raise VaultIntegrityError(
                f"{path}: the file of vault entry {name!r} is missing"
            ) from None
        payload = fmt.decrypt_entry(cipher, record["id"], data, path)
        if fmt.entry_nonce(data).hex() != record["nonce"] or payload["key"] != name:
            raise VaultIntegrityError(
                f"{path}: this is not the version of entry {name!r} the index records "
                "(an older copy was put back?)"
            )
        return payload["value"]

    def _entry(self, name: str, record: dict[str, Any], value: Any = None) -> VaultEntry:
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
        with self._writing() as current:
            entries = current["entries"]
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
                    record = self._write_entry(name, value)
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
                    self._commit({"generation": current["generation"] + 1, "entries": new_entries})
            except BaseException:
                # Files written but perhaps never pointed to: the next write sweeps them,
                # judging by the index on disk (deleting here could race a finished commit).
                self._swept = False
                raise
            for entry_id in replaced:
                _unlink(self._entry_path(entry_id))
            return [name for name, *_ in items if new_entries.get(name, {}).get("id") in written]

    def retrieve(self, key: str, default: Any = None) -> Any:
        """The value stored under ``key`` (same JSON type as stored), or ``default``."""
        name = check_key(key)
        with self._mutex:
            record = self._refresh()["entries"].get(name)
            if record is None:
                return default
            return self._read_entry(name, record)

    def delete(self, key: str) -> bool:
        """Remove ``key``; True if it existed."""
        name = check_key(key)
        with self._writing() as current:
            old = current["entries"].get(name)
            if old is None:
                return False
            entries = {k: v for k, v in current["entries"].items() if k != name}
            self._commit({"generation": current["generation"] + 1, "entries": entries})
            _unlink(self._entry_path(old["id"]))
            return True

    def list_entries(
        self, category: VaultCategory | str | None = None, tag: str | None = None
    ) -> list[VaultEntry]:
        """Entries sorted by key, with metadata and times but no values (``value`` is None)."""
        wanted = VaultCategory.coerce(category).value if category is not None else None
        if tag is not None and not isinstance(tag, str):
            raise TypeError(f"tag must be a string, not {type(tag).__name__}")
        with self._mutex:
            entries = self._refresh()["entries"]
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
            entries = self._refresh()["entries"]
            out = []
            for name in sorted(entries):
                record = entries[name]
                meta = record["metadata"]
                try:
                    value = self._read_entry(name, record)
                except VaultIntegrityError as err:
                    warnings.warn(str(err), RuntimeWarning, stacklevel=2)
                    continue
                haystack = [name, value_text(value), str(meta.get("category") or "")]
                haystack += meta.get("tags", [])
                if any(needle in text.casefold() for text in haystack):
                    out.append(self._entry(name, record, value))
            return out

    def export_key(self) -> str:
        """A recovery key (``amvk1-…``) that opens this vault without the password:
        ``VaultMemory(vault_path=…, key=…)``. It is the vault's data key, so it keeps working
        after password changes; keep it as safe as the vault itself."""
        with self._mutex:
            self._require_unlocked()
            return fmt.encode_recovery_key(bytes(self._data_key or b""))

    def change_password(self, old: str, new: str) -> None:
        """Re-wrap the data key under ``new`` (fresh salt, same iteration count); entries are
        not touched. ``old`` is the current password or a recovery key. A wrong ``old``
        raises :class:`VaultAuthError` and changes nothing."""
        if not isinstance(old, str):
            raise TypeError(f"the old password is a string, not {type(old).__name__}")
        _check_password(new, "the new password")
        with self._writing() as current:
            header = self._header
            assert header is not None and self._data_key is not None
            data_key = bytes(self._data_key)
            if old.startswith(fmt.RECOVERY_PREFIX):
                try:
                    ok = secrets.compare_digest(fmt.decode_recovery_key(old), data_key)
                except VaultAuthError:
                    ok = False
            else:
                ok = False
            if not ok:
                kek = fmt.derive_kek(old, header.salt, header.iterations)
                try:
                    unwrapped = fmt.unwrap_data_key(header, kek, self._index_path)
                except VaultAuthError:
                    raise VaultAuthError(
                        f"the current password is wrong for the vault at {self._path}; "
                        "nothing changed"
                    ) from None
                ok = secrets.compare_digest(unwrapped, data_key)
            if not ok:
                raise VaultAuthError("the current password is wrong; nothing changed")
            salt = os.urandom(fmt.SALT_BYTES)
            kek = fmt.derive_kek(new, salt, header.iterations)
            header_bytes = fmt.build_header(kek, data_key, salt, header.iterations)
            # Only the index file is rewritten (its fresh nonce tells other processes to
            # re-read the header); no entry is touched.
            self._commit(
                {"generation": current["generation"] + 1, "entries": current["entries"]},
                header_bytes,
            )

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
        self._require_unlocked()
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
