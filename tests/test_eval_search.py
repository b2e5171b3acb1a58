"""Exact blocked search: same top-k and ranks as a full sort, trec_eval's tie order, verified."""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval

from xlir.evaluation.search import relevant_ranks, search, search_with_ranks, tie_keys, top_k


def _full_sort(scores, doc_ids):
    """Reference: every row sorted by score desc, then doc id desc (Python sort, float64)."""
    return [sorted(range(len(doc_ids)), key=lambda j, r=row: (-float(r[j]), _desc(doc_ids[j])))
            for row in scores]


def _desc(s):
    return tuple(-ord(c) for c in s) + (1,)  # longer id wins a prefix tie, as in strcmp descending


def test_pytrec_eval_breaks_ties_by_doc_id_descending():
    """The experiment behind our tie rule (see xlir.evaluation.search)."""
    measures = {"recip_rank"}
    ev = pytrec_eval.RelevanceEvaluator({"q": {"d1": 1}}, measures)
    # three tied candidates, in either file order: d3 > d2 > d1, so d1 is third
    assert ev.evaluate({"q": {"d1": 1.0, "d2": 1.0, "d3": 1.0}})["q"]["recip_rank"] == pytest.approx(1 / 3)
    assert ev.evaluate({"q": {"d3": 1.0, "d2": 1.0, "d1": 1.0}})["q"]["recip_rank"] == pytest.approx(1 / 3)
    assert ev.evaluate({"q": {"a": 1.0, "d1": 1.0, "z": 1.0}})["q"]["recip_rank"] == pytest.approx(1 / 2)
    # string order, not numeric: "9" > "10"
    ev = pytrec_eval.RelevanceEvaluator({"q": {"10": 1}}, measures)
    assert ev.evaluate({"q": {"10": 1.0, "9": 1.0}})["q"]["recip_rank"] == pytest.approx(1 / 2)
    # ours agrees
    assert tie_keys(["10", "9"]).tolist() == [1, 0]


@pytest.mark.parametrize("block_mb", [0.001, 256])
def test_search_matches_full_sort_with_ties(block_mb):
    rng = np.random.default_rng(0)
    # coarse values force many exact ties, including across the k-th position
    q = rng.integers(0, 3, size=(40, 6)).astype(np.float32)
    d = rng.integers(0, 3, size=(300, 6)).astype(np.float32)
    doc_ids = [f"doc{rng.integers(0, 10**6)}-{i}" for i in range(300)]
    scores = q @ d.T
    ref = _full_sort(scores, doc_ids)
    s, i = search(q, d, 25, doc_ids, max_block_mb=block_mb)
    assert i.tolist() == [r[:25] for r in ref]
    assert np.array_equal(s, np.take_along_axis(scores, i, 1))
    relevant = [rng.choice(300, size=5, replace=False) for _ in range(40)]
    _, _, ranks = search_with_ranks(q, d, 25, doc_ids, relevant, max_block_mb=block_mb)
    for row, rel, rk in zip(ref, relevant, ranks, strict=True):
        assert rk.tolist() == [row.index(j) + 1 for j in rel]


def test_k_larger_than_pool_and_empty():
    d = np.eye(3, dtype=np.float32)
    s, i = search(np.ones((2, 3), np.float32), d, 10, ["a", "b", "c"])
    assert i.tolist() == [[2, 1, 0], [2, 1, 0]]  # all tied: c, b, a
    keys = tie_keys(["a", "b", "c"])
    s0, i0 = top_k(np.zeros((2, 3), np.float32), 0, keys)
    assert s0.shape == (2, 0)
    assert relevant_ranks(np.zeros((1, 3), np.float32), keys, [np.array([], np.int64)])[0].size == 0
