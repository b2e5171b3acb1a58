"""Metrics by name: ``get_metric("nDCG@10")`` parses a family name and an optional ``@k`` cutoff.

Canonical names are ``AP``, ``nDCG@10``, ``R@100``, ``RR@10``, ``P@1``; common spellings are
accepted (``mAP``, ``MAP``, ``Recall@100``, ``MRR@10``, ``NDCG@10``, ``precision@1``) and
normalised, so results files always use the canonical spelling.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from xlir.errors import ConfigError
from xlir.evaluation.metrics.ap import AveragePrecision
from xlir.evaluation.metrics.base import Metric
from xlir.evaluation.metrics.ndcg import NDCG
from xlir.evaluation.metrics.precision import Precision
from xlir.evaluation.metrics.recall import Recall
from xlir.evaluation.metrics.rr import ReciprocalRank
from xlir.registry import Registry

MetricFactory = Callable[[int | None], Metric]
METRICS: Registry[MetricFactory] = Registry("metric")
"""family name -> ``factory(k) -> Metric``; the family's canonical spelling is the factory's output."""

DEFAULT_METRICS = ("AP", "nDCG@10", "R@100", "RR@10", "P@1")


def _cut(base: str, k: int | None) -> str:
    return base if k is None else f"{base}@{k}"


def _ap(k):
    return AveragePrecision(_cut("AP", k), k, "average precision over all relevant candidates")


def _ndcg(k):
    return NDCG(_cut("nDCG", k), k, "normalised discounted cumulative gain")


def _recall(k):
    return Recall(_cut("R", k), k, "share of relevant candidates retrieved")


def _rr(k):
    return ReciprocalRank(_cut("RR", k), k, "reciprocal rank of the first relevant candidate")


def _precision(k):
    return Precision(_cut("P", k), k, "share of the top k that is relevant")


for _names, _factory in ((("ap", "map"), _ap), (("ndcg",), _ndcg), (("r", "recall"), _recall),
                         (("rr", "mrr"), _rr), (("p", "precision"), _precision)):
    for _n in _names:
        METRICS.register(_n)(_factory)

_NAME = re.compile(r"^\s*([A-Za-z]+)\s*(?:@\s*(\d+))?\s*$")


def get_metric(name: str) -> Metric:
    """Parse ``"nDCG@10"`` (family + optional ``@k``) into a :class:`Metric`."""
    m = _NAME.match(name)
    if not m:
        raise ConfigError(f"cannot parse metric {name!r}; expected e.g. AP, nDCG@10, R@100, RR@10, P@1")
    k = int(m.group(2)) if m.group(2) else None
    if k is not None and k < 1:
        raise ConfigError(f"metric cutoff must be >= 1 in {name!r}")
    return METRICS.get(m.group(1))(k)


def parse_metrics(names) -> list[Metric]:
    """Metrics from a list or a comma-separated string, duplicates removed, order kept."""
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    out: dict[str, Metric] = {}
    for n in names:
        metric = get_metric(n)
        out.setdefault(metric.name, metric)
    if not out:
        raise ConfigError("no metrics given")
    return list(out.values())
