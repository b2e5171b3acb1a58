"""The `quick` recipe reproduces the committed quickstart figures (issue 14, item 6).

The slow test reruns the quickstart (the `quick` recipe: 120 steps of 32 MLQA pairs, precision auto,
then the WiSE-FT merge at λ = 0.75) and evaluates base and trained model on the 200-question XQuAD-R
slice against the full pool, then compares the headline figures with the committed ones in
``docs/quickstart/xquad-r-all-n200/`` (read from the committed ``results.json`` files, never copied
here). It takes ~10 min on 2 free cores with native bf16 (training ~5 min, two evaluations ~2 min
each; ~25 min in fp32): ``make test-slow`` runs it, ``make test`` does not.

Tolerance: |Δ mAP| <= 0.01 in every setting, and rank distance within 5% (relative). The fp32 rerun
of 2026-11-28 reproduced every figure to the printed digit (3 decimals), and bf16 vs fp32 runs of one
seed differ by 0.002-0.005 mAP (BENCHMARKS.md, seed spread), so the bounds leave room for rounding
that changes with thread count, library versions and precision (which the embedding cache key does
not cover either), while staying below the effects the quickstart reports (mono -0.012, cross
+0.057, multi +0.248; rank distance 1120.3 -> 258.7), so a pass still means the same result. Rank
distance is a mean of rank differences, moved by single queries with large ranks, so it gets a
relative bound; 5% of 258.7 is 12.9 ranks.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

COMMITTED = Path(__file__).resolve().parents[1] / "docs" / "quickstart" / "xquad-r-all-n200"
MAP_TOLERANCE = 0.01
RANK_DISTANCE_TOLERANCE = 0.05  # relative
SETTINGS = ("mono", "cross", "multi")
EVALUATIONS = ("eval-base", "eval-trained")


def headline(report_dir: Path) -> dict[str, float]:
    """``{"eval-trained/multi": mAP, "eval-trained/rank_distance": ..., ...}`` of a quickstart slice
    folder, from its evaluations' ``results.json``."""
    out = {}
    for name in EVALUATIONS:
        results = json.loads((report_dir / name / "results.json").read_text())
        for kind in SETTINGS:
            out[f"{name}/{kind}"] = results["aggregates"][kind]["AP"]["mean"]
        out[f"{name}/rank_distance"] = results["bias"]["rank_distance"]["mean"]
        out[f"{name}/queries"] = results["collection"]["queries"]
    return out


def reproduction_problems(committed: Path, rerun: Path) -> list[str]:
    """The figures of ``rerun`` outside the tolerance around ``committed`` (empty: reproduced)."""
    want, got = headline(committed), headline(rerun)
    problems = []
    for key, expected in want.items():
        value = got[key]
        if key.endswith("/queries"):
            ok, bound = value == expected, "exactly"
        elif key.endswith("/rank_distance"):
            ok, bound = abs(value - expected) <= RANK_DISTANCE_TOLERANCE * expected, "within 5%"
        else:
            ok, bound = abs(value - expected) <= MAP_TOLERANCE, f"within {MAP_TOLERANCE}"
        if not ok:
            problems.append(f"{key}: {value:.4f}, committed {expected:.4f} (expected {bound})")
    return problems


def test_the_reproduction_check_accepts_the_tolerance_and_flags_beyond_it(tmp_path):
    """The comparison the slow test makes, on a copy of the committed results moved by hand."""
    fake = tmp_path / "xquad-r-all-n200"
    for name in EVALUATIONS:
        (fake / name).mkdir(parents=True)
        shutil.copy2(COMMITTED / name / "results.json", fake / name / "results.json")
    assert reproduction_problems(COMMITTED, fake) == []
    committed = headline(COMMITTED)
    assert round(committed["eval-trained/multi"], 3) == 0.569  # the figure docs/quickstart shows
    assert round(committed["eval-trained/rank_distance"], 1) == 258.7

    def move(name: str, kind: str, delta: float) -> None:
        path = fake / name / "results.json"
        results = json.loads(path.read_text())
        if kind == "rank_distance":
            results["bias"]["rank_distance"]["mean"] *= 1 + delta
        else:
            results["aggregates"][kind]["AP"]["mean"] += delta
        path.write_text(json.dumps(results))

    move("eval-trained", "mono", 0.009)
    move("eval-base", "rank_distance", -0.049)
    assert reproduction_problems(COMMITTED, fake) == []
    move("eval-trained", "mono", 0.002)  # now 0.011 off
    move("eval-trained", "rank_distance", 0.06)
    problems = reproduction_problems(COMMITTED, fake)
    assert len(problems) == 2
    assert problems[0].startswith("eval-trained/mono: 0.7954, committed 0.7844 (expected within 0.01)")
    assert problems[1].startswith("eval-trained/rank_distance: 274.2")


@pytest.mark.slow
def test_the_quick_recipe_reproduces_the_committed_quickstart_figures(tmp_path):
    from xlir.experiments.quickstart import QuickstartConfig, run_quickstart

    cfg = QuickstartConfig(output=tmp_path / "quickstart", progress=False)
    # auto: bf16 on a CPU with native bf16, as the committed figures ran (fp32 elsewhere: the measured
    # fp32 run of the same seed, BENCHMARKS.md seed spread, is 0.005 / 0.002 / 0.003 mAP off)
    assert (cfg.train.recipe, cfg.eval_limit, cfg.train.precision, cfg.train.merge_weight) == (
        "quick", 200, "auto", 0.75)
    res = run_quickstart(cfg)
    assert res["report_dir"].name == COMMITTED.name
    problems = reproduction_problems(COMMITTED, res["report_dir"])
    assert not problems, "the quick recipe no longer gives the committed figures:\n" + "\n".join(problems)
