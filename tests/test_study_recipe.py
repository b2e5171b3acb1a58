"""The recipe search (issue 14): the dev slice rule, the smoke preset end to end (cells with their
WiSE-FT merges, resume without rerunning, report and answer), and the final test section."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from xlir.experiments.grid import read_table
from xlir.experiments.run_study import read_per_question, run_study
from xlir.experiments.studies.recipe import build_cells
from xlir.reports.study_report import build_report


@pytest.fixture(scope="module")
def xquad_r(data_dir):
    from xlir.data import load_collection

    return load_collection("xquad-r", data_dir=data_dir)


def test_dev_slice_is_the_documented_rule_and_disjoint_from_test(xquad_r):
    from xlir.data.dev_split import split_questions

    ids = sorted({q.group for q in xquad_r.queries})
    assert len(ids) == 1190
    # the rule as docs/recipes.md states it, computed here independently
    expected = sorted(ids, key=lambda g: hashlib.sha256(f"xlir-dev-v1:{g}".encode()).hexdigest())[:120]
    dev, test = split_questions(xquad_r, "dev"), split_questions(xquad_r, "test")
    again = split_questions(xquad_r, "dev")
    dev_ids = {q.group for q in dev.queries}
    test_ids = {q.group for q in test.queries}
    assert dev_ids == set(expected) and [q.id for q in again.queries] == [q.id for q in dev.queries]
    assert not dev_ids & test_ids and len(test_ids) == 1070 and dev_ids | test_ids == set(ids)
    for part, n in ((dev, 120), (test, 1070)):  # the same ids in all 11 languages, the pool whole
        assert part.query_counts() == dict.fromkeys(xquad_r.query_languages, n)
        assert len(part.documents) == len(xquad_r.documents) == 13014
    assert dev.meta["questions"]["part"] == "dev" and "first 120 of 1190" in dev.meta["questions"]["dev_rule"]
    assert split_questions(xquad_r, "all") is xquad_r
    # loading fewer languages gives the same dev ids (XQuAD-R is fully parallel)
    two = split_questions(xquad_r.subset(languages=["de", "th"]), "dev")
    assert {q.group for q in two.queries} == dev_ids


def test_the_new_eval_option_keeps_the_committed_study_cells_ids():
    """A cell id hashes its config's dump: EvalSpec.questions is left out at its default, so every
    committed study cell still lands in its own folder (a background run resumes, not restarts)."""
    from pathlib import Path

    from xlir.experiments.pipeline import EvalSpec, FinetuneSpec
    from xlir.experiments.studies.batching import BatchingCell

    assert "questions" not in EvalSpec(name="xquad-r").model_dump()
    assert EvalSpec(name="xquad-r", questions="dev").model_dump()["questions"] == "dev"
    committed = sorted((Path(__file__).parents[1] / "docs/studies/batching/cells").glob("*/config.json"))
    assert committed
    for path in committed:  # rebuilt as written (a base cell holds steps = 0, which validation refuses)
        config = json.loads(path.read_text())["config"]
        evals = tuple(EvalSpec(**e) for e in config.pop("evals"))
        finetune = FinetuneSpec.model_construct(**config.pop("finetune"))
        cell = BatchingCell.model_construct(**config, evals=evals, finetune=finetune)
        assert cell.cell_id == path.parent.name


def test_recipe_smoke_end_to_end_resumes_and_reports(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("XLIR_DATA_DIR", str(data_dir))
    study = tmp_path / "recipes-smoke"
    logs: list[str] = []
    out = run_study("recipe", "smoke", study, log=logs.append)
    cells = build_cells("smoke")
    assert logs[0].startswith("estimate: 5 cells to run") and "train step" in logs[0]
    assert out["summary"].complete and out["cells"] == len(cells) == 5
    assert [c.variant for c in cells[:3]] == ["base", "quick", "quick"]  # decision priority
    rows = read_table(study / "results.csv")
    agg = [r for r in rows if r["setting"] in ("mono", "cross", "multi") and r["metric"] == "AP"]
    assert all(0.0 < r["value"] <= 1.0 for r in agg)
    assert {r["weight"] for r in agg if r["variant"] == "quick"} == {0.5, 1.0}
    assert {r["weight"] for r in agg if r["variant"] == "base"} == {0.0}
    # the merge is a third model: its figures differ from the trained one's
    quick = {(r["seed"], r["weight"], r["setting"]): r["value"] for r in agg if r["variant"] == "quick"}
    assert any(abs(quick[(s, 0.5, k)] - quick[(s, 1.0, k)]) > 1e-9 for s in (0, 1) for k in ("mono", "multi"))
    merged = read_per_question(study, "wise-0.5")
    # 4 trained cells, each merge evaluated on the 4 dev questions of the smoke slice
    assert len(merged) == 4 and all(len(v["xquad-r"]["mono"]) == 4 for v in merged.values())
    dev_groups = set(next(iter(merged.values()))["xquad-r"]["mono"])
    from xlir.data.dev_split import dev_groups as rule

    assert dev_groups <= set(rule([q.group for q in _xquad_queries(data_dir)]))

    # resumed: nothing reruns, the finished cells stay as they were
    stamps = {p: p.read_text() for p in study.glob("cells/*/result.json")}
    logs.clear()
    again = run_study("recipe", "smoke", study, log=logs.append)
    assert again["summary"].ran == [] and again["summary"].done_before == 5
    assert {p: p.read_text() for p in study.glob("cells/*/result.json")} == stamps

    answer = tmp_path / "recipes.md"
    report = build_report(study, answer).read_text()
    for heading in ("## What each factor led to", "## What was tried", "## Paired tests against the quick",
                    "## The λ curve", "## The mono-vs-multi trade-off", "## Final test figures"):
        assert heading in report, heading
    import re

    # the pairs column: the trained cells' records hold their training pairs; the base model has none
    assert re.search(r"\| steps-360 \| length \| 4 \| 2 \| [1-9][\d,]* \|", report), report
    assert "| base | base | 0 | 1 | – |" in report
    assert "| length |" in report and "sha256(\"xlir-dev-v1:\" + id)" in report
    assert "The quick recipe against the untrained base model (the λ table's quick row): mono " in report
    assert "**Seed noise.** The quick recipe, seed 1 − seed 0 on the same questions: mono " in report
    assert "### What best-cpu takes from the search" in report and "The packaged `best-cpu` (" in report
    # 4 questions, each one's AP averaged over 2 seeds; the base model is in the λ table, not against quick
    per_seed = r"[+-][\d.]+, [+-][\d.]+"
    diff_ci = r"[+-]\d\.\d{4} \| \[[^]]*\]"
    assert re.search(r"\| steps-360 \| mono \| 4 × 2 \| " + diff_ci + r" \| " + per_seed + r" \|", report)
    assert "| base | mono |" not in report
    assert re.search(r"\| quick \| 1 \| 2 \| ", report)  # the λ table's quick row, with its seed count
    assert "Holm-corrected over every row of this table" in report  # the smoke grid is complete
    assert "**Not run yet.**" in report and "--questions test" in report
    assert (study / "figures" / "lambda-curve.png").is_file()
    assert (study / "figures" / "mono-vs-multi.png").is_file()
    text = answer.read_text()
    assert text.startswith("# Training recipes for the embedded model: the evidence (generated)")
    assert "](recipes-smoke/figures/lambda-curve.png)" in text  # beside the study folder
    build_report(study, tmp_path / "docs" / "recipes.md")  # elsewhere: the links still reach the figures
    assert "](../recipes-smoke/figures/lambda-curve.png)" in (tmp_path / "docs" / "recipes.md").read_text()
    html = (study / "report.html").read_text()
    assert html.count("<table>") == sum(line.startswith("|---") for line in report.splitlines()) >= 4

    # the final section reads `xlir eval` run folders put in <study>/test/
    from xlir.cli import app

    res = CliRunner().invoke(app, ["eval", "--model", "tiny", "--dataset", "xquad-r", "--languages", "de,en",
                                   "--questions", "test", "--limit", "3", "--quiet", "--no-runs",
                                   "--no-cache", "--output", str(study / "test" / "base-test")])
    assert res.exit_code == 0, res.output
    report = build_report(study).read_text()
    assert "**Not run yet.**" not in report
    assert "**Not evaluated yet**: `quick`, `best-cpu`." in report and "best-cpu-test" in report
    assert "--model runs/quick --dataset xquad-r --questions test" in report
    row = next(line for line in report.splitlines() if line.startswith("| test | base-test |"))
    # 3 test questions x 2 languages; auto precision resolves per machine and the row says which
    assert row.count("|") == 10 and re.search(r"\| tiny, untrained \| (bf16|fp32) \| 6 \|", row), row
    assert ("| all (paper) | – | paper: LaBSE, hybrid batches | – | 1,190 × 11 | 0.817 | 0.767 | 0.682 | – |"
            in report)

    # a "trained" run over other languages than the base run's is shown but never paired with it
    import json
    import shutil

    shutil.copytree(study / "test" / "base-test", study / "test" / "best-cpu-test")
    res_path = study / "test" / "best-cpu-test" / "results.json"
    rec = json.loads(res_path.read_text())
    rec["model"]["train_sources"] = ["mlqa"]
    rec["collection"]["query_languages"] = {"de": 3}
    res_path.write_text(json.dumps(rec))
    report = build_report(study).read_text()
    assert "**Not compared**: best-cpu-test against base-test (query_languages" in report
    assert "| run − base model |" not in report  # no paired table from an incomparable pair

    # with a quick run beside it, the chosen recipe is paired with the base model and with quick;
    # quick itself only with the base model (the copies are the base run relabelled: every diff is 0)
    rec["collection"]["query_languages"] = json.loads((study / "test" / "base-test" / "results.json")
                                                      .read_text())["collection"]["query_languages"]
    res_path.write_text(json.dumps(rec))
    shutil.copytree(study / "test" / "best-cpu-test", study / "test" / "quick-test")
    report = build_report(study).read_text()
    assert "**Not evaluated yet**" not in report and "**Not compared**" not in report
    pairs = [line.split(" | ")[1] for line in report.splitlines() if re.match(r"\| test \| \S+ − ", line)]
    assert sorted(set(pairs)) == ["best-cpu-test − base-test", "best-cpu-test − quick-test",
                                  "quick-test − base-test"]
    assert len(pairs) == 9  # three kinds each
    assert "- best-cpu-test − quick-test: not confirmed" in report  # identical runs: every diff is 0
    rows = [line for line in report.splitlines() if line.startswith("| test |") and " − " not in line]
    assert [r.split(" | ")[1] for r in rows] == ["base-test", "quick-test", "best-cpu-test"]


def _xquad_queries(data_dir):
    from xlir.data import load_collection

    return load_collection("xquad-r", data_dir=data_dir).queries


def test_the_dev_search_draws_lambda_curves_only_where_they_are_read():
    """Three merges are three full-pool evaluations: only quick, the longest training and best-cpu
    get them; every other variant is trained once per seed and evaluated once."""
    from xlir.experiments.studies.recipe import MERGE_VARIANTS, MERGE_WEIGHTS, build_cells

    cells = build_cells("dev")
    with_curve = {c.variant for c in cells if c.merge_weights}
    assert with_curve == set(MERGE_VARIANTS) == {"quick", "steps-1000", "best-cpu"}
    assert all(c.merge_weights == MERGE_WEIGHTS for c in cells if c.variant in with_curve)
    assert sum(1 + len(c.merge_weights) for c in cells) == len(cells) + 3 * 2 * len(MERGE_WEIGHTS)


def test_every_committed_search_cell_is_still_a_cell_of_the_dev_preset():
    """Cell ids hash their settings: a change to the search's baseline (pinned in SEARCH_BASELINE, not
    read from quick.toml) or to a variant would silently orphan the committed cells and rerun them."""
    from pathlib import Path

    from xlir.experiments.studies.recipe import build_cells

    cells = Path(__file__).parents[1] / "docs" / "recipes-dev" / "cells"
    committed = {p.parent.name for p in cells.glob("*/result.json")}
    assert len(committed) >= 3
    assert committed <= {c.cell_id for c in build_cells("dev")}


def test_the_report_says_whether_the_quickstarts_merge_is_free():
    """The sentence on the quick recipe's merge follows the paired tests of merge vs its trained model."""
    from xlir.reports.studies.recipe import _quickstart_merge
    from xlir.training.recipes import load_recipe

    w = load_recipe("quick").config().merge_weight
    assert w == 0.75

    def test(kind, diff, p):
        return {"cand": ("quick", w), "kind": kind, "diff": diff, "low": diff - 0.004, "high": diff + 0.004,
                "p_holm": p}

    free = " ".join(_quickstart_merge([test("mono", 0.011, 0.004), test("cross", 0.007, 0.004),
                                       test("multi", -0.001, 1.0)]))
    assert "merge comes free" in free and "multi -0.0010" in free
    costly = " ".join(_quickstart_merge([test("mono", 0.011, 0.004), test("multi", -0.02, 0.004)]))
    assert "it costs multi significantly" in costly and "free" not in costly
    assert "has not measured" in " ".join(_quickstart_merge([]))
    wide = {**test("multi", -0.005, 1.0), "low": -0.015}  # n.s., but a loss beyond 0.01 not excluded
    unsure = " ".join(_quickstart_merge([test("mono", 0.011, 0.004), wide]))
    assert "not shown to be free: multi may lose more than 0.01" in unsure and "comes free" not in unsure


