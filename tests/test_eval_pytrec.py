"""Our per-query metrics equal pytrec_eval's on the run files we write, on a real evaluation.

XQuAD-R, 3 languages, the first 30 questions per language against the whole candidate pool of those
languages (3,652 sentences), encoded with the tiny model. Every setting (3 mono, 6 cross, 3 multi)
is checked query by query to 1e-9: once with run files deep enough to hold the whole pool (so
pytrec_eval's ``map`` is our full-pool AP), once with depth-100 runs and ``depth=100``, and once on a
deliberately tied run (embeddings rounded to one decimal, so many candidates score exactly alike).
"""

from __future__ import annotations

import numpy as np
import pytest
import pytrec_eval

from xlir.evaluation import EvalConfig, EvalResult, evaluate, evaluate_embeddings, read_qrels, read_run

MEASURES = {"map", "ndcg_cut_10", "recall_100", "P_1", "recip_rank"}
PAIRS = [("AP", "map"), ("nDCG@10", "ndcg_cut_10"), ("R@100", "recall_100"), ("P@1", "P_1")]


@pytest.fixture(scope="module")
def collection(data_dir):
    from xlir.data import load_collection

    return load_collection("xquad-r", data_dir=data_dir, languages=["de", "en", "zh"]).subset(limit=30)


@pytest.fixture(scope="module")
def tiny():
    from xlir.models import load_model

    return load_model("tiny")


@pytest.fixture(scope="module")
def full_depth(collection, tiny, tmp_path_factory):
    cache = tmp_path_factory.mktemp("emb-cache")
    config = EvalConfig(run_depth=len(collection.documents), cache_dir=str(cache), show_progress=False)
    result = evaluate(tiny, collection, config, model_name="tiny")
    run_dir = result.save(tmp_path_factory.mktemp("run-full"))
    return result, run_dir, cache


def _check_against_pytrec(result, run_dir, *, rr_cut=10):
    worst, checked = 0.0, 0
    for key in result.settings:
        run = read_run(run_dir / "runs" / f"{key}.trec")
        qrels = read_qrels(run_dir / "runs" / f"{key}.qrels.txt")
        ref = pytrec_eval.RelevanceEvaluator(qrels, MEASURES).evaluate(run)
        # RR@10: trec_eval's recip_rank on the run cut to its 10 best (score desc, doc id desc)
        top10 = {q: dict(sorted(d.items(), key=lambda x: (x[1], x[0]), reverse=True)[:rr_cut])
                 for q, d in run.items()}
        ref_rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(top10)
        assert set(ref) == set(result.per_query[key]["AP"])
        for qid, values in ref.items():
            for ours, theirs in PAIRS:
                worst = max(worst, abs(result.per_query[key][ours][qid] - values[theirs]))
            worst = max(worst, abs(result.per_query[key]["RR@10"][qid] - ref_rr[qid]["recip_rank"]))
            checked += 1
    assert worst <= 1e-9
    return checked


def test_full_pool_metrics_equal_pytrec_eval(full_depth, collection):
    result, run_dir, _ = full_depth
    assert len(result.settings) == 12
    assert result.settings["multi/de"]["n_candidates"] == len(collection.documents) == 3652
    checked = _check_against_pytrec(result, run_dir)
    assert checked == 30 * 3 + 30 * 6 + 30 * 3
    # the numbers are not degenerate: something is found and not everything is perfect
    ap = [v for key in result.per_query for v in result.per_query[key]["AP"].values()]
    assert 0.0 < np.mean(ap) < 0.5


def test_depth_limited_metrics_equal_pytrec_eval_on_depth_runs(full_depth, collection, tiny, tmp_path):
    result, _, cache = full_depth
    config = EvalConfig(depth=100, run_depth=100, cache_dir=str(cache), show_progress=False)
    shallow = evaluate(tiny, collection, config, model_name="tiny")
    assert shallow.encoding["encoded"] == 0  # second evaluation of the same model: all cache hits
    run_dir = shallow.save(tmp_path)
    _check_against_pytrec(shallow, run_dir)
    # depth only lowers AP (relevants below 100 no longer count); rank distance is unaffected
    for key in result.settings:
        for qid, v in shallow.per_query[key]["AP"].items():
            assert v <= result.per_query[key]["AP"][qid] + 1e-12
    assert shallow.bias_per_query == result.bias_per_query


def test_tied_run_equals_pytrec_eval(full_depth, collection, tiny, tmp_path):
    """Embeddings rounded to 0.1 make many exact ties; tie order must match trec_eval's."""
    from xlir.evaluation.encode import encode_collection

    _, _, cache = full_depth
    q, d, _ = encode_collection(tiny, collection, cache_dir=str(cache), show_progress=False)
    q, d = np.round(q, 1), np.round(d, 1)
    result = evaluate_embeddings(q, d, collection, EvalConfig(run_depth=len(d), show_progress=False))
    run_dir = result.save(tmp_path)
    scores = q[:30] @ d.T
    tied_rows = sum(len(np.unique(row)) < len(row) for row in scores)
    assert tied_rows == 30  # every query's ranking has ties
    _check_against_pytrec(result, run_dir)


def test_saved_folder_loads_back(full_depth):
    result, run_dir, _ = full_depth
    loaded = EvalResult.load(run_dir)
    assert loaded.per_query == result.per_query
    assert loaded.figures() == result.figures()
    assert loaded.model == result.model
