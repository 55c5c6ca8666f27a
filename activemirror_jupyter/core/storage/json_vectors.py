"""The JSON folder's vectors for search by meaning (:mod:`..search.similar`): one file,
``vectors.bin``, beside ``index.json`` and the session files (the JavaScript SDK ignores it).

Layout (version 1)::

    b"AMVECTORS 1\\n"
    one line of JSON: {"model": str, "dimensions": 256, "dtype": "<f2",
                       "keys": [[session id, message id, text sha256], ...]}  + b"\\n"
    len(keys) × dimensions little-endian float16 numbers, row i the vector of keys[i]

The file is replaced whole (temporary file, fsync, ``os.replace``) under the folder's writer
lock, so a process killed while writing it leaves the previous file; a file that cannot be
read is treated as holding no vectors (they are made again).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..fsutil import atomic_write
from ..search.model import DIMENSIONS
from ..search.similar import DISK_DTYPE, Key, Text, as_vectors, vector_bytes

VECTORS_FILE = "vectors.bin"
MAGIC = b"AMVECTORS 1\n"

_Contents = tuple[str, list[Key], list[str], bytes]  # model, keys, hashes, the matrix


class JSONVectors:
    """The vectors of one JSON folder (:class:`..search.similar.VectorShelf`)."""

    def __init__(
        self,
        path: Path,
        texts: Callable[[], Iterator[Text]],
        writing: Callable[[str], contextlib.AbstractContextManager[Any]],
        read_only: bool,
    ) -> None:
        self.path = path / VECTORS_FILE
        self._texts = texts
        self._writing = writing
        self._read_only = read_only
        self._cache: tuple[tuple[int, int, int], _Contents] | None = None

    def texts(self) -> Iterator[Text]:
        return self._texts()

    def keys(self, model: str) -> dict[Key, str]:
        found, keys, hashes, _ = self._contents()
        return dict(zip(keys, hashes, strict=True)) if found == model else {}

    def read(self, model: str, keys: Sequence[Key]) -> dict[Key, np.ndarray]:
        found, stored, _, matrix = self._contents()
        if found != model:
            return {}
        row = {key: i for i, key in enumerate(stored)}
        size = DISK_DTYPE.itemsize * DIMENSIONS
        pairs = [(k, matrix[row[k] * size : (row[k] + 1) * size]) for k in keys if k in row]
        return as_vectors(pairs, DIMENSIONS)

    def put(
        self, model: str, rows: Sequence[tuple[Key, str, np.ndarray]], remove: Sequence[Key]
    ) -> None:
        if self._read_only:
            return  # kept in RAM only: this user cannot write in the folder
        with self._writing("keep the vectors of search by meaning"):
            found, keys, hashes, matrix = self._contents()
            size = DISK_DTYPE.itemsize * DIMENSIONS
            kept: dict[Key, tuple[str, bytes]] = {}
            if found == model:
                dropped = set(remove)
                for i, key in enumerate(keys):
                    if key not in dropped:
                        kept[key] = (hashes[i], matrix[i * size : (i + 1) * size])
            for key, digest, vector in rows:
                kept[key] = (digest, vector_bytes(vector))
            atomic_write(self.path, _encode(model, kept))
            self._cache = None

    def _contents(self) -> _Contents:
        """What the file holds (read again only when it changed)."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return ("", [], [], b"")
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if self._cache is None or self._cache[0] != stamp:
            self._cache = (stamp, _decode(self.path.read_bytes()))
        return self._cache[1]


def _encode(model: str, kept: dict[Key, tuple[str, bytes]]) -> bytes:
    header = {
        "model": model,
        "dimensions": DIMENSIONS,
        "dtype": DISK_DTYPE.str,
        "keys": [[s, m, digest] for (s, m), (digest, _) in kept.items()],
    }
    line = json.dumps(header, ensure_ascii=False, separators=(",", ":")).encode()
    return MAGIC + line + b"\n" + b"".join(vector for _, vector in kept.values())


def _decode(data: bytes) -> _Contents:
    """The file's contents; one that is not a whole version-1 file holds nothing."""
    empty: _Contents = ("", [], [], b"")
    if not data.startswith(MAGIC):
        return empty
    end = data.find(b"\n", len(MAGIC))
    try:
        header = json.loads(data[len(MAGIC) : end])
        keys = [(str(s), str(m)) for s, m, _ in header["keys"]]
        hashes = [str(digest) for _, _, digest in header["keys"]]
        model = str(header["model"])
        fits = header["dimensions"] == DIMENSIONS and header["dtype"] == DISK_DTYPE.str
    except (ValueError, KeyError, TypeError):
        return empty
    matrix = data[end + 1 :]
    if end < 0 or not fits or len(matrix) != len(keys) * DIMENSIONS * DISK_DTYPE.itemsize:
        return empty
    return (model, keys, hashes, matrix)
