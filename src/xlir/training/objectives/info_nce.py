"""``info-nce``: the fine-tuning objective of hybrid-batch training (arXiv 2408.10536, eq. 1).

A query against its positive passage, every other positive of the global batch and the pairs' hard
negatives, over cosine similarity with temperature (:func:`xlir.training.loss.info_nce`). Queries
and passages get the model's e5 prompts (``query: `` / ``passage: ``, the ``query`` and ``document``
prompts of :mod:`xlir.models.prompts`), as E5 was trained.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from xlir.data.schema import TrainingPair
from xlir.errors import ConfigError
from xlir.models.prompts import prefix as prompt_prefix
from xlir.training.objectives.base import OBJECTIVES
from xlir.training.objectives.contrastive import ContrastiveObjective
from xlir.training.options import Options


@OBJECTIVES.register("info-nce")
class InfoNCE(ContrastiveObjective):
    name = "info-nce"

    class Options(Options):
        temperature: float = Field(0.05, gt=0.0)
        symmetric: bool = False
        hard_negatives: int = Field(0, ge=0, description="hard negatives per pair")

    def texts(self, model, pairs: Sequence[TrainingPair]) -> list[list[str]]:
        k = self.options.hard_negatives
        qp = prompt_prefix(model.prompts, "query")
        pp = prompt_prefix(model.prompts, "document")
        negatives: list[str] = []
        for p in pairs if k else ():
            if len(p.negatives) < k:
                raise ConfigError(f"a pair of group {p.group} has {len(p.negatives)} hard negatives, "
                                  f"fewer than the {k} asked for")
            negatives.extend(pp + n for n in p.negatives[:k])
        return [[qp + p.query for p in pairs], [pp + p.positive for p in pairs], negatives]

    def loss(self, queries, positives, negatives, ctx):
        from xlir.training.loss import info_nce

        return info_nce(queries, positives, negatives, temperature=self.options.temperature,
                        symmetric=self.options.symmetric, gather=ctx.gather, rank=ctx.rank)
