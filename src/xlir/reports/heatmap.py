"""Heatmap of a metric over query language x candidate language, plus the pooled column.

The diagonal is the monolingual setting, off-diagonal cells the cross-lingual pairs, and the
separate right-hand column the multilingual (pooled) setting per query language: the picture
LAReQA draws to show where alignment breaks down (Roy et al. 2020, fig. 3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np


def save_heatmap(result, path: str | Path, metric: str = "AP") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    qlangs, dlangs, mat = result.pair_matrix(metric)
    means = result.setting_means()
    multi = {s["query_language"]: means[k][metric] for k, s in result.settings.items()
             if s["kind"] == "multi" and metric in means[k]}
    has_multi = bool(multi)
    cols = len(dlangs) + (2 if has_multi else 0)
    grid = np.full((len(qlangs), cols), np.nan)
    grid[:, : len(dlangs)] = mat
    if has_multi:
        grid[:, -1] = [multi.get(q, np.nan) for q in qlangs]
    size = max(4.0, 0.55 * cols + 2)
    fig, ax = plt.subplots(figsize=(size, max(3.5, 0.5 * len(qlangs) + 1.5)))
    masked = np.ma.masked_invalid(grid)
    im = ax.imshow(masked, cmap="viridis", vmin=0.0, vmax=1.0, aspect="equal")
    # no tick at the blank column between the pairs and the pooled column
    ticks = [*range(len(dlangs)), *([cols - 1] if has_multi else [])]
    ax.set_xticks(ticks, [*dlangs, *(["all"] if has_multi else [])])
    ax.set_yticks(range(len(qlangs)), qlangs)
    ax.set_xlabel("candidate language" + (" (all = multilingual pool)" if has_multi else ""))
    ax.set_ylabel("query language")
    if len(qlangs) <= 16 and cols <= 18:
        for i in range(len(qlangs)):
            for j in range(cols):
                v = grid[i, j]
                if not np.isnan(v):
                    ax.text(j, i, f"{v:.2f}"[1:] if 0 <= v < 1 else f"{v:.1f}", ha="center",
                            va="center", fontsize=7, color="white" if v < 0.6 else "black")
    name = result.collection.get("name", "")
    model = str(result.model.get("name", ""))
    model = Path(model).name if "/" in model else model  # a folder path: its last part
    ax.set_title(f"{metric} — {name}\n{model}", fontsize=9)
    # a colorbar exactly as tall as the grid, beside it (never under the title)
    from mpl_toolkits.axes_grid1 import make_axes_locatable

    cax = make_axes_locatable(ax).append_axes("right", size=0.2, pad=0.15)
    fig.colorbar(im, cax=cax)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)
    return path
