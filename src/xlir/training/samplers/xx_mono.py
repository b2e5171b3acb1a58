"""``xx-mono``: every pair of a batch has query and passage in one language, the same for the batch.

arXiv 2408.10536 (section 3.1, "X-X-mono"): with in-batch negatives, a monolingual batch makes the
model rank passages of one language against each other, the skill monolingual retrieval needs.
The batch language is drawn per step, uniformly over the languages (default) or in proportion to
their number of monolingual pairs (``weighting="proportional"``). Languages with fewer distinct
groups than the batch size cannot fill a batch and are left out (listed in :meth:`describe`).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from xlir.data.schema import TrainingPair
from xlir.errors import ConfigError
from xlir.training.samplers.base import (
    SAMPLERS,
    Batch,
    BatchBuilder,
    KeyedPoolSampler,
    fill_from_pool,
    members_by,
)


def _distinct(pairs: Sequence[TrainingPair], members: list[int]) -> int:
    """How many pairs could share a batch at most: distinct groups, queries and positives."""
    return min(len({pairs[i].group for i in members}), len({pairs[i].query for i in members}),
               len({pairs[i].positive for i in members}))


@SAMPLERS.register("xx-mono")
class MonolingualBatchSampler(KeyedPoolSampler):
    name = "xx-mono"

    def __init__(self, pairs: Sequence[TrainingPair], batch_size: int, *, seed: int = 0, rank: int = 0,
                 world_size: int = 1, **options):
        super().__init__(pairs, batch_size, seed=seed, rank=rank, world_size=world_size, **options)
        members = members_by(pairs, lambda p: p.query_language
                             if p.query_language == p.positive_language else None)
        self.skipped = sorted(lang for lang, m in members.items() if _distinct(pairs, m) < batch_size)
        languages = sorted(lang for lang in members if lang not in self.skipped)
        if not languages:
            raise ConfigError(f"xx-mono needs a language with at least {batch_size} monolingual pairs of "
                              f"distinct questions; have {({k: len(v) for k, v in members.items()})}")
        self.use_pools("mono", members, languages)

    def draw(self, rng: random.Random, step: int) -> Batch:
        lang = self.pick(rng)
        builder = BatchBuilder(self.pairs)
        fill_from_pool(builder, self._pools[lang], self.batch_size, what=f"the {lang} monolingual pairs")
        return Batch(step, "mono", builder.indices, lang)

    def describe(self) -> dict:
        return {**super().describe(), "weighting": self.weighting, "languages": self.keys,
                "skipped_languages": self.skipped}
