"""Is run B really better than run A? Paired tests over queries, Holm-corrected across language pairs.

Two evaluations of the same collection give, for every setting (``mono/de-de``, ``cross/de-en``,
``multi/de``) and metric, one score per query. The question is whether the mean per-query difference
is larger than what shuffling "which run produced which score" would give by chance.

* **Paired randomization test** (Fisher's sign-flip test; Smucker, Allan & Carterette, "A comparison
  of statistical significance tests for information retrieval evaluation", CIKM 2007, recommend it
  for IR): under the null hypothesis the two runs are exchangeable for each query, so each per-query
  difference is as likely to carry either sign. The two-sided p-value is the share of sign
  assignments whose mean difference is at least as far from zero as the observed one. When
  ``2**n <= n_permutations`` every assignment is enumerated (exact test, as
  :func:`scipy.stats.permutation_test` does); otherwise ``n_permutations`` seeded random flips are
  drawn and ``p = (hits + 1) / (n_permutations + 1)`` (Phipson & Smyth 2010, never exactly 0).
* **Paired bootstrap** 95% confidence interval of the mean difference (percentile method, Efron &
  Tibshirani 1993, ch. 13): resample queries with replacement, keeping both runs' scores together.
* **Holm** step-down correction (Holm 1979) across the language pairs of one metric: with 121 pairs,
  about 6 "significant" differences at p < 0.05 would appear by chance alone. Holm controls the
  family-wise error rate under any dependence between the tests, which matters here because the
  same question appears in every pair.

Aggregate rows (``mono/*``, ``cross/*``, ``multi/*``) test the macro average of a setting kind. The
same question occurs in many pairs, so queries of different pairs are not independent: the unit of
resampling is the question (the part of the query id after ``lang/``, the ``group`` of parallel
collections), whose differences are first averaged over the pairs it appears in.

Questions can be correlated beyond that: XQuAD-R's and MLQA-R's questions come five or so to a
paragraph, answered by sentences of the same paragraph against the same distractors, so a model that
handles a paragraph well tends to handle all its questions well. Treating them as independent makes
the interval too narrow and the p-value too small (a study-1 slice: 200 questions from 35
paragraphs). Given ``clusters`` (one label per question), both tests move a cluster as a whole:
the sign-flip test flips the sign of each cluster's summed difference, and the bootstrap resamples
clusters, each resample's mean the ratio of summed differences to summed sizes (the cluster bootstrap,
Field & Welsh 2007; Cameron & Miller 2015 on cluster-robust inference). The statistic stays the mean
per-question difference; with every question its own cluster both tests are exactly the plain ones.
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import NamedTuple

import numpy as np

from xlir.errors import ConfigError, DataError

PerQuery = Mapping[str, Mapping[str, Mapping[str, float]]]
"""setting key -> metric name -> query id -> score (the shape of ``EvalResult.per_query``)."""

DEFAULT_PERMUTATIONS = 10_000
DEFAULT_BOOTSTRAP = 10_000
MIN_RESAMPLES = 100
"""Fewest sign flips / bootstrap resamples accepted: with n random flips the smallest p-value is
1/(n+1), and a 95% percentile interval needs enough resamples to have 2.5% tails at all."""
_CHUNK = 2_000  # resamples per block: bounds memory to CHUNK x n_queries
MIN_CLUSTERS = 10
"""Fewest clusters a bootstrap interval is given for. Resampling a handful of clusters gives intervals
far too narrow (null simulations, clusters of 1-11 questions: 72% coverage of a 95% interval with 3
clusters, 82% with 5-8, 92-94% from 12 on); below this the interval is NaN (reports print "few
paragraphs"), unless every row is its own cluster (then it is the plain bootstrap). The sign-flip p
stays exact, only coarse: with C clusters it cannot go below 2/2**C."""


def few_clusters_caveat(n_clusters: int) -> str:
    """What a paired test over ``n_clusters`` paragraphs cannot give, as a phrase for a report, or ""
    from :data:`MIN_CLUSTERS` on: one wording where a run-level resampling unit is named (the studies'
    ``clusters_note``, which the quickstart uses, and ``xlir compare``), so a reader who meets "[few
    paragraphs]" in a table finds why beside it. Study 2's per-collection phrase says something else
    (its ``all`` row then resamples across collections) and keeps its own words."""
    if n_clusters >= MIN_CLUSTERS:
        return ""
    return (f"under {MIN_CLUSTERS} paragraphs give no bootstrap interval, and the sign-flip p cannot go "
            f"below {2 / 2 ** n_clusters:.3g}")


@dataclass(frozen=True)
class PairedTest:
    """One row of the comparison table: run B minus run A on one setting and metric."""

    setting: str
    metric: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    p_holm: float
    significant: bool
    family: str

    def as_dict(self) -> dict:
        return asdict(self)

    def as_json(self) -> dict:
        """:meth:`as_dict` for strict JSON: an interval not given (NaN: too few paragraphs) is null."""
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in asdict(self).items()}


# ---- the two tests ------------------------------------------------------------------------------
def _all_signs(n: int) -> np.ndarray:
    """Every one of the ``2**n`` assignments of +-1 signs to n queries, one per row."""
    codes = np.arange(2**n, dtype=np.int64)[:, None]
    bits = (codes >> np.arange(n, dtype=np.int64)[None, :]) & 1
    return (1 - 2 * bits).astype(np.float64)


def _seed(seed: int, *parts: str) -> int:
    """A per-test seed that depends on the test's name, not on which other tests run alongside."""
    return seed + zlib.crc32("\x1f".join(parts).encode())


