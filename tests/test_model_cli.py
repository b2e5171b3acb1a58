"""`xlir model list / convert / info` on the real embedded model and the tiny test model."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from xlir.cli import app
from xlir.errors import ModelError
from xlir.models import load_model

runner = CliRunner()


def test_model_list_shows_every_short_name():
    result = runner.invoke(app, ["model", "list"])
    assert result.exit_code == 0, result.output
    for name in ("e5-small", "multilingual-e5-small", "tiny"):
        assert name in result.output
    assert "(default)" in result.output


def test_model_convert_reports_folder_and_vocabulary():
    from xlir.models.convert import converted_dir

    result = runner.invoke(app, ["model", "convert"])
    assert result.exit_code == 0, result.output
    assert str(converted_dir()) in result.output
    assert "250002 tokenizer pieces = file pieces (0 mismatches); 250037 embedding rows" in result.output


def test_model_info_tiny_prints_real_figures():
    result = runner.invoke(app, ["model", "info", "tiny"])
    assert result.exit_code == 0, result.output
    assert "2 layers, hidden 32" in result.output
    # 28850 x 32 word embeddings (trimmed vocabulary) + 130 x 32 positions + 2 x 32 types + 64 LN
    # + 2 layers + 32x32 pooler
    assert "parameters    945,632" in result.output
    assert re.search(r"fingerprint   [0-9a-f]{16}\n", result.output)
    assert '"query": "query: "' in result.output


def test_model_info_unknown_path_is_a_model_error(tmp_path):
    result = runner.invoke(app, ["model", "info", str(tmp_path / "absent")])
    assert result.exit_code != 0
    assert isinstance(result.exception, ModelError)
    with pytest.raises(ModelError, match="short names"):
        load_model(str(tmp_path / "absent"))
