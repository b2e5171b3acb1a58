"""A broken local model folder is a ModelError naming the file, not a library traceback
(issue 11, defect 7: a truncated model.safetensors gave SafetensorError, a folder without config
a transformers ValueError)."""

from __future__ import annotations

import json
import shutil

import pytest

from xlir.errors import ModelError
from xlir.models.loading import check_model_folder, load_model


@pytest.fixture
def copy(tmp_path, tiny_model_path):
    dst = tmp_path / "m"
    shutil.copytree(tiny_model_path, dst)
    return dst


def test_intact_folder_passes(copy):
    check_model_folder(copy)
    assert load_model(str(copy)).encode(["x"]).shape[0] == 1


@pytest.mark.parametrize("fraction", [0.0, 0.001, 0.5, 0.999])
def test_truncated_safetensors_is_named(copy, fraction):
    weights = copy / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(ModelError, match=r"model\.safetensors: truncated"):
        load_model(str(copy))


def test_folder_without_config(copy):
    (copy / "config.json").unlink()
    with pytest.raises(ModelError, match=r"config\.json is missing"):
        load_model(str(copy))
    (copy / "modules.json").unlink()
    with pytest.raises(ModelError, match="neither modules.json .* nor config.json"):
        load_model(str(copy))


def test_garbage_modules_and_a_file_instead_of_a_folder(copy, tmp_path):
    (copy / "modules.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(ModelError, match=r"modules\.json: not a sentence-transformers modules list"):
        load_model(str(copy))
    f = tmp_path / "weights.bin"
    f.write_bytes(b"x")
    with pytest.raises(ModelError, match="is a file"):
        load_model(str(f))


def test_other_library_errors_on_a_local_folder_name_the_folder(copy):
    cfg = json.loads((copy / "config.json").read_text())
    cfg["hidden_size"] = "wide"
    (copy / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match=rf"cannot load the model folder {copy}"):
        load_model(str(copy))


def test_a_missing_folder_is_named_at_once_not_tried_on_the_hub(tmp_path, monkeypatch):
    """`runs/nope` (a typo under a folder that exists) was sent to the Hub as an id: a minute of
    retries, then an error that never said the folder is missing."""
    import time

    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    for name in ("runs/nope", "./nope", str(tmp_path / "a" / "b")):
        start = time.monotonic()
        with pytest.raises(ModelError, match="does not exist"):
            load_model(name)
        assert time.monotonic() - start < 5, name


def test_an_infinite_or_nan_setting_is_refused_before_training():
    from xlir.errors import ConfigError
    from xlir.training.config import TrainConfig

    for field in ("lr", "temperature", "merge_weight"):
        with pytest.raises(ConfigError, match=f"{field}: Input should be a finite number"):
            TrainConfig.build("test", **{field: float("inf")})
