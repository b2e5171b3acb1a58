"""Average precision (LAReQA's mAP when averaged over queries).

AP = (1 / num_rel) * sum over relevant candidates retrieved at rank r_i (i-th relevant found) of
i / r_i. Relevant candidates never retrieved contribute 0, so AP over the full pool of the
multilingual setting rewards a model only when *every* translation of the gold sentence ranks high
(Roy et al., "LAReQA", arXiv 2004.05484, §4; trec_eval ``map``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xlir.evaluation.metrics.base import METRICS, Metric, RelevantRanks, cut


@dataclass(frozen=True)
class AveragePrecision(Metric):
    def __call__(self, rr: RelevantRanks) -> np.ndarray:
        hit = self._within(rr)
        found = np.cumsum(hit, axis=1)  # i for the i-th retrieved relevant
        with np.errstate(divide="ignore", invalid="ignore"):
            prec = np.where(hit, found / rr.ranks, 0.0)
        return np.divide(prec.sum(axis=1), rr.n_relevant, out=np.zeros(len(rr)),
                         where=rr.n_relevant > 0)


@METRICS.register("ap", "map")
def average_precision(k: int | None) -> AveragePrecision:
    return AveragePrecision(cut("AP", k), k, "average precision over all relevant candidates")
