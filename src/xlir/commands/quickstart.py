"""`xlir quickstart`: the main job — train the embedded model with hybrid batches and compare."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("quickstart")
    def quickstart(
        output: Path | None = typer.Option(None, "--output", "-o",
                                           help="Report folder (default runs/quickstart)."),
        model: str | None = typer.Option(None, "--model", "-m",
                                         help="Model to fine-tune (default e5-small)."),
        steps: int | None = typer.Option(None, "--steps", help="Training steps (default 120, batch 32)."),
        full: bool = typer.Option(False, "--full", help="Evaluate on all of XQuAD-R, not the slice."),
        limit: int | None = typer.Option(None, "--limit",
                                         help="Questions per language in the default slice (200); the "
                                              "candidate pool stays whole (all 13,014 sentences are "
                                              "encoded, ~11 min per model on 2 CPU cores, once)."),
        alpha: float | None = typer.Option(None, "--alpha", help="Share of monolingual batches (0.5)."),
        symmetric: bool | None = typer.Option(None, "--symmetric/--one-way",
                                              help="Add the passage->query loss term (default: one way)."),
        config: Path | None = typer.Option(None, "--config", "-c",
                                           help="TOML file of QuickstartConfig fields, training in [train]."),
        precision: str | None = typer.Option(
            None, "--precision", help="auto, fp32 or bf16 for training and evaluation (default auto "
                                      "= bf16 where the hardware has it natively, else fp32)."),
    ) -> None:
        """Fine-tune e5-small with hybrid batches on MLQA; compare with the base model on XQuAD-R.

        Zero-shot: XQuAD-R shares no source with MLQA. The default evaluation slice is the first 200
        questions of every language against the full candidate pool; --full evaluates everything.
        Resumable: run it again after an interruption and finished steps are skipped. Options given
        here override the --config file, which overrides the defaults (the quick recipe)."""
        from xlir.experiments.quickstart import QuickstartConfig, run_quickstart
        from xlir.reports.quickstart_report import comparison_rows, write_quickstart_report

        train = {"steps": steps, "alpha": alpha, "symmetric": symmetric, "precision": precision}
        cfg = QuickstartConfig.from_toml(config, {"model": model, "output": output, "eval_limit": limit,
                                                  "train": {k: v for k, v in train.items() if v is not None}})
        if full:
            cfg = cfg.model_copy(update={"eval_limit": None})
        res = run_quickstart(cfg)
        report = write_quickstart_report(res)
        rows = comparison_rows(res["base"], res["trained"], res["tests"])
        width = max(len(r[0]) for r in rows)
        typer.echo(f"\n{'':{width}}  {'base':>8}  {'trained':>8}  {'diff':>8}")
        for label, a, b, d, sig in rows:
            typer.echo(f"{label:{width}}  {a:>8}  {b:>8}  {d:>8}  {sig}")
        typer.echo(f"\nreport: {report}")
