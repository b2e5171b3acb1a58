"""Metric definitions on small rank lists, and the metric registry's names."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xlir.errors import ConfigError
from xlir.evaluation.metrics import DEFAULT_METRICS, RelevantRanks, get_metric, parse_metrics


def _rr(ranks, grades=None, depth=None):
    grades = grades or [[1] * len(r) for r in ranks]
    return RelevantRanks.from_lists([np.array(r, float) for r in ranks],
                                    [np.array(g, float) for g in grades], depth=depth)


def test_ap_counts_unretrieved_relevants_as_zero():
    # golds at ranks 2 and 4 -> (1/2 + 2/4) / 2; three golds, one never retrieved -> (1/1 + 2/3 + 0) / 3
    rr = _rr([[4, 2], [1, 3, np.inf]])
    assert get_metric("AP")(rr) == pytest.approx([0.5, (1 + 2 / 3) / 3])


def test_depth_turns_deep_ranks_into_misses():
    rr = _rr([[1, 50]], depth=10)
    assert get_metric("AP")(rr) == pytest.approx([0.5])
    assert get_metric("R@100")(rr) == pytest.approx([0.5])


def test_ndcg_graded_and_cut():
    # grades 2 at rank 3, 1 at rank 1; ideal: 2 at rank 1, 1 at rank 2
    rr = _rr([[3, 1]], [[2, 1]])
    dcg = 1 / math.log2(2) + 2 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert get_metric("nDCG@10")(rr) == pytest.approx([dcg / idcg])
    # @2 keeps only the rank-1 gold; the ideal is cut at 2 too
    assert get_metric("nDCG@2")(rr) == pytest.approx([1 / idcg])


def test_rr_recall_precision():
    rr = _rr([[3, 12], [11], [1, 2]])
    assert get_metric("RR@10")(rr) == pytest.approx([1 / 3, 0.0, 1.0])
    assert get_metric("MRR@10")(rr) == pytest.approx([1 / 3, 0.0, 1.0])
    assert get_metric("R@10")(rr) == pytest.approx([0.5, 0.0, 1.0])
    assert get_metric("P@1")(rr) == pytest.approx([0.0, 0.0, 1.0])
    assert get_metric("P@2")(rr) == pytest.approx([0.0, 0.0, 1.0])


def test_zero_grade_judgments_are_not_relevant():
    rr = RelevantRanks.from_lists([np.array([1.0, 2.0])], [np.array([0.0, 1.0])])
    assert rr.n_relevant.tolist() == [1]
    assert get_metric("AP")(rr) == pytest.approx([0.5])


def test_names_are_parsed_and_canonical():
    assert [m.name for m in parse_metrics("mAP, NDCG@10,recall@100,mrr@10,p@1")] == list(DEFAULT_METRICS)
    assert [m.name for m in parse_metrics(["AP", "map"])] == ["AP"]
    assert get_metric("nDCG@10").k == 10 and get_metric("AP").k is None
    for bad in ("BLEU", "AP@", "nDCG@0", "P"):
        with pytest.raises(ConfigError):
            get_metric(bad)