def _as_columns(diffs, what: str) -> tuple[np.ndarray, bool]:
    """``diffs`` as a float64 ``[n, m]`` array (one column per test) and whether it was a single ``[n]``."""
    d = np.asarray(diffs, dtype=np.float64)
    single = d.ndim == 1
    d = d[:, None] if single else d
    if d.shape[0] == 0:
        raise ValueError(f"{what} needs at least one paired query")
    if not np.isfinite(d).all():
        raise ValueError(f"{what}: {int((~np.isfinite(d)).sum())} paired difference(s) are not finite")
    return d, single


def _by_cluster(d: np.ndarray, clusters) -> tuple[np.ndarray, np.ndarray]:
    """``d`` ``[n, m]`` summed within each cluster (``[C, m]``, clusters in order of first appearance,
    so that singleton clusters give ``d`` itself) and each cluster's size ``[C]``."""
    labels = np.asarray(list(clusters), dtype=object)
    if labels.shape != (d.shape[0],):
        raise ValueError(f"clusters: {labels.shape[0]} labels for {d.shape[0]} paired differences")
    if any(x is None for x in labels):
        raise ValueError("clusters: a label is None (give a question without a cluster its own label)")
    _, first, inverse = np.unique(labels.astype(str), return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    index = rank[inverse]
    sums = np.zeros((len(first), d.shape[1]))
    np.add.at(sums, index, d)
    return sums, np.bincount(index, minlength=len(first)).astype(np.float64)


def randomization_test(diffs: np.ndarray, *, n_permutations: int = DEFAULT_PERMUTATIONS,
                       seed: int = 0, clusters=None) -> np.ndarray | float:
    """Two-sided paired sign-flip p-value of ``mean(diffs) != 0``.

    ``diffs`` is ``[n]`` (one test) or ``[n, m]`` (m tests on the same queries, sharing the sign
    draws, which keeps each p-value valid and costs one matrix product). Returns a float or ``[m]``.
    ``clusters`` (one label per row): the signs flip per cluster (see the module docstring).
    """
    d, single = _as_columns(diffs, "randomization test")
    if n_permutations < 1:
        raise ValueError(f"n_permutations must be >= 1, not {n_permutations}")
    n_rows = d.shape[0]
    if clusters is not None:
        d, _ = _by_cluster(d, clusters)
    n = d.shape[0]
    observed = np.abs(d.sum(axis=0) / n_rows)
    # Tolerance against float noise: a permutation that reproduces the observed mean exactly must
    # count as "at least as extreme" even if summation order changes its last bits.
    tol = 1e-12 * np.maximum(observed, 1e-300) + 1e-15
    rng = np.random.default_rng(seed)
    if n <= 20 and 2**n <= n_permutations:
        signs = _all_signs(n)
        hits = (np.abs(signs @ d / n_rows) >= observed - tol).sum(axis=0)
        p = hits / signs.shape[0]
    else:
        hits = np.zeros(d.shape[1], dtype=np.int64)
        done = 0
        while done < n_permutations:
            b = min(_CHUNK, n_permutations - done)
            signs = rng.choice(np.array([-1.0, 1.0]), size=(b, n))
            hits += (np.abs(signs @ d / n_rows) >= observed - tol).sum(axis=0)
            done += b
        p = (hits + 1) / (n_permutations + 1)
    p = np.minimum(p, 1.0)
    return float(p[0]) if single else p


def bootstrap_ci(diffs: np.ndarray, *, n_resamples: int = DEFAULT_BOOTSTRAP, confidence: float = 0.95,
                 seed: int = 0, clusters=None) -> tuple[np.ndarray, np.ndarray] | tuple[float, float]:
    """Percentile bootstrap interval of the mean of paired differences ``[n]`` or ``[n, m]``;
    ``clusters`` (one label per row): resample whole clusters (see the module docstring)."""
    d, single = _as_columns(diffs, "bootstrap")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, not {n_resamples}")
    sizes = None
    if clusters is not None:
        n_rows = d.shape[0]
        d, sizes = _by_cluster(d, clusters)
        if d.shape[0] < min(MIN_CLUSTERS, n_rows):  # every row its own cluster: the plain bootstrap
            nan = np.full(d.shape[1], math.nan)
            return (math.nan, math.nan) if single else (nan, nan.copy())
    n = d.shape[0]
    rng = np.random.default_rng(seed)
    means = np.empty((n_resamples, d.shape[1]))
    done = 0
    while done < n_resamples:
        b = min(_CHUNK, n_resamples - done)
        # Resampling n queries with replacement == multinomial counts per query; a matrix product
        # then gives every resample's mean for all m metrics at once.
        counts = rng.multinomial(n, np.full(n, 1.0 / n), size=b).astype(np.float64)
        # clusters: a resample's mean is its summed differences over its number of questions
        means[done:done + b] = counts @ d / (n if sizes is None else (counts @ sizes)[:, None])
        done += b
    alpha = 1.0 - confidence
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2], axis=0)
    if single:
        return float(lo[0]), float(hi[0])
    return lo, hi


