"""Which languages a pre-training stage sees: nested sets chosen by a documented, seeded rule.

The question (issue 5, study 2) is whether *more* pre-training languages help low-resource pairs.
For k alone to change between runs, the sets must be nested (the set for k is a prefix of the set
for 2k, so going from k to 2k only adds languages) and the pair budget must be the same for every
k (see :mod:`xlir.training.pretrain.stage`).

The rule (``nested_language_sets``)
    1. The pool is every non-English language the pre-training bitext covers (FLORES-200 via
       SIB-200: 204 languages), sorted by code. English is the pivot of every pair, never counted.
    2. The targets are the low-resource languages evaluated downstream (:data:`TARGETS`).
    3. A ``random.Random(seed)`` shuffles the targets and, separately, the non-targets.
    4. Arm ``inside``: the order is shuffled targets, then shuffled non-targets; the set for k is
       the first k. Targets enter first, so every target is inside once k >= len(targets) and, for
       smaller k, the evaluation marks which targets are in.
       Arm ``heldout``: the order is the shuffled non-targets only; no target ever enters, so any
       gain can only come from breadth.
    5. Seeds give different orders: the spread over seeds includes which languages were drawn,
       so a trend over k is not an artefact of one lucky language.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from xlir.errors import ConfigError

XQUAD_TARGETS = ("th", "el", "tr", "hi", "vi")
AFRIQA_TARGETS = ("ha", "ig", "rw", "sw", "tw", "wo", "yo", "zu", "bem", "fon")
TARGETS = XQUAD_TARGETS + AFRIQA_TARGETS
"""The low-resource languages of study 2 (xlir codes): XQuAD-R's th el tr hi vi and AfriQA's ten."""

ARMS = ("inside", "heldout")
K_GRID = (0, 1, 2, 4, 8, 16, 32, 64, 128)


def language_order(pool: Iterable[str], targets: Iterable[str], arm: str, seed: int) -> list[str]:
    """The seeded order whose prefixes are the nested language sets of one arm (see module doc)."""
    if arm not in ARMS:
        raise ConfigError(f"unknown arm {arm!r}; known: {', '.join(ARMS)}")
    pool = sorted(set(pool) - {"en"})
    tset = set(targets)
    rng = random.Random(seed)
    inside = sorted(t for t in pool if t in tset)
    others = [x for x in pool if x not in tset]
    rng.shuffle(inside)
    rng.shuffle(others)
    return inside + others if arm == "inside" else others


def nested_language_sets(
    pool: Iterable[str], targets: Iterable[str], ks: Sequence[int], arm: str, seed: int
) -> dict[int, list[str]]:
    """k -> the first k languages of :func:`language_order`; k larger than the order is an error."""
    order = language_order(pool, targets, arm, seed)
    out = {}
    for k in ks:
        if k < 0 or k > len(order):
            raise ConfigError(f"k={k} but arm {arm!r} has only {len(order)} languages to draw from")
        out[k] = order[:k]
    return out


def feasible_ks(pool_size: int, n_targets: int, grid: Sequence[int] = K_GRID) -> list[int]:
    """The k of ``grid`` that both arms can fill ("where data allows")."""
    return [k for k in grid if k <= pool_size - n_targets]
