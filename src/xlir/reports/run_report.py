"""The human-facing files of an evaluation run folder: ``summary.md``, ``report.html``, ``heatmap.png``."""

from __future__ import annotations

from pathlib import Path

from xlir.reports.heatmap import save_heatmap
from xlir.reports.html import markdown_to_html
from xlir.reports.summary import write_summary


def write_run_reports(result, run_dir: str | Path, metric: str = "AP") -> Path:
    """Render ``result`` (an :class:`~xlir.evaluation.EvalResult`) into ``run_dir``: the heatmap, the
    Markdown summary that shows it, and the summary's HTML twin ``report.html`` (open it in a browser)."""
    run_dir = Path(run_dir)
    figure = None
    if any(s["kind"] in ("mono", "cross") for s in result.settings.values()):
        figure = save_heatmap(result, run_dir / "heatmap.png", metric=metric).name
    md = write_summary(result, run_dir / "summary.md", metric=metric, figure=figure)
    markdown_to_html(md, run_dir / "report.html")
    return run_dir
