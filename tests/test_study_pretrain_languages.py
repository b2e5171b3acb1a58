"""Study 2 smoke preset end to end: pre-train on k languages -> hybrid fine-tuning -> low-resource
evaluation -> report and generated answer. Structure and real numbers only, no finding."""

from __future__ import annotations

import json
import math
from pathlib import Path

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
    # what each language had to draw from (FLORES train + dev: 701 + 99, plus NTREX's 1,997 where it has one)
    assert all(len(r["pretrain"]["pairs_available"]) == 4 and set(r["pretrain"]["pairs_available"].values())
               <= {800, 800 + 1997} for r in res)

    answer_path = tmp_path / "docs" / "pretrain-languages.md"
    report = build_report(study, answer_path).read_text()
    assert "## all collections (primary endpoint)" in report and "slope / doubling" in report
    assert (study / "figures" / "k-all-all.png").read_bytes()[:4] == b"\x89PNG"
    answer = answer_path.read_text()
    assert "## What the data support" in answer and "## What they do not support" in answer
    line = [x for x in answer.splitlines() if x.startswith("- **Targets added first")][0]
    assert "Slope per doubling of k" in line and "Spearman rho" in line and "k = 4" in line
    assert any(x.strip().startswith("Against no pre-training (k = 0: ") for x in answer.splitlines())
    assert (study / "report.html").read_text().count("<table>") >= 2
    paired = report.split("## Pre-training at all, against none (paired)", 1)[1]
    rows_all = [x for x in paired.splitlines() if x.startswith(("| inside | all |", "| heldout | all |"))]
    assert len(rows_all) == 2 and all(0 <= float(x.split("|")[8].strip(" *")) <= 1 for x in rows_all)
    assert any(x.startswith("- Pre-training at all (targets inside") for x in answer.splitlines())

    # every cell is evaluated twice: after pre-training and after fine-tuning (issue 13)
    ap = [r for r in rows
          if r["metric"] == "AP" and r["setting"] == "cross" and r["collection"] == "flores-test"]
    assert {(r["cell_id"], r["stage"]) for r in ap} == {(c, s) for c in {r["cell_id"] for r in ap}
                                                        for s in ("pretrained", "finetuned")}
    assert len({r["cell_id"] for r in ap}) == 14
    # k = 0 after "pre-training" is the base model: the same figure for both seeds; pre-training moved it
    base = {r["value"] for r in ap if r["k"] == 0 and r["stage"] == "pretrained"}
    assert len(base) == 1
    assert any(r["value"] != next(iter(base)) for r in ap if r["k"] == 4 and r["stage"] == "pretrained")
    import csv
    import gzip

    with gzip.open(study / "per_question.csv.gz", "rt") as fh:
        assert {r["stage"] for r in csv.DictReader(fh)} == {"pretrained", "finetuned"}
    both = report.split("## Both evaluation points and both designs", 1)[1]
    assert "| fixed-total | inside | pretrained | all |" in both
    assert "| fixed-total | inside | finetuned | all |" in both
    survive = both.split("### Does a pre-training gain survive fine-tuning?", 1)[1]
    assert "| fixed-total | inside | all | " in survive
    assert "| fixed-total | heldout | flores-test | " in survive
    assert "## Both evaluation points and both designs" in answer
    assert any(x.startswith("- Pre-training at all (fixed-total, targets inside, any k, against k = 0): "
                            "after pre-training ") for x in answer.splitlines())
    assert "What changes between the two evaluation points, per collection (a tested change" in answer
    assert "| change | verdict |" in survive
    # the limits name the objective as run, and the smoke caveat only where the preset is smoke
    assert "translation ranking: in-batch softmax with LaBSE's additive margin 0.3" in answer
    assert "the smoke preset is a tiny random model" in answer
    committed = (Path(__file__).resolve().parents[1] / "docs" / "studies" / "pretrain-languages.md")
    committed = committed.read_text()
    assert "--preset cpu " in committed and "smoke" not in committed


