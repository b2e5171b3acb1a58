"""Exact nearest-neighbour search by blocked matrix products, with trec_eval's tie-breaking.

Scores are inner products of L2-normalised float32 vectors (cosine similarity). Queries are scored
in blocks whose score matrix stays under ``max_block_mb``, and each block keeps only what is needed:
the top ``k`` candidates (for run files) and, when asked, the exact rank of given relevant
candidates in the *whole* pool (for AP over the full pool and the rank distance), computed by
counting, without sorting the pool.

Tie-breaking (documented, tested): ``trec_eval`` — and pytrec_eval, which embeds it — re-sorts each
query's run by score descending and then by document id descending (``strcmp`` order), ignoring
the rank column. We verified this by experiment: with three tied candidates ``d1 d2 d3`` and
``d1`` relevant, ``recip_rank`` is 1/3 whatever the order in the run; with ``a d1 z`` it is 1/2;
with ids ``"9"`` and ``"10"`` tied, ``"9"`` ranks first (string order, not numeric). So we rank the
same way: higher score first, equal scores by document id descending, comparing Python ``str``
(code point order = UTF-8 byte order = ``strcmp``). Run files we write therefore score the same in
pytrec_eval as in our metrics, even with ties (identical duplicate sentences tie exactly).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

DEFAULT_BLOCK_MB = 256


def tie_keys(doc_ids: Sequence[str]) -> np.ndarray:
    """``key[j]`` = position of document ``j`` in id-descending order: lower key wins a tie."""
    order = sorted(range(len(doc_ids)), key=doc_ids.__getitem__, reverse=True)
    keys = np.empty(len(doc_ids), dtype=np.int64)
    keys[np.asarray(order, dtype=np.int64)] = np.arange(len(doc_ids))
    return keys


def block_rows(n_docs: int, max_block_mb: float = DEFAULT_BLOCK_MB) -> int:
    """Queries per block so that a block's float32 scores plus temporaries fit ``max_block_mb``."""
    per_row = max(1, n_docs) * 4 * 3
    return int(max(1, min(4096, max_block_mb * 2**20 // per_row)))


def score_blocks(query_emb: np.ndarray, doc_emb: np.ndarray,
                 max_block_mb: float = DEFAULT_BLOCK_MB) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(start, scores[start:start+b, :])`` float32 blocks of ``query_emb @ doc_emb.T``."""
    q = np.ascontiguousarray(query_emb, dtype=np.float32)
    d = np.ascontiguousarray(doc_emb, dtype=np.float32)
    step = block_rows(len(d), max_block_mb)
    for start in range(0, len(q), step):
        yield start, q[start:start + step] @ d.T


def top_k(scores: np.ndarray, k: int, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Top ``k`` per row of a score block, ordered by score desc then tie key asc (= doc id desc).

    ``np.argpartition`` finds a k-th score; rows where more candidates tie with it than fit are
    settled by the tie key, so the kept set and its order are what a full sort would give.
    """
    nq, n = scores.shape
    k = min(k, n)
    if k == 0:
        return np.zeros((nq, 0), np.float32), np.zeros((nq, 0), np.int64)
    if k < n:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    else:
        part = np.broadcast_to(np.arange(n), (nq, n)).copy()
    part_s = np.take_along_axis(scores, part, axis=1)
    kth = part_s.min(axis=1)
    order = np.lexsort((keys[part], -part_s), axis=1)
    idx = np.take_along_axis(part, order, axis=1)
    if k < n:
        # rows where a tie at the k-th score straddles the cut: re-pick among all tied candidates
        n_ge = (scores >= kth[:, None]).sum(axis=1)
        for row in np.flatnonzero(n_ge > k):
            cand = np.flatnonzero(scores[row] >= kth[row])
            pick = cand[np.lexsort((keys[cand], -scores[row, cand]))[:k]]
            idx[row] = pick
    return np.take_along_axis(scores, idx, axis=1).astype(np.float32, copy=False), idx.astype(np.int64)


def relevant_ranks(scores: np.ndarray, keys: np.ndarray, relevant: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Exact 1-based rank in the whole row of each listed candidate, by counting.

    rank(j) = 1 + #{scores > s_j} + #{scores == s_j and key < key_j}: the position a full sort by
    (score desc, doc id desc) would give, at O(pool) per relevant candidate instead of a sort.
    """
    nq = scores.shape[0]
    width = max((len(r) for r in relevant), default=0)
    out = [np.zeros(0, np.int64) for _ in range(nq)]
    if width == 0:
        return out
    pad = np.zeros((nq, width), np.int64)
    mask = np.zeros((nq, width), bool)
    for i, r in enumerate(relevant):
        pad[i, : len(r)] = r
        mask[i, : len(r)] = True
    rel_s = np.take_along_axis(scores, pad, axis=1)
    rel_k = keys[pad]
    ranks = np.zeros((nq, width), np.int64)
    for c in range(width):
        live = np.flatnonzero(mask[:, c])
        if len(live) == 0:
            continue
        s = scores[live]
        v = rel_s[live, c][:, None]
        above = (s > v).sum(axis=1)
        ties = ((s == v) & (keys[None, :] < rel_k[live, c][:, None])).sum(axis=1)
        ranks[live, c] = 1 + above + ties
    return [ranks[i, : len(r)] for i, r in enumerate(relevant)]


def search(query_emb: np.ndarray, doc_emb: np.ndarray, k: int, doc_ids: Sequence[str],
           *, max_block_mb: float = DEFAULT_BLOCK_MB) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` by inner product: ``(scores [nq, k] float32, idx [nq, k] int64)``.

    ``idx`` indexes ``doc_emb`` / ``doc_ids``; rows are ordered by score descending, ties by document
    id descending (trec_eval's order). ``k`` larger than the pool is cut to the pool size. This is
    the contract every search backend (see :mod:`xlir.evaluation.faiss_search`) follows.
    """
    scores, idx, _ = search_with_ranks(query_emb, doc_emb, k, doc_ids, max_block_mb=max_block_mb)
    return scores, idx


def search_with_ranks(query_emb: np.ndarray, doc_emb: np.ndarray, k: int, doc_ids: Sequence[str],
                      relevant: Sequence[np.ndarray] | None = None, *,
                      max_block_mb: float = DEFAULT_BLOCK_MB,
                      ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray] | None]:
    """:func:`search` plus, for each query, the exact full-pool rank of ``relevant[i]`` (indices
    into ``doc_emb``), from the same score block as the top ``k`` so both always agree."""
    if len(doc_ids) != len(doc_emb):
        raise ValueError(f"{len(doc_ids)} doc ids for {len(doc_emb)} document vectors")
    keys = tie_keys(doc_ids)
    nq = len(query_emb)
    kk = min(int(k), len(doc_emb))
    out_s = np.zeros((nq, kk), np.float32)
    out_i = np.zeros((nq, kk), np.int64)
    ranks: list[np.ndarray] | None = [] if relevant is not None else None
    for start, block in score_blocks(query_emb, doc_emb, max_block_mb):
        end = start + len(block)
        out_s[start:end], out_i[start:end] = top_k(block, kk, keys)
        if ranks is not None:
            ranks.extend(relevant_ranks(block, keys, relevant[start:end]))
    return out_s, out_i, ranks
