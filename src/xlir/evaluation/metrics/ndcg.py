"""nDCG@k with linear gains (Järvelin & Kekäläinen 2002; trec_eval ``ndcg_cut``, BEIR's main metric).

DCG@k = sum over relevant candidates at rank r <= k of grade / log2(r + 1); the ideal DCG puts the
query's judged grades, sorted descending, at ranks 1..k.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xlir.evaluation.metrics.base import METRICS, Metric, RelevantRanks, cut


@dataclass(frozen=True)
class NDCG(Metric):
    def __call__(self, rr: RelevantRanks) -> np.ndarray:
        hit = self._within(rr)
        with np.errstate(divide="ignore", invalid="ignore"):
            dcg = np.where(hit, rr.grades / np.log2(rr.ranks + 1.0), 0.0).sum(axis=1)
        width = rr.ideal.shape[1]
        positions = np.arange(1, width + 1, dtype=np.float64)
        cut = positions <= (self.k if self.k is not None else np.inf)
        idcg = (rr.ideal * cut / np.log2(positions + 1.0)).sum(axis=1)
        return np.divide(dcg, idcg, out=np.zeros(len(rr)), where=idcg > 0)


@METRICS.register("ndcg")
def ndcg(k: int | None) -> NDCG:
    return NDCG(cut("nDCG", k), k, "normalised discounted cumulative gain")
