"""Per-query scores of any system's TREC run file, so ``xlir compare`` can test runs xlir did not make.

A run of BM25 from Pyserini, of a ColBERT index or of an xlir run folder's ``runs/*.trec`` is scored
against a TREC qrels file with ir_measures (its pytrec_eval engine): the measure names are the ones
:func:`xlir.evaluation.metrics.get_metric` accepts, computed by the reference implementation rather
than by xlir's rank-based code, because a run file holds only its top candidates, not the whole pool.

Queries follow trec_eval's ``-c`` convention: every query of the qrels with at least one relevant
document is scored, and one the run did not retrieve for scores 0 (otherwise a system that drops
hard queries would look better). Run queries absent from the qrels are ignored.
"""

from __future__ import annotations

from pathlib import Path

from xlir.errors import DataError
from xlir.evaluation.metrics import parse_metrics

SETTING = "run"
"""The one setting name of a TREC-file comparison (xlir folders have ``mono/de-de``...)."""


def per_query_from_trec(run_path: str | Path, qrels_path: str | Path,
                        metrics=("AP", "nDCG@10", "R@100", "RR@10", "P@1")) -> dict:
    """``{"run": {metric: {query_id: value}}}`` of one run file, the layout ``compare_runs`` pairs."""
    import ir_measures

    from xlir.evaluation.results import read_qrels, read_run

    measures = {m.name: m.ir_measure for m in parse_metrics(metrics)}
    run, qrels = read_run(run_path), read_qrels(qrels_path)
    judged = {q for q, docs in qrels.items() if any(g > 0 for g in docs.values())}
    if not judged:
        raise DataError(qrels_path, "no query has a relevant document", expected="qid 0 docid grade>0")
    if not judged & set(run):
        raise DataError(run_path, f"none of its {len(run)} queries is judged in {qrels_path}",
                        expected="query ids of the qrels file")
    out: dict[str, dict[str, float]] = {name: dict.fromkeys(sorted(judged), 0.0) for name in measures}
    by_measure = {m: name for name, m in measures.items()}
    for value in ir_measures.iter_calc(list(measures.values()), qrels, run):
        if value.query_id in judged:
            out[by_measure[value.measure]][value.query_id] = float(value.value)
    return {SETTING: out}
