"""Small input guards of issue 11 (defect 11): empty language lists, unknown training languages,
MANIFEST paths that lead outside the data folder."""

from __future__ import annotations

import hashlib
import json

import pytest
from typer.testing import CliRunner

from xlir.cli import app
from xlir.errors import ConfigError, DataError


@pytest.mark.parametrize("value", [",", " , ,"])
def test_eval_languages_naming_no_language_is_an_error(data_dir, tmp_path, value):
    """`-l ,` silently meant "all languages"."""
    res = CliRunner().invoke(app, ["--data-dir", str(data_dir), "eval", "--model", "tiny", "-l", value,
                                   "--no-cache", "-o", str(tmp_path / "run")])
    assert isinstance(res.exception, ConfigError), res.output
    assert "names no language" in str(res.exception)
    assert not (tmp_path / "run").exists()


def test_data_show_languages_naming_no_language_is_an_error(data_dir):
    res = CliRunner().invoke(app, ["--data-dir", str(data_dir), "data", "show", "xquad-r", "-l", ","])
    assert isinstance(res.exception, ConfigError), res.output


@pytest.mark.parametrize(("value", "expected"), [("foo,bar", "'foo', 'bar'"), ("de,xx", "'xx'"),
                                                 (",", "names no language")])
def test_train_languages_names_the_unknown_codes(tmp_path, value, expected):
    """`train --languages foo,bar` only said "no training pairs" after loading every source."""
    res = CliRunner().invoke(app, ["train", "--model", "tiny", "--languages", value, "--steps", "1",
                                   "--output", str(tmp_path / "m")])
    assert isinstance(res.exception, ConfigError), res.output
    assert expected in str(res.exception) and "languages" in str(res.exception)


def test_train_languages_are_normalised():
    from xlir.training.config import TrainConfig

    assert TrainConfig(languages=["swh", "de", "en"]).languages == ["sw", "de", "en"]


def _manifest(root, paths):
    entries = [{"path": p, "bytes": 1, "sha256": hashlib.sha256(b"x").hexdigest()} for p in paths]
    (root / "MANIFEST.json").write_text(json.dumps({"files": entries}))


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_manifest_paths_outside_the_data_folder_are_refused(tmp_path, kind):
    """Verification followed `../` and absolute paths, hashing files elsewhere on the machine."""
    root = tmp_path / "data"
    (root / "xquad-r").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    if kind == "symlink":
        (root / "xquad-r" / "link").symlink_to(secret)
    rel = {"dotdot": "xquad-r/../../secret.txt", "absolute": str(secret), "symlink": "xquad-r/link"}[kind]
    _manifest(root, [rel])
    res = CliRunner().invoke(app, ["data", "verify", "--data-dir", str(root)])
    assert isinstance(res.exception, DataError), res.output
    msg = str(res.exception)
    assert str(root / "MANIFEST.json") in msg and "outside the data folder" in msg
