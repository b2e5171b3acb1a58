"""`xlir eval` end to end on a small real slice with the tiny model."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from xlir.cli import app
from xlir.errors import ConfigError
from xlir.evaluation import EvalResult, quick_summary


def test_eval_command_writes_run_folder_and_hits_cache(data_dir, tmp_path):
    out = tmp_path / "run"
    base = ["--data-dir", str(data_dir), "eval", "--model", "tiny", "--dataset", "xquad-r",
            "--cache-dir", str(tmp_path / "cache"), "--languages", "de,en", "--limit", "10", "--quiet",
            "--metrics", "AP,nDCG@10,RR@10"]
    res = CliRunner().invoke(app, [*base, "--output", str(out)])
    assert res.exit_code == 0, res.output
    # stderr (model-loading progress bars, no final newline) is mixed into the captured output
    lines = res.output.replace("it/s]", "it/s]\n").splitlines()
    header = next(x for x in lines if x.startswith("setting"))
    assert header.split() == ["setting", "AP", "nDCG@10", "RR@10", "pairs", "queries"]
    assert any(x.split()[:1] == ["multi"] and x.split()[-2:] == ["2", "20"] for x in lines)
    assert any(x.startswith("rank distance") for x in lines)
    for name in ("results.json", "per_query.json", "summary.md", "report.html", "heatmap.png",
                 "runs/mono/de-de.trec", "runs/cross/de-en.qrels.txt", "runs/multi/en.trec"):
        assert (out / name).is_file(), name
    meta = json.loads((out / "results.json").read_text())
    # precision auto: bf16 where this CPU has it natively (the key says so), fp32 elsewhere
    used = meta["encoding"]["precision"]
    assert used == ("bf16" if meta["model"]["precision"]["native_bf16"] else "fp32")
    assert meta["model"]["name"] == "tiny" and meta["model"]["fingerprint"].split("+")[1:] == (
        ["bf16"] if used == "bf16" else [])
    assert len(meta["model"]["fingerprint"].split("+")[0]) == 16
    assert meta["config"]["metrics"] == ["AP", "nDCG@10", "RR@10"]
    assert meta["aggregates"]["cross"]["AP"]["n_queries"] == 20
    assert "torch" in meta["versions"]
    loaded = EvalResult.load(out)
    qs = quick_summary(loaded)
    assert set(qs) >= {"mono", "cross", "multi", "rank_distance"}
    # the multilingual figure is the macro mean over query languages of the per-question AP the run
    # folder holds (the whole pool is ranked, so every relevant candidate counts: AP > 0)
    per_language = [loaded.per_query[f"multi/{lang}"]["AP"] for lang in ("de", "en")]
    assert all(len(ap) == 10 and min(ap.values()) > 0 for ap in per_language)
    assert qs["multi"] == pytest.approx(sum(sum(ap.values()) / 10 for ap in per_language) / 2, abs=1e-12)
    assert qs["rank_distance"] > 0
    assert meta["encoding"]["encoded"] > 0

    res2 = CliRunner().invoke(app, [*base, "--output", str(tmp_path / "run2"), "--no-runs",
                                    "--metrics", "map,NDCG@10,MRR@10"])  # the same measures, other spellings
    assert res2.exit_code == 0, res2.output
    again = json.loads((tmp_path / "run2" / "results.json").read_text())
    assert again["encoding"]["encoded"] == 0 and again["encoding"]["cache_hits"] > 0
    assert not (tmp_path / "run2" / "runs").exists()
    assert again["aggregates"]["mono"]["AP"] == meta["aggregates"]["mono"]["AP"]
    assert again["config"]["metrics"] == ["AP", "nDCG@10", "RR@10"]

    res3 = CliRunner().invoke(app, [*base, "--output", str(tmp_path / "run3"), "--run-format", "trec.gz",
                                    "--settings", "mono"])
    assert res3.exit_code == 0, res3.output
    assert (tmp_path / "run3/runs/mono/de-de.trec.gz").is_file()
    assert (tmp_path / "run3/runs/mono/de-de.qrels.txt.gz").is_file()


def test_eval_command_reports_user_errors(data_dir):
    res = CliRunner().invoke(app, ["--data-dir", str(data_dir), "eval", "--model", "tiny",
                                   "--dataset", "xquad-r", "--metrics", "BLEU"])
    assert res.exit_code != 0
    assert "metric" in str(res.exception or res.output).lower()


def test_eval_languages_keep_the_queries_of_a_cross_lingual_collection(data_dir, tmp_path):
    """AfriQA Hausa questions have English passages: ``--languages ha`` keeps the Hausa questions
    (the command once cut queries to the passage languages and evaluated none)."""
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["--data-dir", str(data_dir), "eval", "--model", "tiny", "--dataset",
                                   "afriqa", "--languages", "ha", "--limit", "5", "--quiet", "--no-cache",
                                   "--no-runs", "--output", str(out)])
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "results.json").read_text())
    assert meta["collection"]["subset"] == {"languages": ["ha"], "limit": 5}
    assert meta["aggregates"]["cross"]["AP"]["n_queries"] == 5


def test_eval_config_file_and_given_options(tmp_path):
    """``EvalConfig.from_toml(path, **overrides)``: given options > file > defaults."""
    from xlir.evaluation import EvalConfig

    path = tmp_path / "eval.toml"
    path.write_text('[eval]\nbatch_size = 8\nmetrics = ["AP"]\ndepth = 50\n')
    cfg = EvalConfig.from_toml(path, batch_size=16, depth=None)
    assert (cfg.batch_size, cfg.metrics, cfg.depth, cfg.run_depth) == (16, ["AP"], 50, 100)
    assert EvalConfig.from_toml(None, run_depth=7) == EvalConfig(run_depth=7)


def test_eval_afriqa_cross_only_prints_na_for_rank_distance(data_dir, tmp_path):
    """AfriQA is cross-lingual only (African-language questions, English passages): rank distance is
    undefined. The summary printer used to die on it (TypeError formatting None) after writing results."""
    out = tmp_path / "afriqa"
    res = CliRunner().invoke(app, ["--data-dir", str(data_dir), "eval", "--model", "tiny",
                                   "--dataset", "afriqa", "--limit", "3", "--no-cache", "--quiet",
                                   "--no-runs", "--output", str(out)])
    assert res.exit_code == 0, res.output
    assert "rank distance (multi, lower is better): n/a" in res.output
    assert "cross" in res.output and (out / "summary.md").is_file()
    meta = json.loads((out / "results.json").read_text())
    assert meta["bias"]["rank_distance"]["mean"] is None
    assert 0 <= meta["aggregates"]["cross"]["AP"]["mean"] <= 1


def test_summary_printer_accepts_absent_fields():
    from xlir.reports.summary import aggregate_rows, bias_lines

    class Bare:
        metrics = ["AP"]

        def aggregates(self):
            return {"cross": {"AP": {"mean": None}}}

        def bias(self):
            return {"rank_distance": {}, "own_language_top": {"mean": 0.5}}

    assert aggregate_rows(Bare(), missing="n/a")[1] == [["cross", "n/a", "n/a", "n/a"]]
    assert bias_lines(Bare()) == ["rank distance (multi, lower is better): n/a over n/a queries",
                                  "top relevant in the query's own language: 0.500 (chance n/a)"]


def test_eval_precision_flag_is_recorded_and_checked(data_dir, tmp_path):
    base = ["--data-dir", str(data_dir), "eval", "--model", "tiny", "--dataset", "xquad-r", "--no-cache",
            "--languages", "de,en", "--limit", "3", "--quiet", "--no-runs"]
    res = CliRunner().invoke(app, [*base, "--precision", "bf16", "--batch-tokens", "2048",
                                   "--output", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "r" / "results.json").read_text())
    assert meta["config"]["precision"] == "bf16" and meta["config"]["batch_tokens"] == 2048
    assert meta["model"]["precision"]["used"] == "bf16" and meta["encoding"]["precision"] == "bf16"
    bad = CliRunner().invoke(app, [*base, "--precision", "fp16", "--output", str(tmp_path / "bad")])
    assert bad.exit_code != 0
    assert isinstance(bad.exception, ConfigError)
    assert "precision" in str(bad.exception) and "Input should be 'auto'" in str(bad.exception)


def test_gzip_writes_one_compressed_per_query_file_that_loads_and_compares_the_same(data_dir, tmp_path):
    """--gzip: per_query.json.gz (and gzipped TREC files) with the same figures; `xlir compare` and
    `EvalResult.load` read it; a folder holding both forms is refused, naming the file."""
    from xlir.errors import DataError
    from xlir.evaluation.compare import load_per_query

    base = ["--data-dir", str(data_dir), "eval", "--model", "tiny", "--dataset", "xquad-r",
            "--cache-dir", str(tmp_path / "cache"), "--languages", "de,en", "--limit", "6", "--quiet"]
    plain, packed = tmp_path / "plain", tmp_path / "packed"
    for out, extra in ((plain, []), (packed, ["--gzip"])):
        res = CliRunner().invoke(app, [*base, "--output", str(out), *extra])
        assert res.exit_code == 0, res.output
    assert (packed / "per_query.json.gz").is_file() and not (packed / "per_query.json").exists()
    assert (packed / "runs/mono/de-de.trec.gz").is_file()  # --gzip implies --run-format trec.gz
    raw = json.loads((plain / "per_query.json").read_text())
    import gzip

    assert json.loads(gzip.decompress((packed / "per_query.json.gz").read_bytes())) == raw
    a, b = EvalResult.load(plain), EvalResult.load(packed)
    assert a.per_query == b.per_query and a.bias_per_query == b.bias_per_query
    assert quick_summary(a) == quick_summary(b)
    assert load_per_query(packed) == load_per_query(plain)
    # saving the other form replaces the file: a folder never holds both
    b.save(packed, runs=False, gzip=False)
    assert (packed / "per_query.json").is_file() and not (packed / "per_query.json.gz").exists()
    (packed / "per_query.json.gz").write_bytes((plain / "per_query.json").read_bytes())
    with pytest.raises(DataError, match="stale"):
        EvalResult.load(packed)
