"""`xlir data list` and `xlir data verify` through the real CLI app."""

from __future__ import annotations

import hashlib
import json
import shutil

from typer.testing import CliRunner

from xlir.cli import app

runner = CliRunner()


def test_data_list(data_dir):
    result = runner.invoke(app, ["--data-dir", str(data_dir), "data", "list"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
    for name in ("xquad-r", "mlqa-r", "xquad", "mlqa", "tydiqa", "miracl", "afriqa", "ntrex",
                 "sib200", "tatoeba", "mldr", "beir"):
        assert name in lines, name
    assert "present" in lines["xquad-r"] and " 11  ar,de,el" in lines["xquad-r"]
    assert "corpus: none" in lines["miracl"]
    js = runner.invoke(app, ["data", "list", "--json", "--data-dir", str(data_dir)])
    rows = {r["name"]: r for r in json.loads(js.output)}
    assert len(rows["sib200"]["languages"]) == 205 and rows["xquad-r"]["size"] > 1_000_000


def test_data_show(data_dir):
    result = runner.invoke(app, ["data", "show", "mlqa-r", "-l", "de,en", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "de       queries    512  documents    2362" in result.output


def _manifest(root, files):
    entries = [{"path": f, "bytes": (root / f).stat().st_size,
                "sha256": hashlib.sha256((root / f).read_bytes()).hexdigest()} for f in files]
    (root / "MANIFEST.json").write_text(json.dumps({"files": entries}), encoding="utf-8")


def test_data_verify(data_dir, tmp_path):
    ok = runner.invoke(app, ["data", "verify", "--only", "xquad-r", "--data-dir", str(data_dir)])
    assert ok.exit_code == 0, ok.output
    assert "13/13 files ok, 0 missing, 0 mismatched" in ok.output

    (tmp_path / "xquad-r").mkdir()
    names = ["xquad-r/de.json.gz", "xquad-r/en.json.gz", "xquad-r/LICENSE"]
    for f in names:
        shutil.copy(data_dir / f, tmp_path / f)
    _manifest(tmp_path, names)
    assert runner.invoke(app, ["data", "verify", "--data-dir", str(tmp_path)]).exit_code == 0
    (tmp_path / "xquad-r" / "en.json.gz").unlink()
    lic = tmp_path / "xquad-r" / "LICENSE"
    lic.write_bytes(lic.read_bytes().replace(b"a", b"b", 1))  # same size, different content
    bad = runner.invoke(app, ["data", "verify", "--data-dir", str(tmp_path)])
    assert bad.exit_code == 1
    assert "MISSING   xquad-r/en.json.gz" in bad.output
    assert "MISMATCH  xquad-r/LICENSE: sha256 differs" in bad.output
    assert "1/3 files ok, 1 missing, 1 mismatched" in bad.output
