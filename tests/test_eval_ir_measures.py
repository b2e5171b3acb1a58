"""xlir's run files and measure names in the tools IR researchers use: ranx and ir_measures.

A real evaluation (tiny model, XQuAD-R de/en, first 20 questions, whole pool of those languages) is
saved with run files deep enough to hold the whole pool; then ranx and ir_measures read the files
as they are (no conversion) and their numbers must equal xlir's own full-pool figures per query /
per setting. The measure names users type parse the ir_measures way.
"""

from __future__ import annotations

import gzip

import ir_measures
import numpy as np
import pytest
import ranx

from xlir.errors import ConfigError
from xlir.evaluation import EvalConfig, evaluate
from xlir.evaluation.metrics import get_metric
from xlir.evaluation.results import read_run, run_file_paths
from xlir.evaluation.trec_runs import per_query_from_trec

NAMES = ["AP", "nDCG@10", "R@100", "RR@10", "P@1"]
RANX = {"AP": "map", "nDCG@10": "ndcg@10", "R@100": "recall@100", "RR@10": "mrr@10", "P@1": "precision@1"}


@pytest.fixture(scope="module")
def saved(data_dir, tmp_path_factory):
    from xlir.data import load_collection
    from xlir.models import load_model

    collection = load_collection("xquad-r", data_dir=data_dir, languages=["de", "en"]).subset(limit=20)
    config = EvalConfig(run_depth=len(collection.documents), show_progress=False, cache=False)
    result = evaluate(load_model("tiny"), collection, config, model_name="tiny")
    return result, result.save(tmp_path_factory.mktemp("run"))


@pytest.mark.slow  # ranx compiles each metric with numba on first use: ~25 s for the five
def test_ranx_reads_the_run_files_and_agrees_on_every_metric(saved):
    result, run_dir = saved
    for key in ("mono/de-de", "cross/de-en", "multi/en"):
        run_path, qrels_path = run_file_paths(run_dir, key)
        assert run_path.name.endswith(".trec") and qrels_path.name.endswith(".qrels.txt")
        run, qrels = ranx.Run.from_file(str(run_path)), ranx.Qrels.from_file(str(qrels_path))
        theirs = ranx.evaluate(qrels, run, list(RANX.values()))
        means = result.setting_means()[key]
        for ours, name in RANX.items():
            assert theirs[name] == pytest.approx(means[ours], abs=1e-9), (key, ours)


def test_ir_measures_per_query_equals_xlir_full_pool_figures(saved):
    result, run_dir = saved
    checked = 0
    for key in result.settings:
        run_path, qrels_path = run_file_paths(run_dir, key)
        qrels = list(ir_measures.read_trec_qrels(str(qrels_path)))
        run = list(ir_measures.read_trec_run(str(run_path)))
        measures = [get_metric(n).ir_measure for n in NAMES]
        for v in ir_measures.iter_calc(measures, qrels, run):
            assert v.value == pytest.approx(result.per_query[key][str(v.measure)][v.query_id], abs=1e-9)
            checked += 1
    assert checked == len(NAMES) * (20 * 2 + 20 * 2 + 20 * 2)  # mono, cross, multi: 40 queries each


def test_per_query_from_trec_matches_and_scores_missing_queries_zero(saved, tmp_path):
    result, run_dir = saved
    run_path, qrels_path = run_file_paths(run_dir, "cross/de-en")
    pq = per_query_from_trec(run_path, qrels_path, "AP,ndcg@10,MRR@10")["run"]
    assert list(pq) == ["AP", "nDCG@10", "RR@10"]
    for name in pq:
        assert pq[name] == pytest.approx(result.per_query["cross/de-en"][name], abs=1e-9)
    # drop one query from the run: it still counts, with 0, as trec_eval -c does
    lines = run_path.read_text().splitlines()
    dropped = lines[0].split()[0]
    partial = tmp_path / "partial.trec"
    partial.write_text("\n".join(x for x in lines if x.split()[0] != dropped) + "\n")
    pq2 = per_query_from_trec(partial, qrels_path, ["AP"])["run"]["AP"]
    assert pq2[dropped] == 0.0 and len(pq2) == len(pq["AP"])


