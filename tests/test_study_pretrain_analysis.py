"""Study 2's statistics (:mod:`xlir.experiments.studies.pretrain_analysis`) on small hand-built tables
whose right answers are known, including the failure cases an adversarial review found
(2026-12-07): a slope CI that claimed trends in noise, a k that weighed double, a row counted twice,
an optional collection that moved the endpoint, and 'changes' that were never tested."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xlir.evaluation.stats import trend
from xlir.experiments.studies import pretrain_analysis as pa


def test_trend_ci_keeps_its_5_percent_under_no_trend():
    """4 k levels x 3 seeds of pure noise: the old seed bootstrap's CI excluded 0 in ~18% of grids;
    the OLS t interval must stay near 5% (binomial 95% range for 600 grids: about 3.3-6.9%)."""
    rng = np.random.default_rng(0)
    grids = 600
    hits = 0
    for _ in range(grids):
        tr = trend([(k, s, 0.7 + rng.normal(0, 0.01)) for k in (1, 4, 16, 128) for s in range(3)])
        hits += tr["slope_low"] > 0 or tr["slope_high"] < 0
    assert 0.02 <= hits / grids <= 0.08
    strong = trend([(k, s, 0.7 + 0.01 * math.log2(k) + rng.normal(0, 0.01)) for k in (1, 4, 16, 128)
                    for s in range(3)])
    assert strong["slope_low"] > 0  # a real trend of one noise SD per doubling is found


def _row(cid, k, arm, seed, coll, setting, value, targets, stage="finetuned"):
    return {"cell_id": cid, "k": k, "arm": arm, "seed": seed, "collection": coll, "metric": "AP",
            "setting": setting, "value": value, "targets": targets, "stage": stage}


def test_a_row_with_two_target_languages_counts_once_in_the_endpoint():
    rows = [_row("c", 1, "inside", 0, "xquad-r", "cross/th-hi", 0.9, "hi th"),
            _row("c", 1, "inside", 0, "xquad-r", "cross/th-en", 0.5, "th"),
            _row("c", 1, "inside", 0, "xquad-r", "multi/th", 0.1, "th")]  # multi: not a target row
    scores = pa.target_scores(rows)
    assert scores[("all", "all")][0][-1] == pytest.approx(0.7)  # (0.9 + 0.5) / 2, not (0.9+0.9+0.5)/3
    assert scores[("xquad-r", "th")][0][-1] == pytest.approx(0.7)
    assert scores[("xquad-r", "hi")][0][-1] == pytest.approx(0.9)


def test_a_collection_missing_from_one_cell_leaves_every_cells_endpoint_and_is_named():
    rows = []
    for cid, k in (("a", 0), ("b", 1), ("c", 4), ("d", 16)):
        arm = "inside" if k else "none"
        rows.append(_row(cid, k, arm, 0, "flores-test", "cross/th-en", 0.5 + k / 1000, "th"))
        if k != 16:
            rows.append(_row(cid, k, arm, 0, "afriqa", "cross/ha-en", 0.2, "ha"))
    kept, dropped = pa.comparable_rows(rows)
    assert {r["collection"] for r in kept} == {"flores-test"}
    assert dropped == ["afriqa, finetuned: cross/ha-en (1 cell without it)"]
    scores = pa.target_scores(kept)[("all", "all")]
    assert sorted(v for *_, v in scores) == pytest.approx([0.5, 0.501, 0.504, 0.516])


def _grid(seeds_of_k: dict[int, list[int]], effect_of_k, units=("q1", "q2", "q3")):
    """Cells and per-question APs: AP = 0.5 + seed/100 (+ the k's effect after pre-training)."""
    rows, pq = [], {}
    for k, seeds in seeds_of_k.items():
        for s in seeds:
            cid = f"k{k}-s{s}"
            rows.append({"cell_id": cid, "k": k, "arm": "inside" if k else "none", "seed": s})
            ap = {u: 0.5 + s / 100 + (effect_of_k(k) if k else 0) for u in units}
            pq[cid] = {"flores-test": {"cross": ap}}
    return rows, pq


def test_each_k_weighs_the_same_whatever_seeds_it_ran():
    """The per-language layout: k 1, 4, 16 with seeds 0-1, the shared k = 128 cell with seeds 0-2.
    Per-seed means over the k a seed has would give k = 128 half of seed 2's weight: effects of
    0.01 log2 k gave +0.045 instead of the balanced +0.0325."""
    eff = lambda k: 0.01 * math.log2(k)  # noqa: E731
    balanced = {0: [0, 1, 2], 1: [0, 1, 2], 4: [0, 1, 2], 16: [0, 1, 2], 128: [0, 1, 2]}
    uneven = {0: [0, 1, 2], 1: [0, 1], 4: [0, 1], 16: [0, 1], 128: [0, 1, 2]}
    truth = sum(eff(k) for k in (1, 4, 16, 128)) / 4
    for layout in (balanced, uneven):
        rows, pq = _grid(layout, eff)
        (e,) = [e for e in pa.pretraining_effect(pq, rows)
                if e["collection"] == "all" and e["arm"] == "inside"]
        assert e["diff"] == pytest.approx(truth) and e["n"] == 3


def test_pretraining_effect_counts_each_question_once_whatever_the_seeds_and_ks():
    rows = [{"cell_id": cid, "k": k, "arm": arm, "seed": seed}
            for cid, k, arm, seed in [("r0", 0, "none", 0), ("r1", 0, "none", 1), ("a0", 1, "inside", 0),
                                      ("b0", 4, "inside", 0), ("a1", 1, "inside", 1), ("b1", 4, "inside", 1)]]
    q = {"q1": 0.5, "q2": 0.4}
    pq = {"r0": {"flores": {"cross": q}}, "r1": {"flores": {"cross": q}},
          "a0": {"flores": {"cross": {"q1": 0.9, "q2": 0.4}}}, "b0": {"flores": {"cross": q}},
          "a1": {"flores": {"cross": q}}, "b1": {"flores": {"cross": q}}}
    effects = {e["collection"]: e for e in pa.pretraining_effect(pq, rows) if e["arm"] == "inside"}
    assert effects["all"]["n"] == 2  # two questions, not 4 (seed, question) units
    assert effects["all"]["diff"] == pytest.approx(0.4 / 2 / 2 / 2)  # q1: +0.4 in one of 2 k, 1 of 2 seeds


def test_all_weighs_each_collection_the_same():
    units = {("tatoeba", "cross", f"t{i}"): (0.5, 0.6) for i in range(90)}  # +0.1 on 90 units
    units |= {("flores", "cross", f"f{i}"): (0.5, 0.5) for i in range(10)}  # 0 on 10 units
    by = {e["collection"]: e for e in pa.compare_units(units)}
    assert by["all"]["diff"] == pytest.approx(0.05)  # not the pooled 0.09
    assert by["tatoeba"]["diff"] == pytest.approx(0.1) and by["flores"]["diff"] == pytest.approx(0.0)


def test_seed_level_effect_uses_complete_seeds_and_their_noise():
    rows = []
    for s, (k0, gains) in enumerate([(0.70, (0.02, 0.02)), (0.72, (0.00, 0.00)), (0.71, (0.01, 0.01))]):
        rows.append(_row(f"r{s}", 0, "none", s, "flores-test", "cross/th-en", k0, "th"))
        for k, g in zip((1, 4), gains, strict=True):
            rows.append(_row(f"k{k}s{s}", k, "inside", s, "flores-test", "cross/th-en", k0 + g, "th"))
    rows.append(_row("k16s0", 16, "inside", 0, "flores-test", "cross/th-en", 0.9, "th"))  # seed 0 only
    e = pa.seed_level_effect(rows, "inside")
    assert e["ks"] == [1, 4, 16] and e["seeds"] == [0]  # only seed 0 has every k
    assert math.isnan(e["p"]) and math.isnan(e["low"])
    rows = [r for r in rows if r["cell_id"] != "k16s0"]
    e = pa.seed_level_effect(rows, "inside")
    assert e["seeds"] == [0, 1, 2] and e["diff"] == pytest.approx(0.01)
    assert e["low"] < 0 < e["high"] and e["p"] > 0.05  # 0.02, 0, 0.01 over 3 seeds: not shown


def _effect(d, p, per_seed=None):
    """An effect row; by default three seeds that agree with its sign."""
    seeds = per_seed if per_seed is not None else [d * 0.9, d, d * 1.1]
    return {"diff": d, "p_holm": p, "low": d - 0.01, "high": d + 0.01, "p": p,
            "seed": {"seeds": list(range(len(seeds))), "per_seed": seeds}}


@pytest.mark.parametrize(("pt", "ft", "change", "verdict"), [
    ((+0.05, 0.001), (+0.04, 0.01), (-0.01, 0.60),
     "gain after pre-training, gain after fine-tuning: no detectable change between them"),
    ((+0.0101, 0.049), (+0.0074, 0.079), (-0.003, 0.70),  # the review's case: not a 'gone' gain
     "gain after pre-training, no detectable effect after fine-tuning: no detectable change between them"),
    ((+0.05, 0.001), (+0.00, 0.90), (-0.05, 0.001),
     "gain after pre-training, no detectable effect after fine-tuning: fine-tuning lowers the difference"),
    ((-0.02, 0.010), (+0.01, 0.01), (+0.03, 0.001),
     "loss after pre-training, gain after fine-tuning: fine-tuning raises the difference"),
])
def test_survival_verdict_tests_the_change_itself(pt, ft, change, verdict):
    text = pa.survival_verdict(_effect(*pt), _effect(*ft), _effect(*change))
    assert text == verdict
    assert pa.changed(text) == (change[1] < 0.05)
    assert pa.survival_verdict(_effect(*pt), _effect(*ft)).endswith("(change not tested)")


def test_an_effect_seen_per_question_but_not_in_every_seed_is_qualified():
    """Pre-training changes the fine-tuning's starting point, so its trajectory: a per-question test
    (one unit per question, seeds averaged) cannot see that training noise; a gain whose seeds
    disagree, or that ran one seed, is a gain on these runs' questions only."""
    one_seed = pa.survival_verdict(_effect(0.05, 0.001, [0.05]), _effect(0.0, 0.9),
                                   _effect(-0.05, 0.001, [-0.05]))
    assert one_seed.startswith("gain (per question only") and not pa.changed(one_seed)
    assert pa.changed_per_question(one_seed)
    split = pa.survival_verdict(_effect(0.05, 0.001), _effect(0.02, 0.001, [0.05, -0.01, 0.02]),
                                _effect(-0.03, 0.001))
    assert split == ("gain after pre-training, gain (per question only: not the same sign in two or more "
                     "seeds) after fine-tuning: fine-tuning lowers the difference")
    assert pa.changed(split)


def test_survival_measures_the_change_on_the_units_both_points_have():
    """Effect +0.02 on every unit after pre-training, +0.02 after fine-tuning on 39 of 40 (one unit
    missing there): no change; then a real drop to 0 after fine-tuning: a shrinking effect."""
    rng = np.random.default_rng(1)
    before = {("flores-test", "cross", f"q{i}"): (0.5, 0.52 + rng.normal(0, 0.005)) for i in range(40)}
    after_same = {u: (0.6, 0.62 + rng.normal(0, 0.005)) for u in list(before)[:39]}
    after_gone = {u: (0.6, 0.60 + rng.normal(0, 0.005)) for u in before}
    for after, moved in ((after_same, False), (after_gone, True)):
        units = {("fixed-total", "pretrained", "inside"): before,
                 ("fixed-total", "finetuned", "inside"): after}
        effects = [{"design": "fixed-total", "arm": "inside", "stage": st, **e}
                   for st, us in (("pretrained", before), ("finetuned", after)) for e in pa.compare_units(us)]
        for e in effects:
            e["p_holm"] = e["p"]
            e["seed"] = {"seeds": [0, 1], "per_seed": [0.02, 0.021] if e["stage"] == "pretrained" or
                         after is after_same else [0.0005, -0.0004]}
        (s,) = [s for s in pa.survival(effects, units) if s["collection"] == "all"]
        assert s["change"]["n"] == (39 if after is after_same else 40)
        assert pa.changed(s["verdict"]) is moved, s["verdict"]