class StratifiedInterval(NamedTuple):
    """:func:`stratified_bootstrap`: the percentile interval and the p-value that inverts it."""

    low: float
    high: float
    p: float


def stratified_bootstrap(diffs, strata, *, clusters=None, n_resamples: int = DEFAULT_BOOTSTRAP,
                         confidence: float = 0.95, seed: int = 0) -> StratifiedInterval:
    """Percentile interval of the mean over strata of each stratum's mean difference (every stratum
    weighs the same, whatever its size), resampling within each stratum (whole clusters, given
    ``clusters``; a cluster must not span strata), and the two-sided bootstrap p-value of "that mean
    is 0" read off the same resamples, ``2 * min(share <= 0, share >= 0)`` (with the +1 of
    :func:`randomization_test`), so that p < 1 - ``confidence`` exactly when the interval excludes 0.

    Why not the sign-flip test and plain bootstrap of per-unit weighted differences: a resample's mix
    of strata then varies, and flipping whole strata's signs treats their differences from each other
    as noise, so interval and p also measured how the strata differ, which is not sampling noise of
    the estimate (a constant difference of 0.05 got [+0.048, +0.052] instead of zero width; study 2's
    "change" row read p 0.019 beside an interval of [+0.0075, +0.0257]). The bootstrap p is
    approximate where the sign-flip p is exact, and it is what keeps a row's p and CI saying the same.
    A stratum under :data:`MIN_CLUSTERS` clusters (unless each row is its own) gives NaN throughout.
    """
    d = np.asarray(diffs, dtype=np.float64)
    groups = np.asarray(list(strata), dtype=object)
    if d.ndim != 1 or groups.shape != d.shape or len(d) == 0:
        raise ValueError(f"stratified bootstrap: {len(groups)} strata labels for {d.shape} differences")
    if not np.isfinite(d).all():
        raise ValueError("stratified bootstrap: a paired difference is not finite")
    if n_resamples < MIN_RESAMPLES:
        raise ValueError(f"stratified bootstrap: n_resamples must be >= {MIN_RESAMPLES}, not {n_resamples}")
    labels = list(clusters) if clusters is not None else [f"\x1f{i}" for i in range(len(d))]
    rng = np.random.default_rng(seed)
    means = np.zeros(n_resamples)
    names = sorted(set(groups.tolist()), key=str)
    for name in names:
        rows = np.flatnonzero(groups == name)
        sums, sizes = _by_cluster(d[rows, None], [labels[i] for i in rows])
        c = len(sizes)
        if c < min(MIN_CLUSTERS, len(rows)):
            return StratifiedInterval(math.nan, math.nan, math.nan)
        for start in range(0, n_resamples, _CHUNK):  # bounds memory to CHUNK x clusters
            b = min(_CHUNK, n_resamples - start)
            counts = rng.multinomial(c, np.full(c, 1.0 / c), size=b).astype(np.float64)
            means[start:start + b] += (counts @ sums[:, 0]) / (counts @ sizes) / len(names)
    alpha = 1.0 - confidence
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2])
    below, above = (means <= 0).sum(), (means >= 0).sum()
    p = min(1.0, 2 * (min(below, above) + 1) / (n_resamples + 1))
    return StratifiedInterval(float(lo), float(hi), float(p))


