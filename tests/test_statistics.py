"""Known-answer checks of the statistics: paired randomization test, bootstrap CI, Holm correction,
the seed-level mean CI and the trend over k."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from xlir.evaluation.significance import (
    bootstrap_ci,
    compare_runs,
    holm,
    paired_difference,
    randomization_test,
)
from xlir.evaluation.stats import mean_ci, trend


def _per_query(values: dict[str, dict[str, np.ndarray]]) -> dict:
    return {s: {m: {f"{s.split('/')[1][:2]}/{i}": float(v) for i, v in enumerate(arr)}
                for m, arr in ms.items()} for s, ms in values.items()}


def test_identical_runs_have_p_one_and_nothing_significant():
    rng = np.random.default_rng(0)
    scores = {s: {"AP": rng.random(200), "nDCG@10": rng.random(200)}
              for s in ("mono/de-de", "cross/de-en", "multi/de")}
    run = _per_query(scores)
    rows = compare_runs(run, run, n_permutations=2000, n_bootstrap=2000)
    assert len(rows) == 2 * 3 + 2 * 3  # 3 settings + 3 aggregates, per metric
    for r in rows:
        assert r.p_value == 1.0 and r.p_holm == 1.0
        assert not r.significant
        assert r.diff == 0.0 and r.ci_low == 0.0 and r.ci_high == 0.0


def test_constant_large_shift_is_significant_and_ci_excludes_zero():
    rng = np.random.default_rng(1)
    base = rng.random(300) * 0.5
    a = _per_query({"cross/de-en": {"AP": base}, "cross/de-es": {"AP": base}})
    b = _per_query({"cross/de-en": {"AP": base + 0.3}, "cross/de-es": {"AP": base}})
    rows = {r.setting: r for r in compare_runs(a, b, n_permutations=5000, n_bootstrap=5000)}
    shifted = rows["cross/de-en"]
    assert shifted.p_value == pytest.approx(1 / 5001)  # the smallest Monte Carlo p-value
    assert shifted.p_holm == pytest.approx(2 / 5001)  # Holm: smallest p times the family size 2
    assert shifted.significant
    assert shifted.diff == pytest.approx(0.3)
    assert shifted.ci_low == pytest.approx(0.3) and shifted.ci_high == pytest.approx(0.3)
    assert not rows["cross/de-es"].significant
    assert rows["cross/*"].diff == pytest.approx(0.15)  # questions are averaged over the two pairs


def test_exact_p_value_equals_scipy_permutation_test():
    rng = np.random.default_rng(2)
    d = rng.normal(0.1, 0.2, size=12)  # 2**12 = 4096 sign patterns: both enumerate all of them
    ours = randomization_test(d, n_permutations=10_000)
    ref = stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=10_000,
                                 alternative="two-sided").pvalue
    assert ours == pytest.approx(ref, abs=1e-12)
    assert 0.001 < ours < 0.2  # not a degenerate case


def test_monte_carlo_p_value_agrees_with_scipy_within_sampling_error():
    rng = np.random.default_rng(3)
    d = rng.normal(0.02, 0.2, size=300)
    ours = randomization_test(d, n_permutations=20_000, seed=5)
    ref = stats.permutation_test((d,), np.mean, permutation_type="samples", n_resamples=20_000,
                                 alternative="two-sided", random_state=7).pvalue
    # both estimate the same p (~0.01), each with standard error sqrt(p(1-p)/20000) ~ 0.0007
    assert 0.005 < ref < 0.5
    assert abs(ours - ref) < 0.004


def test_bootstrap_ci_matches_scipy_percentile_interval():
    rng = np.random.default_rng(4)
    d = rng.normal(0.05, 0.3, size=400)
    lo, hi = bootstrap_ci(d, n_resamples=10_000, seed=0)
    ref = stats.bootstrap((d,), np.mean, method="percentile", n_resamples=10_000, random_state=0)
    assert lo == pytest.approx(ref.confidence_interval.low, abs=0.003)
    assert hi == pytest.approx(ref.confidence_interval.high, abs=0.003)
    assert lo < d.mean() < hi


def test_holm_by_hand():
    # sorted 0.01, 0.03, 0.04, 0.2 -> 4*0.01, 3*0.03, max(2*0.04, 0.09), max(0.2, 0.09)
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.2]), [0.04, 0.09, 0.09, 0.2])
    np.testing.assert_allclose(holm([0.5, 0.6]), [1.0, 1.0])


def test_only_shared_queries_are_paired():
    a = {"mono/en-en": {"AP": {"en/1": 0.2, "en/2": 0.4, "en/3": 0.9}}}
    b = {"mono/en-en": {"AP": {"en/1": 0.3, "en/2": 0.5}}}
    (row,) = [r for r in compare_runs(a, b, n_permutations=100, n_bootstrap=100) if r.setting == "mono/en-en"]
    assert row.n == 2
    assert row.diff == pytest.approx(0.1)
    assert row.p_value == pytest.approx(0.5)  # exact: 2 of the 4 sign patterns reach |mean| >= 0.1


def test_mean_ci_and_trend():
    m, lo, hi = mean_ci([0.5, 0.6, 0.7])
    assert m == pytest.approx(0.6) and lo == pytest.approx(0.6 - 4.302653 * 0.1 / math.sqrt(3), abs=1e-5)
    pts = [(k, s, 0.3 + 0.02 * math.log2(k) + 0.001 * s) for k in (1, 2, 4, 8) for s in range(3)]
    tr = trend(pts)
    assert tr["slope"] == pytest.approx(0.02, abs=1e-9) and tr["slope_low"] > 0.015
    assert tr["rho"] > 0.9 and tr["levels"] == 4
    assert math.isnan(trend([(1, 0, 0.1), (2, 0, 0.2)])["slope"])


def test_paired_difference_is_the_randomization_test_and_bootstrap_of_b_minus_a():
    rng = np.random.default_rng(3)
    a = rng.random(40)
    b = a + 0.05 + rng.normal(0, 0.02, 40)
    t = paired_difference(a, b, n_permutations=999, n_bootstrap=500, seed=7)
    assert t.diff == pytest.approx(float(np.mean(b - a)))
    assert t.p == randomization_test(b - a, n_permutations=999, seed=7) == pytest.approx(1 / 1000)
    assert (t.low, t.high) == bootstrap_ci(b - a, n_resamples=500, seed=8) and t.low > 0
    assert all(math.isnan(x) for x in paired_difference([], []))


def test_p_values_read_as_one_clause_in_reports():
    """A p below the resolution reads "p < 0.001", never "p = <0.001" (the quickstart table once did)."""
    from xlir.evaluation.significance import format_p, p_equals

    assert format_p(0.0004) == "<0.001" and format_p(0.01234) == "0.012" and format_p(float("nan")) == "–"
    assert p_equals(0.0004) == "p < 0.001"
    assert p_equals(0.01234, "Holm p") == "Holm p = 0.012"
    assert p_equals(0.0004, sep="") == "p<0.001"
    assert p_equals(0.5, "p_holm", sep="") == "p_holm=0.500"


# ---- clustered questions (several questions per paragraph) --------------------------------------
def test_singleton_clusters_give_exactly_the_plain_tests():
    rng = np.random.default_rng(11)
    d = rng.normal(0.03, 0.2, size=(150, 2))
    labels = [f"q{i}" for i in rng.permutation(150)]  # distinct labels, not in sorted order
    np.testing.assert_array_equal(randomization_test(d, n_permutations=3000, seed=2, clusters=labels),
                                  randomization_test(d, n_permutations=3000, seed=2))
    for ours, plain in zip(bootstrap_ci(d, n_resamples=3000, seed=3, clusters=labels),
                           bootstrap_ci(d, n_resamples=3000, seed=3), strict=True):
        np.testing.assert_array_equal(ours, plain)


def test_clustered_exact_p_value_is_the_sign_flip_test_of_the_cluster_sums():
    rng = np.random.default_rng(12)
    sizes = rng.integers(1, 7, size=11)  # 11 clusters of 1-6 questions: 2048 sign patterns
    labels = [f"p{c}" for c, k in enumerate(sizes) for _ in range(k)]
    d = rng.normal(0.08, 0.2, size=len(labels))
    order = rng.permutation(len(d))  # questions of one cluster need not be adjacent
    d, labels = d[order], [labels[i] for i in order]
    sums = np.array([d[[lab == f"p{c}" for lab in labels]].sum() for c in range(len(sizes))])
    ours = randomization_test(d, n_permutations=10_000, clusters=labels)
    ref = stats.permutation_test((sums,), np.mean, permutation_type="samples", n_resamples=10_000,
                                 alternative="two-sided").pvalue
    assert ours == pytest.approx(ref, abs=1e-12)
    assert ours > randomization_test(d, n_permutations=10_000)  # fewer independent units: weaker evidence


def test_clustered_tests_keep_their_error_rate_where_the_plain_ones_do_not():
    """Null data with a shared paragraph effect (40 paragraphs x 5 questions, no true difference): the
    per-question tests reject far more often than 5%, the cluster tests about 5%."""
    rng = np.random.default_rng(13)
    labels = np.repeat(np.arange(40), 5)
    plain_reject = cluster_reject = cluster_covers = 0
    runs = 300
    for i in range(runs):
        d = rng.normal(0, 0.1, 40)[labels] + rng.normal(0, 0.05, 200)  # paragraph effect dominates
        plain_reject += randomization_test(d, n_permutations=400, seed=i) < 0.05
        cluster_reject += randomization_test(d, n_permutations=400, seed=i, clusters=labels) < 0.05
        lo, hi = bootstrap_ci(d, n_resamples=400, seed=i, clusters=labels)
        cluster_covers += lo <= 0 <= hi
    assert plain_reject / runs > 0.25
    assert cluster_reject / runs < 0.09
    assert cluster_covers / runs > 0.88


def test_cluster_labels_must_match_the_differences():
    with pytest.raises(ValueError, match="3 labels for 4"):
        randomization_test(np.ones(4), clusters=["a", "a", "b"])
    with pytest.raises(ValueError, match="None"):
        bootstrap_ci(np.ones(2), clusters=["a", None])
    t = paired_difference([0.1, 0.2, 0.3, 0.4], [0.2, 0.3, 0.3, 0.6], clusters=["x", "x", "y", "y"],
                          n_permutations=100, n_bootstrap=100)
    assert t.diff == pytest.approx(0.1) and t.p == pytest.approx(0.5)  # 2 clusters: 4 sign patterns


def test_too_few_clusters_give_no_interval_but_an_exact_p():
    from xlir.evaluation.significance import MIN_CLUSTERS, format_ci

    rng = np.random.default_rng(14)
    labels = np.repeat(np.arange(MIN_CLUSTERS - 1), 4)
    d = rng.normal(0.2, 0.05, size=len(labels))  # a clear shift, but only 9 paragraphs
    lo, hi = bootstrap_ci(d, n_resamples=500, clusters=labels)
    assert math.isnan(lo) and math.isnan(hi) and format_ci(lo, hi) == "[few paragraphs]"
    assert randomization_test(d, n_permutations=10_000, clusters=labels) == pytest.approx(2 / 2**9)
    lo, hi = bootstrap_ci(np.r_[d, 0.2, 0.2, 0.2, 0.2], n_resamples=500, clusters=[*labels, 9, 9, 9, 9])
    assert 0.15 < lo < hi < 0.25 and format_ci(lo, hi).startswith("[+0.")


def test_fewer_than_min_clusters_rows_each_its_own_cluster_is_the_plain_bootstrap():
    d = np.random.default_rng(15).normal(0.1, 0.1, size=6)
    assert bootstrap_ci(d, n_resamples=300, seed=1, clusters=list("abcdef")) == bootstrap_ci(
        d, n_resamples=300, seed=1)


def test_stratified_bootstrap_weighs_strata_equally_and_its_p_inverts_its_interval():
    from xlir.evaluation.significance import stratified_bootstrap

    rng = np.random.default_rng(16)
    strata = ["big"] * 300 + ["small"] * 20
    lo, hi, p = stratified_bootstrap(np.full(320, 0.05), strata, n_resamples=500)
    assert lo == pytest.approx(0.05) and hi == pytest.approx(0.05)  # the unstratified one: [+0.048, +0.052]
    assert p == pytest.approx(2 / 501)
    # strata with different means: the estimate is the mean of the strata's means, inside the interval
    d = np.r_[rng.normal(0.0, 0.05, 300), rng.normal(0.1, 0.05, 20)]
    lo, hi, p = stratified_bootstrap(d, strata, n_resamples=2000, seed=3)
    centre = (d[:300].mean() + d[300:].mean()) / 2
    assert lo < centre < hi and hi - lo < 0.06 and p < 0.01
    # p < 0.05 exactly when the 95% interval excludes 0, over effects from none to clear
    for shift in (0.0, 0.005, 0.01, 0.015, 0.02, 0.03):
        x = rng.normal(shift, 0.1, 320)
        lo, hi, p = stratified_bootstrap(x, strata, n_resamples=1000, seed=5)
        assert (p < 0.05) == (lo > 0 or hi < 0), (shift, lo, hi, p)
    # one stratum: exactly the (cluster) bootstrap of the mean
    labels = np.repeat(np.arange(40), 5)
    one = rng.normal(0.02, 0.1, 200)
    ours = stratified_bootstrap(one, ["s"] * 200, clusters=labels, n_resamples=4500, seed=4)
    assert ours[:2] == pytest.approx(bootstrap_ci(one, n_resamples=4500, seed=4, clusters=labels), abs=1e-15)
    with pytest.raises(ValueError, match="strata labels"):
        stratified_bootstrap(one, ["s"] * 3)
    with pytest.raises(ValueError, match="n_resamples"):
        stratified_bootstrap(one, ["s"] * 200, n_resamples=0)


def test_trend_p_is_the_ols_slope_test_and_absent_without_a_ci():
    """``slope_p`` is what scipy's regression gives for the same cells (the seed within a k is no
    grouping), so a report can correct several trends for multiplicity; no CI, no p."""
    from scipy import stats

    rng = np.random.default_rng(7)
    pts = [(k, s, 0.76 + 0.0005 * math.log2(k) + rng.normal(0, 0.0015)) for k in (1, 4, 16, 128)
           for s in range(3)]
    ref = stats.linregress([math.log2(k) for k, _, _ in pts], [v for _, _, v in pts])
    tr = trend(pts)
    assert tr["slope"] == pytest.approx(ref.slope, rel=1e-9)
    assert tr["slope_p"] == pytest.approx(ref.pvalue, rel=1e-6)
    assert 0 < tr["slope_p"] < 1
    assert math.isnan(trend([(1, 0, 0.5), (4, 0, 0.52), (16, 0, 0.53), (16, 1, 0.54)])["slope_p"])
