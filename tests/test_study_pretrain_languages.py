"""Study 2 smoke preset end to end: pre-train on k languages -> hybrid fine-tuning -> low-resource
evaluation -> report and generated answer. Structure and real numbers only, no finding."""

from __future__ import annotations

import json
import math

import pytest

from xlir.evaluation.stats import mean_ci, trend
from xlir.experiments.grid import read_table
from xlir.experiments.run_study import run_study
from xlir.reports.study_report import build_report


def test_pretrain_languages_smoke_end_to_end(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_DATA_DIR", str(data_dir))
    logs: list[str] = []
    out = run_study("pretrain-languages", "smoke", tmp_path / "study", jobs=2, log=logs.append)
    study = tmp_path / "study"
    assert logs[0].startswith("estimate:")
    assert out["summary"].complete and out["cells"] == 14  # (1 + 2 arms x 3 k) x 2 seeds
    rows = read_table(study / "results.csv")
    assert {(int(r["k"]), r["arm"]) for r in rows} == {(0, "none")} | {
        (k, a) for k in (1, 2, 4) for a in ("inside", "heldout")}
    colls = {r["collection"] for r in rows}
    assert {"xquad-r", "flores-test"} <= colls
    flores = [r for r in rows
              if r["collection"] == "flores-test" and r["metric"] == "AP" and "/" in r["setting"]]
    targets = {"th", "el", "tr", "hi", "vi", "ha", "ig", "rw", "sw", "tw", "wo", "yo", "zu", "bem", "fon"}
    assert {r["query_language"] for r in flores} == targets
    assert all(0 < r["value"] <= 1 for r in flores)
    # pre-training really ran on the recorded nested languages
    cfgs = [json.loads(p.read_text())["config"] for p in study.glob("cells/*/config.json")]
    k4 = [c for c in cfgs if c["k"] == 4 and c["arm"] == "inside" and c["seed"] == 0][0]
    k2 = [c for c in cfgs if c["k"] == 2 and c["arm"] == "inside" and c["seed"] == 0][0]
    assert k4["languages"][:2] == k2["languages"] and len(k4["languages"]) == 4
    res = [json.loads(p.read_text()) for p in study.glob("cells/k4-inside-*/result.json")]
    assert all(r["pretrain"]["steps"] == 4 and r["pretrain"]["budget_used"] == 32 for r in res)

    answer_path = tmp_path / "docs" / "pretrain-languages.md"
    report = build_report(study, answer_path).read_text()
    assert "## all collections (primary endpoint)" in report and "slope / doubling" in report
    assert (study / "figures" / "k-all-all.png").read_bytes()[:4] == b"\x89PNG"
    answer = answer_path.read_text()
    assert "## What the data support" in answer and "## What they do not support" in answer
    line = [x for x in answer.splitlines() if x.startswith("- **Targets inside")][0]
    assert "Slope " in line and "Spearman rho" in line and "k = 4" in line
    assert any(x.strip().startswith("Against no pre-training (k = 0: ") for x in answer.splitlines())
    assert (study / "report.html").read_text().count("<table>") >= 2
    paired = report.split("## Pre-training at all, against none (paired)", 1)[1]
    rows_all = [x for x in paired.splitlines() if x.startswith(("| inside | all |", "| heldout | all |"))]
    assert len(rows_all) == 2 and all(0 <= float(x.split("|")[8].strip(" *")) <= 1 for x in rows_all)
    assert any(x.startswith("- Pre-training at all (targets inside") for x in answer.splitlines())


def test_one_seed_per_k_is_not_a_trend():
    """With one seed at each k the bootstrap CI collapses to the slope itself; the report must not
    call that a finding, and the k = 0 comparison must not claim CIs it does not have."""
    from xlir.reports.studies.pretrain_languages import _against_no_pretraining, _verdict

    one = trend([(k, 0, 0.5 + 0.01 * math.log2(k)) for k in (1, 4, 16)])
    assert one["min_per_level"] == 1 and one["slope_low"] == pytest.approx(one["slope_high"])
    assert _verdict(one) == "not testable (a single seed at some k, so no CI)"
    three = trend([(k, s, 0.5 + 0.01 * math.log2(k) + 0.002 * s) for k in (1, 4, 16) for s in range(3)])
    assert three["min_per_level"] == 3 and _verdict(three).startswith("rises with k")
    series = [(k, *mean_ci([v for kk, _, v in [(k, s, 0.4 + 0.001 * s) for s in range(3)] if kk == k]))
              for k in (1, 4)]
    text = _against_no_pretraining(series, mean_ci([0.5, 0.51, 0.49]))
    assert "entirely below at k in [1, 4]" in text
    assert "CIs need at least 2 seeds" in _against_no_pretraining([(1, 0.4, 0.4, 0.4)], (0.5, 0.5, 0.5))
