"""FAISS search backends, for corpora too large for exact blocked search in memory or time.

Same contract as :func:`xlir.evaluation.search.search`::

    scores, idx = faiss_search(query_emb, doc_emb, k, doc_ids)   # [nq, k] float32, [nq, k] int64

Scores are inner products (cosine for the L2-normalised embeddings xlir's models produce). Rows are
ordered by score descending, ties broken by document id descending, the order ``trec_eval`` and
pytrec_eval use when they read a run (they sort by score, then docno, both descending), so a run
written from these results scores identically whatever order FAISS returned tied documents in.

Index kinds (Johnson, Douze & Jégou, "Billion-scale similarity search with GPUs", 2017):

* ``flat`` — ``IndexFlatIP``: exact brute force. Same results as the blocked numpy search; useful
  because FAISS's kernels are multithreaded and use less memory per query block.
* ``ivf`` — ``IndexIVFFlat``: k-means into ``nlist`` cells (default ``4*sqrt(n)``), search the
  ``nprobe`` nearest cells. Approximate; recall rises with ``nprobe``.
* ``hnsw`` — ``IndexHNSWFlat`` (Malkov & Yashunin 2018): graph search, ``M`` links per node,
  ``ef_search`` candidates kept while searching. Approximate; no training step.

For the approximate kinds a document FAISS does not return is simply absent from the ranking
(score ``-inf``, index ``-1`` when fewer than ``k`` come back), which the metrics treat as not
retrieved.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np

from xlir.errors import ConfigError
from xlir.evaluation.search import search, tie_keys
from xlir.registry import Registry

INDEX_KINDS = ("flat", "ivf", "hnsw")


def _as_f32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


def build_index(doc_emb: np.ndarray, kind: str = "flat", *, nlist: int | None = None, hnsw_m: int = 32,
                ef_construction: int = 80, seed: int = 0):
    """A FAISS inner-product index over ``doc_emb`` ``[n, dim]`` (trained when the kind needs it)."""
    import faiss

    docs = _as_f32(doc_emb)
    n, dim = docs.shape
    if kind == "flat":
        index = faiss.IndexFlatIP(dim)
    elif kind == "ivf":
        # FAISS warns below ~39 training points per centroid; 4*sqrt(n) is its guideline for nlist.
        nlist = nlist or max(1, min(int(4 * math.sqrt(n)), n // 39))
        quantizer = faiss.IndexFlatIP(dim)
        index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(docs)
    elif kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
    else:
        raise ConfigError(f"unknown FAISS index kind {kind!r}; known: {', '.join(INDEX_KINDS)}")
    index.add(docs)
    return index


def _order_rows(scores: np.ndarray, idx: np.ndarray, keys: np.ndarray,
                k: int) -> tuple[np.ndarray, np.ndarray]:
    """Sort each row by score desc, then tie key asc (= doc id desc), keep ``k``; ``-1`` slots go last."""
    valid = idx >= 0
    s = np.where(valid, scores, -np.inf)
    t = np.where(valid, keys[np.where(valid, idx, 0)], np.iinfo(np.int64).max)
    order = np.lexsort((t, -s), axis=1)[:, :k]
    out_i = np.where(np.take_along_axis(valid, order, 1), np.take_along_axis(idx, order, 1), -1)
    return np.take_along_axis(s, order, 1).astype(np.float32), out_i.astype(np.int64)


def faiss_search(query_emb: np.ndarray, doc_emb: np.ndarray, k: int, doc_ids: Sequence[str], *,
                 index: str = "flat", nprobe: int = 32, ef_search: int = 128, nlist: int | None = None,
                 hnsw_m: int = 32, prebuilt=None) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` documents per query by a FAISS index (``prebuilt``: one from :func:`build_index`).

    Tie handling: FAISS orders equal scores arbitrarily and may cut a group of tied documents at
    position ``k``. We ask for ``2k`` and, for the rare queries whose ``k``-th score still ties the
    last one returned, ask again for every document, so the id tie-break picks the same members as
    an exhaustive search would.
    """
    import faiss

    queries, docs = _as_f32(query_emb), _as_f32(doc_emb)
    if len(doc_ids) != len(docs):
        raise ValueError(f"{len(doc_ids)} doc ids for {len(docs)} document vectors")
    n = len(docs)
    k = min(int(k), n)
    if k <= 0 or len(queries) == 0:
        return np.zeros((len(queries), max(k, 0)), np.float32), np.zeros((len(queries), max(k, 0)), np.int64)
    idx_obj = prebuilt if prebuilt is not None else build_index(docs, index, nlist=nlist, hnsw_m=hnsw_m)
    if hasattr(idx_obj, "nprobe"):
        idx_obj.nprobe = nprobe
    if isinstance(idx_obj, faiss.IndexHNSW):
        idx_obj.hnsw.efSearch = max(ef_search, 2 * k)
    keys = tie_keys(doc_ids)

    k2 = min(n, 2 * k)
    scores, idx = idx_obj.search(queries, k2)
    out_s, out_i = _order_rows(scores, idx, keys, k)
    if k2 < n:
        # a tie that may extend past what was fetched: the k-th score equals the last fetched score
        kth = scores[:, k - 1]
        redo = np.flatnonzero((idx[:, -1] >= 0) & (scores[:, -1] >= kth))
        if len(redo):
            s_all, i_all = idx_obj.search(queries[redo], n)
            out_s[redo], out_i[redo] = _order_rows(s_all, i_all, keys, k)
    return out_s, out_i


SearchFn = Callable[..., tuple[np.ndarray, np.ndarray]]
SEARCH_BACKENDS: Registry[SearchFn] = Registry("search backend")
"""Search functions by name, all with the signature ``(query_emb, doc_emb, k, doc_ids)``.

``exact`` is the blocked numpy search of :mod:`xlir.evaluation.search`; ``faiss`` is exact
``IndexFlatIP``; ``faiss-ivf`` and ``faiss-hnsw`` are approximate.
"""


SEARCH_BACKENDS.register("exact")(search)
SEARCH_BACKENDS.register("faiss")(partial(faiss_search, index="flat"))
SEARCH_BACKENDS.register("faiss-ivf")(partial(faiss_search, index="ivf"))
SEARCH_BACKENDS.register("faiss-hnsw")(partial(faiss_search, index="hnsw"))


def get_search_backend(name: str) -> SearchFn:
    """The search function registered as ``name`` (``exact``, ``faiss``, ``faiss-ivf``, ``faiss-hnsw``)."""
    return SEARCH_BACKENDS.get(name)
