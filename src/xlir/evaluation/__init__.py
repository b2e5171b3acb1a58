"""Evaluation engine: LAReQA-style monolingual, cross-lingual and multilingual retrieval.

``evaluate(model, collection, EvalConfig(...)) -> EvalResult``; see :mod:`.evaluator` for how one
encoding pass and one blocked matrix product per query language serve every setting, :mod:`.search`
for the tie-breaking shared with trec_eval, :mod:`.metrics` for the metric definitions and
:mod:`.bias` for the language-bias measures.
"""

from xlir.evaluation.evaluator import EvalConfig, evaluate, evaluate_embeddings
from xlir.evaluation.metrics import DEFAULT_METRICS, get_metric, parse_metrics
from xlir.evaluation.results import EvalResult, read_qrels, read_run
from xlir.evaluation.search import search
from xlir.evaluation.settings import Setting, plan_settings


def quick_summary(result: EvalResult, metric: str = "AP") -> dict:
    """``{"mono", "cross", "multi": macro mean of `metric` (None if not evaluated), "rank_distance",
    "own_language_top", "chance", "n_queries"}`` — the four numbers a study table needs."""
    agg = result.aggregates()
    out = {kind: (agg[kind][metric]["mean"] if kind in agg and metric in agg[kind] else None)
           for kind in ("mono", "cross", "multi")}
    bias = result.bias()
    out["rank_distance"] = bias.get("rank_distance", {}).get("mean") if bias else None
    out["own_language_top"] = bias.get("own_language_top", {}).get("mean") if bias else None
    out["chance"] = bias.get("own_language_top", {}).get("chance") if bias else None
    out["n_queries"] = {kind: agg[kind][metric]["n_queries"] for kind in agg if metric in agg[kind]}
    return out


__all__ = ["DEFAULT_METRICS", "EvalConfig", "EvalResult", "Setting", "evaluate", "evaluate_embeddings",
           "get_metric", "parse_metrics", "plan_settings", "quick_summary", "read_qrels", "read_run",
           "search"]
