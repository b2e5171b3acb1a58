"""Recall@k: the share of a query's relevant candidates ranked in the top k (trec_eval ``recall_k``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xlir.evaluation.metrics.base import METRICS, Metric, RelevantRanks, cut


@dataclass(frozen=True)
class Recall(Metric):
    def __call__(self, rr: RelevantRanks) -> np.ndarray:
        hits = self._within(rr).sum(axis=1)
        return np.divide(hits, rr.n_relevant, out=np.zeros(len(rr)), where=rr.n_relevant > 0)


@METRICS.register("r", "recall")
def recall(k: int | None) -> Recall:
    return Recall(cut("R", k), k, "share of relevant candidates retrieved")