def _constructed(values: dict[tuple[str, int], list[float]]) -> tuple[dict, dict]:
    """A per-question table and cell index as the report reads them: (variant, seed) -> the AP of
    questions q0, q1, ... (the same values for every kind)."""
    pq: dict = {"finetuned": {}}
    index: dict = {}
    for (variant, seed), aps in values.items():
        cid = f"{variant}-s{seed}"
        by_q = {f"q{i}": v for i, v in enumerate(aps)}
        pq["finetuned"][cid] = {"xquad-r": dict.fromkeys(("mono", "cross", "multi"), by_q)}
        index.setdefault((variant, 0.0 if variant == "base" else 1.0), {})[seed] = (cid, "finetuned")
    return pq, index


def test_the_paired_tests_take_one_unit_per_question_not_per_seed_and_question():
    """A question's two seeds are two runs on the same question, not two independent questions:
    the test's unit is the question (its AP averaged over the seeds both sides ran). Pooling
    (seed, question) as separate pairs doubled n and made p too small (steps-360 vs quick, multi:
    p 0.035 pooled, 0.082 per question, on the committed dev cells)."""
    from xlir.evaluation.significance import paired_difference
    from xlir.experiments.run_study import PAIRED
    from xlir.experiments.studies.recipe import paired_tests

    quick = {0: [0.50, 0.60, 0.70, 0.40, 0.55, 0.65], 1: [0.52, 0.58, 0.74, 0.42, 0.50, 0.69]}
    variant = {0: [0.55, 0.61, 0.71, 0.48, 0.56, 0.70], 1: [0.57, 0.60, 0.75, 0.47, 0.52, 0.71]}
    pq, index = _constructed({**{("quick", s): v for s, v in quick.items()},
                              **{("v", s): v for s, v in variant.items()}})
    tests = paired_tests(pq, index, [(("quick", 1.0), ("v", 1.0))], "xquad-r")
    mono = next(t for t in tests if t["kind"] == "mono")
    mean = [[(x + y) / 2 for x, y in zip(side[0], side[1], strict=True)] for side in (quick, variant)]
    expected = paired_difference(mean[0], mean[1], **PAIRED)
    assert (mono["n"], mono["seeds"]) == (6, 2)
    assert mono["diff"] == pytest.approx(expected.diff) and mono["p"] == pytest.approx(expected.p)
    assert (mono["low"], mono["high"]) == pytest.approx((expected.low, expected.high))


