"""What `--help` tells a new user: the defaults of train, and what --limit costs."""

from __future__ import annotations

from typer.testing import CliRunner

from xlir.cli import app
from xlir.training.config import TrainConfig


def _help(*cmd: str) -> str:
    res = CliRunner().invoke(app, [*cmd, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert res.exit_code == 0, res.output
    return " ".join(res.output.split())


def test_train_help_shows_the_config_defaults():
    text = _help("train")
    defaults = TrainConfig()
    for value in (defaults.batch_size, defaults.steps, defaults.lr, defaults.temperature, defaults.alpha):
        assert f"[default: {value}]" in text or f"[default: ({value})]" in text, value
    assert "(one-way)" in text and "(freeze-embeddings)" in text


def test_limit_says_the_pool_stays_whole_and_what_that_costs():
    text = _help("eval")
    assert "candidate pool stays whole" in text and "13,014 sentences" in text and "min" in text
    assert "--run-format" in text and "ranx" in text
