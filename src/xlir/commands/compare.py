"""`xlir compare RUN_A RUN_B`: which differences between two evaluations are real.

Reads the per-query scores both runs saved (``per_query.json`` in each run folder), runs a paired
randomization test and a bootstrap CI per setting and metric (:mod:`xlir.evaluation.significance`),
Holm-corrects across language pairs, prints the differences that hold, and writes ``compare.md``
and ``compare.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from xlir.errors import DataError, MissingDataError, XlirError


def load_per_query(run_dir: Path) -> dict:
    """``setting -> measure -> query id -> value`` of a run folder, bias measures included.

    Uses the evaluator's ``EvalResult.load`` when the folder is complete, so the file format has one
    owner; otherwise reads ``per_query.json`` alone (enough for a paired test). The multilingual
    settings' language-bias measures (``rank_distance``, lower is better; ``own_language_top``) are
    added next to the metrics, so they are tested the same way.
    """
    run_dir = Path(run_dir)
    path = run_dir / "per_query.json"
    if not path.is_file():
        raise MissingDataError(f"{path} not found: pass a run folder written by `xlir eval`")
    per_query = bias = None
    if (run_dir / "results.json").is_file():
        from xlir.evaluation.results import EvalResult

        try:
            loaded = EvalResult.load(run_dir)
            per_query, bias = loaded.per_query, loaded.bias_per_query
        except (XlirError, KeyError, TypeError):
            per_query = None  # an older or partial folder: fall back to the per-query file
    if per_query is None:
        try:
            data = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise DataError(path, f"not valid JSON ({exc.msg})", line=exc.lineno) from exc
        if isinstance(data, dict) and isinstance(data.get("per_query"), dict):
            per_query, bias = data["per_query"], data.get("bias_per_query") or {}
        else:
            per_query, bias = data, {}
    if not isinstance(per_query, dict) or not all(isinstance(v, dict) for v in per_query.values()):
        raise DataError(path, "unexpected layout", expected="{setting: {metric: {query_id: score}}}")
    merged = {setting: dict(measures) for setting, measures in per_query.items()}
    for setting, measures in (bias or {}).items():
        for name in ("rank_distance", "own_language_top"):
            if measures.get(name):
                merged.setdefault(setting, {})[name] = measures[name]
    return merged


def run_compare(run_a: Path, run_b: Path, *, metrics: list[str] | None = None, alpha: float = 0.05,
                n_permutations: int = 10_000, n_bootstrap: int = 10_000, seed: int = 0,
                out_dir: Path | None = None) -> list:
    """Compare two run folders and write ``compare.md``/``compare.json`` into ``out_dir`` (default B's)."""
    from xlir.errors import ConfigError
    from xlir.evaluation.significance import compare_runs, to_markdown

    pq_a, pq_b = load_per_query(run_a), load_per_query(run_b)
    shared = set(pq_a) & set(pq_b)
    if not shared:
        raise ConfigError(f"{run_a} and {run_b} share no setting: were they run on the same dataset?")
    if metrics:
        known = {m for s in shared for m in pq_a[s]} & {m for s in shared for m in pq_b[s]}
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise ConfigError(f"metric(s) {', '.join(unknown)} not in both runs; "
                              f"known: {', '.join(sorted(known))}")
    rows = compare_runs(pq_a, pq_b, metrics=metrics, alpha=alpha, n_permutations=n_permutations,
                        n_bootstrap=n_bootstrap, seed=seed)
    out = Path(out_dir) if out_dir is not None else Path(run_b)
    out.mkdir(parents=True, exist_ok=True)
    name_a, name_b = Path(run_a).name or str(run_a), Path(run_b).name or str(run_b)
    (out / "compare.md").write_text(to_markdown(rows, name_a=name_a, name_b=name_b, alpha=alpha))
    payload = {
        "run_a": str(run_a), "run_b": str(run_b), "alpha": alpha, "n_permutations": n_permutations,
        "n_bootstrap": n_bootstrap, "seed": seed,
        "tests": {"randomization": "paired sign-flip, two-sided", "ci": "paired bootstrap percentile 95%",
                  "correction": "Holm across the language pairs of each metric; aggregates separately"},
        "rows": [r.as_dict() for r in rows],
    }
    (out / "compare.json").write_text(json.dumps(payload, indent=1, allow_nan=True))
    return rows


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
        rows = run_compare(run_a, run_b, metrics=metric or None, alpha=alpha, n_permutations=permutations,
                           n_bootstrap=bootstrap, seed=seed, out_dir=out)
        held = [r for r in rows if r.significant]
        typer.echo(f"{len(rows)} tests; {len(held)} differences hold at p < {alpha} after Holm "
                   f"(B = {run_b}, A = {run_a}):")
        for r in held:
            typer.echo(f"  {r.metric:8s} {r.setting:14s} {r.mean_a:.4f} -> {r.mean_b:.4f} "
                       f"({r.diff:+.4f}, 95% CI [{r.ci_low:+.4f}, {r.ci_high:+.4f}], p_holm={r.p_holm:.3g})")
        if not held:
            typer.echo("  none")
        where = out if out is not None else run_b
        typer.echo(f"wrote {Path(where) / 'compare.md'} and {Path(where) / 'compare.json'}")