def test_a_variant_with_one_finished_seed_is_paired_with_that_seed_of_quick_only():
    """Only the untrained base model (one cell) stands for every seed; a trained variant whose
    second seed has not run yet is compared with the same seed of quick, not with both."""
    from xlir.experiments.studies.recipe import paired_tests

    pq, index = _constructed({("quick", 0): [0.5, 0.6, 0.7], ("quick", 1): [0.9, 0.9, 0.9],
                              ("v", 0): [0.6, 0.7, 0.8], ("base", 0): [0.4, 0.5, 0.6]})
    quick = ("quick", 1.0)
    tests = paired_tests(pq, index, [(quick, ("v", 1.0)), (quick, ("base", 0.0))], "xquad-r")
    v = next(t for t in tests if t["cand"] == ("v", 1.0) and t["kind"] == "mono")
    assert (v["n"], v["seeds"]) == (3, 1) and v["diff"] == pytest.approx(0.1)
    base = next(t for t in tests if t["cand"] == ("base", 0.0) and t["kind"] == "mono")
    # quick's per-question mean over both seeds (0.7, 0.75, 0.8) against the base model, once per question
    assert (base["n"], base["seeds"]) == (3, 2) and base["diff"] == pytest.approx(-0.25)


def test_seed_noise_is_the_second_seed_minus_the_first_on_the_same_questions():
    """The recipe's A/A line uses the studies' one seed-to-seed comparison: quick's seed 1 minus its
    seed 0 per question, the variants' cells and a third seed left out."""
    from xlir.experiments.studies.recipe import seed_noise

    pq, index = _constructed({("quick", 0): [0.5, 0.6, 0.7], ("quick", 1): [0.6, 0.6, 0.9],
                              ("quick", 2): [0.0, 0.0, 0.0], ("v", 0): [0.9, 0.9, 0.9]})
    rows = seed_noise(pq, index, "xquad-r")
    assert [r["kind"] for r in rows] == ["mono", "cross", "multi"]
    assert all(r["seeds"] == (0, 1) and r["n"] == 3 for r in rows)
    assert rows[0]["diff"] == pytest.approx(0.1) and rows[0]["low"] <= 0.1 <= rows[0]["high"]
    assert seed_noise(pq, index, "xquad-r", key=("v", 1.0)) == []  # one seed: nothing to compare