def test_one_seed_per_k_is_not_a_trend():
    """With one seed at some k a seed bootstrap would collapse to the slope itself; the trend gives no
    CI then, the report must not print one nor call the slope a finding, and the k = 0 comparison must
    not claim CIs it does not have."""
    from xlir.reports.studies.pretrain_languages import _against_no_pretraining, _slope_text, _verdict

    one = trend([(k, 0, 0.5 + 0.01 * math.log2(k)) for k in (1, 4, 16)])
    assert one["min_per_level"] == 1 and one["slope"] == pytest.approx(0.01)
    assert math.isnan(one["slope_low"]) and math.isnan(one["slope_high"])
    assert _slope_text(one) == "+0.0100 (no CI: one seed at some k)"
    assert _verdict(one) == "not testable (a single seed at some k, so no CI)"
    mixed = trend([(1, 0, 0.5), (1, 1, 0.51), (4, 0, 0.52), (16, 0, 0.54), (16, 1, 0.55)])
    assert mixed["min_per_level"] == 1 and math.isnan(mixed["slope_low"])
    three = trend([(k, s, 0.5 + 0.01 * math.log2(k) + 0.002 * s) for k in (1, 4, 16) for s in range(3)])
    assert three["min_per_level"] == 3 and _verdict(three).startswith("rises with k")
    assert three["slope_low"] < three["slope"] < three["slope_high"]
    assert _slope_text(three).startswith("+0.0100 [")
    series = [(k, *mean_ci([v for kk, _, v in [(k, s, 0.4 + 0.001 * s) for s in range(3)] if kk == k]))
              for k in (1, 4)]
    text = _against_no_pretraining(series, mean_ci([0.5, 0.51, 0.49]))
    assert "entirely below at k in [1, 4]" in text
    assert "CIs need at least 3 seeds" in _against_no_pretraining([(1, 0.4, 0.4, 0.4)], (0.5, 0.5, 0.5))
    # two seeds a side are ranges: disjoint ranges are not disjoint confidence intervals
    ranges = [(1, 0.40, 0.399, 0.401), (4, 0.40, 0.399, 0.401)]
    assert "CIs need at least 3 seeds" in _against_no_pretraining(ranges, (0.5, 0.49, 0.51), [2, 2], 3)


def test_two_seeds_print_as_a_range_not_a_t1_interval():
    """Two seeds at a k: the table prints their range (a 95% t interval with one degree of freedom is
    12.7 standard errors wide), three a t interval, and the k = 0 column likewise."""
    from xlir.experiments.studies.pretrain_analysis import target_trends
    from xlir.reports.studies.pretrain_languages import _k_cell, _ref_cell

    pts = [("c0", 0, "inside", 0, 0.50), ("c1", 0, "inside", 1, 0.52), ("c2", 0, "inside", 2, 0.51)]
    pts += [(f"a{s}", 1, "inside", s, 0.60 + 0.02 * s) for s in range(2)]
    pts += [(f"b{s}", 4, "inside", s, 0.70 + 0.01 * s) for s in range(3)]
    tr = target_trends({("all", "all"): pts})[(("all", "all"), "inside")]
    assert tr["series_n"] == [2, 3] and tr["ref_n"] == 3
    assert _k_cell(tr, 0) == "k=1: 0.610 (0.600–0.620)"
    lo, hi = mean_ci([0.70, 0.71, 0.72])[1:]
    assert _k_cell(tr, -1) == f"k=4: 0.710 [{lo:.3f}, {hi:.3f}]"
    lo, hi = mean_ci([0.5, 0.52, 0.51])[1:]
    assert _ref_cell(tr) == f"0.510 [{lo:.3f}, {hi:.3f}]"


