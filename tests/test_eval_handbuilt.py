"""The three settings, the macro averages and the bias measures on a case worked out by hand.

Embedding trick: documents are the 6 standard basis vectors, so a query's vector *is* its score row
and every score below is exactly what the evaluator sees.

Documents (index = basis vector):  0 de/0/0 (gold g1)  1 de/0/1 (gold g2)  2 de/0/2
                                   3 en/0/0 (gold g1)  4 en/0/1 (gold g2)  5 en/0/2
Judgments: en/g1, de/g1 -> {de/0/0, en/0/0}; en/g2 -> {de/0/1, en/0/1};
           de/g2 -> {de/0/1} only (an MLQA-R-style question without an English gold sentence).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from xlir.data.schema import Collection, Document, Query
from xlir.evaluation import EvalConfig, evaluate_embeddings, quick_summary

DOCS = ["de/0/0", "de/0/1", "de/0/2", "en/0/0", "en/0/1", "en/0/2"]
#            de/0/0 de/0/1 de/0/2 en/0/0 en/0/1 en/0/2
SCORES = {
    "en/g1": [0.3, 0.7, 0.1, 0.9, 0.5, 0.8],
    "de/g1": [0.6, 0.6, 0.2, 0.95, 0.4, 0.0],  # de/0/0 and de/0/1 tie exactly
    "en/g2": [0.4, 0.5, 0.6, 0.2, 0.1, 0.3],
    "de/g2": [0.1, 0.9, 0.2, 0.3, 0.95, 0.0],
}


@pytest.fixture(scope="module")
def result():
    queries = [Query(qid, f"question {qid}", qid[:2], qid[3:]) for qid in SCORES]
    docs = [Document(d, f"sentence {d}", d[:2]) for d in DOCS]
    qrels = {"en/g1": {"de/0/0": 1, "en/0/0": 1}, "de/g1": {"de/0/0": 1, "en/0/0": 1},
             "en/g2": {"de/0/1": 1, "en/0/1": 1}, "de/g2": {"de/0/1": 1}}
    coll = Collection("hand", queries, docs, qrels, parallel=True).validate()
    q = np.array([SCORES[x.id] for x in queries], np.float32)
    d = np.eye(6, dtype=np.float32)
    return evaluate_embeddings(q, d, coll, EvalConfig(show_progress=False), model_info={"name": "hand"})


def test_settings_present_and_query_counts(result):
    # cross/de-en holds de/g1 only: de/g2 has no English gold sentence, so it is left out there
    counts = {k: v["n_queries"] for k, v in result.settings.items()}
    assert counts == {"mono/de-de": 2, "cross/de-en": 1, "multi/de": 2,
                      "cross/en-de": 2, "mono/en-en": 2, "multi/en": 2}
    assert result.settings["multi/en"]["n_candidates"] == 6
    assert result.settings["mono/en-en"]["n_candidates"] == 3


def test_per_query_ap_by_hand(result):
    ap = {k: v["AP"] for k, v in result.per_query.items()}
    # en/g1 mono en-en: en/0/0 .9 > en/0/2 .8 > en/0/1 .5 -> gold at 1 -> AP 1
    assert ap["mono/en-en"]["en/g1"] == pytest.approx(1.0)
    # en/g2 mono en-en: .3 en/0/2, .2 en/0/0, .1 en/0/1 (gold) -> rank 3 -> 1/3
    assert ap["mono/en-en"]["en/g2"] == pytest.approx(1 / 3)
    # de/g1 mono de-de: de/0/0 and de/0/1 tie at .6; trec_eval breaks ties by doc id descending, so
    # de/0/1 comes first and the gold de/0/0 is at rank 2 -> AP 1/2
    assert ap["mono/de-de"]["de/g1"] == pytest.approx(0.5)
    assert ap["mono/de-de"]["de/g2"] == pytest.approx(1.0)
    # en/g1 cross en-de: de/0/1 .7, de/0/0 .3 (gold), de/0/2 .1 -> rank 2 -> 1/2
    assert ap["cross/en-de"]["en/g1"] == pytest.approx(0.5)
    # en/g2 cross en-de: de/0/2 .6, de/0/1 .5 (gold) -> 1/2
    assert ap["cross/en-de"]["en/g2"] == pytest.approx(0.5)
    # de/g1 cross de-en: en/0/0 .95 first -> 1
    assert ap["cross/de-en"] == {"de/g1": pytest.approx(1.0)}
    # multi en/g1: en/0/0 .9 (1, gold), en/0/2 .8, de/0/1 .7, en/0/1 .5, de/0/0 .3 (5, gold), de/0/2
    #   AP = (1/1 + 2/5) / 2 = 0.7
    assert ap["multi/en"]["en/g1"] == pytest.approx(0.7)
    # multi en/g2: de/0/2 .6, de/0/1 .5 (2, gold), de/0/0 .4, en/0/2 .3, en/0/0 .2, en/0/1 .1 (6, gold)
    #   AP = (1/2 + 2/6) / 2 = 5/12
    assert ap["multi/en"]["en/g2"] == pytest.approx(5 / 12)
    # multi de/g1: en/0/0 .95 (1, gold), de/0/1 .6, de/0/0 .6 (3, gold: tie lost to de/0/1), ...
    #   AP = (1 + 2/3) / 2 = 5/6
    assert ap["multi/de"]["de/g1"] == pytest.approx(5 / 6)
    # multi de/g2: en/0/1 .95 (not judged relevant for de/g2), de/0/1 .9 (2, gold) -> 1/2
    assert ap["multi/de"]["de/g2"] == pytest.approx(0.5)


def test_other_metrics_by_hand(result):
    pq = result.per_query
    # cross en-de en/g1: gold at rank 2 -> nDCG@10 = (1/log2 3) / (1/log2 2), RR 1/2, P@1 0, R@100 1
    assert pq["cross/en-de"]["nDCG@10"]["en/g1"] == pytest.approx(1 / math.log2(3))
    assert pq["cross/en-de"]["RR@10"]["en/g1"] == pytest.approx(0.5)
    assert pq["cross/en-de"]["P@1"]["en/g1"] == 0.0
    assert pq["cross/en-de"]["R@100"]["en/g1"] == 1.0
    # multi en/g1: golds at 1 and 5 -> DCG = 1 + 1/log2 6, IDCG = 1 + 1/log2 3
    expected = (1 + 1 / math.log2(6)) / (1 + 1 / math.log2(3))
    assert pq["multi/en"]["nDCG@10"]["en/g1"] == pytest.approx(expected)
    assert pq["multi/en"]["P@1"]["en/g1"] == 1.0


def test_macro_averages_by_hand(result):
    agg = result.aggregates()
    # mono: en-en (1 + 1/3)/2 = 2/3, de-de (1/2 + 1)/2 = 3/4 -> macro 17/24
    assert agg["mono"]["AP"]["mean"] == pytest.approx(17 / 24)
    assert (agg["mono"]["AP"]["n_settings"], agg["mono"]["AP"]["n_queries"]) == (2, 4)
    # cross: en-de (1/2 + 1/2)/2 = 1/2, de-en 1 -> macro 3/4 over 3 queries
    assert agg["cross"]["AP"]["mean"] == pytest.approx(0.75)
    assert agg["cross"]["AP"]["n_queries"] == 3
    # multi: en (0.7 + 5/12)/2 = 67/120, de (5/6 + 1/2)/2 = 2/3 -> macro (67/120 + 80/120)/2 = 147/240
    assert agg["multi"]["AP"]["mean"] == pytest.approx(147 / 240)


def test_bias_by_hand(result):
    bpq = result.bias_per_query
    # rank distance = lowest-ranked minus highest-ranked gold in the pooled ranking:
    # en/g1 5-1 = 4, en/g2 6-2 = 4, de/g1 3-1 = 2; de/g2 has one gold only -> undefined, left out
    assert bpq["multi/en"]["rank_distance"] == {"en/g1": 4.0, "en/g2": 4.0}
    assert bpq["multi/de"]["rank_distance"] == {"de/g1": 2.0}
    # own-language top: en/g1 top gold en/0/0 (en) -> 1; en/g2 top gold de/0/1 -> 0;
    # de/g1 top gold en/0/0 -> 0; de/g2 top (only) gold de/0/1 -> 1, chance 1/1
    assert bpq["multi/en"]["own_language_top"] == {"en/g1": 1.0, "en/g2": 0.0}
    assert bpq["multi/de"]["own_language_top"] == {"de/g1": 0.0, "de/g2": 1.0}
    assert bpq["multi/de"]["own_language_chance"] == {"de/g1": 0.5, "de/g2": 1.0}
    bias = result.bias()
    # per language: en 4, de 2 -> macro 3; own share en 0.5, de 0.5; chance en 0.5, de 0.75 -> 0.625
    assert bias["rank_distance"]["mean"] == pytest.approx(3.0)
    assert bias["rank_distance"]["per_language"]["de"] == {"mean": 2.0, "n_queries": 1}
    assert bias["own_language_top"]["mean"] == pytest.approx(0.5)
    assert bias["own_language_top"]["chance"] == pytest.approx(0.625)
    qs = quick_summary(result)
    assert qs["mono"] == pytest.approx(17 / 24) and qs["multi"] == pytest.approx(147 / 240)
    assert qs["rank_distance"] == pytest.approx(3.0)


def test_depth_cuts_ap_like_a_shallow_run(result):
    """With depth 4 the second gold of en/g1 (rank 5) is not retrieved: AP = (1/1 + 0) / 2."""
    coll_q = np.array([SCORES[k] for k in SCORES], np.float32)
    queries = [Query(qid, "q", qid[:2], qid[3:]) for qid in SCORES]
    docs = [Document(d, "s", d[:2]) for d in DOCS]
    qrels = {"en/g1": {"de/0/0": 1, "en/0/0": 1}, "de/g1": {"de/0/0": 1, "en/0/0": 1},
             "en/g2": {"de/0/1": 1, "en/0/1": 1}, "de/g2": {"de/0/1": 1}}
    coll = Collection("hand", queries, docs, qrels, parallel=True)
    r = evaluate_embeddings(coll_q, np.eye(6, dtype=np.float32), coll,
                            EvalConfig(depth=4, settings=["multi"], show_progress=False))
    assert r.per_query["multi/en"]["AP"]["en/g1"] == pytest.approx(0.5)
    # rank distance still uses the full pool, not the depth
    assert r.bias_per_query["multi/en"]["rank_distance"]["en/g1"] == 4.0
    assert set(r.settings) == {"multi/en", "multi/de"}


def test_runs_follow_trec_order(result):
    run = result.runs["mono/de-de"]
    i = run.query_ids.index("de/g1")
    assert run.doc_ids[i] == ["de/0/1", "de/0/0", "de/0/2"]  # .6 tie: id descending, then .2
    assert result.qrels["cross/de-en"] == {"de/g1": {"en/0/0": 1}}


def test_config_from_toml(tmp_path):
    from xlir.errors import ConfigError

    path = tmp_path / "eval.toml"
    path.write_text('[eval]\nmetrics = ["mAP", "mrr@10"]\nsettings = ["multi", "mono"]\ndepth = 50\n')
    cfg = EvalConfig.from_toml(path)
    assert cfg.metrics == ["AP", "RR@10"] and cfg.settings == ["mono", "multi"] and cfg.depth == 50
    path.write_text("[eval]\nbatch_size = 0\n")
    with pytest.raises(ConfigError, match="batch_size"):
        EvalConfig.from_toml(path)
    path.write_text('[eval]\nsettings = ["pooled"]\n')
    with pytest.raises(ConfigError, match="pooled"):
        EvalConfig.from_toml(path)


def test_faiss_backend_gives_the_same_metrics_when_it_ranks_the_whole_pool(result):
    queries = [Query(qid, "q", qid[:2], qid[3:]) for qid in SCORES]
    docs = [Document(d, "s", d[:2]) for d in DOCS]
    coll = Collection("hand", queries, docs, {k: result.qrels[f"multi/{k[:2]}"][k] for k in SCORES},
                      parallel=True)
    q = np.array([SCORES[k] for k in SCORES], np.float32)
    r = evaluate_embeddings(q, np.eye(6, dtype=np.float32), coll,
                            EvalConfig(backend="faiss", show_progress=False))
    assert r.per_query == result.per_query
    assert r.bias_per_query == {}  # the bias measures need exact full-pool ranks