def test_a_table_is_holm_corrected_over_its_planned_family_not_the_finished_rows():
    """An interim table holds a few of the tests the preset plans; correcting over those alone
    would pass a comparison at the start that fails at the end with the same p."""
    from xlir.experiments.studies.recipe import apply_holm

    def tests():
        return [{"p": 0.01}, {"p": 0.04}]

    assert [t["p_holm"] for t in apply_holm(tests())] == pytest.approx([0.02, 0.04])
    assert [t["p_holm"] for t in apply_holm(tests(), planned=6)] == pytest.approx([0.06, 0.2])
    assert [t["p_holm"] for t in apply_holm(tests(), planned=1)] == pytest.approx([0.02, 0.04])
    assert apply_holm([], planned=6) == []


def _test(kind: str, diff: float, p_holm: float, per_seed: list[float], half: float = 0.005) -> dict:
    return {"kind": kind, "diff": diff, "low": diff - half, "high": diff + half, "p_holm": p_holm,
            "seeds": len(per_seed), "per_seed": per_seed}


def test_a_decision_needs_two_seeds_agreeing_in_sign_and_a_difference_above_seed_noise():
    from xlir.experiments.studies.recipe import decisive, factor_decision, verdict

    noise = {"mono": 0.009, "multi": 0.002}
    assert decisive(_test("multi", 0.02, 0.01, [0.018, 0.022]), noise)
    assert not decisive(_test("multi", 0.02, 0.06, [0.018, 0.022]), noise)  # Holm p above 0.05
    assert not decisive(_test("multi", 0.02, 0.01, [0.045, -0.005]), noise)  # the seeds disagree
    assert not decisive(_test("mono", 0.008, 0.01, [0.007, 0.009]), noise)  # within quick's A/A difference
    assert not decisive(_test("multi", 0.02, 0.01, [0.02]), noise)  # one seed
    assert verdict([_test("mono", -0.05, 0.001, [-0.05])], noise) == "pending (1 shared seed with quick)"
    # a decisive gain beside a mono loss that may exceed the 0.01 margin is a trade-off, not "better"
    assert verdict([_test("multi", 0.02, 0.01, [0.018, 0.022]),
                    _test("mono", -0.008, 0.3, [-0.004, -0.012], half=0.01)], noise) == (
        "trade-off (better multi, possibly more than 0.01 worse on mono)")
    assert not decisive(_test("multi", 0.02, 0.01, [0.018, 0.022]), {})  # no floor measured: undecided
    assert verdict([_test("multi", 0.02, 0.01, [0.018, 0.022]),
                    _test("mono", -0.005, 0.01, [-0.004, -0.006])], noise) == "better (multi)"
    assert verdict([_test("multi", 0.02, 0.01, [0.018, 0.022]),
                    _test("mono", -0.03, 0.01, [-0.02, -0.04])], noise) == (
        "trade-off (better multi, worse mono)")
    assert verdict([_test("multi", 0.02, 0.2, [0.018, 0.022])], noise) == "inconclusive"
    assert factor_decision({"a": "pending (1 shared seed with quick)", "b": "inconclusive"}) == (
        "pending: a (1 shared seed with quick)")
    # a planned variant that has not run keeps the factor open, even beside a better one
    assert factor_decision({"a": "better (multi)"}, ["a", "b"]) == "pending: b (not run)"
    assert factor_decision({"a": "better (multi)", "b": "better (mono)"}).startswith("compare a vs b")
    assert factor_decision({"best-cpu": "better (multi)"}, factor="packaged recipe").startswith("a check")
    assert factor_decision({"a": "inconclusive", "b": "worse (mono)"}).startswith("no decisive difference")
    assert factor_decision({"a": "worse (mono)"}).startswith("keep the quick recipe's setting")
    assert factor_decision({"a": "better (multi)", "b": "worse (mono)"}).startswith("adopt a")


