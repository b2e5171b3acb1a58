"""`xlir report DIR`: an index page (``index.html``, ``index.md``) over every run under DIR."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(
        folder: Path = typer.Argument(..., help="Folder of runs (eval run folders, quickstarts, studies)."),
        metric: str = typer.Option("AP", "--metric", "-m",
                                   help="Metric of the mono/cross/multi columns (ir_measures name)."),
    ) -> None:
        """One page listing every run under FOLDER: model, dataset, mono/cross/multi, rank distance,
        date and a link to its report. Open FOLDER/index.html in a browser."""
        from xlir.errors import ConfigError
        from xlir.evaluation.metrics import get_metric
        from xlir.files import check_output_dir
        from xlir.reports.index import write_index

        if not folder.is_dir():
            raise ConfigError(f"{folder} is not a folder: pass the folder that holds your runs (e.g. runs/)")
        check_output_dir(folder, "report folder")
        page, rows = write_index(folder, get_metric(metric).name)
        if not rows:
            typer.echo(f"no run found under {folder} (looked for results.json, study.json and quickstart "
                       "reports)", err=True)
        typer.echo(f"{len(rows)} run(s); index: {page}")
