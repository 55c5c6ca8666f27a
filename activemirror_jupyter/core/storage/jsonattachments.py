"""The JSON folder's ``attachments/``: the bytes of every attachment in a file named by
their SHA-256, so identical bytes are stored once. Which of them are still used is the
folder's to say (:meth:`.jsonfolder.Folder.collect_garbage`); this only keeps the files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path

from ..errors import StorageError
from ..fsutil import atomic_write


class Attachments:
    """The ``attachments/`` folder of a JSON folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def file(self, sha256: str) -> Path:
        return self.path / sha256

    def write(self, sha256: str, data: bytes) -> bool:
        """Store the bytes unless they are stored already; returns whether it wrote."""
        path = self.file(sha256)
        if path.exists():
            return False
        self.path.mkdir(exist_ok=True)
        atomic_write(path, data)
        return True

    def remove(self, shas: Iterable[str]) -> None:
        """Remove these files (bytes a refused save wrote, that nothing refers to)."""
        for sha in shas:
            with contextlib.suppress(OSError):
                os.unlink(self.file(sha))

    def remove_all_but(self, keep: set[str]) -> int:
        """Remove every file (leftover temporary files too) whose name is not in ``keep``;
        returns how many were removed."""
        if not self.path.is_dir():
            return 0
        removed = 0
        for item in os.scandir(self.path):
            if item.name not in keep:
                with contextlib.suppress(OSError):
                    os.unlink(item.path)
                    removed += 1
        return removed

    def reader(self, sha256: str) -> Callable[[], bytes]:
        """What an attachment calls to read its bytes (works after the store is closed)."""
        path = self.file(sha256)

        def read() -> bytes:
            try:
                return path.read_bytes()
            except FileNotFoundError:
                raise StorageError(f"attachment file {path} is missing") from None

        return read

    def digest(self, sha256: str) -> str | None:
        """The SHA-256 of the bytes stored for ``sha256`` now (None if the file is gone)."""
        try:
            return hashlib.sha256(self.file(sha256).read_bytes()).hexdigest()
        except FileNotFoundError:
            return None