def test_paired_tests_record_each_seeds_own_difference():
    from xlir.experiments.studies.recipe import paired_tests

    pq, index = _constructed({("quick", 0): [0.5, 0.6, 0.7], ("quick", 1): [0.5, 0.6, 0.7],
                              ("v", 0): [0.6, 0.7, 0.8], ("v", 1): [0.4, 0.5, 0.6]})
    mono = next(t for t in paired_tests(pq, index, [(("quick", 1.0), ("v", 1.0))], "xquad-r")
                if t["kind"] == "mono")
    assert mono["per_seed"] == pytest.approx([0.1, -0.1]) and mono["diff"] == pytest.approx(0.0, abs=1e-12)
    assert "p_holm" not in mono  # a table adjusts its own family


def test_a_seed_without_shared_questions_is_not_counted():
    from xlir.experiments.run_study import seed_averaged

    a, b, seeds, questions = seed_averaged([({"q0": 0.5}, {"q0": 0.7}), ({"q1": 0.1}, {}), ({}, {})])
    assert (a, b, seeds, questions) == ([0.5], [0.7], 1, ["q0"])
    assert seed_averaged([({"q0": 0.5}, {})]) == ([], [], 0, [])


def test_the_generated_candidate_keeps_mono_within_the_margin_and_has_two_seeds(tmp_path):
    """Not significantly below the base model is not the same as no loss: the candidate must have its
    Δ mono CI above −0.01, and one seed decides nothing."""
    from xlir.reports.studies.recipe import _lambda_section

    def lam(cand, mono_low, multi):
        seeds = keys[cand]
        return [{"cand": cand, "kind": "mono", "diff": mono_low + 0.01, "low": mono_low,
                 "high": mono_low + 0.02, "p_holm": 0.5, "seeds": seeds},
                {"cand": cand, "kind": "multi", "diff": multi, "low": multi - 0.02, "high": multi + 0.02,
                 "p_holm": 0.001, "seeds": seeds}]

    keys = {("base", 0.0): 1, ("quick", 0.25): 2, ("quick", 0.75): 2, ("quick", 1.0): 2, ("v", 0.5): 1}
    index = {k: {s: (f"{k[0]}-{s}", "finetuned") for s in range(n)} for k, n in keys.items()}
    vals, ci = {}, {}
    for (variant, w), n in keys.items():
        for kind in ("mono", "multi"):
            vals[(variant, w, kind, "AP")] = [0.5] * n
            ci[(variant, w, kind, "AP")] = (0.5, 0.5, 0.5)
    # quick at 0.75 and 1 are not kept (mono CI below -0.01); v gains most but has one seed
    tests = (lam(("quick", 0.25), -0.008, 0.15) + lam(("quick", 0.75), -0.024, 0.25)
             + lam(("quick", 1.0), -0.04, 0.26) + lam(("v", 0.5), 0.0, 0.30))
    text = "\n".join(_lambda_section(ci, vals, tests, index, tmp_path / "figures", tmp_path, planned=30))
    assert "**quick at λ = 0.25** (multi +0.1500" in text
    assert "planned family of 30 tests (8 finished" in text
    assert "| v | 0.5 | 1 |" in text


