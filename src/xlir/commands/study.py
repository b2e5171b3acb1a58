"""`xlir study` commands: run a study grid (resumable) and (re)build its report."""

from __future__ import annotations

from pathlib import Path

import typer

PRESET_HELP = ("smoke (tiny model, minutes) | cpu (about 2 h on 2 cores) | cpu-scale (issue 13's budget, "
               "fitted to about 6 h on 2 free cores) | gpu (full size, an accelerator)")
DRY_RUN_HELP = "print the cell count, the time estimate per cell and the fitted plan; start nothing"
MAX_MINUTES_HELP = ("stop cleanly between cells before this many minutes have passed (a cell that would "
                    "not finish in the time left is not started); the same command resumes")
FILL_HELP = ("with --max-minutes: when the next cell would not finish in time, run later (shorter) cells "
             "that would, instead of stopping; the skipped cells stay first in line for the next run")
FIT_HOURS_HELP = ("keep the preset's design points that fit this many hours by the estimate "
                  "(default: the preset's; 0: run every cell)")


def _run(name: str, preset: str, output: Path, jobs: int, objective: str | None, report: bool,
         answer: Path | None, dry_run: bool, max_minutes: float | None, fit_hours: float | None,
         fill: bool = False) -> None:
    from xlir.experiments.run_study import run_study
    from xlir.reports.console import study_run_lines
    from xlir.reports.study_report import build_report

    out = run_study(name, preset, output, jobs=jobs, objective=objective, dry_run=dry_run,
                    max_minutes=max_minutes, fit_hours=fit_hours, fill=fill, log=lambda m: typer.echo(m))
    typer.echo("\n".join(study_run_lines(out)))
    if report and not dry_run and out["summary"].finished:
        typer.echo(f"report: {build_report(output, answer)}")
    if not dry_run and out["summary"].failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    study = typer.Typer(help="Reproducible studies: a resumable grid of runs, a result table and a report.",
                        no_args_is_help=True)
    app.add_typer(study, name="study")

    @study.command("batching")
    def batching(
        preset: str = typer.Option("smoke", help=PRESET_HELP),
        output: Path = typer.Option(Path("runs/study-batching"), help="study folder (resumes if it exists)"),
        jobs: int = typer.Option(1, min=1, help="cells run in parallel processes"),
        report: bool = typer.Option(True, help="write report.md when the grid is done"),
        dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
        max_minutes: float = typer.Option(None, "--max-minutes", help=MAX_MINUTES_HELP),
        fit_hours: float = typer.Option(None, "--fit-hours", min=0, help=FIT_HOURS_HELP),
    ) -> None:
        """Study 1: xx-mono / xy / hybrid(alpha) / random batching, both zero-shot directions."""
        _run("batching", preset, output, jobs, None, report, None, dry_run, max_minutes, fit_hours)

    @study.command("pretrain-languages")
    def pretrain_languages(
        preset: str = typer.Option("smoke", help=PRESET_HELP),
        output: Path = typer.Option(Path("runs/study-pretrain-languages"), help="study folder"),
        jobs: int = typer.Option(1, min=1, help="cells run in parallel processes"),
        objective: str = typer.Option(None, help="pre-training objective: translation-ranking | mlm"),
        report: bool = typer.Option(True, help="write report.md when the grid is done"),
        answer: Path = typer.Option(None, help="also write the generated answer here "
                                               "(e.g. docs/studies/pretrain-languages.md)"),
        dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
        max_minutes: float = typer.Option(None, "--max-minutes", help=MAX_MINUTES_HELP),
        fit_hours: float = typer.Option(None, "--fit-hours", min=0, help=FIT_HOURS_HELP),
    ) -> None:
        """Study 2: pre-training on k languages, then hybrid fine-tuning, low-resource evaluation."""
        _run("pretrain-languages", preset, output, jobs, objective, report, answer, dry_run, max_minutes,
             fit_hours)

    @study.command("recipe")
    def recipe(
        preset: str = typer.Option("smoke", help="smoke (tiny model, seconds) | dev (the search: e5-small "
                                                 "on the XQuAD-R dev slice, about 11-12 h on 2 free cores)"),
        output: Path = typer.Option(Path("runs/study-recipe"), help="study folder (resumes if it exists)"),
        jobs: int = typer.Option(1, min=1, help="cells run in parallel processes"),
        report: bool = typer.Option(True, help="write report.md (and --answer) when cells are done"),
        answer: Path = typer.Option(None, help="also write the generated answer here (docs/recipes.md)"),
        dry_run: bool = typer.Option(False, "--dry-run", help=DRY_RUN_HELP),
        max_minutes: float = typer.Option(None, "--max-minutes", help=MAX_MINUTES_HELP),
        fill: bool = typer.Option(False, "--fill", help=FILL_HELP),
    ) -> None:
        """Issue 14: one training factor at a time against the quick recipe, decided on a dev slice."""
        _run("recipe", preset, output, jobs, None, report, answer, dry_run, max_minutes, None, fill)

    @study.command("report")
    def report_cmd(
        study_dir: Path = typer.Argument(..., help="a study folder with study.json and results.csv"),
        answer: Path = typer.Option(None, help="study 2: also write the generated answer here"),
    ) -> None:
        """Regenerate a study's report (Markdown + PNG) from its result tables alone."""
        from xlir.errors import ConfigError
        from xlir.reports.study_report import build_report

        if not (study_dir / "study.json").is_file() or not (study_dir / "results.csv").is_file():
            raise ConfigError(f"{study_dir} has no study.json and results.csv; run a study there first")
        typer.echo(f"report: {build_report(study_dir, answer)}")
