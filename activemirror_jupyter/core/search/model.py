"""The embedding model of search by meaning: WordLlama's packaged 256-dimension model
(``l2_supercat_256``), read from the files its wheel installs and nothing else.

WordLlama's own loader (``WordLlama.load``) looks for the tokenizer under
``wordllama/tokenizer/`` while the wheel installs it under ``wordllama/tokenizers/``, so it
falls back to a download from Hugging Face. This module never calls it: it opens the
packaged tokenizer and weights by their paths, so nothing is fetched — not at install, not at
first use, not with an empty home.

A text's vector is the model's own: the mean of its tokens' embeddings (no special tokens),
scaled to length 1 (:meth:`Model.embed`); the tokens of a long text are summed a window at a
time, so a megabyte of text costs its size, not a padded batch of it.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: The optional extra that brings the model (``pip install 'activemirror-jupyter[semantic]'``).
EXTRA = "activemirror-jupyter[semantic]"
_CONFIG = "l2_supercat"
DIMENSIONS = 256
#: Texts tokenized at a time, and tokens whose embeddings are gathered at a time.
_TEXTS_PER_BATCH = 512
_TOKENS_PER_WINDOW = 1 << 16


@dataclass(frozen=True)
class Model:
    """An embedding model: ``name`` says which one and which version of it made a vector
    (vectors of different names are never compared)."""

    name: str
    dimensions: int
    tokenizer: Any  # tokenizers.Tokenizer, without padding or truncation
    table: np.ndarray  # (vocabulary, dimensions) float32

    def embed(self, texts: list[str]) -> np.ndarray:
        """Unit vectors (float32, one row per text) — the model's mean-pooled embedding;
        a text with no tokens is a row of zeros (close to nothing)."""
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(texts), _TEXTS_PER_BATCH):
            batch = texts[start : start + _TEXTS_PER_BATCH]
            encoded = self.tokenizer.encode_batch(batch, add_special_tokens=False)
            ids = [np.asarray(e.ids, dtype=np.int64) for e in encoded]
            self._sum_tokens(ids, out[start : start + len(batch)])
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, norms, out=out, where=norms > 0)
        return out

    def _sum_tokens(self, ids: list[np.ndarray], out: np.ndarray) -> None:
        """Add each text's token embeddings into its row of ``out``, gathering at most a
        window of tokens at a time (a huge text is summed in pieces)."""
        lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
        if not lengths.sum():
            return
        stream = np.concatenate(ids)
        np.clip(stream, 0, len(self.table) - 1, out=stream)
        owner = np.repeat(np.arange(len(ids)), lengths)
        for at in range(0, len(stream), _TOKENS_PER_WINDOW):
            rows = owner[at : at + _TOKENS_PER_WINDOW]
            # The window's rows are sorted: each run of one text is one reduceat segment.
            starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
            sums = np.add.reduceat(self.table[stream[at : at + _TOKENS_PER_WINDOW]], starts)
            out[rows[starts]] += sums


def load_model() -> Model:
    """The packaged model (loaded once per process). Without the extra installed, an
    ImportError that names it."""
    return _load()


@functools.lru_cache(maxsize=1)
def _load() -> Model:
    root_logger = logging.getLogger()
    before = (list(root_logger.handlers), root_logger.level)
    try:
        import safetensors.numpy
        import tokenizers
        import wordllama
    except ImportError as error:
        raise ImportError(
            f"search by meaning needs the optional extra {EXTRA!r}: "
            f"pip install '{EXTRA}' (it installs WordLlama, whose model works offline); "
            f"missing: {error.name or error}"
        ) from error
    finally:
        # wordllama.inference calls logging.basicConfig(level=INFO) when imported, which
        # would make a notebook print every library's INFO logs: put the root logger back.
        root_logger.handlers[:] = before[0]
        root_logger.setLevel(before[1])
    root = Path(wordllama.__file__).parent
    tokenizer = tokenizers.Tokenizer.from_file(
        str(root / "tokenizers" / f"{_CONFIG}_tokenizer_config.json")
    )
    tokenizer.no_padding()
    tokenizer.no_truncation()
    weights = root / "weights" / f"{_CONFIG}_{DIMENSIONS}.safetensors"
    table = safetensors.numpy.load_file(str(weights))["embedding.weight"]
    version = getattr(wordllama, "__version__", "unknown")
    return Model(
        name=f"wordllama-{version}/{_CONFIG}_{DIMENSIONS}",
        dimensions=DIMENSIONS,
        tokenizer=tokenizer,
        table=np.ascontiguousarray(table, dtype=np.float32),
    )