def test_a_variant_keeps_its_colour_and_two_seeds_show_their_range():
    """Both recipe figures take one variant -> colour map in the preset's order (steps-1000 was orange
    in one figure and green in the other), and two seeds are drawn as their range, as the tables
    print them (a t interval on two values is 12.7 standard errors wide)."""
    from xlir.evaluation.stats import seed_spread as _spread
    from xlir.reports.plots import variant_colors
    from xlir.reports.studies.common import seeds_text as _seeds_text

    early = variant_colors(["steps-360", "steps-1000"])
    late = variant_colors(["steps-360", "steps-1000", "x"])
    assert early["steps-1000"] == late["steps-1000"] != late["steps-360"]
    assert _spread([0.774, 0.784]) == pytest.approx((0.779, 0.774, 0.784))
    assert _seeds_text([0.774, 0.784], 3) == "0.779 (0.774–0.784)"
    mean, low, high = _spread([0.77, 0.78, 0.79])
    assert mean == pytest.approx(0.78) and low < 0.77 and high > 0.79  # t interval from three seeds
    assert _spread([0.5]) == (0.5, 0.5, 0.5)


def _screen_test(kind: str, diff: float, p: float, per_seed: list[float], half: float = 0.005) -> dict:
    return {**_test(kind, diff, min(1.0, p * 50), per_seed, half), "p": p}


