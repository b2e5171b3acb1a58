"""The human-facing files of an evaluation run folder: ``summary.md`` and ``heatmap.png``."""

from __future__ import annotations

from pathlib import Path

from xlir.reports.heatmap import save_heatmap
from xlir.reports.summary import write_summary


def write_run_reports(result, run_dir: str | Path, metric: str = "AP") -> Path:
    """Render ``result`` (an :class:`~xlir.evaluation.EvalResult`) into ``run_dir``."""
    run_dir = Path(run_dir)
    write_summary(result, run_dir / "summary.md", metric=metric)
    if any(s["kind"] in ("mono", "cross") for s in result.settings.values()):
        save_heatmap(result, run_dir / "heatmap.png", metric=metric)
    return run_dir
