"""Statistics over training seeds for study tables: mean with a 95% CI, and a trend over k.

Paired tests between runs (randomization, bootstrap, Holm) live in :mod:`.significance`; this
module holds the two seed-level summaries the studies need beside them.

Why these
    * Seeds are the unit of replication of a training run, so a setting's uncertainty is the
      Student-t interval of its per-seed means (few seeds: a t interval, not a normal one).
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


def trend(points: Iterable[tuple[float, int, float]], *, n_boot: int = 2000, seed: int = 0) -> dict:
    """Trend of a metric over k from ``(k, seed, value)`` points with k >= 1.

    Returns the OLS slope on log2 k (metric units per doubling of k), its 95% bootstrap CI
    (seeds resampled with replacement within each k), Spearman's rho with its p-value, and the
    number of k levels and points (and the fewest points at one level). With a single seed at some k
    the seed bootstrap would collapse to a point there and claim a certainty it does not have, so the
    CI is NaN (no CI) until every level has two seeds. Too few levels (< 3) give NaN throughout.
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
    if out["min_per_level"] >= 2:
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