def test_the_screen_uses_the_unadjusted_p_and_refuses_any_possible_loss():
    """best-cpu's screen: the decisive rule with the unadjusted p (two seeds agreeing, above the A/A
    floor), nothing passing downwards, no CI reaching 0.01 below quick."""
    from xlir.experiments.studies.recipe import screened, verdict

    noise = {"mono": 0.009, "cross": 0.005, "multi": 0.003}
    up = _screen_test("multi", 0.025, 0.001, [0.027, 0.022])
    assert verdict([up], noise) == "inconclusive" and screened([up], noise) == ["multi"]  # Holm p 0.05
    assert screened([_screen_test("multi", 0.025, 0.06, [0.027, 0.022])], noise) == []  # p above 0.05
    assert screened([_screen_test("multi", 0.025, 0.001, [0.05, -0.001])], noise) == []  # seeds disagree
    assert screened([_screen_test("multi", 0.002, 0.001, [0.002, 0.002])], noise) == []  # under the floor
    assert screened([_screen_test("multi", 0.025, 0.001, [0.025])], noise) == []  # one seed
    # a gain beside a kind that may lose more than the margin, or that passes downwards, is not screened
    assert screened([up, _screen_test("mono", -0.004, 0.5, [-0.002, -0.006], half=0.008)], noise) == []
    assert screened([up, _screen_test("mono", -0.012, 0.01, [-0.011, -0.013], half=0.002)], noise) == []
    assert screened([up, _screen_test("mono", -0.004, 0.5, [-0.002, -0.006], half=0.005)], noise) == ["multi"]


def test_compose_takes_one_variant_per_finished_factor_and_never_hard_negatives_with_bitext():
    from xlir.experiments.studies.recipe import VARIANTS, compose

    noise = {"mono": 0.009, "cross": 0.005, "multi": 0.003}

    def gain(d: float) -> list[dict]:
        return [_screen_test("multi", d, 0.001, [d, d]), _screen_test("mono", 0.0, 0.9, [0.001, -0.001])]

    flat = [_screen_test("multi", 0.0, 0.9, [0.001, -0.001])]
    tests = {v: flat for _, v, _ in VARIANTS if v not in ("quick", "best-cpu")}
    tests.update({"hard-neg-1": gain(0.02), "hard-neg-3": gain(0.025), "plus-ntrex": gain(0.01)})
    comp = compose(tests, noise)
    assert [g["variant"] for g in comp["picks"]] == ["hard-neg-3"] and comp["pending"] == []
    assert comp["settings"] == {"hard_negatives": 3}
    assert [g["variant"] for g in comp["dropped"]] == ["hard-neg-1", "plus-ntrex"]
    assert "a larger gain was taken" in comp["dropped"][0]["why"]
    assert "without paragraphs" in comp["dropped"][1]["why"]
    # a smaller screened source that has paragraphs is still taken beside the hard negatives
    tests["plus-tydiqa"] = gain(0.005)
    comp = compose(tests, noise)
    assert comp["settings"] == {"hard_negatives": 3, "sources": ["mlqa", "tydiqa"]}
    # bitext with the largest gain wins over hard negatives, and then no hard negatives at all
    tests.update({"plus-ntrex": gain(0.03), "temp-0.02": gain(0.012)})
    comp = compose(tests, noise)
    assert [g["variant"] for g in comp["picks"]] == ["plus-ntrex", "temp-0.02"]
    assert comp["settings"] == {"sources": ["mlqa", "ntrex"], "temperature": 0.02}
    # a relative warm-up is resolved against the composed steps (TrainConfig takes an int)
    tests.update({"warmup-30pct": gain(0.004), "steps-1000": gain(0.006)})
    assert compose(tests, noise)["settings"]["warmup_steps"] == 300
    # a factor with a variant short of two seeds is pending and contributes nothing yet
    del tests["alpha-0.75"]
    tests["alpha-0.25"] = gain(0.05)
    comp = compose(tests, noise)
    assert "alpha" in comp["pending"] and "alpha" not in comp["settings"]
    tests["alpha-0.75"] = [_screen_test("multi", 0.05, 0.001, [0.05])]  # one seed: still pending
    assert "alpha" in compose(tests, noise)["pending"]


