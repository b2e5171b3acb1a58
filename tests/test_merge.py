"""WiSE-FT merges (`xlir merge`): the endpoints reproduce their parents, the midpoint is the mean of
the weights, incompatible models and bad weights are refused, nothing is overwritten unasked."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from xlir.errors import ConfigError, ModelError

TEXTS = ["Wo steht der Eiffelturm?", "The Eiffel Tower is in Paris.", "埃菲尔铁塔在哪里？"]


@pytest.fixture(scope="module")
def trained_path(tiny_model_path, tmp_path_factory):
    """The tiny model after 3 real training steps (lr high enough that every layer moves)."""
    from xlir.training import TrainConfig, train

    out = tmp_path_factory.mktemp("merge") / "trained"
    return train(TrainConfig(model=str(tiny_model_path), sources=["mlqa"], steps=3, batch_size=4, lr=1e-2,
                             max_length=16, max_groups=20, progress=False, output=out)).model_dir


def _encode(path):
    from xlir.models import load_model

    return load_model(str(path)).encode(TEXTS, prompt_name="query", convert_to_numpy=True)


def _state(path):
    from xlir.models import load_model

    return load_model(str(path)).state_dict()


def test_endpoints_reproduce_the_parents_and_the_midpoint_is_the_mean(tiny_model_path, trained_path,
                                                                      tmp_path):
    from xlir.data.provenance import training_sources
    from xlir.models.merge import merge_models

    base_vecs, trained_vecs = _encode(tiny_model_path), _encode(trained_path)
    assert not np.allclose(base_vecs, trained_vecs)  # training moved the model: the checks below can fail
    m0 = merge_models(str(tiny_model_path), str(trained_path), 0.0, tmp_path / "m0")
    m1 = merge_models(str(tiny_model_path), str(trained_path), 1.0, tmp_path / "m1")
    half = merge_models(str(tiny_model_path), str(trained_path), 0.5, tmp_path / "half")
    assert np.array_equal(_encode(m0), base_vecs)
    assert np.array_equal(_encode(m1), trained_vecs)
    sb, st, sh = _state(tiny_model_path), _state(trained_path), _state(half)
    moved = [k for k in sb if sb[k].is_floating_point() and not torch.equal(sb[k], st[k])]
    assert len(moved) > 10  # every layer moved (the word embeddings stay frozen)
    for key in sb:
        expected = (sb[key] + st[key]) / 2 if sb[key].is_floating_point() else sb[key]
        assert torch.equal(sh[key], expected), key
    assert not np.allclose(_encode(half), base_vecs) and not np.allclose(_encode(half), trained_vecs)

    record = json.loads((half / "xlir_merge.json").read_text())
    assert record["weight"] == 0.5 and record["sources"] == ["mlqa"]
    sha = hashlib.sha256((trained_path / "model.safetensors").read_bytes()).hexdigest()
    assert record["trained"]["weights_sha256"]["model.safetensors"] == sha
    assert record["base"]["training_sources"] == [] and record["trained"]["training_sources"] == ["mlqa"]
    assert training_sources(half) == ["mlqa"]  # the zero-shot guard still knows the trained parent's data
    assert not (half / "README.md").exists()  # not the trained model's card: these are other weights


def test_cli_merges_and_never_overwrites_unasked(tiny_model_path, trained_path, tmp_path):
    from xlir.cli import app

    out = tmp_path / "merged"
    args = ["merge", str(tiny_model_path), str(trained_path), "--weight", "0.25", "-o", str(out)]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert json.loads((out / "xlir_merge.json").read_text())["weight"] == 0.25
    card = (out / "README.md").read_text()  # the command writes the merged model's card
    assert "interpolated with its base model (λ = 0.25)" in card
    assert "## Weight-space interpolation (WiSE-FT)" in card
    assert "**Steps**: 3 of 4 pairs" in card  # and describes the trained parent
    again = CliRunner().invoke(app, [*args[:4], "0.75", *args[5:]])
    assert isinstance(again.exception, ConfigError) and "--overwrite" in str(again.exception)
    assert json.loads((out / "xlir_merge.json").read_text())["weight"] == 0.25  # untouched
    forced = CliRunner().invoke(app, [*args[:4], "0.75", *args[5:], "--overwrite"])
    assert forced.exit_code == 0, forced.output
    assert json.loads((out / "xlir_merge.json").read_text())["weight"] == 0.75
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary folder left


@pytest.mark.parametrize("weight", [-0.1, 1.5, float("nan"), float("inf")])
def test_weight_outside_0_1_is_refused_before_anything_is_written(tiny_model_path, tmp_path, weight):
    from xlir.models.merge import merge_models

    with pytest.raises(ConfigError, match=r"finite number in \[0, 1\]"):
        merge_models(str(tiny_model_path), str(tiny_model_path), weight, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_other_architecture_is_refused_naming_the_first_difference(tiny_model_path, tmp_path):
    from xlir.models.merge import merge_models
    from xlir.models.tiny import build_tiny_model

    other = build_tiny_model(tmp_path / "one-layer", layers=1)
    with pytest.raises(ModelError, match=r"architectures differ at .*num_hidden_layers \(2 vs 1\)"):
        merge_models(str(tiny_model_path), str(other), 0.5, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_other_tokenizer_prompts_or_keys_are_refused(tiny_model_path):
    from xlir.models import load_model
    from xlir.models.merge import check_compatible

    def pair():
        return load_model(str(tiny_model_path)), load_model(str(tiny_model_path))

    base, other = pair()
    check_compatible(base, other)  # the same model: compatible
    other.tokenizer.add_tokens(["xlirtoken"])
    with pytest.raises(ModelError, match="tokenizers differ"):
        check_compatible(base, other)
    base, other = pair()
    other.prompts["query"] = "question: "
    with pytest.raises(ModelError, match="query prompts differ"):
        check_compatible(base, other)
    base, other = pair()
    other[0].auto_model.register_buffer("extra_scale", torch.ones(2))
    with pytest.raises(ModelError, match=r"key 0\.\w+\.extra_scale is only in the trained model"):
        check_compatible(base, other)


def test_training_with_merge_weight_saves_the_merge_and_keeps_the_trained_weights(
        tiny_model_path, trained_path, tmp_path):
    """TrainConfig.merge_weight: the same training as ``trained_path`` (same seed and data), merged at
    the end; ``unmerged/`` holds exactly the weights the plain run saved, the model folder their
    interpolation with the base, and the record and card say so."""
    from xlir.training import TrainConfig, train
    from xlir.training.record import TrainingRecord

    out = tmp_path / "merged-run"
    result = train(TrainConfig(model=str(tiny_model_path), sources=["mlqa"], steps=3, batch_size=4, lr=1e-2,
                               max_length=16, max_groups=20, progress=False, output=out, merge_weight=0.25))
    plain, base = _state(trained_path), _state(tiny_model_path)
    unmerged, merged = _state(out / "unmerged"), _state(result.model_dir)
    moved = 0
    for key, t in plain.items():
        assert torch.equal(unmerged[key], t), key  # the trained weights, bit for bit
        if t.is_floating_point():
            want = 0.75 * base[key].float() + 0.25 * t.float()
            assert torch.allclose(merged[key].float(), want, atol=1e-6), key
            moved += int(not torch.equal(t, base[key]))
    assert moved > 10  # the check compares weights that training changed
    record = TrainingRecord.read(result.model_dir)
    assert record.merge["weight"] == 0.25 and record.merge["unmerged"] == "unmerged"
    assert TrainingRecord.read(out / "unmerged").merge is None
    card = (result.model_dir / "README.md").read_text()
    assert "λ = 0.25" in card and "unmerged/" in card
    # the merged model encodes differently from both parents
    e_plain, e_merged = _encode(trained_path), _encode(result.model_dir)
    assert not np.allclose(e_plain, e_merged, atol=1e-4)


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_merge_weight_outside_0_1_is_a_config_error(weight):
    from pydantic import ValidationError

    from xlir.training import TrainConfig

    with pytest.raises(ValidationError, match="merge_weight"):
        TrainConfig(merge_weight=weight)


@pytest.fixture(scope="module")
def merged_run(tiny_model_path, tmp_path_factory):
    """A training that merges at its end, from a copy of the tiny model carrying a licence file and a
    base-model record (as the converted e5-small does)."""
    import shutil

    from xlir.training import TrainConfig, train

    root = tmp_path_factory.mktemp("merged-run")
    base = root / "base"
    shutil.copytree(tiny_model_path, base)
    (base / "LICENSE").write_text("MIT License (test copy)\n")
    (base / "xlir_model.json").write_text(json.dumps({"upstream": "intfloat/multilingual-e5-small (MIT)"}))
    out = train(TrainConfig(model=str(base), sources=["mlqa"], steps=2, batch_size=4, lr=1e-2, max_length=16,
                            max_groups=20, progress=False, output=root / "run", merge_weight=0.5)).model_dir
    return base, out


def test_both_folders_of_a_merged_run_carry_the_licence_and_the_base_record(merged_run):
    _, out = merged_run
    for folder in (out, out / "unmerged"):
        assert (folder / "LICENSE").read_text() == "MIT License (test copy)\n", folder
        record = json.loads((folder / "xlir_training.json").read_text())
        assert record["base_model_record"] == {"upstream": "intfloat/multilingual-e5-small (MIT)"}, folder


def test_merging_a_merged_model_again_is_refused_naming_the_weights_to_merge(merged_run, tmp_path):
    from xlir.models.merge import merge_models

    base, out = merged_run
    with pytest.raises(ModelError, match="merged with its base model when its training ended") as exc:
        merge_models(str(base), str(out), 0.5, tmp_path / "twice")
    assert str(out / "unmerged") in str(exc.value)
    assert not (tmp_path / "twice").exists()
    once = merge_models(str(base), str(out / "unmerged"), 0.5, tmp_path / "once")  # the way the card says
    with pytest.raises(ModelError, match="already a WiSE-FT merge"):
        merge_models(str(base), str(once), 0.5, tmp_path / "again")


def test_a_model_folders_weights_are_its_modules_not_a_model_kept_inside_it(merged_run):
    from xlir.models.loading import weight_files

    _, out = merged_run
    names = [str(f.relative_to(out)) for f in weight_files(out)]
    assert "model.safetensors" in names and not any(n.startswith("unmerged") for n in names)


def test_a_base_the_trained_model_did_not_start_from_is_refused_unless_asked(tiny_model_path, trained_path,
                                                                            tmp_path):
    """WiSE-FT mixes a model with its own base: the trained record names it by fingerprint. An
    unrelated model of the same shape merged silently, and its card said "its base model"."""
    from xlir.cli import app
    from xlir.models.merge import merge_models
    from xlir.models.tiny import build_tiny_model

    other = build_tiny_model(tmp_path / "other", seed=7)
    with pytest.raises(ModelError, match="was fine-tuned from .* not from .*--any-base"):
        merge_models(str(other), str(trained_path), 0.5, tmp_path / "unrelated")
    assert not (tmp_path / "unrelated").exists()
    res = CliRunner().invoke(app, ["merge", str(other), str(trained_path), "-w", "0.5", "-o",
                                   str(tmp_path / "soup"), "--any-base"])
    assert res.exit_code == 0, res.output
    soup = json.loads((tmp_path / "soup" / "xlir_merge.json").read_text())
    assert soup["lineage"] == "any base (--any-base)"
    card = (tmp_path / "soup" / "README.md").read_text()
    assert "interpolated with its base model" not in card and "(any base (--any-base))" in card
    ok = merge_models(str(tiny_model_path), str(trained_path), 0.5, tmp_path / "ok")
    assert json.loads((ok / "xlir_merge.json").read_text())["lineage"] == "checked"
    with pytest.raises(ModelError, match="look swapped"):
        merge_models(str(trained_path), str(tiny_model_path), 0.5, tmp_path / "swapped")
    with pytest.raises(ModelError, match="same weights"):
        merge_models(str(trained_path), str(trained_path), 0.5, tmp_path / "self")
    with pytest.raises(ModelError, match="the base model .* is already a WiSE-FT merge"):
        merge_models(str(ok), str(trained_path), 0.5, tmp_path / "merged-base")


def test_the_output_may_not_replace_an_input_or_the_current_folder(tiny_model_path, trained_path, tmp_path,
                                                                   monkeypatch):
    import shutil

    from xlir.cli import app

    copy = tmp_path / "trained-copy"
    shutil.copytree(trained_path, copy)
    before = sorted(p.name for p in copy.iterdir())
    res = CliRunner().invoke(app, ["merge", str(tiny_model_path), str(copy), "-w", "0.5", "-o", str(copy),
                                   "--overwrite"])
    assert isinstance(res.exception, ConfigError) and "would replace the input" in str(res.exception)
    assert sorted(p.name for p in copy.iterdir()) == before  # the trained run is intact
    work = tmp_path / "work"
    work.mkdir()
    (work / "keep.txt").write_text("x")
    monkeypatch.chdir(work)
    res = CliRunner().invoke(app, ["merge", str(tiny_model_path), str(copy), "-w", "0.5", "-o", ".",
                                   "--overwrite"])
    assert isinstance(res.exception, ConfigError) and "current folder" in str(res.exception)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["trained-copy", "work"]  # no stray folder


def test_a_record_whose_merge_entry_is_not_an_object_is_a_data_error(tiny_model_path, trained_path,
                                                                      tmp_path):
    import shutil

    from xlir.errors import DataError
    from xlir.models.merge import merge_models

    copy = tmp_path / "odd"
    shutil.copytree(trained_path, copy)
    record = json.loads((copy / "xlir_training.json").read_text())
    (copy / "xlir_training.json").write_text(json.dumps({**record, "merge": "yes"}))
    with pytest.raises(DataError, match="xlir_training.json.*not an xlir training record"):
        merge_models(str(tiny_model_path), str(copy), 0.5, tmp_path / "out")
