"""`xlir compare RUN_A RUN_B`: which differences between two evaluations are real.

Wires the options to :func:`xlir.evaluation.compare.run_compare` (paired randomization test and
bootstrap CI per setting and metric, Holm-corrected across language pairs) and prints the
differences that hold.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("compare")
    def compare(
        run_a: Path = typer.Argument(..., help="Run folder of the baseline (A)."),
        run_b: Path = typer.Argument(..., help="Run folder of the system compared with it (B)."),
        metric: list[str] | None = typer.Option(None, "--metric", "-m",
                                                help="Metric(s) to test (repeatable; default: all)."),
        alpha: float = typer.Option(0.05, "--alpha", help="Family-wise significance level (Holm)."),
        permutations: int = typer.Option(10_000, "--permutations", help="Random sign flips per test."),
        bootstrap: int = typer.Option(10_000, "--bootstrap", help="Bootstrap resamples per CI."),
        seed: int = typer.Option(0, "--seed"),
        out: Path | None = typer.Option(None, "--out",
                                        help="Where to write compare.md/json (default: RUN_B)."),
    ) -> None:
        """Paired randomization test + bootstrap CI per metric and setting, Holm-corrected."""
        from xlir.evaluation.compare import run_compare

        result = run_compare(run_a, run_b, metrics=metric or None, alpha=alpha,
                             n_permutations=permutations, n_bootstrap=bootstrap, seed=seed, out_dir=out)
        for warning in result.warnings:
            typer.echo(f"WARNING: {warning}", err=True)
        rows = result.rows
        held = [r for r in rows if r.significant]
        typer.echo(f"{len(rows)} tests on {result.pairing.paired} paired (setting, query) scores; "
                   f"{len(held)} differences hold at p < {alpha} after Holm "
                   f"(B = {run_b}, A = {run_a}):")
        for r in held:
            typer.echo(f"  {r.metric:8s} {r.setting:14s} {r.mean_a:.4f} -> {r.mean_b:.4f} "
                       f"({r.diff:+.4f}, 95% CI [{r.ci_low:+.4f}, {r.ci_high:+.4f}], p_holm={r.p_holm:.3g})")
        if not held:
            typer.echo("  none")
        where = out if out is not None else run_b
        typer.echo(f"wrote {Path(where) / 'compare.md'} and {Path(where) / 'compare.json'}")
