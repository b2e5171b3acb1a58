"""Metrics by name: ``get_metric("nDCG@10")`` parses a measure name the way ir_measures does.

Names are parsed by ``ir_measures.parse_measure`` (the syntax pytrec_eval, ranx and ir_measures users
type: ``AP``, ``nDCG@10``, ``R@100``, ``RR@10``, ``P@1``, and its aliases ``MAP``, ``MRR@10``,
``NDCG@10``, ``Recall@100``), so a name means here what it means there. xlir computes the five
families itself, from exact ranks over the whole pool (LAReQA's mAP needs every relevant candidate's
rank, not a run cut at depth 100); ``tests/test_eval_ir_measures.py`` checks every family against
ir_measures on the run files. Lower-case spellings (``ndcg@10``, ``map``, ``mrr@10``,
``precision@1``) are accepted too. Measures ir_measures knows but xlir does not compute (``Judged@10``,
``AP(rel=2)``...) raise a :class:`ConfigError` that says so. Results files use the canonical spelling.
"""

from __future__ import annotations

import re

from xlir.errors import ConfigError
from xlir.evaluation.metrics import ap, ndcg, precision, recall, rr  # noqa: F401  (each registers itself)
from xlir.evaluation.metrics.base import METRICS, Metric

DEFAULT_METRICS = ("AP", "nDCG@10", "R@100", "RR@10", "P@1")

_NAME = re.compile(r"^\s*([A-Za-z]+)\s*(?:@\s*(\d+))?\s*$")
# ir_measures family name -> ours (ir_measures resolves its own aliases MAP, MRR, NDCG, Recall first)
_FROM_IR_MEASURES = {"AP": "ap", "nDCG": "ndcg", "R": "r", "RR": "rr", "P": "p"}


def _parse_ir_measures(name: str) -> tuple[str, int | None] | None:
    """``(family, k)`` when ir_measures knows ``name``; None when it does not (e.g. ``ndcg@10``)."""
    import ir_measures

    try:
        measure = ir_measures.parse_measure(name.strip())
    except (NameError, ValueError, SyntaxError, TypeError, AttributeError):
        return None
    params = dict(measure.params)
    k = params.pop("cutoff", None)
    if measure.NAME not in _FROM_IR_MEASURES or params:
        raise ConfigError(
            f"{name!r} is an ir_measures measure xlir does not compute; xlir computes "
            f"{', '.join(_FROM_IR_MEASURES)} with an optional @k (e.g. {', '.join(DEFAULT_METRICS)}). "
            "Compute others from the run folder's runs/*.trec files with ir_measures or ranx.")
    return _FROM_IR_MEASURES[measure.NAME], k


def get_metric(name: str) -> Metric:
    """Parse ``"nDCG@10"`` (ir_measures syntax: family + optional ``@k``) into a :class:`Metric`."""
    parsed = _parse_ir_measures(name)
    if parsed is None:
        m = _NAME.match(name)
        if not m:
            raise ConfigError(f"cannot parse metric {name!r}; expected e.g. AP, nDCG@10, R@100, RR@10, P@1")
        parsed = m.group(1), int(m.group(2)) if m.group(2) else None
    family, k = parsed
    if k is not None and k < 1:
        raise ConfigError(f"metric cutoff must be >= 1 in {name!r}")
    return METRICS.get(family)(k)


def parse_metrics(names) -> list[Metric]:
    """Metrics from a list or a comma-separated string, duplicates removed, order kept."""
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    if not isinstance(names, (list, tuple)) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"metrics must be names (a list or a comma-separated string), not {names!r}")
    out: dict[str, Metric] = {}
    for n in names:
        metric = get_metric(n)
        out.setdefault(metric.name, metric)
    if not out:
        raise ConfigError("no metrics given")
    return list(out.values())
