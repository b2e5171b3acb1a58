"""Retrieval metrics as small named objects computed from the ranks of relevant candidates."""

from xlir.evaluation.metrics.base import Metric, RelevantRanks
from xlir.evaluation.metrics.registry import DEFAULT_METRICS, METRICS, get_metric, parse_metrics

__all__ = ["DEFAULT_METRICS", "METRICS", "Metric", "RelevantRanks", "get_metric", "parse_metrics"]
