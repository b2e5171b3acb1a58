"""Reciprocal rank cut at k (MRR@k when averaged): 1 / rank of the first relevant if <= k, else 0.

trec_eval's ``recip_rank`` has no cutoff; RR@k equals it on a run truncated to depth k, which is how
the tests compare (MS MARCO's MRR@10 convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xlir.evaluation.metrics.base import METRICS, Metric, RelevantRanks, cut


@dataclass(frozen=True)
class ReciprocalRank(Metric):
    def __call__(self, rr: RelevantRanks) -> np.ndarray:
        first = rr.ranks[:, 0]
        ok = first <= (self.k if self.k is not None else np.inf)
        return np.where(ok, 1.0 / np.where(ok, first, 1.0), 0.0)


@METRICS.register("rr", "mrr")
def reciprocal_rank(k: int | None) -> ReciprocalRank:
    return ReciprocalRank(cut("RR", k), k, "reciprocal rank of the first relevant candidate")
