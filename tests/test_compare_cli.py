"""`xlir compare` end to end on two run folders with known differences."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from xlir.cli import app
from xlir.errors import ConfigError, DataError


def _write_run(path, per_query):
    path.mkdir(parents=True)
    (path / "per_query.json").write_text(json.dumps(per_query))


def test_compare_reports_only_the_real_difference(tmp_path):
    rng = np.random.default_rng(0)
    langs = ["de", "en", "es"]
    base = {f"cross/{x}-{y}": {"AP": {f"{x}/{i}": float(v) for i, v in enumerate(rng.random(150) * 0.6)}}
            for x in langs for y in langs if x != y}
    better = json.loads(json.dumps(base))
    better["cross/de-en"]["AP"] = {q: v + 0.2 for q, v in base["cross/de-en"]["AP"].items()}
    # a tiny noisy change on another pair must not survive Holm
    noisy = base["cross/es-de"]["AP"]
    better["cross/es-de"]["AP"] = {q: max(0.0, v + float(rng.normal(0, 0.01)))  # AP stays in [0, 1]
                                   for q, v in noisy.items()}
    _write_run(tmp_path / "a", base)
    _write_run(tmp_path / "b", better)

    result = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--metric", "AP",
                                      "--permutations", "2000", "--bootstrap", "2000"])
    assert result.exit_code == 0, result.output
    assert "cross/de-en" in result.output
    assert "cross/es-de" not in result.output
    report = json.loads((tmp_path / "b" / "compare.json").read_text())
    rows = {r["setting"]: r for r in report["rows"]}
    assert set(rows) == set(base) | {"cross/*"}
    assert rows["cross/de-en"]["significant"] and rows["cross/de-en"]["ci_low"] > 0.19
    assert [s for s, r in rows.items() if r["significant"] and s != "cross/*"] == ["cross/de-en"]
    assert rows["cross/de-en"]["p_holm"] == min(1.0, 6 * rows["cross/de-en"]["p_value"])
    md = (tmp_path / "b" / "compare.md").read_text()
    assert "| AP | cross/de-en | 150 |" in md


def test_compare_missing_run_is_a_user_error(tmp_path):
    _write_run(tmp_path / "a", {"mono/en-en": {"AP": {"en/1": 0.5}}})
    result = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "nope")])
    assert result.exit_code != 0
    assert "nope not found: pass a run folder" in str(result.exception) + result.output


def test_compare_reads_real_run_folders_including_bias(tmp_path, tiny_model, data_dir):
    from xlir.data.registry import load_collection
    from xlir.evaluation import EvalConfig, evaluate
    from xlir.evaluation.compare import load_per_query

    coll = load_collection("xquad-r", data_dir=data_dir, languages=["de", "en"]).subset(limit=15)
    result = evaluate(tiny_model, coll, EvalConfig(cache=False, show_progress=False))
    result.save(tmp_path / "a", runs=False)
    result.save(tmp_path / "b", runs=False)

    pq = load_per_query(tmp_path / "a")
    assert set(pq) == {"mono/de-de", "mono/en-en", "cross/de-en", "cross/en-de", "multi/de", "multi/en"}
    assert {"AP", "nDCG@10", "rank_distance"} <= set(pq["multi/de"])
    assert len(pq["cross/de-en"]["AP"]) == 15

    result = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"),
                                      "--permutations", "500", "--bootstrap", "500"])
    assert result.exit_code == 0, result.output
    assert "0 differences hold" in result.output
    rows = json.loads((tmp_path / "b" / "compare.json").read_text())["rows"]
    assert {r["metric"] for r in rows} >= {"AP", "P@1", "rank_distance"}
    assert all(r["p_value"] == 1.0 and not r["significant"] for r in rows)


def _two_runs(tmp_path, n=30, a_ids=None, b_ids=None):
    rng = np.random.default_rng(1)
    ids_a = a_ids or [f"de/{i}" for i in range(n)]
    ids_b = b_ids or ids_a
    _write_run(tmp_path / "a", {"cross/de-en": {"AP": {q: float(rng.random()) for q in ids_a}}})
    _write_run(tmp_path / "b", {"cross/de-en": {"AP": {q: float(rng.random()) for q in ids_b}}})
    return [str(tmp_path / "a"), str(tmp_path / "b")]


@pytest.mark.parametrize("option", [["--alpha", "5"], ["--alpha", "-1"], ["--alpha", "0"], ["--alpha", "nan"],
                                    ["--permutations", "0"], ["--permutations", "-5"],
                                    ["--permutations", "10"], ["--bootstrap", "0"]])
def test_compare_refuses_out_of_range_options(tmp_path, option):
    """--permutations -5 gave negative p-values (every zero difference "held"), --alpha 5 and
    --permutations 0 were accepted, --bootstrap 0 crashed."""
    res = CliRunner().invoke(app, ["compare", *_two_runs(tmp_path), *option])
    assert isinstance(res.exception, ConfigError), res.output
    assert option[0].strip("-").rstrip("s")[:5] in str(res.exception).lower()
    assert not (tmp_path / "b" / "compare.json").exists()


@pytest.mark.parametrize("bad", ["NaN", "Infinity", '"0.5"', "null"])
def test_compare_refuses_non_finite_scores_naming_file_and_query(tmp_path, bad):
    """A NaN per-query score gave diff NaN yet Holm p 0 and "significant"."""
    runs = _two_runs(tmp_path)
    path = tmp_path / "b" / "per_query.json"
    path.write_text(path.read_text().replace('"de/7": ', f'"de/7": {bad}, "x": ', 1))
    res = CliRunner().invoke(app, ["compare", *runs, "--permutations", "200", "--bootstrap", "200"])
    assert isinstance(res.exception, DataError), res.output
    msg = str(res.exception)
    assert str(path) in msg and "'de/7'" in msg and "cross/de-en" in msg and "finite" in msg


def test_compare_library_refuses_nan_too():
    from xlir.evaluation.significance import compare_runs

    a = {"mono/en-en": {"AP": {"en/1": 0.5, "en/2": 0.1}}}
    b = {"mono/en-en": {"AP": {"en/1": float("nan"), "en/2": 0.2}}}
    with pytest.raises(DataError, match="en/1"):
        compare_runs(a, b, n_permutations=200, n_bootstrap=200)


def test_compare_without_common_queries_is_an_error(tmp_path):
    runs = _two_runs(tmp_path, a_ids=[f"de/{i}" for i in range(10)], b_ids=[f"de/{i}" for i in range(10, 20)])
    res = CliRunner().invoke(app, ["compare", *runs])
    assert isinstance(res.exception, ConfigError), res.output
    assert "no query in common" in str(res.exception) and "10 only in A, 10 only in B" in str(res.exception)


def test_compare_warns_loudly_when_query_sets_differ(tmp_path):
    runs = _two_runs(tmp_path, a_ids=[f"de/{i}" for i in range(30)], b_ids=[f"de/{i}" for i in range(20)])
    res = CliRunner().invoke(app, ["compare", *runs, "--permutations", "200", "--bootstrap", "200"])
    assert res.exit_code == 0, res.output
    assert "WARNING: the runs' query sets differ" in res.output
    assert "20 (setting, query) scores paired; 10 only in A, 0 only in B" in res.output
    report = json.loads((tmp_path / "b" / "compare.json").read_text())
    assert report["pairing"] == {"paired": 20, "only_a": 10, "only_b": 0, "settings_only_a": [],
                                 "settings_only_b": [], "complete": False}
    assert report["rows"][0]["n"] == 20
    assert "**Warning:**" in (tmp_path / "b" / "compare.md").read_text()


def test_compare_out_must_be_a_writable_folder(tmp_path):
    runs = _two_runs(tmp_path)
    (tmp_path / "file.md").write_text("x")
    for out in (tmp_path / "file.md", "/sys/xlir-compare"):
        res = CliRunner().invoke(app, ["compare", *runs, "--out", str(out)])
        assert isinstance(res.exception, ConfigError), res.output
        assert str(out) in str(res.exception)


def _trec_runs(tmp_path, n=60, seed=0):
    """Two TREC run files of 'another system' (B finds the relevant document higher) and their qrels."""
    rng = np.random.default_rng(seed)
    qrels, run_a, run_b = [], [], []
    for q in range(n):
        qrels.append(f"q{q} 0 rel{q} 1\nq{q} 0 other{q} 0\n")
        for name, lines, boost in (("a", run_a, 0.0), ("b", run_b, 0.5)):
            scores = {f"d{q}-{i}": float(rng.random()) for i in range(20)}
            scores[f"rel{q}"] = float(rng.random()) + boost
            ranked = sorted(scores.items(), key=lambda x: -x[1])
            lines.extend(f"q{q} Q0 {d} {r} {s:.6f} sys-{name}\n" for r, (d, s) in enumerate(ranked, 1))
    (tmp_path / "qrels.txt").write_text("".join(qrels))
    (tmp_path / "a.trec").write_text("".join(run_a))
    (tmp_path / "b.trec").write_text("".join(run_b))
    return tmp_path / "a.trec", tmp_path / "b.trec", tmp_path / "qrels.txt"


def test_compare_plain_trec_run_files_of_any_system(tmp_path):
    import pytrec_eval

    from xlir.evaluation.results import read_qrels, read_run

    a, b, qrels = _trec_runs(tmp_path)
    result = CliRunner().invoke(app, ["compare", str(a), str(b), "--qrels", str(qrels), "-m", "MAP",
                                      "-m", "ndcg@10", "--permutations", "2000", "--bootstrap", "2000"])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "compare.json").read_text())
    rows = {r["metric"]: r for r in report["rows"]}
    assert set(rows) == {"AP", "nDCG@10"} and {r["setting"] for r in report["rows"]} == {"run"}
    ev = pytrec_eval.RelevanceEvaluator(read_qrels(qrels), {"map", "ndcg_cut_10"})
    for name, run in (("mean_a", a), ("mean_b", b)):
        ref = ev.evaluate(read_run(run))
        assert rows["AP"][name] == pytest.approx(np.mean([v["map"] for v in ref.values()]), abs=1e-12)
        assert rows["nDCG@10"][name] == pytest.approx(np.mean([v["ndcg_cut_10"] for v in ref.values()]),
                                                      abs=1e-12)
    assert rows["AP"]["n"] == 60 and rows["AP"]["significant"] and rows["AP"]["diff"] > 0
    assert report["qrels"] == str(qrels)
    assert "| AP | run | 60 |" in (tmp_path / "compare.md").read_text()
    assert "<table>" in (tmp_path / "compare.html").read_text()  # the page to open in a browser


@pytest.mark.parametrize(("args", "message"), [
    (["a.trec", "b.trec"], "needs the judgments, --qrels"),
    (["a.trec", "b.trec", "--qrels", "nope.txt"], "qrels file"),
    (["a.trec", "folder", "--qrels", "qrels.txt"], "pass two folders or two run files"),
    (["a.trec", "b.trec", "--qrels", "b.trec"], "not a TREC qrels line"),
    (["missing.trec", "b.trec", "--qrels", "qrels.txt"], "not found"),
    (["a.trec", "b.trec", "--qrels", "qrels.txt", "-m", "Judged@10"], "does not compute"),
])
def test_compare_run_file_errors_are_user_errors(tmp_path, args, message):
    from xlir.cli import main  # noqa: F401  (errors are XlirError subclasses, shown as one line)
    from xlir.errors import XlirError

    _trec_runs(tmp_path, n=3)
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "per_query.json").write_text(json.dumps({"run": {"AP": {"q0": 0.5}}}))
    args = [str(tmp_path / x) if i < 2 or args[i - 1] == "--qrels" else x for i, x in enumerate(args)]
    result = CliRunner().invoke(app, ["compare", *args])
    assert result.exit_code != 0
    assert isinstance(result.exception, XlirError), result.exception
    assert message in str(result.exception)


def test_compare_refuses_out_of_range_scores_naming_the_file(tmp_path):
    runs = _two_runs(tmp_path)
    path = tmp_path / "a" / "per_query.json"
    data = json.loads(path.read_text())
    data["cross/de-en"]["AP"]["de/4"] = 6.0  # what NaN embeddings once produced for multilingual AP
    path.write_text(json.dumps(data))
    res = CliRunner().invoke(app, ["compare", *runs])
    assert isinstance(res.exception, DataError), res.output
    assert str(path) in str(res.exception) and "AP of query 'de/4'" in str(res.exception)


def test_compare_resamples_the_paragraphs_of_xquad_r(tmp_path, data_dir):
    """Two runs on XQuAD-R's first 200 questions (35 paragraphs) whose difference is a per-paragraph
    shift: resampling paragraphs gives a wider interval and a larger p than treating the 200 questions
    as independent, and compare.json says which unit it used."""
    from xlir.data.clusters import question_clusters
    from xlir.data.registry import load_collection

    coll = load_collection("xquad-r", data_dir=data_dir, languages=["de", "en"]).subset(limit=200)
    paragraph = question_clusters(coll, "id-tail")
    shift = {p: float(v) for p, v in zip(sorted(set(paragraph.values())),
                                         np.random.default_rng(7).normal(0.015, 0.03, 35), strict=True)}
    rng = np.random.default_rng(6)
    base = {q.id: float(rng.uniform(0.3, 0.7)) for q in coll.queries if q.language == "de"}
    better = {q: v + shift[paragraph[q.split("/", 1)[1]]] + float(rng.normal(0, 0.005))
              for q, v in base.items()}
    for name, scores in (("a", base), ("b", better)):
        _write_run(tmp_path / name, {"cross/de-en": {"AP": scores}})
        (tmp_path / name / "results.json").write_text(json.dumps({"collection": {"name": "xquad-r"}}))
    a, b = str(tmp_path / "a"), str(tmp_path / "b")

    def row(*extra):
        res = CliRunner().invoke(app, ["compare", a, b, "--permutations", "2000", "--bootstrap", "2000",
                                       *extra], catch_exceptions=False)
        assert res.exit_code == 0, res.output
        report = json.loads((tmp_path / "b" / "compare.json").read_text())
        return next(r for r in report["rows"] if r["setting"] == "cross/de-en"), report["resampling_unit"]

    by_paragraph, unit = row()
    assert "whole paragraphs" in unit and "200 questions in 35 paragraphs" in unit
    shown = CliRunner().invoke(app, ["compare", a, b, "--permutations", "200", "--bootstrap", "200"]).output
    assert f"resampling unit: {unit}" in shown
    assert "Resampling unit: whole paragraphs" in (tmp_path / "b" / "compare.md").read_text()
    by_question, unit_q = row("--clusters", "question")
    assert unit_q.startswith("each question resampled on its own")
    assert by_paragraph["diff"] == pytest.approx(by_question["diff"])
    width = by_paragraph["ci_high"] - by_paragraph["ci_low"]
    assert width > 2 * (by_question["ci_high"] - by_question["ci_low"])
    # independent questions: "significant" (p ~ 0.002, CI above 0); by paragraph: no evidence (p ~ 0.2)
    assert by_question["p_value"] < 0.01 and by_question["ci_low"] > 0
    assert by_paragraph["p_value"] > 0.1 and by_paragraph["ci_low"] < 0 < by_paragraph["ci_high"]


def test_compare_paragraph_clusters_need_a_collection(tmp_path):
    args = _two_runs(tmp_path)
    res = CliRunner().invoke(app, ["compare", *args, "--permutations", "200", "--bootstrap", "200",
                                   "--clusters", "paragraph"])
    assert res.exit_code != 0
    assert "--clusters paragraph needs the runs' collection" in str(res.exception) + res.output
    res = CliRunner().invoke(app, ["compare", *args, "--permutations", "200", "--bootstrap", "200",
                                   "--clusters", "sentence"])
    assert res.exit_code != 0 and "--clusters must be one of auto, paragraph, question" in (
        str(res.exception) + res.output)
    res = CliRunner().invoke(app, ["compare", *args, "--permutations", "200", "--bootstrap", "200"])
    assert res.exit_code == 0, res.output
    unit = json.loads((tmp_path / "b" / "compare.json").read_text())["resampling_unit"]
    assert unit == ("each question resampled on its own (no paragraph table: the two runs do not name one "
                    "collection in results.json)")


def test_compare_knows_a_collection_without_paragraphs_without_loading_it(tmp_path):
    args = _two_runs(tmp_path)
    for name in ("a", "b"):
        (tmp_path / name / "results.json").write_text(
            json.dumps({"collection": {"name": "miracl-dev", "source": "miracl"}}))  # as xlir eval writes it
    res = CliRunner().invoke(app, ["compare", *args, "--permutations", "200", "--bootstrap", "200",
                                   "--clusters", "paragraph"])
    assert res.exit_code == 0, res.output
    unit = json.loads((tmp_path / "b" / "compare.json").read_text())["resampling_unit"]
    assert unit == "each question resampled on its own (miracl-dev has no paragraphs)"


def test_compare_takes_no_paragraphs_from_a_collection_lacking_the_compared_questions(tmp_path, data_dir):
    """A run of another split names the same collection: its questions are not in the split loaded
    here, and compare says so instead of silently treating every question as its own paragraph."""
    args = _two_runs(tmp_path)  # ids de/0 .. de/29: not XQuAD-R question ids
    for name in ("a", "b"):
        (tmp_path / name / "results.json").write_text(json.dumps({"collection": {"name": "xquad-r"}}))
    res = CliRunner().invoke(app, ["compare", *args, "--permutations", "200", "--bootstrap", "200"])
    assert res.exit_code == 0, res.output
    unit = json.loads((tmp_path / "b" / "compare.json").read_text())["resampling_unit"]
    assert "30 of the 30 compared questions are not in xquad-r as loaded here" in unit
    res = CliRunner().invoke(app, ["compare", *args, "--permutations", "200", "--bootstrap", "200",
                                   "--clusters", "paragraph"])
    assert res.exit_code != 0 and "are not in xquad-r as loaded here" in str(res.exception) + res.output


def test_compare_over_few_paragraphs_says_why_there_is_no_interval(tmp_path, data_dir):
    """XQuAD-R's first 30 questions lie in 2 paragraphs: compare gives no bootstrap interval (the table
    reads "[few paragraphs]") and its resampling unit says why, with the smallest p the sign flips can
    reach (2 / 2**2 = 0.5), as the studies' reports do."""
    from xlir.data.registry import load_collection

    coll = load_collection("xquad-r", data_dir=data_dir, languages=["de", "en"]).subset(limit=30)
    rng = np.random.default_rng(3)
    base = {q.id: float(rng.uniform(0.3, 0.7)) for q in coll.queries if q.language == "de"}
    better = {q: v + 0.1 for q, v in base.items()}
    for name, scores in (("a", base), ("b", better)):
        _write_run(tmp_path / name, {"cross/de-en": {"AP": scores}})
        (tmp_path / name / "results.json").write_text(json.dumps({"collection": {"name": "xquad-r"}}))
    res = CliRunner().invoke(app, ["compare", str(tmp_path / "a"), str(tmp_path / "b"), "--permutations",
                                   "200", "--bootstrap", "200"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "b" / "compare.json").read_text())
    unit = report["resampling_unit"]
    assert "30 questions in 2 paragraphs; under 10 paragraphs give no bootstrap interval" in unit
    assert "the sign-flip p cannot go below 0.5" in unit
    row = next(r for r in report["rows"] if r["setting"] == "cross/de-en")
    assert row["ci_low"] is None and row["p_value"] == pytest.approx(0.5, abs=0.01)
    assert "[few paragraphs]" in (tmp_path / "b" / "compare.md").read_text()
