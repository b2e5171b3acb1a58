"""``random``: batches drawn from all pairs with no language constraint (the baseline).

arXiv 2408.10536 compares hybrid batching against standard fine-tuning, whose batches mix whatever
language pairs the data holds. The group and text constraints still apply: they remove false
negatives and are not a language choice.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from xlir.data.schema import TrainingPair
from xlir.training.samplers.base import SAMPLERS, Batch, BatchBuilder, BatchSampler, Pool, fill_from_pool


@SAMPLERS.register("random")
class RandomBatchSampler(BatchSampler):
    name = "random"

    def __init__(self, pairs: Sequence[TrainingPair], batch_size: int, *, seed: int = 0, rank: int = 0,
                 world_size: int = 1):
        super().__init__(pairs, batch_size, seed=seed, rank=rank, world_size=world_size)
        self._pool = Pool("all", list(range(len(pairs))), seed)

    def pools(self) -> dict[str, Pool]:
        return {self._pool.key: self._pool}

    def draw(self, rng: random.Random, step: int) -> Batch:
        builder = BatchBuilder(self.pairs)
        fill_from_pool(builder, self._pool, self.batch_size, what="all pairs")
        return Batch(step, "random", builder.indices)
