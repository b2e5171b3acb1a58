"""Output paths are checked before any work, and an evaluation never silently replaces another
(issue 11, defects 5 and 6): one-line errors, no traceback, nothing encoded first."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from xlir.cli import app
from xlir.errors import ConfigError


def _eval(data_dir, *args):
    return CliRunner().invoke(app, ["--data-dir", str(data_dir), "eval", "--model", "tiny", "--dataset",
                                    "xquad-r", "--limit", "3", "--quiet", "--no-runs", *args])


@pytest.mark.parametrize("case", ["existing-file", "under-a-file", "sys"])
def test_eval_output_that_cannot_be_a_folder_fails_before_any_work(data_dir, tmp_path, case, monkeypatch):
    f = tmp_path / "results.json"
    f.write_text("{}")
    out = {"existing-file": f, "under-a-file": f / "run", "sys": "/sys/xlir-run"}[case]
    import xlir.models

    monkeypatch.setattr(xlir.models, "load_model",
                        lambda *a, **k: pytest.fail("model loaded before the check"))
    res = _eval(data_dir, "-l", "de,en", "--no-cache", "-o", str(out))
    assert isinstance(res.exception, ConfigError), res.output
    assert str(out) in str(res.exception) and "\n" not in str(res.exception)


def test_eval_read_only_cache_dir_is_a_one_line_error(data_dir, tmp_path):
    res = _eval(data_dir, "-l", "de,en", "--cache-dir", "/sys/xlir-cache", "-o", str(tmp_path / "run"))
    assert isinstance(res.exception, ConfigError), res.output
    assert "embedding cache folder /sys/xlir-cache is not writable" in str(res.exception)
    assert not (tmp_path / "run").exists()


def test_eval_refuses_a_folder_holding_another_evaluation_unless_overwrite(data_dir, tmp_path):
    out = tmp_path / "run"
    first = _eval(data_dir, "-l", "de,en,es", "--no-cache", "-o", str(out))
    assert first.exit_code == 0, first.output
    before = (out / "results.json").read_text()

    again = _eval(data_dir, "-l", "de,en,es", "--no-cache", "-o", str(out))  # the same evaluation
    assert again.exit_code == 0, again.output

    other = _eval(data_dir, "-l", "de,en", "--no-cache", "-o", str(out))
    assert isinstance(other.exception, ConfigError), other.output
    assert "holds a different evaluation" in str(other.exception) and "--overwrite" in str(other.exception)
    assert json.loads((out / "results.json").read_text())["collection"] == json.loads(before)["collection"]

    (out / "runs" / "multi").mkdir(parents=True)
    (out / "runs" / "multi" / "es.trec.gz").write_bytes(b"stale")
    res = _eval(data_dir, "-l", "de,en", "--no-cache", "-o", str(out), "--overwrite")
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "results.json").read_text())
    assert sorted(meta["collection"]["query_languages"]) == ["de", "en"]
    assert not (out / "runs").exists()  # the old run's files were cleared, not left beside the new


def test_overwrite_never_clears_a_folder_that_is_not_a_run(data_dir, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    for extra in ([], ["--overwrite"]):
        res = _eval(data_dir, "-l", "de,en", "--no-cache", "-o", str(tmp_path), *extra)
        assert isinstance(res.exception, ConfigError), res.output
        assert "not an xlir" in str(res.exception)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_train_output_that_is_a_file_is_a_one_line_error(tmp_path, tiny_model_path):
    f = tmp_path / "model"
    f.write_text("x")
    res = CliRunner().invoke(app, ["train", "--model", str(tiny_model_path), "--sources", "mlqa",
                                   "--steps", "1", "--output", str(f)])
    assert isinstance(res.exception, ConfigError), res.output
    assert f"training output folder {f} is a file" in str(res.exception)


def test_study_and_quickstart_outputs_that_are_files_are_one_line_errors(tmp_path):
    f = tmp_path / "out"
    f.write_text("x")
    res = CliRunner().invoke(app, ["study", "batching", "--preset", "smoke", "--output", str(f)])
    assert isinstance(res.exception, ConfigError), res.output
    assert f"study folder {f} is a file" in str(res.exception)
    res = CliRunner().invoke(app, ["quickstart", "--output", str(f)])
    assert isinstance(res.exception, ConfigError), res.output
    assert f"quickstart folder {f} is a file" in str(res.exception)
