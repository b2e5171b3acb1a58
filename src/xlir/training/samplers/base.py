"""What every batch sampler shares: batch constraints, resumable pools, distributed sharding.

Hybrid-batch training (Elmahdy et al., "Synergistic Approach for Simultaneous Optimization of
Monolingual, Cross-lingual, and Multilingual Information Retrieval", arXiv 2408.10536, section 3)
differs from plain contrastive fine-tuning only in *which* pairs share a batch, because with in-batch
negatives the batch composition decides what the model learns to tell apart: monolingual batches
teach ranking within a language, cross-lingual batches teach language-agnostic matching.

Every sampler here draws *global* batches (all processes together) and hands each process its
contiguous slice, so under ``torchrun`` all ranks draw the same batch type at each step from the same
seeded generator, and their examples are disjoint; concatenating the slices in rank order gives
exactly the batch a single process would train on. Within a global batch:

* no two pairs share a ``group`` (a translation of a positive would be a false negative);
* no text appears twice (queries, positives and hard negatives alike).

Randomness: the choices of step ``t`` (batch type, languages) come from a generator seeded with
``(seed, t)``; pairs are taken from per-pool permutations (one pool per language or language pair),
reshuffled each time a pool is used up, so every pair is seen once per pool epoch. The state that a
checkpoint needs is therefore just the step and each pool's (epoch, position).
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import ClassVar, Literal

from xlir.data.schema import TrainingPair
from xlir.errors import ConfigError
from xlir.registry import Registry
from xlir.training.options import Options, parse_options

SAMPLERS: Registry[type[BatchSampler]] = Registry("sampler")


@dataclass
class Batch:
    """Indices into the pair list for one step, plus what kind of batch it is (for logs and tests)."""

    step: int
    kind: str  # "mono", "cross" or "random"
    indices: list[int]
    language: str | None = None  # the language of a mono batch
    global_size: int = 0
    meta: dict = field(default_factory=dict)

    def shard(self, rank: int, world_size: int) -> Batch:
        """This process's contiguous slice (rank order = global order, so gathers line up)."""
        per = len(self.indices) // world_size
        return Batch(self.step, self.kind, self.indices[rank * per:(rank + 1) * per], self.language,
                     len(self.indices), self.meta)


class Pool:
    """Pair indices of one kind (a language, a language pair), served in reshuffled epochs."""

    def __init__(self, key: str, members: list[int], seed: int):
        self.key = key
        self.members = members
        self.seed = seed
        self.epoch = 0
        self.pos = 0
        self._order: list[int] | None = None

    def _perm(self) -> list[int]:
        if self._order is None:
            order = list(self.members)
            random.Random(f"{self.seed}/{self.key}/{self.epoch}").shuffle(order)
            self._order = order
        return self._order

    def next(self) -> int:
        if self.pos >= len(self.members):
            self.epoch += 1
            self.pos = 0
            self._order = None
        idx = self._perm()[self.pos]
        self.pos += 1
        return idx

    def state(self) -> list[int]:
        return [self.epoch, self.pos]

    def set_state(self, state: Sequence[int]) -> None:
        self.epoch, self.pos = int(state[0]), int(state[1])
        self._order = None


class BatchBuilder:
    """Collects one global batch while enforcing the group and text constraints."""

    def __init__(self, pairs: Sequence[TrainingPair]):
        self.pairs = pairs
        self.indices: list[int] = []
        self.groups: set[str] = set()
        self.texts: set[str] = set()

    def try_add(self, idx: int) -> bool:
        p = self.pairs[idx]
        texts = (p.query, p.positive, *p.negatives)
        if p.group in self.groups or any(t in self.texts for t in texts) or len(set(texts)) < len(texts):
            return False
        self.indices.append(idx)
        self.groups.add(p.group)
        self.texts.update(texts)
        return True

    def __len__(self) -> int:
        return len(self.indices)


def fill_from_pool(builder: BatchBuilder, pool: Pool, size: int, *, what: str) -> None:
    """Add pairs from ``pool`` until ``builder`` holds ``size``; a pair that collides is skipped.

    Gives up after two passes over the pool: that pool has too few distinct groups for the batch.
    """
    tries = 0
    limit = 2 * len(pool.members) + size
    while len(builder) < size:
        if tries >= limit:
            raise ConfigError(f"cannot fill a batch of {size} from {what}: only {len(builder)} pairs "
                              f"with distinct groups and texts; use a smaller batch or more data")
        builder.try_add(pool.next())
        tries += 1


def members_by(pairs: Sequence[TrainingPair],
               key: Callable[[TrainingPair], str | None]) -> dict[str, list[int]]:
    """Pair indices grouped by ``key(pair)`` (a language or language pair); a None key leaves a pair out."""
    members: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(pairs):
        k = key(p)
        if k is not None:
            members[k].append(i)
    return members


def pick_weighted(rng: random.Random, keys: Sequence[str], weights: Sequence[int], weighting: str) -> str:
    if weighting == "uniform":
        return keys[rng.randrange(len(keys))]
    return rng.choices(keys, weights=weights, k=1)[0]