def test_scale_preset_has_both_designs_and_shares_the_cell_they_have_in_common(data_dir):
    from xlir.experiments.studies.pretrain_analysis import design_cells
    from xlir.experiments.studies.pretrain_languages import PRESETS, build_cells

    p = PRESETS["cpu-scale"]
    cells = build_cells("cpu-scale", data_dir=data_dir)
    ids = [c.cell_id for c in cells]
    assert len(ids) == len(set(ids)) == 3 * (1 + 2 * 4 + 2 * 3)  # k = 128 is one cell for both designs
    assert all(c.eval_pretrained and c.precision == "auto" and c.finetune.steps == 200
               and c.finetune.batch_size == 32 for c in cells)
    budgets = {(c.k, c.pretrain.budget) for c in cells if c.k}
    assert budgets == {(1, 8192), (4, 8192), (16, 8192), (128, 8192), (1, 64), (4, 256), (16, 1024)}
    # priority: seed 0 of every design and arm first, then the main design's other seeds
    groups = list(dict.fromkeys(c.fit_group() for c in cells))
    assert groups[:5] == ["fixed-total inside, seed 0", "fixed-total heldout, seed 0",
                          "per-language inside, seed 0", "per-language heldout, seed 0",
                          "fixed-total inside, seed 1"]
    rows = [{"cell_id": c.cell_id, "k": c.k, "pretrain.budget": c.pretrain.budget} for c in cells]
    members = design_cells(rows, p)
    k128 = {c.cell_id for c in cells if c.k == 128}
    assert k128 <= members["fixed-total"] and k128 <= members["per-language"]
    assert len(members["fixed-total"]) == 27 and len(members["per-language"]) == 27


def test_cell_ids_do_not_move_with_library_defaults():
    """PretrainConfig.precision's default moved from fp32 to auto (2026-11-28): cpu-scale's ids (it asks
    for auto) stay what they were, and a preset without a precision pre-trains in fp32 as it fine-tunes.
    Update the pinned id only when the preset itself is changed on purpose."""
    from xlir.experiments.studies.pretrain_languages import build_cells

    scale = {c.label(): c for c in build_cells("cpu-scale")}
    assert scale["k0-none-s0"].cell_id == "k0-none-s0-f7f2880182"
    assert scale["k0-none-s0"].pretrain.precision == "auto"
    assert all(c.pretrain.precision == "fp32" == c.precision for c in build_cells("smoke"))


def test_a_cell_killed_after_fine_tuning_finishes_when_run_again(tmp_path, tiny_model_path, data_dir,
                                                                 monkeypatch, one_thread):
    """A grid that outlasts a sitting is killed mid-cell; the next run of the same command runs that cell
    again in its kept work folder. Killed after fine-tuning saved its final checkpoint (during the
    evaluation that follows: about 4 of a cpu-scale cell's 24 minutes), the cell must finish from the
    saved run, not fail every rerun with "already holds a training run" (every study's ``finetune``)."""
    from safetensors.torch import load_file

    from xlir.experiments.pipeline import FinetuneSpec, finetune

    monkeypatch.setenv("XLIR_DATA_DIR", str(data_dir))
    spec = FinetuneSpec(sources=("mlqa",), sampler="hybrid", alpha=0.5, steps=2, batch_size=8,
                        max_length=32, max_groups=40)
    out = tmp_path / "cells" / "k1-inside-s0-x" / "work" / "finetuned"
    first, record = finetune(str(tiny_model_path), spec, 0, out)
    weights = load_file(f"{first}/model.safetensors")
    again, record_again = finetune(str(tiny_model_path), spec, 0, out)  # the rerun after the kill
    assert again == first and record_again.steps == 2
    assert record_again.resumed_from == [2]  # restored from the finished run's checkpoint, not retrained
    assert record_again.final_loss == record.final_loss
    now = load_file(f"{again}/model.safetensors")
    assert weights.keys() == now.keys() and all(bool((weights[k] == now[k]).all()) for k in weights)


