"""``round-robin``: languages in turn, one pair each, every language's pairs reshuffled per pass.

The batching of the pre-training stage (study 2): round-robin gives every language the same share
of any budget whatever its data size (a language with fewer pairs is repeated rather than
under-represented), so between runs that differ in the number of languages only the breadth
changes. The language is the pair's query language (in bitext pairs, the non-English side).
A pair that would collide with the batch (same group, e.g. another translation of the same English
sentence of multi-parallel FLORES, or a repeated text) waits for the next batch, so no pair of the
stream is dropped; the waiting pairs are part of the checkpointed state.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from xlir.data.schema import TrainingPair
from xlir.errors import ConfigError
from xlir.training.samplers.base import SAMPLERS, Batch, BatchBuilder, BatchSampler, Pool, members_by


@SAMPLERS.register("round-robin")
class RoundRobinSampler(BatchSampler):
    name = "round-robin"

    def __init__(self, pairs: Sequence[TrainingPair], batch_size: int, *, seed: int = 0, rank: int = 0,
                 world_size: int = 1):
        super().__init__(pairs, batch_size, seed=seed, rank=rank, world_size=world_size)
        members = members_by(pairs, lambda p: p.query_language)
        self.languages = sorted(members)
        self._pools = {lang: Pool(f"language/{lang}", members[lang], seed) for lang in self.languages}
        self.turn = 0
        self.waiting: list[int] = []

    def pools(self) -> dict[str, Pool]:
        return {p.key: p for p in self._pools.values()}

    def _next(self) -> int:
        lang = self.languages[self.turn % len(self.languages)]
        self.turn += 1
        return self._pools[lang].next()

    def draw(self, rng: random.Random, step: int) -> Batch:
        builder = BatchBuilder(self.pairs)
        still = [i for i in self.waiting if len(builder) >= self.batch_size or not builder.try_add(i)]
        pulled = 0
        while len(builder) < self.batch_size:
            idx = self._next()
            pulled += 1
            if not builder.try_add(idx):
                still.append(idx)
                if pulled > 100 * self.batch_size:
                    raise ConfigError(f"cannot fill a batch of {self.batch_size} from "
                                      f"{len(self.languages)} languages: too few distinct groups and "
                                      f"texts; use a smaller batch")
        self.waiting = still
        return Batch(step, "round-robin", builder.indices)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "turn": self.turn, "waiting": list(self.waiting)}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.turn = int(state["turn"])
        self.waiting = [int(i) for i in state["waiting"]]

    def describe(self) -> dict:
        return {**super().describe(), "languages": self.languages}
