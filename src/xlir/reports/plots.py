"""Study plots (PNG, matplotlib's Agg backend: no display needed).

* :func:`plot_vs_alpha` — study 1: mono / cross / multilingual mAP against the share of monolingual
  batches. ``xy`` is alpha = 0 and ``xx-mono`` alpha = 1 (a hybrid sampler at those values is
  exactly that sampler), so the three baselines and the hybrids sit on one axis; ``random`` is a
  dashed horizontal reference. Error bars are 95% CIs over seeds.
* :func:`plot_vs_k` — study 2: a metric against the number of pre-training languages on a log2
  axis, one line per arm, with k = 0 (no pre-training) drawn as a dotted reference line and band.
"""

from __future__ import annotations

import math
from pathlib import Path


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _finish(fig, ax, title: str, ylabel: str, path: str | Path, ncol: int = 2) -> Path:
    """The styling both study plots share, then save (creating the folder) and free the figure."""
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    # below the axes, never over the points and their error bars
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol,
              frameon=False)
    ax.grid(alpha=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return path


def plot_vs_alpha(
    series: dict[str, list[tuple[float, float, float, float]]],
    random_ref: dict[str, tuple[float, float, float]],
    title: str,
    path: str | Path,
) -> Path:
    """``series``: kind -> [(alpha, mean, low, high)]; ``random_ref``: kind -> (mean, low, high)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    colors = {"mono": "tab:blue", "cross": "tab:orange", "multi": "tab:green"}
    for kind, pts in series.items():
        pts = sorted(p for p in pts if not math.isnan(p[1]))
        if not pts:
            continue
        x = [p[0] for p in pts]
        y = [p[1] for p in pts]
        err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=kind, color=colors.get(kind))
        if kind in random_ref and not math.isnan(random_ref[kind][0]):
            ax.axhline(random_ref[kind][0], ls="--", lw=1, color=colors.get(kind), alpha=0.6)
    ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
    ax.set_xticklabels(["0\n(xy)", "0.25", "0.5", "0.75", "1\n(xx-mono)"])
    ax.set_xlabel("alpha (share of monolingual batches); dashed: random batches")
    return _finish(fig, ax, title, "mAP", path, ncol=3)


def plot_vs_k(
    series: dict[str, list[tuple[int, float, float, float]]],
    ref: tuple[float, float, float] | None,
    title: str,
    ylabel: str,
    path: str | Path,
) -> Path:
    """``series``: arm -> [(k, mean, low, high)] for k >= 1; ``ref``: the k = 0 (mean, low, high)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for i, (arm, pts) in enumerate(series.items()):
        pts = sorted(p for p in pts if p[0] >= 1 and not math.isnan(p[1]))
        if not pts:
            continue
        # dodge the arms a little along the log axis so their error bars do not hide each other
        shift = 2 ** (0.08 * (i - (len(series) - 1) / 2))
        x = [p[0] * shift for p in pts]
        ax.errorbar(
            x,
            [p[1] for p in pts],
            yerr=[[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]],
            marker="o",
            capsize=3,
            label=f"targets {arm}",
        )
    if ref is not None and not math.isnan(ref[0]):
        ax.axhline(ref[0], ls=":", color="gray", label="k = 0 (no pre-training; band: 95% CI)")
        ax.axhspan(ref[1], ref[2], color="gray", alpha=0.12)
    ax.set_xscale("log", base=2)
    ks = sorted({p[0] for pts in series.values() for p in pts if p[0] >= 1})
    if ks:
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.minorticks_off()
    ax.set_xlabel("pre-training languages k (log2)")
    return _finish(fig, ax, title, ylabel, path)
