"""The trainer end to end on the tiny model and real MLQA-R pairs.

SIGKILL + resume must reproduce an uninterrupted run bit for bit; two gloo processes must match one
process with the same global batch; a non-finite loss must stop with a message naming the step and
keep the last good checkpoint; the output must load with SentenceTransformer.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kill_and_resume import KILL_SCRIPT
from xlir.data.pairs import load_pairs, write_pairs
from xlir.errors import ConfigError
from xlir.training import TrainConfig, train

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pairs_file(tmp_path_factory, data_dir):
    ps = load_pairs(["mlqa"], data_dir=data_dir, max_groups=150)
    return write_pairs(ps, tmp_path_factory.mktemp("pairs") / "mlqa150.jsonl")


def _config(model, pairs_file, output, **kw):
    """fp32 unless a test asks otherwise: several tests compare runs to fp32 rounding (1e-5)."""
    base = dict(model=str(model), sources=[str(pairs_file)], steps=8, batch_size=8, lr=2e-3,
                checkpoint_every=3, max_length=48, num_threads=1, progress=False, output=output,
                precision="fp32")
    return TrainConfig(**{**base, **kw})


def _weights(folder):
    from safetensors.torch import load_file

    return load_file(str(Path(folder) / "model.safetensors"))


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "src")}


# default (None): on CPU each batch runs as length-sorted micro-chunks of <= 256 padded tokens; 0: whole
@pytest.mark.parametrize("precision, bucket_tokens", [("fp32", None), ("bf16", None), ("fp32", 0)],
                         ids=["fp32", "bf16", "fp32-whole-batches"])
def test_sigkill_then_resume_equals_uninterrupted_run_bit_for_bit(tmp_path, tiny_model_path, pairs_file,
                                                                  precision, bucket_tokens):
    from sentence_transformers import SentenceTransformer

    kw = dict(precision=precision, bucket_tokens=bucket_tokens)
    full = train(_config(tiny_model_path, pairs_file, tmp_path / "full", **kw))
    assert len(full.losses) == 8
    assert full.record.compute_precision["used"] == precision  # bf16 autocast; weights stay float32

    cfg = _config(tiny_model_path, pairs_file, tmp_path / "killed", **kw)
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, cfg.model_dump_json(), "5"], env=_env(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]  # really killed, after step 5 (checkpoint: 3)
    ckpts = sorted(p.name for p in (tmp_path / "killed.checkpoints").iterdir())
    assert ckpts == ["step-00000003"]
    assert not (tmp_path / "killed" / "model.safetensors").exists()

    resumed = train(cfg.model_copy(update={"resume": True}))
    assert resumed.record.resumed_from == [3]
    a, b = _weights(tmp_path / "full"), _weights(tmp_path / "killed")
    assert a.keys() == b.keys()
    changed = 0
    for k in a:
        assert a[k].dtype == b[k].dtype and bool((a[k] == b[k]).all()), f"{k} differs after resume"
    base = _weights(tiny_model_path)
    changed = sum(not bool((a[k] == base[k]).all()) for k in a)
    assert changed > 20  # training really moved the (non-embedding) weights
    assert resumed.losses == full.losses  # the log holds steps 1..8 once, identical values

    # the output is a sentence-transformers folder with its prompts, plus the training record
    st = SentenceTransformer(str(tmp_path / "killed"), device="cpu")
    assert st.prompts["query"] == "query: " and st.prompts["document"] == "passage: "
    assert "passage" not in st.prompts and st.default_prompt_name == "query"
    record = json.loads((tmp_path / "killed" / "xlir_training.json").read_text())
    assert record["sources"] == ["mlqa"] and record["steps"] == 8
    assert record["config"]["sampler"] == "hybrid" and record["versions"]["torch"]
    assert sum(record["batch_kinds"].values()) == 8

    # publishable: the checkpoints sit beside the model folder, the card is xlir's, not the stock one
    assert not (tmp_path / "killed" / "checkpoints").exists()
    # the last two checkpoints are kept (a damaged newest one falls back to the one before)
    kept = sorted(p.name for p in (tmp_path / "killed.checkpoints").iterdir())
    assert kept == ["step-00000006", "step-00000008"]
    card = (tmp_path / "killed" / "README.md").read_text()
    assert "Base model: Unknown" not in card and "## Training" in card
    assert "**Steps**: 8 of 8 pairs" in card and "hybrid (alpha = 0.5" in card
    assert "arXiv:2408.10536" in card and "arXiv:2004.05484" in card and "## Licence" in card
    assert "**Precision**: float32 weights; " in card and "No evaluation was run" in card
    assert ("matrix products in bf16 (autocast" in card) == (precision == "bf16")
    assert record["compute_precision"]["used"] == precision and record["config"]["precision"] == precision
    assert record["config"]["bucket_tokens"] == bucket_tokens
    assert record["bucket_tokens"] == (256 if bucket_tokens is None else 0)


WORKER = textwrap.dedent("""
    import json, sys
    from xlir.training import TrainConfig, train
    train(TrainConfig(**json.loads(sys.argv[1])))