class BatchSampler(ABC):
    """Base class: ``next_batch()`` returns this process's :class:`Batch` for the next step.

    ``batch_size`` is the global batch (all processes); it must divide by ``world_size``. A sampler's
    own settings (``alpha``, ``weighting``) are declared, typed and range-checked in its ``Options``
    and passed as keywords; they are checked here, once, and read from ``self.options``.
    """

    name: ClassVar[str] = ""

    class Options(Options):
        pass

    def __init__(self, pairs: Sequence[TrainingPair], batch_size: int, *, seed: int = 0, rank: int = 0,
                 world_size: int = 1, **options):
        self.options = parse_options(self.Options, options, f"sampler {self.name!r}")
        if batch_size < 2:
            raise ConfigError(f"batch size must be at least 2 for in-batch negatives, got {batch_size}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ConfigError(f"bad rank {rank} for world size {world_size}")
        if batch_size % world_size:
            raise ConfigError(f"global batch size {batch_size} does not divide over {world_size} processes")
        if not pairs:
            raise ConfigError("no training pairs")
        self.pairs = pairs
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.step = 0

    # ---- drawing ------------------------------------------------------------------------------
    @abstractmethod
    def draw(self, rng: random.Random, step: int) -> Batch:
        """The global batch of ``step`` (all ranks compute the same one)."""

    def step_rng(self, step: int) -> random.Random:
        return random.Random(f"{self.seed}:{self.name}:{step}")

    def next_global(self) -> Batch:
        batch = self.draw(self.step_rng(self.step), self.step)
        batch.global_size = len(batch.indices)
        self.step += 1
        return batch

    def next_batch(self) -> Batch:
        return self.next_global().shard(self.rank, self.world_size)

    def __iter__(self) -> Iterator[Batch]:
        while True:
            yield self.next_batch()

    # ---- resume -------------------------------------------------------------------------------
    def pools(self) -> dict[str, Pool]:
        return {}

    def state_dict(self) -> dict:
        return {"name": self.name, "step": self.step, "seed": self.seed, "batch_size": self.batch_size,
                "pools": {k: p.state() for k, p in self.pools().items()}}

    def load_state_dict(self, state: dict) -> None:
        if state.get("name") != self.name or state.get("seed") != self.seed \
                or state.get("batch_size") != self.batch_size:
            raise ConfigError(f"sampler state is for {state.get('name')} (seed {state.get('seed')}, batch "
                              f"{state.get('batch_size')}), not {self.name} (seed {self.seed}, batch "
                              f"{self.batch_size}): resume with the same settings")
        self.step = int(state["step"])
        pools = self.pools()
        for key, st in state.get("pools", {}).items():
            if key in pools:
                pools[key].set_state(st)

    def describe(self) -> dict:
        return {"name": self.name, "batch_size": self.batch_size, "seed": self.seed}


def build_sampler(name: str, pairs: Sequence[TrainingPair], batch_size: int, *, seed: int = 0,
                  rank: int = 0, world_size: int = 1, **options) -> BatchSampler:
    """A registered sampler by name; ``options`` are its own (its ``Options``: ``alpha`` for ``hybrid``).

    Options set to ``None`` are dropped (the sampler's default applies); an option the sampler does
    not declare is a :class:`ConfigError`.
    """
    import xlir.training.samplers  # noqa: F401  (registers the built-in samplers)

    cls = SAMPLERS.get(name)
    unknown = sorted(k for k, v in options.items() if v is not None and k not in cls.Options.model_fields)
    if unknown:
        raise ConfigError(f"sampler {name!r} takes no option {', '.join(unknown)}")
    return cls(pairs, batch_size, seed=seed, rank=rank, world_size=world_size, **options)


class KeyedPoolSampler(BatchSampler):
    """A sampler whose pairs fall into pools by a key (a language, a language pair) and which picks a
    key per draw, uniformly over the keys or in proportion to their pool sizes (``weighting``)."""

    class Options(Options):
        weighting: Literal["uniform", "proportional"] = "uniform"

    def __init__(self, pairs: Sequence[TrainingPair], batch_size: int, *, seed: int = 0, rank: int = 0,
                 world_size: int = 1, **options):
        super().__init__(pairs, batch_size, seed=seed, rank=rank, world_size=world_size, **options)
        self.weighting = self.options.weighting
        self.keys: list[str] = []
        self._pools: dict[str, Pool] = {}
        self._weights: list[int] = []

    def use_pools(self, kind: str, members: dict[str, list[int]], keys: Sequence[str]) -> None:
        """One pool per key, named ``kind/key`` (the name a checkpoint stores its position under)."""
        self.keys = list(keys)
        self._pools = {k: Pool(f"{kind}/{k}", members[k], self.seed) for k in self.keys}
        self._weights = [len(members[k]) for k in self.keys]

    def pick(self, rng: random.Random) -> str:
        return pick_weighted(rng, self.keys, self._weights, self.weighting)

    def pools(self) -> dict[str, Pool]:
        return {p.key: p for p in self._pools.values()}
