"""What exists only while a vault is unlocked: its data key, and the index as last read or
written. :class:`UnlockedVault` reads and writes the index and entry files; the API over it,
and the locks around it, are :class:`~.memory.VaultMemory`'s.
"""

from __future__ import annotations

import contextlib
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import VaultIntegrityError
from ..fsutil import PRIVATE, TMP_PREFIX, atomic_write
from . import format as fmt
from . import header as hdr


def read_index_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise VaultIntegrityError(
            f"{path}: the vault index is missing (was the folder removed?)"
        ) from None


def open_with_password(folder: Path, password: str) -> UnlockedVault:
    """Open the vault at ``folder`` with its password: one key derivation. Needs only the
    password part of the header (and the magic and version); the key check is compared too
    while its part is sound."""
    path = folder / fmt.INDEX_FILE
    data = read_index_file(path)
    header = hdr.parse_header(data, path)
    damage = hdr.password_part_error(header, path)
    if damage is not None:
        raise damage
    kek = fmt.derive_kek(password, header.salt, header.iterations)
    return _opened(folder, hdr.unwrap_data_key(header, kek, path), header, data)


def open_with_key(folder: Path, data_key: bytes) -> UnlockedVault:
    """Open the vault at ``folder`` with the data key from a recovery key. Needs only the
    recovery part of the header (and the magic and version)."""
    path = folder / fmt.INDEX_FILE
    data = read_index_file(path)
    header = hdr.parse_header(data, path)
    hdr.verify_data_key(header, data_key, path)
    return _opened(folder, data_key, header, data)


def _opened(folder: Path, data_key: bytes, header: hdr.Header, data: bytes) -> UnlockedVault:
    path = folder / fmt.INDEX_FILE
    index = fmt.decrypt_index(AESGCM(data_key), data[header.size :], path, header.version)
    return UnlockedVault(folder, data_key, header, index, data)


class UnlockedVault:
    """The open vault at ``folder``: ``data_key`` and the index file's contents ``data``
    (its ``header`` parsed, its ``index`` decrypted)."""

    def __init__(
        self,
        folder: Path,
        data_key: bytes,
        header: hdr.Header,
        index: dict[str, Any],
        data: bytes,
    ) -> None:
        self.folder = folder
        self.index_path = folder / fmt.INDEX_FILE
        self._data_key = bytearray(data_key)
        self.cipher = AESGCM(data_key)
        self.swept = False  # orphaned files of a crashed writer removed since unlocking
        self._fragments: dict[tuple[str, str], str] = {}  # (name, entry id) → index JSON
        self._adopt(header, index, data)

    @property
    def data_key(self) -> bytes:
        return bytes(self._data_key)

    def wipe(self) -> None:
        """Forget the key (best effort: our copy is overwritten) and every decrypted name."""
        self._data_key[:] = bytes(len(self._data_key))
        self.index = {"generation": -1, "entries": {}}
        self._fragments = {}

    def _adopt(self, header: hdr.Header, index: dict[str, Any], data: bytes) -> None:
        """Make ``index``, read from or written as the index file ``data``, the current one:
        the one place the index state changes."""
        self.header = header
        self.index = index
        self._prefix = data[: header.size + fmt.NONCE_BYTES]  # header + the index's nonce

    # ---------------------------------------------------------------- the index

    def refresh(self) -> dict[str, Any]:
        """The current index, re-read only if another writer replaced the file (each write
        has a fresh nonce, so the file's first bytes tell)."""
        try:
            with open(self.index_path, "rb") as f:
                head = f.read(len(self._prefix))
        except FileNotFoundError:
            head = b""
        if head == self._prefix:
            return self.index
        data = read_index_file(self.index_path)
        header = hdr.parse_header(data, self.index_path)
        hdr.check_reread(header, self.header, self.data_key, self.index_path)
        index = fmt.decrypt_index(self.cipher, data[header.size :], self.index_path, header.version)
        if index["generation"] < self.index["generation"]:
            raise VaultIntegrityError(
                f"{self.index_path}: the index went back in time (generation "
                f"{index['generation']} after {self.index['generation']}): an older copy "
                "was restored"
            )
        self._adopt(header, index, data)
        return index

    def commit(self, entries: dict[str, Any], header_bytes: bytes | None = None) -> None:
        """Write the next generation of the index with ``entries`` (holding the write lock)
        and make it the current one; ``header_bytes`` replaces the header (new password),
        else the header is kept byte for byte (a version 1 header stays version 1)."""
        index = {"generation": self.index["generation"] + 1, "entries": entries}
        header = self.header
        if header_bytes is not None:
            header = hdr.parse_header(header_bytes, self.index_path)
        body = fmt.encrypt_index(self.cipher, self._encode(index), header.version)
        data = header.raw + body
        atomic_write(self.index_path, data, mode=PRIVATE)
        self._adopt(header, index, data)

    def _encode(self, index: dict[str, Any]) -> bytes:
        fragments: dict[tuple[str, str], str] = {}
        for name, record in index["entries"].items():
            cache_key = (name, record["id"])
            fragment = self._fragments.get(cache_key)
            fragments[cache_key] = fragment or fmt.index_fragment(name, record)
        self._fragments = fragments
        return fmt.index_json(index["generation"], list(fragments.values()))

    def sweep(self) -> None:
        """Remove files a crashed writer left behind (the caller holds the write lock, so no
        writer is between its entry write and its index write)."""
        live = {rec["id"] for rec in self.index["entries"].values()}
        for path in self.folder.iterdir():
            name = path.name
            if name.startswith(TMP_PREFIX) or (
                fmt.ENTRY_FILE.fullmatch(name) and name[:32] not in live
            ):
                unlink(path)
        self.swept = True

    # ---------------------------------------------------------------- entry files

    def entry_path(self, entry_id: str) -> Path:
        return self.folder / f"{entry_id}{fmt.ENTRY_SUFFIX}"

    def write_entry(self, name: str, value: Any) -> dict[str, Any]:
        """Encrypt ``value`` into a fresh entry file; returns its index record's id/nonce."""
        entry_id = secrets.token_hex(16)
        data, nonce = fmt.encrypt_entry(self.cipher, entry_id, {"key": name, "value": value})
        atomic_write(self.entry_path(entry_id), data, mode=PRIVATE)
        return {"id": entry_id, "nonce": nonce.hex()}

    def read_entry(self, name: str, record: dict[str, Any]) -> Any:
        """The value in ``record``'s entry file, checked to be the version the index names."""
        path = self.entry_path(record["id"])
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            # another process may have replaced the entry since we read the index
            fresh = self.refresh()["entries"].get(name)
            if fresh is not None and fresh["id"] != record["id"]:
                return self.read_entry(name, fresh)
            raise VaultIntegrityError(
                f"{path}: the file of vault entry {name!r} is missing"
            ) from None
        payload = fmt.decrypt_entry(self.cipher, record["id"], data, path)
        if fmt.entry_nonce(data).hex() != record["nonce"] or payload["key"] != name:
            raise VaultIntegrityError(
                f"{path}: this is not the version of entry {name!r} the index records "
                "(an older copy was put back?)"
            )
        return payload["value"]


def unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
