"""The embedding-cache key covers everything that can change a vector (issue 11, defect 4).

Changing ``1_Pooling/config.json`` from mean to CLS once served the old (mean-pooled) vectors.
"""

from __future__ import annotations

import json
import shutil

from typer.testing import CliRunner

from xlir.cli import app


def _eval(data_dir, model, out, cache):
    res = CliRunner().invoke(app, ["--data-dir", str(data_dir), "eval", "--model", str(model), "--dataset",
                                   "xquad-r", "-l", "de,en", "--limit", "3", "--quiet", "--no-runs",
                                   "--cache-dir", str(cache), "-o", str(out)])
    assert res.exit_code == 0, res.output
    return json.loads((out / "results.json").read_text())


def test_pooling_change_is_not_served_from_the_cache(data_dir, tiny_model_path, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_path, model)
    first = _eval(data_dir, model, tmp_path / "mean", tmp_path / "cache")
    again = _eval(data_dir, model, tmp_path / "mean2", tmp_path / "cache")
    assert again["encoding"]["encoded"] == 0  # the cache works

    pooling = model / "1_Pooling" / "config.json"
    cfg = json.loads(pooling.read_text())
    assert cfg["pooling_mode"] == "mean" or cfg.get("pooling_mode_mean_tokens")
    cfg = {k: v for k, v in cfg.items() if not k.startswith("pooling_mode")} | {"pooling_mode": "cls"}
    pooling.write_text(json.dumps(cfg))
    cls = _eval(data_dir, model, tmp_path / "cls", tmp_path / "cache")
    assert cls["encoding"]["cache_hits"] == 0 and cls["encoding"]["encoded"] > 0
    assert cls["model"]["fingerprint"] != first["model"]["fingerprint"]
    assert cls["aggregates"]["mono"]["AP"]["mean"] != first["aggregates"]["mono"]["AP"]["mean"]


def test_tokenizer_and_module_settings_are_in_the_fingerprint(tiny_model_path, tmp_path):
    from xlir.models import fingerprint, load_model

    base = fingerprint(load_model(str(tiny_model_path)))
    moved = tmp_path / "elsewhere"
    shutil.copytree(tiny_model_path, moved)
    assert fingerprint(load_model(str(moved))) == base  # the same model from another path

    tok = json.loads((moved / "tokenizer.json").read_text())
    tok["normalizer"] = {"type": "Lowercase"}
    (moved / "tokenizer.json").write_text(json.dumps(tok))
    assert fingerprint(load_model(str(moved))) != base

    m = load_model(str(tiny_model_path))
    m.tokenizer(["a call with other settings"], truncation=True, max_length=9, padding="max_length")
    assert fingerprint(m) == base  # per-call truncation/padding are not the tokenizer
    m.tokenizer.truncation_side = "left"
    assert fingerprint(m) != base