def test_test_pairs_subtract_the_reference_and_the_confirmation_applies_its_fixed_criterion():
    """The final section's pairs are run − reference (a sign slip would turn a loss into a gain), and
    the confirmation against quick needs Holm significance above the A/A floor with no possible loss."""
    from types import SimpleNamespace

    from xlir.reports.studies.recipe import _confirmation, _test_pairs

    def run(label: str, shift: float) -> dict:
        ap = {f"de/q{i}": min(1.0, 0.3 + 0.04 * i + shift * (1 + i % 3)) for i in range(12)}
        return {"label": label, "result": SimpleNamespace(per_query={"mono/de-de": {"AP": ap}},
                                                          settings={"mono/de-de": {"kind": "mono"}})}

    quick, better = run("quick-test", 0.0), run("best-cpu-test", 0.02)
    (t,) = _test_pairs(quick, better, "test")
    assert t["label"] == "best-cpu-test" and t["ref"] == "quick-test" and t["n"] == 12
    assert t["diff"] == pytest.approx(0.04) and t["low"] > 0 and t["p"] < 0.01
    (back,) = _test_pairs(better, quick, "test")
    assert back["diff"] == pytest.approx(-0.04)

    def tests(**kinds):
        return [{"questions": "test", "label": "best-cpu-test", "ref": "quick-test", "kind": k, "n": 1000,
                 "diff": d, "low": d - 0.005, "high": d + 0.005, "p": p} for k, (d, p) in kinds.items()]

    floor = {"mono": 0.01, "cross": 0.005, "multi": 0.003}
    text = "\n".join(_confirmation(tests(mono=(0.0, 0.9), cross=(0.01, 0.001), multi=(0.02, 0.001)), floor))
    assert "- best-cpu-test − quick-test: **confirmed**: better on cross/multi." in text
    text = "\n".join(_confirmation(tests(mono=(-0.008, 0.2), multi=(0.02, 0.001)), floor))
    assert "not confirmed: possibly more than 0.01 below quick on mono" in text
    text = "\n".join(_confirmation(tests(mono=(0.008, 0.001), multi=(0.002, 0.001)), floor))
    assert "not confirmed: no kind above quick by more than the A/A floor" in text  # both under the floor
    text = "\n".join(_confirmation(tests(mono=(0.0, 0.9), multi=(0.02, 0.03), cross=(0.0, 0.02)), floor))
    assert "not confirmed" in text  # Holm over the three kinds lifts 0.02 and 0.03 to 0.06


def test_the_report_checks_the_packaged_best_cpu_against_the_screen(tmp_path, monkeypatch):
    import xlir.training.recipes as recipes
    from xlir.reports.studies.recipe import _composition

    def packaged(**changes):
        train = {"model": '"e5-small"', "sources": '["mlqa"]', "steps": "120", "alpha": "0.5", "lr": "3e-5",
                 "temperature": "0.05", "freeze_word_embeddings": "true", "max_length": "96", **changes}
        path = tmp_path / "best-cpu.toml"
        path.write_text('# test\n[recipe]\ndescription = "x"\nminutes = 90\nzero_shot = ["xquad-r"]\n'
                        "provisional = true\n[train]\n" + "".join(f"{k} = {v}\n" for k, v in train.items()))
        monkeypatch.setattr(recipes, "load_recipe", lambda name: recipes.Recipe.read(path))

    pick = {"variant": "hard-neg-3", "factor": "hard negatives", "kinds": ["multi"], "gain": 0.05,
            "overrides": {"hard_negatives": 3}}
    left = {"variant": "plus-ntrex", "factor": "sources", "kinds": ["cross"], "gain": 0.01,
            "overrides": {"sources": ["mlqa", "ntrex"]}, "why": "hard negatives and a source without ..."}
    comp = {"picks": [pick], "dropped": [left], "settings": {"hard_negatives": 3}, "pending": ["length"]}
    packaged(sources='["mlqa", "tydiqa"]', hard_negatives="1", steps="1200", temperature="0.02",
             batch_size="64")
    text = "\n".join(_composition(comp))
    assert "| hard negatives | hard-neg-3 | multi | +0.0500 | hard_negatives 3 |" in text
    assert "Left out: plus-ntrex, summed gain +0.0100 (hard negatives and a source without ...)." in text
    assert "**It differs from the screen** on hard_negatives 1 (the screen: hard_negatives 3)" in text
    assert "sources ['mlqa', 'tydiqa'] (sources: plus-ntrex passed but was left out)" in text
    assert "steps 1200 (length: not screened yet)" in text
    assert "temperature 0.02 (temperature: no variant passed the screen)" in text
    assert "batch_size 64 (not a factor of the search)" in text
    assert "Not screened yet (a planned variant without two seeds): length;" in text
    packaged(hard_negatives="3")
    text = "\n".join(_composition({**comp, "dropped": [], "pending": []}))
    assert "changes against the search's baseline: hard_negatives 3. It is the screen's composition." in text
