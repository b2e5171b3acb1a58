"""Statistics for study tables: mean and 95% CI over seeds, paired tests, and a trend test.

Why these
    * Seeds are the unit of replication of a training run, so a setting's uncertainty is the
      Student-t interval of its per-seed means (few seeds: a t interval, not a normal one).
    * Comparing two training strategies on the same queries is a paired question: the per-query
      differences (pooled over seeds, pairing query q of seed s with query q of seed s) go to a
      paired randomization (sign-flip) test, the standard IR significance test (Smucker, Allan &
      Carterette, CIKM 2007). ``xlir.evaluation.significance`` is used when it provides one.
    * Study 2 asks whether a metric rises with the number of pre-training languages k. Effects of
      language count are usually logarithmic, so the trend is the OLS slope of the metric on log2 k
      (k >= 1), with a bootstrap CI that resamples seeds within each k (the seed is the replicate),
      plus Spearman's rank correlation, which assumes only monotonicity.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high): the Student-t interval; a single value gets a zero-width interval."""
    v = np.asarray([x for x in values if x is not None and not math.isnan(x)], dtype=float)
    if len(v) == 0:
        return (math.nan, math.nan, math.nan)
    m = float(v.mean())
    if len(v) == 1:
        return (m, m, m)
    from scipy import stats

    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return (m, m - half, m + half)


def paired_randomization(a: Sequence[float], b: Sequence[float], *, n: int = 10000, seed: int = 0) -> float:
    """Two-sided p-value of mean(a - b) != 0 by random sign flips of the paired differences."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) == 0:
        return math.nan
    obs = abs(d.mean())
    if obs == 0:
        return 1.0
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n, len(d)))
    null = np.abs((signs * d).mean(axis=1))
    return float((1 + np.sum(null >= obs - 1e-12)) / (n + 1))


def paired_test(a: Sequence[float], b: Sequence[float]) -> dict:
    """Paired test of a against b; prefers the evaluation package's implementation when present."""
    try:
        from xlir.evaluation import significance as sig  # the evaluation helper's module
    except ImportError:
        sig = None
    a = list(a)
    b = list(b)
    fn = getattr(sig, "paired_randomization_test", None) if sig is not None else None
    if fn is not None:
        try:
            res = fn(a, b)
            p = float(res["p"] if isinstance(res, dict) else getattr(res, "p_value", res))
            return {
                "p": p,
                "n": len(a),
                "mean_diff": float(np.mean(np.subtract(a, b))),
                "test": "xlir.evaluation.significance.paired_randomization_test",
            }
        except Exception:  # noqa: BLE001 - fall back to ours if the signature differs
            pass
    return {
        "p": paired_randomization(a, b),
        "n": len(a),
        "mean_diff": float(np.mean(np.subtract(a, b))) if a else math.nan,
        "test": "paired randomization (sign flip), 10k permutations",
    }


def holm(pvalues: dict[str, float]) -> dict[str, float]:
    """Holm-Bonferroni adjusted p-values (several baselines are compared to one method)."""
    items = sorted(pvalues.items(), key=lambda kv: kv[1])
    m = len(items)
    out: dict[str, float] = {}
    running = 0.0
    for i, (k, p) in enumerate(items):
        running = max(running, min(1.0, (m - i) * p))
        out[k] = running
    return out


def trend(points: Iterable[tuple[float, int, float]], *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Trend of a metric over k from ``(k, seed, value)`` points with k >= 1.

    Returns the OLS slope on log2 k (metric units per doubling of k), its 95% bootstrap CI
    (seeds resampled with replacement within each k), Spearman's rho with its p-value, and the
    number of k levels and points (and the fewest points at one level: with a single seed per k the
    bootstrap CI collapses to a point and says nothing). Too few levels (< 3) give NaN.
    """
    from scipy import stats

    by_k: dict[float, list[float]] = defaultdict(list)
    for k, _seed, v in points:
        if k >= 1 and v is not None and not math.isnan(v):
            by_k[float(k)].append(float(v))
    ks = sorted(by_k)
    out = {
        "levels": len(ks),
        "points": sum(len(v) for v in by_k.values()),
        "min_per_level": min((len(v) for v in by_k.values()), default=0),
        "slope": math.nan,
        "slope_low": math.nan,
        "slope_high": math.nan,
        "rho": math.nan,
        "rho_p": math.nan,
    }
    if len(ks) < 3:
        return out
    x = np.concatenate([[math.log2(k)] * len(by_k[k]) for k in ks])
    y = np.concatenate([by_k[k] for k in ks])
    out["slope"] = float(np.polyfit(x, y, 1)[0])
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        ys = np.concatenate([rng.choice(by_k[k], size=len(by_k[k]), replace=True) for k in ks])
        boots.append(np.polyfit(x, ys, 1)[0])
    out["slope_low"], out["slope_high"] = (float(q) for q in np.percentile(boots, [2.5, 97.5]))
    if np.ptp(y) > 0:
        rho, p = stats.spearmanr(x, y)
        out["rho"], out["rho_p"] = float(rho), float(p)
    return out
