"""On-disk embedding cache: a second evaluation of the same model encodes nothing.

Key = the model's content fingerprint (:func:`xlir.models.fingerprint`: every weight, the prompts,
the max length, every module's settings, among them the pooling mode of ``1_Pooling/config.json``,
and the tokenizer's vocabulary and rules), plus the encoding scheme (``+int8pc`` for a per-channel
int8 copy, ``+bf16`` for bf16 matrix products, ``+<backend>`` for another runtime), and, per text,
the sha256 of ``prefix + text``. A model that changed by one training step, or whose pooling
switched from mean to CLS, has another fingerprint, so it never reads stale vectors; the same model
loaded from another path shares the cache.

What the key leaves out, and why that is safe to the stated tolerance: the *batch* a text was
encoded in, and the versions of torch/transformers. Both change float32 rounding only: a text
encoded in a batch of 1, 7 or 32 instead of 64 gave vectors differing by at most 1.3e-7 per
component (cosine to the batch-64 vector within 2.4e-7; e5-small, 200 XQuAD-R texts, CPU, measured
for issue 11, which reported up to 7.5e-7). A cached vector is therefore the vector of a fresh
encode to within ~1e-6, not bit for bit; metrics can differ only where two candidates' scores tie
to within that, which reorders them.

Layout (``$XLIR_CACHE_DIR/embeddings`` or ``~/.cache/xlir/embeddings``)::

    <model key>/<shard>.vecs.npy   float32 [n, dim]
    <model key>/<shard>.keys.npy   uint8   [n, 32]  (sha256 digests, row i <-> vector i)

Shards are append-only: each :meth:`EmbeddingCache.put` writes one new shard, vectors first, then
keys, each to a temporary file renamed into place (``os.replace`` is atomic), so a reader sees a
shard completely or not at all and two processes writing at once never corrupt each other. Vectors
are stored as float32, not float16 (whose 1e-3 rounding would reorder real near-ties).
When a model's folder holds many shards they are merged into one (26k vectors of e5-small load in
well under a second either way: the keys are read into a dict, the vectors memory-mapped).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from xlir.errors import DataError
from xlir.files import atomic_write

MAX_SHARDS = 16


def default_cache_dir() -> Path:
    from xlir.models.assets import cache_dir

    return cache_dir() / "embeddings"


def text_key(prefix: str, text: str) -> bytes:
    """sha256 digest of the exact string the model encodes."""
    return hashlib.sha256((prefix + text).encode("utf-8")).digest()


def _atomic_save(path: Path, array: np.ndarray) -> None:
    with atomic_write(path, "wb") as fh:
        np.save(fh, array)


class EmbeddingCache:
    """Vectors of one model (one fingerprint) by text key."""

    def __init__(self, model_key: str, root: str | Path | None = None):
        self.model_key = model_key
        self.dir = Path(root or default_cache_dir()) / model_key
        self._index: dict[bytes, tuple[int, int]] | None = None
        self._shards: list[np.ndarray] = []
        self._shard_paths: list[Path] = []

    # ---- reading ---------------------------------------------------------------------------
    def _shard_names(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.name[: -len(".keys.npy")] for p in self.dir.glob("*.keys.npy"))

    def _load(self) -> dict[bytes, tuple[int, int]]:
        if self._index is not None:
            return self._index
        index: dict[bytes, tuple[int, int]] = {}
        shards: list[np.ndarray] = []
        paths: list[Path] = []
        for name in self._shard_names():
            try:
                # allow_pickle=False (numpy's default, stated): a crafted shard must not run code
                keys = np.load(self.dir / f"{name}.keys.npy", allow_pickle=False)
                vecs = np.load(self.dir / f"{name}.vecs.npy", mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError, EOFError):
                continue  # merged away by another process meanwhile, or cut/unreadable: a miss
            if keys.ndim != 2 or keys.shape[1] != 32 or keys.dtype != np.uint8 or vecs.ndim != 2 \
                    or vecs.dtype != np.float32 or vecs.shape[0] != keys.shape[0] \
                    or (shards and vecs.shape[1] != shards[0].shape[1]):
                continue  # not a shard this cache wrote: never trust its rows
            s = len(shards)
            shards.append(vecs)
            paths.append(self.dir / f"{name}.vecs.npy")
            for row, k in enumerate(keys):
                index[k.tobytes()] = (s, row)
        self._index, self._shards, self._shard_paths = index, shards, paths
        return index

    def __len__(self) -> int:
        return len(self._load())

    def get(self, keys: Sequence[bytes]) -> tuple[np.ndarray | None, np.ndarray]:
        """``(vectors [n, dim] with zero rows for misses, or None if nothing hit; hit mask [n])``."""
        index = self._load()
        hit = np.array([k in index for k in keys], dtype=bool)
        if not hit.any():
            return None, hit
        out = np.zeros((len(keys), self._shards[0].shape[1]), np.float32)
        by_shard: dict[int, tuple[list[int], list[int]]] = {}
        for i in np.flatnonzero(hit):
            s, row = index[keys[i]]
            dst, src = by_shard.setdefault(s, ([], []))
            dst.append(i)
            src.append(row)
        for s, (dst, src) in by_shard.items():
            rows = self._shards[s][np.asarray(src)]
            bad = int((~np.isfinite(rows).all(axis=1)).sum())
            if bad:
                raise DataError(self._shard_paths[s], f"{bad} of the {len(src)} cached vectors asked for are "
                                f"not finite (NaN/inf): the cache is corrupt; delete {self.dir} to re-encode",
                                expected="finite float32 vectors")
            out[dst] = rows
        return out, hit

    # ---- writing ---------------------------------------------------------------------------
    def put(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Append a shard (atomic); merge shards when there are more than :data:`MAX_SHARDS`."""
        if len(keys) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        key_arr = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._write_shard(key_arr, vectors)
        self._index = None
        if len(self._shard_names()) > MAX_SHARDS:
            self.compact()

    def _write_shard(self, keys: np.ndarray, vectors: np.ndarray) -> str:
        name = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        _atomic_save(self.dir / f"{name}.vecs.npy", vectors)
        _atomic_save(self.dir / f"{name}.keys.npy", keys)  # written last: marks the shard complete
        return name

    def compact(self) -> None:
        """Merge every shard into one (deduplicated); old shards are removed after the new one lands."""
        names = self._shard_names()
        if len(names) <= 1:
            return
        self._index = None
        index = self._load()
        keys = list(index)
        vecs, _ = self.get(keys)
        key_arr = np.frombuffer(b"".join(keys), dtype=np.uint8).reshape(len(keys), 32)
        self._write_shard(key_arr, vecs)
        for name in names:
            for suffix in (".keys.npy", ".vecs.npy"):
                (self.dir / f"{name}{suffix}").unlink(missing_ok=True)
        self._index = None
