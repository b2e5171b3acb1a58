"""MTEB both ways, offline: MTEB's own XQuADRetrieval task on a tiny local copy of its data gives the
numbers xlir's evaluator gives on the same corpus; xlir results exported to MTEB's results JSON load in
MTEB and average to xlir's macro figures."""

from __future__ import annotations

import json

import pytest

from xlir.data import load_collection
from xlir.data.mteb_layout import write_retrieval_dataset
from xlir.errors import ConfigError, MissingDataError
from xlir.evaluation import EvalConfig, evaluate
from xlir.evaluation.mteb_export import export_run, mteb_metric_name
from xlir.models import load_model

mteb = pytest.importorskip("mteb", reason="the mteb extra is not installed (pip install 'xlir[mteb]')")


@pytest.fixture(scope="module")
def model(tiny_model_path):
    return load_model(tiny_model_path)


@pytest.fixture(scope="module")
def xquad_paragraphs(data_dir):
    # XQuAD as MTEB's XQuADRetrieval has it: paragraphs as documents, one corpus per language
    return load_collection("xquad", data_dir=data_dir, unit="passage", languages=["de", "th"]).subset(limit=6)


def test_an_mteb_task_on_local_data_scores_what_xlir_scores(model, xquad_paragraphs, tmp_path):
    from xlir.evaluation.mteb_run import run_task

    counts = write_retrieval_dataset(xquad_paragraphs, tmp_path / "XQuADRetrieval", split="validation")
    assert counts["de"] == {"queries": 6, "documents": 240, "judgments": 6}
    readme = (tmp_path / "XQuADRetrieval" / "README.md").read_text()
    assert "config_name: th-qrels" in readme

    mine = run_task(model, "XQuADRetrieval", tmp_path / "XQuADRetrieval", subsets=["de", "th"],
                    output_dir=tmp_path / "mteb-results")
    ours = evaluate(model, xquad_paragraphs, EvalConfig(settings=["mono"], metrics=["nDCG@10", "AP", "RR@10"],
                                                        cache=False, show_progress=False)).setting_means()
    assert set(mine) == {"de", "th"}
    for lang in ("de", "th"):
        theirs, xlir = mine[lang], ours[f"mono/{lang}-{lang}"]
        assert theirs["main_score"] == theirs["ndcg_at_10"]  # the task's main score is nDCG@10
        assert theirs["ndcg_at_10"] == pytest.approx(xlir["nDCG@10"], abs=6e-6)  # MTEB rounds to 5 places
        assert theirs["mrr_at_10"] == pytest.approx(xlir["RR@10"], abs=6e-6)
        assert theirs["map_at_1000"] == pytest.approx(xlir["AP"], abs=6e-6)  # 240 < 1000: the whole pool
    assert sum(mine[x]["ndcg_at_10"] for x in mine) > 0  # not a vacuous 0 == 0
    assert list((tmp_path / "mteb-results").rglob("XQuADRetrieval.json"))  # MTEB's own results file


def test_local_task_errors(model, tmp_path, xquad_paragraphs):
    from xlir.evaluation.mteb_run import run_task

    with pytest.raises(MissingDataError, match="README.md"):
        run_task(model, "XQuADRetrieval", tmp_path)
    write_retrieval_dataset(xquad_paragraphs, tmp_path / "d", split="validation")
    with pytest.raises(MissingDataError, match="no config 'en-corpus'"):
        run_task(model, "XQuADRetrieval", tmp_path / "d", subsets=["en"])
    with pytest.raises(ConfigError, match="not empty"):
        write_retrieval_dataset(xquad_paragraphs, tmp_path / "d")


def test_export_is_mteb_results_json_averaging_to_xlir_figures(model, data_dir, tmp_path):
    from mteb.results.task_result import TaskResult

    coll = load_collection("xquad-r", data_dir=data_dir, languages=["de", "en", "th"]).subset(limit=4)
    result = evaluate(model, coll, EvalConfig(metrics=["AP", "nDCG@10"], cache=False, show_progress=False),
                      model_name="tiny")
    run = result.save(tmp_path / "run", runs=False)
    paths = export_run(run, tmp_path / "mteb")
    assert sorted(p.name for p in paths) == ["xquad-r-cross.json", "xquad-r-mono.json", "xquad-r-multi.json"]
    aggregates = result.aggregates()
    for path in paths:
        task = TaskResult.from_disk(path)  # MTEB reads it
        kind = path.stem.rsplit("-", 1)[1]
        rows = task.scores["test"]
        assert len(rows) == {"mono": 3, "cross": 6, "multi": 3}[kind]
        for row in rows:
            assert row["main_score"] == row["map"] and 0 <= row["main_score"] <= 1
        mean = sum(r["main_score"] for r in rows) / len(rows)
        assert mean == pytest.approx(aggregates[kind]["AP"]["mean"], abs=1e-12)
    cross = json.loads((paths[0].parent / "xquad-r-cross.json").read_text())["scores"]["test"]
    de_th = next(r for r in cross if r["hf_subset"] == "de-th")
    assert de_th["languages"] == ["deu-Latn", "tha-Thai"]
    assert de_th["ndcg_at_10"] == result.setting_means()["cross/de-th"]["nDCG@10"]
    with pytest.raises(ConfigError, match="exists"):
        export_run(run, tmp_path / "mteb")
    from typer.testing import CliRunner

    from xlir.cli import app

    res = CliRunner().invoke(app, ["mteb", "export", str(run), str(tmp_path / "cli")])
    assert res.exit_code == 0, res.output
    assert res.output.count("wrote ") == 3 and "xquad-r-multi.json" in res.output
    with pytest.raises(ConfigError, match="main metric 'P@1'"):
        export_run(run, tmp_path / "other", main_metric="P@1")


def test_metric_names():
    assert [mteb_metric_name(x) for x in ("nDCG@10", "AP", "R@100", "RR@10", "P@1", "RR")] == \
        ["ndcg_at_10", "map", "recall_at_100", "mrr_at_10", "precision_at_1", "mrr"]
