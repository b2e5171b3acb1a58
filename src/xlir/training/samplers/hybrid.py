"""``hybrid``: per batch, ``xx-mono`` with probability ``alpha``, else ``xy``.

arXiv 2408.10536 (section 3.1, "hybrid batching"; section 5 for the choice of alpha): mixing
monolingual and cross-lingual batches trains one model that is good at monolingual, cross-lingual
and multilingual retrieval at once and less biased toward its own language; alpha = 0.5 was the
paper's best trade-off and is the default. The batch type is drawn from the step's seeded generator,
so every process picks the same type at the same step.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from pydantic import Field

from xlir.data.schema import TrainingPair
from xlir.training.samplers.base import SAMPLERS, Batch, BatchSampler, KeyedPoolSampler, Pool
from xlir.training.samplers.xx_mono import MonolingualBatchSampler
from xlir.training.samplers.xy import CrossLingualBatchSampler


@SAMPLERS.register("hybrid")
class HybridBatchSampler(BatchSampler):
    name = "hybrid"

    class Options(KeyedPoolSampler.Options):
        alpha: float = Field(0.5, ge=0.0, le=1.0, description="share of monolingual batches")

    def __init__(self, pairs: Sequence[TrainingPair], batch_size: int, *, seed: int = 0, rank: int = 0,
                 world_size: int = 1, **options):
        super().__init__(pairs, batch_size, seed=seed, rank=rank, world_size=world_size, **options)
        alpha = self.alpha = float(self.options.alpha)
        kw = dict(seed=seed, rank=rank, world_size=world_size, weighting=self.options.weighting)
        self.mono = MonolingualBatchSampler(pairs, batch_size, **kw) if alpha > 0 else None
        self.cross = CrossLingualBatchSampler(pairs, batch_size, **kw) if alpha < 1 else None

    def pools(self) -> dict[str, Pool]:
        out: dict[str, Pool] = {}
        for sub in (self.mono, self.cross):
            if sub is not None:
                out.update(sub.pools())
        return out

    def draw(self, rng: random.Random, step: int) -> Batch:
        if rng.random() < self.alpha:
            return self.mono.draw(rng, step)
        return self.cross.draw(rng, step)

    def describe(self) -> dict:
        return {**super().describe(), "alpha": self.alpha,
                "mono": self.mono.describe() if self.mono else None,
                "cross": self.cross.describe() if self.cross else None}
