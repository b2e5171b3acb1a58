"""``xy``: every pair's query and passage are in different languages; the language pair is per row.

arXiv 2408.10536 (section 3.1, "X-Y"): cross-lingual batches push a question towards its answer in
another language and away from other answers, which aligns languages in the embedding space (the
cross-lingual and multilingual settings). Each row draws its own (query language, passage language)
pair, uniformly over the language pairs present (default) or in proportion to their number of pairs
(``weighting="proportional"``, the same as drawing cross-lingual pairs uniformly).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from xlir.data.schema import TrainingPair
from xlir.errors import ConfigError
from xlir.training.samplers.base import SAMPLERS, Batch, BatchBuilder, KeyedPoolSampler, members_by


@SAMPLERS.register("xy")
class CrossLingualBatchSampler(KeyedPoolSampler):
    name = "xy"

    def __init__(self, pairs: Sequence[TrainingPair], batch_size: int, *, seed: int = 0, rank: int = 0,
                 world_size: int = 1, **options):
        super().__init__(pairs, batch_size, seed=seed, rank=rank, world_size=world_size, **options)
        members = members_by(pairs, lambda p: f"{p.query_language}-{p.positive_language}"
                             if p.query_language != p.positive_language else None)
        groups = {pairs[i].group for m in members.values() for i in m}
        if len(groups) < batch_size:
            raise ConfigError(f"xy needs cross-lingual pairs of at least {batch_size} distinct questions; "
                              f"have {len(groups)}")
        self.use_pools("cross", members, sorted(members))

    def draw(self, rng: random.Random, step: int) -> Batch:
        builder = BatchBuilder(self.pairs)
        tries, limit = 0, 50 * self.batch_size + len(self.pairs)
        while len(builder) < self.batch_size:
            if tries >= limit:
                raise ConfigError(f"cannot fill a cross-lingual batch of {self.batch_size}: only "
                                  f"{len(builder)} pairs with distinct groups and texts")
            builder.try_add(self._pools[self.pick(rng)].next())
            tries += 1
        return Batch(step, "cross", builder.indices)

    def describe(self) -> dict:
        return {**super().describe(), "weighting": self.weighting, "language_pairs": len(self.keys)}
