"""The memory store's vectors for search by meaning (:mod:`..search.similar`): in RAM,
beside its messages, gone with them."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from ..search.similar import Key, Text


class MemoryVectors:
    """The vectors of one memory store (:class:`..search.similar.VectorShelf`)."""

    def __init__(self, texts: Callable[[], Iterator[Text]]) -> None:
        self._texts = texts
        self._lock = threading.Lock()
        self._model = ""
        self._rows: dict[Key, tuple[str, np.ndarray]] = {}

    def texts(self) -> Iterator[Text]:
        return self._texts()

    def keys(self, model: str) -> dict[Key, str]:
        with self._lock:
            if model != self._model:
                return {}
            return {key: digest for key, (digest, _) in self._rows.items()}

    def read(self, model: str, keys: Sequence[Key]) -> dict[Key, np.ndarray]:
        with self._lock:
            if model != self._model:
                return {}
            return {key: self._rows[key][1] for key in keys if key in self._rows}

    def put(
        self, model: str, rows: Sequence[tuple[Key, str, np.ndarray]], remove: Sequence[Key]
    ) -> None:
        with self._lock:
            if model != self._model:
                self._model, self._rows = model, {}
            for key in remove:
                self._rows.pop(key, None)
            for key, digest, vector in rows:
                self._rows[key] = (digest, np.array(vector, dtype=np.float32))
