"""The quickstart pipeline end to end on the tiny model and a small XQuAD-R slice."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from xlir.experiments.quickstart import QuickstartConfig, run_quickstart
from xlir.reports.quickstart_report import comparison_rows, write_quickstart_report


def test_quickstart_pipeline_runs_and_resumes(tiny_model_path, tmp_path, monkeypatch):
    monkeypatch.setenv("XLIR_CACHE_DIR", str(tmp_path / "cache"))
    cfg = QuickstartConfig(model=str(tiny_model_path), output=tmp_path / "qs", steps=4, batch_size=8,
                           max_length=32, eval_limit=8, eval_languages=["de", "en", "es"], progress=False)
    res = run_quickstart(cfg)
    report = write_quickstart_report(res)
    text = report.read_text()
    assert "| monolingual mAP |" in text and "| multilingual mAP |" in text
    for name in ("heatmap-base.png", "heatmap-trained.png", "training_curve.png"):
        assert (tmp_path / "qs" / "xquad-r-de-en-es-n8" / name).stat().st_size > 1000
    card = (tmp_path / "qs" / "model" / "README.md").read_text()  # the card shows what was measured
    assert "| xquad-r | 24 |" in card and "No evaluation was run" not in card
    assert (tmp_path / "qs" / "model.checkpoints").is_dir()
    assert not (tmp_path / "qs" / "model" / "checkpoints").exists()
    record = json.loads((tmp_path / "qs" / "model" / "xlir_training.json").read_text())
    assert record["sources"] == ["mlqa"] and record["steps"] == 4
    # the quick recipe ends with a WiSE-FT merge at λ = 0.75; the report says the model is the merge
    assert record["merge"]["weight"] == 0.75
    assert (tmp_path / "qs" / "model" / "unmerged" / "modules.json").is_file()
    assert "WiSE-FT merge with the base model" in text and "λ = 0.75" in text
    # 8 questions x 3 languages against the whole de/en/es pool
    assert res["collection"]["queries"] == 24
    assert res["collection"]["documents"] == 1276 + 1180 + 1215
    rows = {r[0]: r for r in comparison_rows(res["base"], res["trained"], res["tests"])}
    base_mono = float(rows["monolingual mAP"][1])
    assert 0.0 < base_mono < 1.0
    # training moved the weights, so the trained model's figures differ from the base model's
    assert res["base"].per_query != res["trained"].per_query

    # a second run finds everything done and returns the same figures without retraining
    mtime = (tmp_path / "qs" / "model" / "xlir_training.json").stat().st_mtime
    evaluated = tmp_path / "qs" / "xquad-r-de-en-es-n8" / "eval-trained" / "results.json"
    eval_mtime = evaluated.stat().st_mtime
    again = run_quickstart(cfg)
    assert (tmp_path / "qs" / "model" / "xlir_training.json").stat().st_mtime == mtime
    assert evaluated.stat().st_mtime == eval_mtime  # the figures are reused, not recomputed
    assert again["trained"].per_query == res["trained"].per_query

    # figures left by another model (here: the base model's, put where the trained model's go) are
    # not reused: the quickstart says so and evaluates the model it has
    import shutil

    trained_dir = evaluated.parent
    shutil.rmtree(trained_dir)
    shutil.copytree(trained_dir.parent / "eval-base", trained_dir)
    with pytest.warns(UserWarning, match="holds the figures of another model"):
        third = run_quickstart(cfg)
    assert third["trained"].per_query == res["trained"].per_query


def test_quickstart_cli_help():
    from xlir.cli import app

    out = CliRunner().invoke(app, ["quickstart", "--help"])
    assert out.exit_code == 0 and "--full" in out.output


def test_eval_refuses_a_model_trained_on_the_collections_source(tiny_model_path, tmp_path, monkeypatch):
    """Zero-shot guard: a model trained on MLQA may not be scored on MLQA-R without the override."""
    from xlir.cli import app
    from xlir.training import TrainConfig, train

    monkeypatch.setenv("XLIR_CACHE_DIR", str(tmp_path / "cache"))
    model_dir = train(TrainConfig(model=str(tiny_model_path), sources=["mlqa"], steps=1, batch_size=4,
                                  max_length=16, max_groups=20, progress=False,
                                  output=tmp_path / "m")).model_dir
    args = ["eval", "--model", str(model_dir), "--dataset", "mlqa-r", "--languages", "de,en",
            "--limit", "3", "--quiet", "--no-runs", "--output", str(tmp_path / "run")]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code != 0
    assert "not a zero-shot evaluation" in str(refused.exception) + refused.output
    allowed = CliRunner().invoke(app, [*args, "--allow-seen-source"])
    assert allowed.exit_code == 0, allowed.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["model"]["zero_shot"] is False and results["model"]["train_sources"] == ["mlqa"]


def test_quickstart_config_carries_a_train_config_from_toml_with_old_keys_working(tmp_path):
    """One config per concept: the quickstart's training is a TrainConfig (the quick recipe plus the
    [train] table); the old flat keys read the same; the command line wins over the file."""
    from xlir.errors import ConfigError
    from xlir.training.config import recipe

    default = QuickstartConfig()
    quick = recipe("quick")
    same = ("sources", "sampler", "alpha", "steps", "batch_size", "lr", "temperature", "max_length",
            "freeze_word_embeddings", "precision", "symmetric", "hard_negatives", "seed", "recipe")
    assert {k: getattr(default.train, k) for k in same} == {k: getattr(quick, k) for k in same}
    assert default.train.recipe == "quick"
    assert default.train.output == default.output / "model" and default.train.resume
    assert default.train.checkpoint_every == 20  # 120 steps // 6

    new = tmp_path / "new.toml"
    new.write_text('model = "tiny"\noutput = "runs/qs"\n[train]\nsteps = 60\nalpha = 0.25\n'
                   'sources = ["xquad"]\n')
    old = tmp_path / "old.toml"
    old.write_text('model = "tiny"\noutput = "runs/qs"\nsteps = 60\nalpha = 0.25\n'
                   'train_sources = ["xquad"]\n')
    a, b = QuickstartConfig.from_toml(new), QuickstartConfig.from_toml(old)
    assert a == b and (a.train.steps, a.train.alpha, a.train.sources) == (60, 0.25, ["xquad"])
    assert a.train.model == "tiny" and a.train.checkpoint_every == 10
    c = QuickstartConfig.from_toml(new, {"train": {"steps": 90}, "eval_limit": 5})
    assert (c.train.steps, c.train.alpha, c.eval_limit) == (90, 0.25, 5)  # the rest of [train] kept
    assert QuickstartConfig.model_validate_json(c.model_dump_json()) == c

    tables = tmp_path / "tables.toml"  # [train] beside [quickstart] is the quickstart's training
    tables.write_text('[quickstart]\nmodel = "tiny"\neval_limit = 5\n[train]\nsteps = 30\n')
    t = QuickstartConfig.from_toml(tables)
    assert (t.train.steps, t.eval_limit, t.train.model) == (30, 5, "tiny")
    twice = tmp_path / "twice.toml"
    twice.write_text('[quickstart]\nmodel = "tiny"\n[quickstart.train]\nsteps = 20\n[train]\nsteps = 30\n')
    with pytest.raises(ConfigError, match=r"\[train\] is given both inside \[quickstart\] and beside it"):
        QuickstartConfig.from_toml(twice)

    both = tmp_path / "both.toml"
    both.write_text("steps = 60\n[train]\nsteps = 30\n")
    with pytest.raises(ConfigError, match="steps given both at the top level and in"):
        QuickstartConfig.from_toml(both)
    bad = tmp_path / "bad.toml"
    bad.write_text("[train]\nalpha = 1.5\n")
    with pytest.raises(ConfigError, match="alpha"):
        QuickstartConfig.from_toml(bad)
    moved = tmp_path / "moved.toml"
    moved.write_text('[train]\nmodel = "tiny"\n')
    with pytest.raises(ConfigError, match="set model at the top level"):
        QuickstartConfig.from_toml(moved)