def test_gzip_run_format_reads_the_same(saved, tmp_path):
    result, plain_dir = saved
    result.config["run_format"] = "trec.gz"
    try:
        out = result.save(tmp_path / "gz")
    finally:
        result.config["run_format"] = "trec"
    run_path, qrels_path = run_file_paths(out, "mono/de-de", "trec.gz")
    assert run_path.name == "de-de.trec.gz" and run_path.read_bytes()[:2] == b"\x1f\x8b"
    assert gzip.open(run_path, "rt").read() == run_file_paths(plain_dir, "mono/de-de")[0].read_text()
    plain_run, plain_qrels = run_file_paths(plain_dir, "mono/de-de")
    for run_file, qrels_file in ((run_path, qrels_path), (plain_run, plain_qrels)):  # ranx reads both as is
        run, qrels = ranx.Run.from_file(str(run_file)), ranx.Qrels.from_file(str(qrels_file))
        theirs = ranx.evaluate(qrels, run, "map")
        assert theirs == pytest.approx(result.setting_means()["mono/de-de"]["AP"], abs=1e-9)


@pytest.mark.parametrize(("typed", "canonical"), [
    ("AP", "AP"), ("MAP", "AP"), ("map", "AP"), ("AP@100", "AP@100"), ("nDCG@10", "nDCG@10"),
    ("NDCG@10", "nDCG@10"), ("ndcg@10", "nDCG@10"), ("R@100", "R@100"), ("Recall@100", "R@100"),
    ("RR@10", "RR@10"), ("MRR@10", "RR@10"), ("RR", "RR"), ("P@1", "P@1"), ("precision@1", "P@1"),
])
def test_measure_names_parse_the_ir_measures_way(typed, canonical):
    metric = get_metric(typed)
    assert metric.name == canonical
    assert str(metric.ir_measure) == canonical  # the same measure in ir_measures' own spelling


@pytest.mark.parametrize(("typed", "message"), [
    ("Judged@10", "does not compute"), ("AP(rel=2)", "does not compute"), ("P", "needs a cutoff"),
    ("nDCG@0", ">= 1"), ("BLEU", "unknown metric"),
])
def test_measures_xlir_does_not_compute_are_named(typed, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")):
        get_metric(typed)


def test_depth_cut_ap_is_ir_measures_ap_at_k(saved):
    """``AP@10`` (xlir, exact ranks) equals ir_measures' ``AP@10`` (trec_eval map_cut) on the runs."""
    result, run_dir = saved
    from xlir.evaluation.metrics import RelevantRanks

    run_path, qrels_path = run_file_paths(run_dir, "mono/en-en")
    run, qrels = read_run(run_path), ir_measures.read_trec_qrels(str(qrels_path))
    qrels = list(qrels)
    theirs = {v.query_id: v.value for v in ir_measures.iter_calc([ir_measures.AP @ 10], qrels, run)}
    rel = {}
    for q in qrels:
        if q.relevance > 0:
            rel.setdefault(q.query_id, set()).add(q.doc_id)
    ranks, grades = [], []
    for qid in sorted(theirs):
        order = sorted(run[qid].items(), key=lambda x: (x[1], x[0]), reverse=True)  # trec_eval's order
        ranks.append(np.array([i + 1 for i, (d, _) in enumerate(order) if d in rel[qid]], dtype=float))
        grades.append(np.ones(len(ranks[-1])))
    ours = get_metric("AP@10")(RelevantRanks.from_lists(ranks, grades))
    assert ours == pytest.approx([theirs[q] for q in sorted(theirs)], abs=1e-9)
