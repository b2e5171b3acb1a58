"""`xlir report DIR`: the index page over a folder of runs, read from the files the runs wrote."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from xlir.cli import app
from xlir.errors import ConfigError


def _eval_run(folder, model, mono, rd):
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps({
        "model": {"name": model}, "collection": {"name": "xquad-r", "queries": 22},
        "aggregates": {"mono": {"AP": {"mean": mono}, "nDCG@10": {"mean": mono / 2}},
                       "cross": {"AP": {"mean": 0.25}}},
        "bias": {"rank_distance": {"mean": rd}}}))
    (folder / "summary.md").write_text(f"# xquad-r: {model}\n")
    (folder / "report.html").write_text("<html></html>")


def test_index_lists_every_run_with_its_figures_and_link(tmp_path):
    _eval_run(tmp_path / "a" / "eval-base", "e5-small", 0.5, 120.0)
    _eval_run(tmp_path / "b", "runs/hybrid", 0.75, 80.5)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text("{not json")
    (tmp_path / "study").mkdir()
    (tmp_path / "study" / "study.json").write_text(json.dumps(
        {"study": "batching", "preset": "cpu", "presets": {"cpu": {"model": "e5-small"}}}))
    (tmp_path / "study" / "report.md").write_text("# Study 1\n")
    (tmp_path / "study" / "report.html").write_text("<html></html>")

    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "4 run(s)" in res.output
    md = (tmp_path / "index.md").read_text()
    assert ("| [a/eval-base](a/eval-base/summary.md) | eval | e5-small | xquad-r | 22 | 0.500 | 0.250 | – | "
            "120.0 |") in md
    assert "| [b](b/summary.md) | eval | runs/hybrid | xquad-r | 22 | 0.750 | 0.250 | – | 80.5 |" in md
    assert "| broken | unreadable | results.json: JSONDecodeError |" in md
    assert "| [study](study/report.md) | study | e5-small | batching (cpu preset) |" in md
    html = (tmp_path / "index.html").read_text()
    # the page links the HTML twins, which a browser opens
    assert 'href="a/eval-base/report.html"' in html and 'href="study/report.html"' in html

    res = CliRunner().invoke(app, ["report", str(tmp_path), "--metric", "ndcg@10"])
    assert res.exit_code == 0, res.output
    md = (tmp_path / "index.md").read_text()
    assert "| [b](b/summary.md) | eval | runs/hybrid | xquad-r | 22 | 0.375 | – |" in md


def test_index_of_a_missing_folder_is_a_user_error(tmp_path):
    res = CliRunner().invoke(app, ["report", str(tmp_path / "nope")])
    assert res.exit_code != 0 and isinstance(res.exception, ConfigError)
    assert "is not a folder" in str(res.exception)
