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
    """(mean, low, high): the Student-t interval; a single value gets a zero-width interval; NaN and
    infinite values are left out."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=float)
    if len(v) == 0:
        return (math.nan, math.nan, math.nan)
    m = float(v.mean())
    if len(v) == 1:
        return (m, m, m)
    from scipy import stats

    half = float(stats.t.ppf(0.5 + level / 2, len(v) - 1) * v.std(ddof=1) / math.sqrt(len(v)))
    return (m, m - half, m + half)


def seed_spread(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) of a figure over training seeds, as the reports print it: the Student-t
    interval from three seeds on; with two, their range (a t interval on two values multiplies one
    degree of freedom's SD by 12.7: near-equal seeds give a spuriously tight interval, distant ones a
    uselessly wide one); one value, zero width. Non-finite values are left out."""
    v = [float(x) for x in values if x is not None and math.isfinite(x)]
    if len(v) == 2:
        return (sum(v) / 2, min(v), max(v))
    return mean_ci(v, level)


def welch_ci(a: Sequence[float], b: Sequence[float],
             level: float = 0.95) -> tuple[float, float, float] | None:
    """(mean(a) − mean(b), low, high): the Welch interval for two independent samples (Satterthwaite
    degrees of freedom), e.g. one figure per training run of two configurations, whose seeds are not
    paired; None with fewer than two finite values on a side or zero variance on both."""
    x = np.asarray([v for v in a if v is not None and math.isfinite(v)], dtype=float)
    y = np.asarray([v for v in b if v is not None and math.isfinite(v)], dtype=float)
    if len(x) < 2 or len(y) < 2:
        return None
    va, vb = x.var(ddof=1) / len(x), y.var(ddof=1) / len(y)
    d = float(x.mean() - y.mean())
    if va + vb == 0:
        return None
    from scipy import stats

    df = (va + vb) ** 2 / (va**2 / (len(x) - 1) + vb**2 / (len(y) - 1))
    half = float(stats.t.ppf(0.5 + level / 2, df) * math.sqrt(va + vb))
    return (d, d - half, d + half)


def trend(points: Iterable[tuple[float, int, float]]) -> dict:
    """Trend of a metric over k from ``(k, seed, value)`` points with k >= 1.

    Returns the OLS slope on log2 k (metric units per doubling of k) with its 95% CI from the OLS
    standard error and Student's t on N - 2 degrees of freedom (every point one cell) and the
    two-sided t-test of slope 0 on the same interval (``slope_p``, so a caller can correct several
    trends for multiplicity), Spearman's rho
    with its p-value, and the number of k levels and points and the fewest points at one level.

    Why this interval: until 2026-12-07 the CI came from a bootstrap of the 2-3 seeds within each k,
    which is far too narrow at that size (a mean of two seeds has three bootstrap values and no t
    inflation): with no trend at all its CI excluded 0 in 18-33% of simulated grids, against this
    interval's 5%. A seed effect shared by a seed's cells across k only widens this interval in a
    balanced grid (it lands in the residuals, not in the slope). With a single seed at some k the CI
    is NaN (no CI): one cell there is no estimate of that level's noise. Too few levels (< 3) give NaN
    throughout.
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
        "slope_p": math.nan,
        "rho": math.nan,
        "rho_p": math.nan,
    }
    if len(ks) < 3:
        return out
    x = np.concatenate([[math.log2(k)] * len(by_k[k]) for k in ks])
    y = np.concatenate([by_k[k] for k in ks])
    slope, intercept = np.polyfit(x, y, 1)
    out["slope"] = float(slope)
    n = len(y)
    if out["min_per_level"] >= 2:
        resid = y - (slope * x + intercept)
        se = math.sqrt(float(resid @ resid) / (n - 2) / float(((x - x.mean()) ** 2).sum()))
        half = float(stats.t.ppf(0.975, n - 2)) * se
        out["slope_low"], out["slope_high"] = out["slope"] - half, out["slope"] + half
        if se > 0:
            out["slope_p"] = float(2 * stats.t.sf(abs(slope) / se, n - 2))
    if np.ptp(y) > 0:
        rho, p = stats.spearmanr(x, y)
        out["rho"], out["rho_p"] = float(rho), float(p)
    return out
