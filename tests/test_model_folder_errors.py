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
