"""Statistics of the batch samplers on real MLQA-R pairs (arXiv 2408.10536, section 3.1)."""

from __future__ import annotations

from collections import Counter

import pytest

from xlir.data.pairs import load_pairs
from xlir.errors import ConfigError
from xlir.training.samplers import SAMPLERS, build_sampler
from xlir.training.samplers.base import BatchBuilder, Pool


@pytest.fixture(scope="module")
def pairs(data_dir):
    return load_pairs(["mlqa"], data_dir=data_dir).pairs


def _check_constraints(pairs, batch, size):
    rows = [pairs[i] for i in batch.indices]
    assert len(rows) == size
    groups = [p.group for p in rows]
    assert len(set(groups)) == len(groups), "two pairs of one question in a batch"
    texts = [t for p in rows for t in (p.query, p.positive, *p.negatives)]
    assert len(set(texts)) == len(texts), "a text repeated within a batch"


def test_registered_names():
    assert SAMPLERS.names() == ["hybrid", "random", "round-robin", "xx-mono", "xy"]


def test_xx_mono_batches_are_monolingual_with_uniform_languages(pairs):
    s = build_sampler("xx-mono", pairs, 32, seed=3)
    langs = Counter()
    for _ in range(700):
        b = s.next_batch()
        _check_constraints(pairs, b, 32)
        row_langs = {(pairs[i].query_language, pairs[i].positive_language) for i in b.indices}
        assert row_langs == {(b.language, b.language)}
        langs[b.language] += 1
    assert sorted(langs) == ["ar", "de", "en", "es", "hi", "vi", "zh"]
    # uniform over 7 languages: 100 expected each; binomial sd ~ 9.3
    assert all(60 <= n <= 140 for n in langs.values()), langs


def test_xx_mono_proportional_weighting_follows_data(pairs):
    mono = Counter(p.query_language for p in pairs if p.query_language == p.positive_language)
    s = build_sampler("xx-mono", pairs, 32, seed=4, weighting="proportional")
    langs = Counter(s.next_batch().language for _ in range(1000))
    share_en = mono["en"] / sum(mono.values())  # ~0.27, against 1/7 when uniform
    assert abs(langs["en"] / 1000 - share_en) < 0.05, (langs, share_en)


def test_xy_rows_are_cross_lingual_with_per_row_language_pairs(pairs):
    s = build_sampler("xy", pairs, 32, seed=5)
    seen = Counter()
    per_batch = []
    for _ in range(300):
        b = s.next_batch()
        _check_constraints(pairs, b, 32)
        lp = [(pairs[i].query_language, pairs[i].positive_language) for i in b.indices]
        assert all(q != p for q, p in lp)
        seen.update(lp)
        per_batch.append(len(set(lp)))
    assert len(seen) == 42  # every ordered pair of MLQA's 7 languages
    assert min(per_batch) >= 10  # language pairs are drawn per row, not per batch
    # uniform over language pairs: ~228 rows each, although en-x pairs are 3x more frequent in data
    assert max(seen.values()) / min(seen.values()) < 1.6, seen


@pytest.mark.parametrize("alpha", [0.5, 0.2])
def test_hybrid_mono_share_close_to_alpha(pairs, alpha):
    s = build_sampler("hybrid", pairs, 32, seed=6, alpha=alpha)
    kinds = Counter()
    for _ in range(2000):
        b = s.next_batch()
        kinds[b.kind] += 1
        cross = [pairs[i].query_language != pairs[i].positive_language for i in b.indices]
        assert all(cross) if b.kind == "cross" else not any(cross)
        _check_constraints(pairs, b, 32)
    assert abs(kinds["mono"] / 2000 - alpha) < 0.035  # sd ~0.011


def test_random_batches_mix_languages_like_the_data(pairs):
    s = build_sampler("random", pairs, 32, seed=7)
    mono_rows = 0
    for _ in range(300):
        b = s.next_batch()
        _check_constraints(pairs, b, 32)
        mono_rows += sum(pairs[i].query_language == pairs[i].positive_language for i in b.indices)
    data_share = sum(p.query_language == p.positive_language for p in pairs) / len(pairs)
    assert abs(mono_rows / (300 * 32) - data_share) < 0.03


