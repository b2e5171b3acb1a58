"""`xlir compare RUN_A RUN_B [--qrels FILE]`: which differences between two evaluations are real.

RUN_A and RUN_B are two `xlir eval` run folders, or two TREC run files of any system with the qrels
they answer.

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
        run_a: Path = typer.Argument(..., help="Baseline (A): an `xlir eval` run folder, or a TREC run "
                                               "file of any system (with --qrels)."),
        run_b: Path = typer.Argument(..., help="The system compared with it (B), of the same kind as A."),
        qrels: Path | None = typer.Option(None, "--qrels",
                                          help="TREC qrels (qid 0 docid grade) the two run files answer; "
                                               "they are scored per query with ir_measures."),
        metric: list[str] | None = typer.Option(
            None, "--metric", "-m",
            help="Measure(s) to test, ir_measures names (AP, nDCG@10, R@100, RR@10, P@1; repeatable). "
                 "Default: all a run folder holds; for run files those five."),
        alpha: float = typer.Option(0.05, "--alpha", help="Family-wise significance level (Holm)."),
        permutations: int = typer.Option(10_000, "--permutations", help="Random sign flips per test."),
        bootstrap: int = typer.Option(10_000, "--bootstrap", help="Bootstrap resamples per CI."),
        seed: int = typer.Option(0, "--seed"),
        clusters: str = typer.Option(
            "auto", "--clusters",
            help="Resampling unit: 'paragraph' moves the questions of one paragraph together (XQuAD-R, "
                 "MLQA-R: they share gold and distractor sentences, so independent questions give too "
                 "narrow intervals), 'question' treats them as independent, 'auto' (default) is "
                 "'paragraph' when the runs' collection loads from the data directory."),
        out: Path | None = typer.Option(None, "--out",
                                        help="Where to write compare.md/json (default: RUN_B, or the "
                                             "folder holding it when it is a run file)."),
    ) -> None:
        """Paired randomization test + bootstrap CI per metric and setting, Holm-corrected."""
        from xlir.evaluation.compare import run_compare
        from xlir.evaluation.significance import format_ci, p_equals

        result = run_compare(run_a, run_b, metrics=metric or None, alpha=alpha,
                             n_permutations=permutations, n_bootstrap=bootstrap, seed=seed, out_dir=out,
                             qrels=qrels, clusters=clusters)
        for warning in result.warnings:
            typer.echo(f"WARNING: {warning}", err=True)
        rows = result.rows
        held = [r for r in rows if r.significant]
        typer.echo(f"{len(rows)} tests on {result.pairing.paired} paired (setting, query) scores; "
                   f"{len(held)} differences hold at p < {alpha} after Holm "
                   f"(B = {run_b}, A = {run_a}):")
        for r in held:
            typer.echo(f"  {r.metric:8s} {r.setting:14s} {r.mean_a:.4f} -> {r.mean_b:.4f} "
                       f"({r.diff:+.4f}, 95% CI {format_ci(r.ci_low, r.ci_high)}, "
                       f"{p_equals(r.p_holm, 'p_holm', sep='')})")
        if not held:
            typer.echo("  none")
        typer.echo(f"resampling unit: {result.resampling_unit}")
        from xlir.reports.html import markdown_to_html

        where = Path(out if out is not None else (run_b if run_b.is_dir() else run_b.parent))
        page = markdown_to_html(where / "compare.md")
        typer.echo(f"wrote {where / 'compare.md'} ({page.name} to open in a browser) and "
                   f"{where / 'compare.json'}")
