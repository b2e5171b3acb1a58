"""Study plots (PNG, matplotlib's Agg backend: no display needed).

* :func:`plot_vs_alpha` — study 1: mono / cross / multilingual mAP against the share of monolingual
  batches. ``xy`` is alpha = 0 and ``xx-mono`` alpha = 1 (a hybrid sampler at those values is
  exactly that sampler), so the three baselines and the hybrids sit on one axis; ``random`` is a
  dashed horizontal reference. Error bars are 95% CIs over seeds.
* :func:`plot_vs_k` — study 2: a metric against the number of pre-training languages on a log2
  axis, one line per arm, with k = 0 (no pre-training) drawn as a dotted reference line and band.
* :func:`plot_lambda_curve` — the recipe search: mono and multilingual mAP against the WiSE-FT weight
  λ (0: the base model, 1: the trained one), one line per training variant, the quick recipe bold with
  its 95% CIs over seeds.
* :func:`plot_tradeoff` — the recipe search: monolingual against multilingual mAP of every variant
  (trained, and its merges along a thin line), the base model and its monolingual level marked.
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
    ref_band: str = "95% CI",
    bars: str = "",
) -> Path:
    """``series``: arm -> [(k, mean, low, high)] for k >= 1; ``ref``: the k = 0 (mean, low, high);
    ``ref_band``: what the reference band is; ``bars``: what the error bars are, when not the default
    95% CI (two seeds give their range)."""
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
            label=f"targets {arm}" + (f" (bars: {bars})" if bars and i == 0 else ""),
        )
    if ref is not None and not math.isnan(ref[0]):
        ax.axhline(ref[0], ls=":", color="gray", label=f"k = 0 (no pre-training; band: {ref_band})")
        ax.axhspan(ref[1], ref[2], color="gray", alpha=0.12)
    ax.set_xscale("log", base=2)
    ks = sorted({p[0] for pts in series.values() for p in pts if p[0] >= 1})
    if ks:
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.minorticks_off()
    ax.set_xlabel("pre-training languages k (log2)")
    return _finish(fig, ax, title, ylabel, path)


def _shade(cmap, i: int):
    """tab20's dark shades first (the light ones are hard to see), then the light ones."""
    return cmap((2 * i) % 20 + (i // 10) % 2)


def variant_colors(names) -> dict:
    """One colour per name, in the given order (tab20, dark shades first): pass the same mapping to
    every figure of a report so a variant keeps its colour from one figure to the next."""
    cmap = _plt().get_cmap("tab20")
    return {name: _shade(cmap, i) for i, name in enumerate(dict.fromkeys(names))}


def plot_lambda_curve(series: dict[str, dict[str, list[tuple[float, float, float, float]]]], highlight: str,
                      title: str, path: str | Path, colors: dict | None = None,
                      bars: str = "error bars: spread over seeds") -> Path:
    """``series``: variant -> kind ("mono", "multi") -> [(λ, mean, low, high)], λ = 0 the base model.
    Two panels (mono, multi); ``highlight`` (the quick recipe) drawn bold with error bars (``bars``
    says what they are); ``colors``: variant -> colour (:func:`variant_colors`), else by position."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharex=True)
    colors = colors or variant_colors(series)
    for ax, kind in zip(axes, ("mono", "multi"), strict=True):
        for variant, kinds in series.items():
            pts = sorted(p for p in kinds.get(kind, []) if not math.isnan(p[1]))
            if not pts:
                continue
            x, y = [p[0] for p in pts], [p[1] for p in pts]
            if variant == highlight:
                err = [[p[1] - p[2] for p in pts], [p[3] - p[1] for p in pts]]
                ax.errorbar(x, y, yerr=err, marker="o", capsize=3, lw=2.2, color="black",
                            label=f"{variant} ({bars})", zorder=5)
            else:
                ax.plot(x, y, marker=".", lw=1, alpha=0.8, color=colors.get(variant, "grey"), label=variant)
        ax.set_title(f"{kind} mAP", fontsize=10)
        ax.set_xlabel("λ (0: base model, 1: trained)")
        ax.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mAP")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7, loc="lower center", ncol=min(6, max(1, len(labels))),
               frameon=False, bbox_to_anchor=(0.5, -0.07 - 0.035 * math.ceil(len(labels) / 6)))
    fig.suptitle(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def plot_tradeoff(points: dict[str, list[tuple[float, float, float]]], base: tuple[float, float] | None,
                  highlight: str, title: str, path: str | Path, colors: dict | None = None) -> Path:
    """``points``: variant -> [(λ, multi mAP, mono mAP)] (means over seeds); the λ = 1 point (the
    trained model) is labelled, its merges joined to it by a thin line; ``base``: (multi, mono);
    ``colors``: variant -> colour (:func:`variant_colors`), else by position."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6.5, 4.6))
    colors = colors or variant_colors(points)
    for variant, pts in points.items():
        pts = sorted(p for p in pts if not (math.isnan(p[1]) or math.isnan(p[2])))
        if not pts:
            continue
        color = "black" if variant == highlight else colors.get(variant, "grey")
        ax.plot([p[1] for p in pts], [p[2] for p in pts], lw=0.8, alpha=0.5, color=color)
        trained = [p for p in pts if p[0] == 1.0]
        if trained:
            _, x, y = trained[0]
            ax.scatter([x], [y], s=36 if variant == highlight else 22, color=color, zorder=4)
            ax.annotate(variant, (x, y), fontsize=6.5, xytext=(3, 2), textcoords="offset points")
    if base is not None and not any(math.isnan(v) for v in base):
        ax.scatter([base[0]], [base[1]], marker="*", s=120, color="tab:red", zorder=5, label="base model")
        ax.axhline(base[1], ls="--", lw=1, color="tab:red", alpha=0.6,
                   label="base model's monolingual mAP")
    ax.set_xlabel("multilingual mAP (one pool, all languages)")
    return _finish(fig, ax, title, "monolingual mAP", path)