def test_same_seed_same_batches_and_resume_from_state(pairs):
    a = build_sampler("hybrid", pairs, 16, seed=11)
    b = build_sampler("hybrid", pairs, 16, seed=11)
    c = build_sampler("hybrid", pairs, 16, seed=12)
    seq_a = [a.next_batch().indices for _ in range(40)]
    assert seq_a == [b.next_batch().indices for _ in range(40)]
    assert seq_a != [c.next_batch().indices for _ in range(40)]
    state = a.state_dict()
    cont = [a.next_batch().indices for _ in range(30)]
    fresh = build_sampler("hybrid", pairs, 16, seed=11)
    fresh.load_state_dict(state)
    assert [fresh.next_batch().indices for _ in range(30)] == cont
    with pytest.raises(ConfigError, match="resume with the same settings"):
        build_sampler("hybrid", pairs, 16, seed=99).load_state_dict(state)


def _collides(builder: BatchBuilder, idx: int) -> bool:
    """Would adding pair ``idx`` break the batch's constraints (tried on a copy of its state)?"""
    probe = BatchBuilder(builder.pairs)
    probe.groups, probe.texts = set(builder.groups), set(builder.texts)
    return not probe.try_add(idx)


def test_pools_cycle_through_every_pair(pairs):
    """One pool epoch hands out every pair exactly once: in order, each lands in the batch being filled
    or is skipped because it would break that batch's constraints (its question or a text already
    there); no pair comes back before the epoch ends."""
    s = build_sampler("random", pairs, 32, seed=1)
    pool = s.pools()["all"]
    replay = Pool("all", list(range(len(pairs))), 1)  # the same seeded permutation, read in order
    order = [replay.next() for _ in range(len(pairs))]
    assert sorted(order) == list(range(len(pairs)))
    pos, placed, skipped = 0, [], []
    while True:
        batch = s.next_batch()
        if pool.epoch > 0:  # this batch reached into the next epoch: the replay stops before it
            break
        builder = BatchBuilder(pairs)
        for idx in batch.indices:
            while order[pos] != idx:  # handed out before idx, so it must have collided
                assert _collides(builder, order[pos]), order[pos]
                skipped.append(order[pos])
                pos += 1
            assert builder.try_add(idx)
            placed.append(idx)
            pos += 1
    assert pos == len(placed) + len(skipped) > len(pairs) - 2 * 32
    assert len(set(placed)) == len(placed) and not set(placed) & set(skipped)
    assert set(placed) | set(skipped) == set(order[:pos])


def test_ranks_share_batch_type_and_take_disjoint_slices(pairs):
    single = build_sampler("hybrid", pairs, 32, seed=2)
    ranks = [build_sampler("hybrid", pairs, 32, seed=2, rank=r, world_size=4) for r in range(4)]
    for _ in range(50):
        g = single.next_batch()
        parts = [r.next_batch() for r in ranks]
        assert {p.kind for p in parts} == {g.kind}
        assert all(len(p.indices) == 8 for p in parts)
        assert sum((p.indices for p in parts), []) == g.indices  # disjoint, rank order = global order


def test_bad_settings_are_config_errors(pairs):
    with pytest.raises(ConfigError, match="does not divide"):
        build_sampler("xy", pairs, 30, world_size=4)
    with pytest.raises(ConfigError, match="alpha"):
        build_sampler("hybrid", pairs, 32, alpha=1.5)
    with pytest.raises(ConfigError, match="unknown sampler"):
        build_sampler("nope", pairs, 32)
    with pytest.raises(ConfigError, match="takes no option alpha"):
        build_sampler("xy", pairs, 32, alpha=0.5)
    en_only = [p for p in pairs if p.query_language == p.positive_language == "en"][:20]
    with pytest.raises(ConfigError, match="xx-mono needs"):
        build_sampler("xx-mono", en_only, 32)