def test_cpu_scale_cell_ids_are_pinned_so_the_grid_resumes_across_code_changes(data_dir):
    """The cpu-scale grid runs for days over several sittings while the code moves; a cell whose id moves
    is run again from scratch (about 24 min each). These ids hash the preset, the library defaults they
    include, the 204-language FLORES pool and the seeded language order (k >= 1 cells): a change to any
    of them fails here first. Update the pins only when the preset is changed on purpose."""
    import hashlib

    from xlir.experiments.studies.pretrain_languages import build_cells

    cells = build_cells("cpu-scale", data_dir=data_dir)
    by = {(c.k, c.arm, c.seed, c.pretrain.budget): c for c in cells}
    assert by[(128, "heldout", 0, 8192)].cell_id == "k128-heldout-s0-c03acd3f45"  # both designs' k = 128
    assert by[(16, "inside", 0, 1024)].cell_id == "k16-inside-s0-f3a6b412b9"  # fixed per language
    assert by[(1, "heldout", 0, 8192)].languages == ("ts",)  # 800 pairs: 8,192 draws are ~10 passes
    digest = hashlib.sha256(" ".join(c.cell_id for c in cells).encode()).hexdigest()[:16]
    assert digest == "7f86b14fafb48ff7"  # all 45 ids, in the preset's priority order


@pytest.mark.parametrize(("steps", "every"), [(2, 2), (200, 200), (1200, 200)])
def test_long_study_fine_tuning_checkpoints_every_200_steps(monkeypatch, tmp_path, steps, every):
    """The recipe search's 1,200-step cells run over an hour: a kill mid-training must not lose all
    of it (the trainer resumes bit for bit from a checkpoint; tests/test_train_trainer.py)."""
    import xlir.training as training
    from xlir.experiments.pipeline import FinetuneSpec, finetune

    seen = {}

    class Stop(Exception):
        pass

    def capture(config, *args, **kwargs):
        seen.update(every=config.checkpoint_every, resume=config.resume)
        raise Stop

    monkeypatch.setattr(training, "train", capture)
    spec = FinetuneSpec(sources=("mlqa",), sampler="hybrid", alpha=0.5, steps=steps, batch_size=8)
    with pytest.raises(Stop):
        finetune("tiny", spec, 0, tmp_path / "m")
    assert seen == {"every": every, "resume": True}


def test_answer_sizes_a_trend_over_its_k_range_and_corrects_over_the_two_arms():
    """A trend verdict reads with its size over the k range (slope x doublings) and with the slope's p
    Holm-corrected over the two arms, since the question is asked of both."""
    from xlir.reports.studies.pretrain_languages import _holm_over_arms, _size_text

    flat = trend([(k, s, 0.76 + 0.003 * ((s + k) % 3)) for k in (1, 4, 16, 128) for s in range(3)])
    rising = trend([(k, s, 0.76 + 0.001 * math.log2(k) + 0.002 * (s - 1)) for k in (1, 4, 16, 128)
                    for s in range(3)])
    for tr in (flat, rising):
        tr["series"] = [(k, 0.0, 0.0, 0.0) for k in (1, 4, 16, 128)]
    holm_p = _holm_over_arms([("inside", flat), ("heldout", rising), ("other", None)])
    assert set(holm_p) == {"inside", "heldout"}
    lo, hi = sorted([flat["slope_p"], rising["slope_p"]])
    assert holm_p["heldout"] == pytest.approx(min(1.0, 2 * lo))  # the smaller p doubles
    assert holm_p["inside"] == pytest.approx(max(min(1.0, 2 * lo), hi))
    text = _size_text(rising, holm_p["heldout"])
    assert text.startswith(f"Size: {rising['slope'] * 7:+.4f} mAP from k = 1 to k = 128 (7 doublings")
    assert "Holm p" in text and "over the two arms" in text
    assert _holm_over_arms([("inside", None)]) == {}
