"""`xlir compare` end to end on two run folders with known differences."""

from __future__ import annotations

import json

import numpy as np
from typer.testing import CliRunner

from xlir.cli import app


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
    better["cross/es-de"]["AP"] = {q: v + float(rng.normal(0, 0.01)) for q, v in noisy.items()}
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
    assert "per_query.json not found" in str(result.exception) + result.output


def test_compare_reads_real_run_folders_including_bias(tmp_path, tiny_model_path, data_dir):
    from sentence_transformers import SentenceTransformer

    from xlir.data.registry import load_collection
    from xlir.evaluation import EvalConfig, evaluate
    from xlir.evaluation.compare import load_per_query

    coll = load_collection("xquad-r", data_dir=data_dir, languages=["de", "en"]).subset(limit=15)
    model = SentenceTransformer(str(tiny_model_path), device="cpu")
    result = evaluate(model, coll, EvalConfig(cache=False, show_progress=False))
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
