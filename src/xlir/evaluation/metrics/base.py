"""What every metric sees: the ranks of a query's relevant candidates, not the ranking itself.

All five LAReQA / BEIR metrics we report are functions of where the relevant candidates sit in the
ranking, so the evaluator never materialises a full ranking of the 13k-candidate multilingual pool:
it computes the exact (1-based) rank of every relevant candidate and hands the metrics a
:class:`RelevantRanks` batch, one row per query. This also makes AP exact over the whole pool, as
LAReQA defines mAP (Roy et al. 2020, §4), rather than cut at an arbitrary run depth.

Conventions follow ``trec_eval`` (and so pytrec_eval), which the tests check value for value:

* a candidate is relevant when its grade is > 0; ``num_rel`` counts relevant judgments of the
  candidates in the setting's pool (judgments of candidates outside the pool are dropped first);
* a relevant candidate ranked below the evaluation depth counts as not retrieved (precision 0 in
  AP), exactly as when ``trec_eval`` reads a run cut at that depth;
* gains are the grades themselves (``trec_eval``'s ``ndcg_cut``), discount ``log2(rank + 1)``,
  ideal DCG from the judged grades sorted descending.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from xlir.registry import Registry


@dataclass
class RelevantRanks:
    """Ranks of relevant candidates for a batch of queries (padded arrays, one row per query).

    ``ranks[i]`` holds the 1-based ranks of query ``i``'s relevant candidates sorted ascending,
    ``inf`` for one not retrieved (below the depth) and for padding; ``grades[i]`` the grade of the
    candidate at the same position (0 for padding); ``ideal[i]`` every relevant grade of the query
    sorted descending (0-padded); ``n_relevant[i]`` how many there are.
    """

    ranks: np.ndarray  # float64 [nq, R]
    grades: np.ndarray  # float64 [nq, R]
    ideal: np.ndarray  # float64 [nq, R]
    n_relevant: np.ndarray  # int64 [nq]

    @classmethod
    def from_lists(cls, ranks: list[np.ndarray], grades: list[np.ndarray],
                   depth: int | None = None) -> RelevantRanks:
        """Pad per-query rank/grade lists; ranks beyond ``depth`` become ``inf`` (not retrieved)."""
        nq = len(ranks)
        width = max((len(r) for r in ranks), default=0) or 1
        r_out = np.full((nq, width), np.inf)
        g_out = np.zeros((nq, width))
        ideal = np.zeros((nq, width))
        n_rel = np.zeros(nq, dtype=np.int64)
        for i, (r, g) in enumerate(zip(ranks, grades, strict=True)):
            r = np.asarray(r, dtype=np.float64)
            g = np.asarray(g, dtype=np.float64)
            keep = g > 0
            r, g = r[keep], g[keep]
            n_rel[i] = len(r)
            ideal[i, : len(g)] = np.sort(g)[::-1]
            if depth is not None:
                r = np.where(r > depth, np.inf, r)
            order = np.argsort(r, kind="stable")
            r_out[i, : len(r)] = r[order]
            g_out[i, : len(r)] = np.where(np.isfinite(r[order]), g[order], 0.0)
        return cls(r_out, g_out, ideal, n_rel)

    def __len__(self) -> int:
        return len(self.n_relevant)


@dataclass(frozen=True)
class Metric:
    """A named per-query measure; ``k`` is its cutoff (``None`` = whole ranking).

    ``value_range``: every per-query value lies in it (checked where results are assembled,
    :func:`xlir.evaluation.results.check_figures`); all five of ours are shares in [0, 1].
    """

    name: str
    k: int | None = None
    description: str = ""
    value_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def __call__(self, rr: RelevantRanks) -> np.ndarray:
        """Per-query values, float64 ``[nq]``."""
        raise NotImplementedError

    def __str__(self) -> str:
        return self.name

    @property
    def ir_measure(self):
        """The same measure as an ``ir_measures`` object (to compute it on TREC files with
        ir_measures/pytrec_eval, e.g. for runs of other systems)."""
        import ir_measures

        return ir_measures.parse_measure(self.name)

    def _within(self, rr: RelevantRanks) -> np.ndarray:
        """Boolean mask of relevant positions retrieved within the cutoff."""
        return rr.ranks <= (self.k if self.k is not None else np.inf)


MetricFactory = Callable[[int | None], Metric]
METRICS: Registry[MetricFactory] = Registry("metric")
"""family name -> ``factory(k) -> Metric``; the family's canonical spelling is the factory's output.
Each metric module registers its factory with ``@METRICS.register(family, *aliases)``."""


def cut(base: str, k: int | None) -> str:
    """``"nDCG"``, 10 -> ``"nDCG@10"`` (the canonical name of a cut measure)."""
    return base if k is None else f"{base}@{k}"