""")


def test_two_gloo_processes_with_grad_cache_match_one_process(tmp_path, tiny_model_path, pairs_file):
    kw = dict(steps=3, dropout=0.0, checkpoint_every=10, symmetric=True)
    single = train(_config(tiny_model_path, pairs_file, tmp_path / "one", **kw))
    # the 2-process run also uses the gradient cache (chunks of 2 of its 4 local pairs)
    cfg = _config(tiny_model_path, pairs_file, tmp_path / "two", chunk_size=2, **kw)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node", "2", str(script), cfg.model_dump_json()],
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    record = json.loads((tmp_path / "two" / "xlir_training.json").read_text())
    assert record["world_size"] == 2
    two = [r["loss"] for r in map(json.loads, (tmp_path / "two" / "training_log.jsonl").open())]
    assert two == pytest.approx(single.losses, abs=1e-5)
    assert single.losses[0] != pytest.approx(single.losses[-1], abs=1e-3)  # the model did change
    a, b = _weights(tmp_path / "one"), _weights(tmp_path / "two")
    # Adam divides by sqrt(v): float noise of ~1e-7 in near-zero gradients moves weights ~1e-5
    assert max(float((a[k] - b[k]).abs().max()) for k in a) < 1e-4
    assert max(float((a[k] - _weights(tiny_model_path)[k]).abs().max()) for k in a) > 1e-3


def test_non_finite_loss_names_step_and_keeps_last_good_checkpoint(tmp_path, tiny_model_path, pairs_file):
    import torch

    from xlir.training.checkpoint import load as load_checkpoint
    from xlir.training.trainer import NonFiniteLossError

    def poison(info):
        if info.step == 3:  # after step 3 (checkpoint at 2): break a weight, step 4 must fail
            with torch.no_grad():
                next(p for p in info.model.parameters() if p.requires_grad).fill_(float("nan"))

    cfg = _config(tiny_model_path, pairs_file, tmp_path / "nan", steps=6, checkpoint_every=2)
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss \(nan\) at step 4 .*step-00000002"):
        train(cfg, on_step=poison)
    ckpts = sorted(p.name for p in (tmp_path / "nan.checkpoints").iterdir())
    assert ckpts == ["step-00000002"]
    state, _ = load_checkpoint(tmp_path / "nan.checkpoints" / ckpts[0])
    assert all(bool(torch.isfinite(t).all()) for t in state["model"].values())
    bad = json.loads((tmp_path / "nan" / "nonfinite-step-4.json").read_text())
    assert len(bad["pairs"]) == 8


def test_cli_with_toml_config_and_refusing_to_overwrite(tmp_path, tiny_model_path, pairs_file):
    from typer.testing import CliRunner

    from xlir.cli import app

    toml = tmp_path / "train.toml"
    toml.write_text(f'[train]\nmodel = "{tiny_model_path}"\nsources = ["{pairs_file}"]\n'
                    f'steps = 2\nbatch_size = 8\nnum_threads = 1\nmax_length = 32\n')
    out = tmp_path / "cli"
    runner = CliRunner()
    res = runner.invoke(app, ["train", "--config", str(toml), "--sampler", "xy", "--output", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "trained" in res.output
    record = json.loads((out / "xlir_training.json").read_text())
    assert record["config"]["sampler"] == "xy" and record["config"]["steps"] == 2
    res = runner.invoke(app, ["train", "--config", str(toml), "--output", str(out), "-q"])
    assert isinstance(res.exception, ConfigError) and "already holds a training run" in str(res.exception)
    from xlir.training.config import recipe

    quick = recipe("quick", output=tmp_path / "q")
    assert (quick.model, quick.sampler, quick.alpha, quick.steps, quick.max_length) == (
        "e5-small", "hybrid", 0.5, 120, 96)
    bad = tmp_path / "bad.toml"
    bad.write_text("steps = -1\n")
    with pytest.raises(ConfigError, match="steps"):
        TrainConfig.from_toml(bad)


def test_hard_negatives_that_would_drop_a_whole_source_are_refused(data_dir, monkeypatch):
    """AfriQA's gold passages are single documents and bitext has no paragraphs: with hard negatives
    every pair of such a source lacks them. Dropping the pairs short of k negatives then trained on
    MLQA alone while the config (and the record's sources) said mlqa + afriqa; now it is an error
    naming the source. A source that only loses some pairs (MLQA, short paragraphs) still trains."""
    from xlir.errors import ConfigError
    from xlir.training import TrainConfig
    from xlir.training.trainer import _training_pairs

    monkeypatch.setenv("XLIR_DATA_DIR", str(data_dir))
    for extra in ("afriqa", "ntrex"):
        config = TrainConfig(sources=["mlqa", extra], hard_negatives=1, max_groups=30)
        with pytest.raises(ConfigError, match=f"no {extra} pair has 1 hard negative"):
            _training_pairs(config, None)
    kept = _training_pairs(TrainConfig(sources=["mlqa"], hard_negatives=1, max_groups=30), None)
    assert 0 < kept.meta["dropped_without_hard_negatives"] < len(kept.pairs)