def holm(p_values: Iterable[float]) -> np.ndarray:
    """Holm-adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    p = np.asarray(list(p_values), dtype=np.float64)
    m = len(p)
    if m == 0:
        return p
    order = np.argsort(p, kind="stable")
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


class PairedDifference(NamedTuple):
    """B - A over paired values: mean difference, its bootstrap CI and the randomization p-value."""

    diff: float
    low: float
    high: float
    p: float


def paired_difference(a, b, *, n_permutations: int = DEFAULT_PERMUTATIONS,
                      n_bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0, clusters=None) -> PairedDifference:
    """Mean of ``b - a`` with its percentile bootstrap CI (seeded ``seed + 1``) and the two-sided
    randomization p-value (seeded ``seed``); all NaN when there is no pair. ``clusters``: one label
    per pair; both tests then move a cluster as a whole (see the module docstring)."""
    d = np.asarray(b, dtype=np.float64) - np.asarray(a, dtype=np.float64)
    if len(d) == 0:
        return PairedDifference(math.nan, math.nan, math.nan, math.nan)
    p = randomization_test(d, n_permutations=n_permutations, seed=seed, clusters=clusters)
    lo, hi = bootstrap_ci(d, n_resamples=n_bootstrap, seed=seed + 1, clusters=clusters)
    return PairedDifference(float(d.mean()), float(lo), float(hi), float(p))


# ---- comparing two runs -------------------------------------------------------------------------
def _kind(setting: str) -> str:
    return setting.split("/", 1)[0] if "/" in setting else setting


def _group(query_id: str) -> str:
    """The question a query id belongs to: ``"de/123"`` -> ``"123"`` (see data.schema)."""
    return query_id.split("/", 1)[1] if "/" in query_id else query_id


def check_options(alpha: float, n_permutations: int, n_bootstrap: int) -> None:
    """Refuse test options that make the p-values or intervals meaningless (a :class:`ConfigError`).

    ``alpha`` must lie strictly between 0 and 1; ``n_permutations`` and ``n_bootstrap`` must be
    whole numbers of at least :data:`MIN_RESAMPLES` (a negative count once gave negative p-values
    that made every zero difference "significant").
    """
    if not (isinstance(alpha, (int, float)) and math.isfinite(alpha) and 0 < alpha < 1):
        raise ConfigError(f"alpha must be between 0 and 1 (exclusive), e.g. 0.05; got {alpha!r}")
    for name, n in (("permutations", n_permutations), ("bootstrap resamples", n_bootstrap)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < MIN_RESAMPLES:
            raise ConfigError(f"the number of {name} must be a whole number >= {MIN_RESAMPLES}; got {n!r}")


def check_finite(per_query: PerQuery, *, where: str | None = None, run: str = "run") -> None:
    """Refuse a per-query value that is not a finite number, naming setting, metric and query.

    A NaN score once gave a NaN difference whose Holm p-value came out 0, "significant".
    ``where`` is the file the values came from (for the message).
    """
    for setting, measures in per_query.items():
        for metric, values in measures.items():
            for qid, v in values.items():
                if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not math.isfinite(v):
                    raise DataError(where or f"<{run}>", f"{metric} of query {qid!r} in setting {setting} "
                                    f"is {v!r}, not a finite number",
                                    expected="a finite score for every query")


@dataclass(frozen=True)
class Pairing:
    """Which (setting, query) scores of two runs can be paired, for the metrics compared."""

    paired: int
    only_a: int
    only_b: int
    settings_only_a: tuple[str, ...] = ()
    settings_only_b: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not (self.only_a or self.only_b or self.settings_only_a or self.settings_only_b)

    def describe(self, name_a: str = "A", name_b: str = "B") -> str:
        text = (f"{self.paired} (setting, query) scores paired; {self.only_a} only in {name_a}, "
                f"{self.only_b} only in {name_b}")
        for name, only in ((name_a, self.settings_only_a), (name_b, self.settings_only_b)):
            if only:
                text += f"; settings only in {name}: {', '.join(only[:5])}" + (
                    f" (+{len(only) - 5})" if len(only) > 5 else "")
        return text

    def as_dict(self) -> dict:
        return {**asdict(self), "complete": self.complete}


def pair_queries(per_query_a: PerQuery, per_query_b: PerQuery,
                 metrics: Iterable[str] | None = None) -> Pairing:
    """Count what :func:`compare_runs` pairs: queries scored in both runs, per shared setting."""
    wanted = None if metrics is None else set(metrics)

    def ids(pq: PerQuery, setting: str) -> set[str]:
        return {q for m, v in pq[setting].items() if wanted is None or m in wanted for q in v}

    shared = set(per_query_a) & set(per_query_b)
    paired = only_a = only_b = 0
    for setting in shared:
        a, b = ids(per_query_a, setting), ids(per_query_b, setting)
        paired += len(a & b)
        only_a += len(a - b)
        only_b += len(b - a)
    return Pairing(paired, only_a, only_b, tuple(sorted(set(per_query_a) - shared)),
                   tuple(sorted(set(per_query_b) - shared)))


def _paired(a: Mapping[str, float], b: Mapping[str, float]) -> tuple[list[str], np.ndarray, np.ndarray]:
    ids = sorted(set(a) & set(b))
    return ids, np.array([a[i] for i in ids], float), np.array([b[i] for i in ids], float)


def _labels(ids: list[str], clusters: Mapping[str, str] | None, key=lambda x: x) -> list[str] | None:
    """One cluster label per id (its question's cluster, else the question itself); None: no map."""
    if not clusters:
        return None
    return [clusters.get(key(i)) or f"\x1fquestion:{key(i)}" for i in ids]


def compare_runs(per_query_a: PerQuery, per_query_b: PerQuery, *, metrics: Iterable[str] | None = None,
                 alpha: float = 0.05, n_permutations: int = DEFAULT_PERMUTATIONS,
                 n_bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 0,
                 aggregates: bool = True, clusters: Mapping[str, str] | None = None) -> list[PairedTest]:
    """Paired tests of B - A for every setting and metric both runs share.

    ``clusters``: question (the query id after ``lang/``) -> cluster label, e.g. its paragraph
    (:func:`xlir.data.clusters.question_clusters`); both tests then move a cluster's queries together.
    A question the map lacks is its own cluster.

    Only queries scored in both runs are paired (a slice against a full run compares the slice;
    :func:`pair_queries` counts what was left out, and callers should say so). Holm families: one
    per metric over all language-pair settings; the aggregate rows of a metric (``mono/*`` ...) form
    a second family. Rows come sorted by metric, then setting. Options out of range
    (:func:`check_options`) and non-finite scores (:func:`check_finite`) are refused.
    """
    check_options(alpha, n_permutations, n_bootstrap)
    check_finite(per_query_a, run="run A")
    check_finite(per_query_b, run="run B")
    settings = sorted(set(per_query_a) & set(per_query_b))
    wanted = None if metrics is None else list(metrics)
    rows: list[PairedTest] = []
    # metric -> kind -> group -> list of diffs (for aggregate rows)
    by_group: dict[str, dict[str, dict[str, list[tuple[float, float]]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list)))
    for setting in settings:
        names = sorted(set(per_query_a[setting]) & set(per_query_b[setting]))
        names = [m for m in names if wanted is None or m in wanted]
        for metric in names:
            ids, va, vb = _paired(per_query_a[setting][metric], per_query_b[setting][metric])
            if not ids:
                continue
            t = paired_difference(va, vb, n_permutations=n_permutations, n_bootstrap=n_bootstrap,
                                  seed=_seed(seed, setting, metric), clusters=_labels(ids, clusters, _group))
            rows.append(PairedTest(setting, metric, len(ids), float(va.mean()), float(vb.mean()),
                                   t.diff, t.low, t.high, t.p, math.nan, False, f"{metric}: pairs"))
            for qid, x, y in zip(ids, va, vb, strict=True):
                by_group[metric][_kind(setting)][_group(qid)].append((x, y))
    if aggregates:
        for metric, kinds in sorted(by_group.items()):
            for kind, groups in sorted(kinds.items()):
                keys = sorted(groups)
                va = np.array([np.mean([x for x, _ in groups[g]]) for g in keys])
                vb = np.array([np.mean([y for _, y in groups[g]]) for g in keys])
                t = paired_difference(va, vb, n_permutations=n_permutations, n_bootstrap=n_bootstrap,
                                      seed=_seed(seed, kind, "*", metric), clusters=_labels(keys, clusters))
                rows.append(PairedTest(f"{kind}/*", metric, len(keys), float(va.mean()), float(vb.mean()),
                                       t.diff, t.low, t.high, t.p, math.nan, False, f"{metric}: aggregates"))
    return _apply_holm(rows, alpha)


def _apply_holm(rows: list[PairedTest], alpha: float) -> list[PairedTest]:
    families: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        families[r.family].append(i)
    out = list(rows)
    for idx in families.values():
        adjusted = holm([rows[i].p_value for i in idx])
        for i, ph in zip(idx, adjusted, strict=True):
            r = rows[i]
            out[i] = PairedTest(r.setting, r.metric, r.n, r.mean_a, r.mean_b, r.diff, r.ci_low, r.ci_high,
                                r.p_value, float(ph), bool(ph < alpha), r.family)
    return sorted(out, key=lambda r: (r.metric, r.setting.endswith("/*") is False, r.setting))


def format_ci(low: float, high: float) -> str:
    """``[low, high]`` with signs and four decimals; an interval not given (NaN: too few clusters,
    :data:`MIN_CLUSTERS`) reads "[few paragraphs]"."""
    if math.isnan(low) or math.isnan(high):
        return "[few paragraphs]"
    return f"[{low:+.4f}, {high:+.4f}]"


def format_p(p: float) -> str:
    """One spelling of a p-value in every report: three decimals, ``<0.001`` below that.

    A randomization test with 10,000 flips cannot resolve p below 1e-4 anyway, and mixed
    spellings (``0.0003``, ``3e-04``, ``0.07459``) make a column hard to scan."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def p_equals(p: float, name: str = "p", sep: str = " ") -> str:
    """``p = 0.012`` or ``p < 0.001`` (never ``p = <0.001``): :func:`format_p` inside a sentence.
    ``sep=""`` gives the compact ``p=0.012`` / ``p<0.001`` of table cells."""
    text = format_p(p)
    if text.startswith("<"):
        return f"{name}{sep}<{sep}{text[1:]}"
    return f"{name}{sep}={sep}{text}"


def to_markdown(rows: list[PairedTest], *, name_a: str = "A", name_b: str = "B", alpha: float = 0.05,
                heading_level: int = 1) -> str:
    """A Markdown table, one row per test; significant rows are marked with ``*``.

    ``heading_level`` sets the title's level (``2`` under a report's ``#`` title, ``0`` for none)."""
    lines = [f"{'#' * heading_level} {name_b} vs {name_a}", ""] if heading_level else []
    lines += [
        f"Difference = {name_b} - {name_a}, paired over queries. p: two-sided randomization test; "
        f"p (Holm): corrected across the language pairs of each metric; 95% CI: paired bootstrap. "
        f"`*` = holds at p < {alpha} after Holm.",
        "",
        f"| metric | setting | n | {name_a} | {name_b} | diff | 95% CI | p | p (Holm) | sig |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|:-:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.metric} | {r.setting} | {r.n} | {r.mean_a:.4f} | {r.mean_b:.4f} | {r.diff:+.4f} | "
            f"{format_ci(r.ci_low, r.ci_high)} | {format_p(r.p_value)} | {format_p(r.p_holm)} | "
            f"{'*' if r.significant else ''} |")
    return "\n".join(lines) + "\n"
