"""A sync folder: any folder several machines see (Dropbox, Syncthing, a network drive, a
USB stick, a git repository), laid out so that no two devices ever write one file::

    activemirror-sync/v1/
      IDENTITY                       {"format", "fingerprint", "folder"}: whose folder this
                                     is, and its id (the same in every copy, clone or mount)
      <device id>/
        s-<seq:08d>-<random>.ams     a segment: what one push of that device had
        a-<name>.ams                 an attachment's bytes (name: HMAC of its SHA-256)

Every ``.ams`` file is ``b"AMS1"``, the length of the rest (8 bytes, big-endian), a
96-bit nonce and the AES-256-GCM ciphertext of its payload, with the file's path under
the root as associated data (a file moved or renamed does not decrypt). Files are written
once (a temporary file, then a rename) and never changed. A file shorter than its length
says is still arriving (left for the next sync); one that does not decrypt was changed
without the key (refused, naming it). Anything else — conflict copies, temporary files,
stray files — is not ours and is ignored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import struct
import time
import zlib
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ..errors import SyncError
from ..fsutil import atomic_write
from ..ids import DEVICE_ID
from .identity import Identity

ROOT = ("activemirror-sync", "v1")
IDENTITY_FILE = "IDENTITY"
FORMAT = "activemirror-sync-folder"
MAGIC = b"AMS1"
_HEADER = struct.Struct(">4sQ")
_NONCE = 12
SEGMENT = re.compile(r"s-([0-9]{8})-([0-9a-f]{8})\.ams")
_ATTACHMENT = "a-{}.ams"
_SETTLED_NS = 5_000_000_000  # a folder changed within 5 s is listed again, whatever its mark


class Folder:
    """One sync folder as one identity sees it."""

    def __init__(self, path: str | os.PathLike[str], identity: Identity) -> None:
        self.path = Path(os.fspath(path)).expanduser()
        self.root = self.path.joinpath(*ROOT)
        self._aead = AESGCM(identity.cipher_key("folder-files"))
        self._names = identity.cipher_key("folder-names")
        self.fingerprint = identity.fingerprint
        self.folder_id = ""  # read by open()

    def open(self) -> None:
        """Check the folder is there and this identity's (marking it so on first use)."""
        if not self.path.is_dir():
            raise SyncError(
                f"the sync folder {self.path} does not exist (or is not a folder): create it, "
                "or mount the drive it is on, then sync again"
            )
        mark = self.root / IDENTITY_FILE
        try:
            found = json.loads(mark.read_bytes())
        except FileNotFoundError:
            found = None
        except (OSError, ValueError) as exc:
            raise SyncError(f"cannot read {mark}: {exc}") from None
        if found is None:
            found = self._make_root(mark)
        if not isinstance(found, dict) or found.get("format") != FORMAT:
            raise SyncError(f"{mark} is not an ActiveMirror sync folder's mark: not syncing")
        elif found.get("fingerprint") != self.fingerprint:
            raise SyncError(
                f"the sync folder {self.path} belongs to another identity (fingerprint "
                f"{found.get('fingerprint')!r}; this device's is {self.fingerprint!r}): "
                "sync with a folder of your own identity, or join that identity with its "
                "pairing code"
            )
        folder_id = found.get("folder")
        self.folder_id = folder_id if isinstance(folder_id, str) else str(self.path.resolve())

    def _make_root(self, mark: Path) -> dict[str, Any]:
        found = {"format": FORMAT, "fingerprint": self.fingerprint, "folder": os.urandom(8).hex()}
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            atomic_write(mark, json.dumps(found).encode(), mode=0o644)
        except OSError as exc:
            raise SyncError(f"cannot write to the sync folder {self.path}: {exc}") from None
        return found

    # -- listing --------------------------------------------------------------------------

    def devices(self) -> list[str]:
        """The device ids that have written here."""
        try:
            names = os.listdir(self.root)
        except OSError as exc:
            raise SyncError(f"cannot list the sync folder {self.root}: {exc}") from None
        return sorted(n for n in names if DEVICE_ID.fullmatch(n) and (self.root / n).is_dir())

    def mark(self, device: str) -> list[int] | None:
        """What ``device``'s folder looks like from outside (its change time and inode): the
        same mark, the same files — unless it changed too recently to tell (a coarse
        clock, a FAT stick's two seconds), when there is none."""
        try:
            st = os.stat(self.root / device)
        except OSError:
            return None
        if time.time_ns() - st.st_mtime_ns < _SETTLED_NS:
            return None
        return [st.st_mtime_ns, st.st_ino]

    def segments(self, device: str) -> list[tuple[int, str]]:
        """``(seq, name)`` of each segment in ``device``'s folder, in order."""
        try:
            names = os.listdir(self.root / device)
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SyncError(f"cannot list {self.root / device}: {exc}") from None
        found = [(int(m.group(1)), n) for n in names if (m := SEGMENT.fullmatch(n))]
        return sorted(found)

    # -- files ----------------------------------------------------------------------------

    def attachment_name(self, sha256: str) -> str:
        """The file an attachment's bytes are kept in: no one without the key can tell
        which bytes (a plain SHA-256 would confirm a guessed file)."""
        tag = hmac.new(self._names, sha256.encode(), hashlib.sha256).hexdigest()[:40]
        return _ATTACHMENT.format(tag)

    def write(self, device: str, name: str, payload: bytes) -> int:
        """Write ``payload`` (compressed, encrypted) as ``device``'s file ``name``, once;
        returns the bytes written."""
        relative = f"{device}/{name}"
        nonce = os.urandom(_NONCE)
        sealed = self._aead.encrypt(nonce, zlib.compress(payload, 6), relative.encode())
        data = _HEADER.pack(MAGIC, _NONCE + len(sealed)) + nonce + sealed
        try:
            (self.root / device).mkdir(parents=True, exist_ok=True)
            atomic_write(self.root / device / name, data, mode=0o644)
        except OSError as exc:
            raise SyncError(f"cannot write {self.root / relative}: {exc}") from None
        return len(data)

    def exists(self, device: str, name: str) -> bool:
        return (self.root / device / name).is_file()

    def complete(self, device: str, name: str) -> bool:
        """Whether ``device``'s file ``name`` is all there (it may still be arriving)."""
        try:
            with open(self.root / device / name, "rb") as f:
                head = f.read(_HEADER.size)
                size = os.fstat(f.fileno()).st_size
        except OSError:
            return False
        return len(head) == _HEADER.size and size >= _HEADER.size + _HEADER.unpack(head)[1]

    def read(self, device: str, name: str) -> bytes | None:
        """The payload of ``device``'s file ``name``; None while it is still arriving (or
        not there yet). A changed file is a SyncError naming it."""
        path = self.root / device / name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SyncError(f"cannot read {path}: {exc}") from None
        if len(data) < _HEADER.size:
            return None
        magic, length = _HEADER.unpack_from(data)
        if magic != MAGIC:
            raise _changed(path, "it does not start as a sync file does")
        if len(data) < _HEADER.size + length:
            return None  # a copy still arriving
        if len(data) > _HEADER.size + length or length <= _NONCE:
            raise _changed(path, "its length is not the one it records")
        nonce = data[_HEADER.size : _HEADER.size + _NONCE]
        try:
            sealed = self._aead.decrypt(
                nonce, data[_HEADER.size + _NONCE :], f"{device}/{name}".encode()
            )
            return zlib.decompress(sealed)
        except (InvalidTag, zlib.error):
            raise _changed(path, "it does not decrypt with this identity's key") from None

    def read_json(self, device: str, name: str) -> Any:
        payload = self.read(device, name)
        if payload is None:
            return None
        try:
            return json.loads(payload)
        except ValueError:
            raise _changed(self.root / device / name, "it does not hold JSON") from None


def _changed(path: Path, why: str) -> SyncError:
    return SyncError(
        f"{path} was changed by someone without this identity's key ({why}); nothing of "
        "it was taken in. Remove the file (its device writes what it holds again only if "
        "it still has it), then sync again"
    )
