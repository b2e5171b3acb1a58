"""Precision@k: relevant candidates in the top k, divided by k (trec_eval ``P_k``; P@1 = accuracy@1)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xlir.errors import ConfigError
from xlir.evaluation.metrics.base import METRICS, Metric, RelevantRanks, cut


@dataclass(frozen=True)
class Precision(Metric):
    def __post_init__(self) -> None:
        if self.k is None:
            raise ConfigError("precision needs a cutoff, e.g. P@1")

    def __call__(self, rr: RelevantRanks) -> np.ndarray:
        return self._within(rr).sum(axis=1) / float(self.k)


@METRICS.register("p", "precision")
def precision(k: int | None) -> Precision:
    return Precision(cut("P", k), k, "share of the top k that is relevant")
