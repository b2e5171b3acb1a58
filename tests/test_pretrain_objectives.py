"""Pre-training stage: nested seeded language sets, balanced budgets, collision-free batches, both
objectives training a tiny model on real FLORES bitext through the one trainer, and kill + resume
of a pre-training run reproducing an uninterrupted one bit for bit."""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from pathlib import Path

import pytest

from kill_and_resume import KILL_SCRIPT
from xlir.errors import ConfigError
from xlir.training.pretrain import TARGETS, PretrainConfig, nested_language_sets, pretrain
from xlir.training.pretrain.corpus import language_pool, load_language_bitext
from xlir.training.pretrain.languages import feasible_ks


@pytest.fixture(scope="module")
def pool(data_dir):
    return language_pool(data_dir=data_dir)


def test_language_sets_are_nested_seeded_and_respect_arms(pool):
    assert len(pool) == 204 and "en" not in pool and set(TARGETS) <= set(pool)
    ks = [k for k in feasible_ks(len(pool), len(TARGETS)) if k > 0]
    assert ks[-1] == 128
    inside = nested_language_sets(pool, TARGETS, ks, "inside", seed=0)
    held = nested_language_sets(pool, TARGETS, ks, "heldout", seed=0)
    for small, big in zip(ks, ks[1:], strict=False):
        assert inside[big][:small] == inside[small] and held[big][:small] == held[small]
        assert len(set(inside[big])) == big
    assert set(inside[16][:15]) == set(TARGETS)  # targets enter first
    assert not set(held[128]) & set(TARGETS)  # and never in the held-out arm
    assert nested_language_sets(pool, TARGETS, [8], "inside", seed=0) == {8: inside[8]}
    assert nested_language_sets(pool, TARGETS, [8], "heldout", seed=1)[8] != held[8]


def _bitext(data_dir, langs, cut=None):
    from xlir.training.pretrain.corpus import bitext_pair_set

    per = {lang: load_language_bitext(lang, data_dir=data_dir) for lang in langs}
    return bitext_pair_set({k: v[:cut[k]] if cut and k in cut else v for k, v in per.items()}, ["flores"])


def test_round_robin_gives_each_language_the_same_share(data_dir):
    from xlir.training.samplers import build_sampler

    per = {lang: load_language_bitext(lang, data_dir=data_dir) for lang in ("ha", "de", "yo")}
    assert all(len(v) >= 800 for v in per.values())  # FLORES train + dev at least
    pairs = _bitext(data_dir, ("ha", "de", "yo"), {"de": 50}).pairs
    sampler = build_sampler("round-robin", pairs, 30, seed=3)
    drawn = [i for _ in range(30) for i in sampler.next_global().indices]
    # the stream took 300 of each language; what a batch could not take (a group already in it) waits
    counts = Counter(pairs[i].query_language for i in drawn + sampler.waiting)
    assert counts == {"ha": 300, "de": 300, "yo": 300}  # de (50 pairs) is repeated, not under-used
    assert len(sampler.waiting) < 30


def test_round_robin_batches_never_hold_two_translations_and_resume_exactly(data_dir):
    from xlir.training.samplers import build_sampler

    pairs = _bitext(data_dir, ("fr", "es", "sw")).pairs
    sampler = build_sampler("round-robin", pairs, 32, seed=0)
    for _ in range(20):
        b = [pairs[i] for i in sampler.next_global().indices]
        assert len(b) == 32
        assert len({p.group for p in b}) == 32 and len({p.positive for p in b}) == 32
    state = json.loads(json.dumps(sampler.state_dict()))  # what a checkpoint stores
    again = build_sampler("round-robin", pairs, 32, seed=0)
    again.load_state_dict(state)
    expected = [sampler.next_global().indices for _ in range(5)]
    assert [again.next_global().indices for _ in range(5)] == expected


def _params(model_dir):
    from xlir.models import load_model

    return {k: v.clone() for k, v in load_model(str(model_dir)).state_dict().items()}


@pytest.mark.parametrize("objective,budget", [("translation-ranking", 48), ("mlm", 600)])
def test_pretrain_stage_trains_and_saves_a_loadable_model(objective, budget, tiny_model_path, tmp_path,
                                                          data_dir):
    import torch

    torch.set_num_threads(1)
    out = pretrain(str(tiny_model_path), objective, ["ha", "yo"], budget, 0, tmp_path / "m",
                   config=PretrainConfig(batch_size=16, max_length=32), data_dir=data_dir)
    rec = json.loads((out / "pretrain.json").read_text())
    if objective == "translation-ranking":
        assert rec["steps"] == 3 and rec["budget_used"] == 48
    else:
        assert rec["budget_unit"] == "tokens" and rec["budget_used"] >= 600 * 0.5 and rec["steps"] >= 1
    assert math.isfinite(rec["last_loss"]) and rec["pairs_available"]["ha"] >= 800
    before, after = _params(tiny_model_path), _params(out)
    emb = [k for k in before if "word_embeddings" in k]
    assert emb and all(torch.equal(before[k], after[k]) for k in emb)  # frozen
    changed = [k for k in before if k not in emb and not torch.equal(before[k], after[k])]
    assert len(changed) > 5  # the encoder moved
    assert pretrain(str(tiny_model_path), objective, [], budget, 0, tmp_path / "k0") == tiny_model_path


def test_mlm_head_is_tied_to_the_word_embeddings(tiny_model_path, data_dir):
    from xlir.models import load_model
    from xlir.training.objectives import build_objective

    model = load_model(str(tiny_model_path))
    obj = build_objective("mlm", max_length=32)
    head = obj.modules(model)["mlm_head"]
    batch = _bitext(data_dir, ("sw",)).pairs[:8]
    loss = obj.loss(model, batch)
    assert math.log(1000) < loss.item() < 20  # about log(vocab) for a random model
    assert obj.loss(model, batch).item() == loss.item()  # masks are a function of (seed, step, rank)
    loss.backward()
    emb = model[0].auto_model.get_input_embeddings().weight
    assert emb.grad is not None and emb.grad.abs().sum() > 0  # the decoder is the embedding table
    assert sum(p.numel() for p in head.parameters()) == 32 * 32 + 32 + 2 * 32 + emb.shape[0]


def test_translation_ranking_is_info_nce_with_a_margin():
    """LaBSE's loss written out (Feng et al. 2022, eq. 1 both ways) equals the objective's."""
    import torch
    import torch.nn.functional as F

    from xlir.training.objectives import StepContext, build_objective

    torch.manual_seed(0)
    a, b = torch.randn(6, 16), torch.randn(6, 16)
    sim = F.normalize(a, dim=-1) @ F.normalize(b, dim=-1).T - 0.3 * torch.eye(6)
    labels = torch.arange(6)
    want = (F.cross_entropy(sim / 0.05, labels) + F.cross_entropy(sim.T / 0.05, labels)) / 2
    obj = build_objective("translation-ranking")
    got = obj.loss(a, b, None, StepContext(encode=None, step=1))
    assert got.item() == pytest.approx(want.item(), rel=1e-6)
    with pytest.raises(ConfigError, match="objective 'translation-ranking': margin"):
        build_objective("translation-ranking", margin=-1)


@pytest.mark.parametrize("objective", ["translation-ranking", "mlm"])
def test_pretraining_sigkill_then_resume_equals_uninterrupted_run_bit_for_bit(objective, tmp_path,
                                                                              tiny_model_path, data_dir):
    """The pre-training stage is the trainer: a kill after step 5 (checkpoint at 3) and a resume give
    the weights of an uninterrupted run, with the round-robin sampler's waiting pairs and the MLM head
    restored from the checkpoint."""
    import subprocess
    import sys

    from safetensors.torch import load_file

    from xlir.data.pairs import write_pairs
    from xlir.training import train
    from xlir.training.pretrain.stage import PretrainConfig, _train_config

    pairs_file = write_pairs(_bitext(data_dir, ("ha", "yo", "sw"), {"ha": 60, "yo": 60, "sw": 60}),
                             tmp_path / "bitext.jsonl")

    def config(out):
        cfg = _train_config(tiny_model_path, PretrainConfig(objective=objective, batch_size=8, lr=2e-3,
                                                            max_length=32), 7, out)
        return cfg.model_copy(update={"sources": [str(pairs_file)], "checkpoint_every": 3,
                                      "num_threads": 1, "resume": False})

    full = train(config(tmp_path / "full"))
    used = full.record.compute_precision["used"]  # PretrainConfig's default: auto
    if objective == "mlm":  # its forward is its own, in fp32: the record says what ran
        assert used == "fp32"
        assert ("note" in full.record.compute_precision) == full.record.compute_precision["native_bf16"]
    else:
        assert used == ("bf16" if full.record.compute_precision["native_bf16"] else "fp32")
    cfg = config(tmp_path / "killed")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    proc = subprocess.run([sys.executable, "-c", KILL_SCRIPT, cfg.model_dump_json(), "5"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "killed.checkpoints").iterdir()) == ["step-00000003"]
    resumed = train(cfg.model_copy(update={"resume": True}))
    assert resumed.record.resumed_from == [3] and resumed.losses == full.losses
    assert resumed.record.objective["name"] == objective
    a = load_file(str(tmp_path / "full" / "model.safetensors"))
    b = load_file(str(tmp_path / "killed" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch_equal(a[k], b[k]) for k in a)
    assert full.losses[0] != full.losses[-1]


def torch_equal(x, y) -> bool:
    return x.dtype == y.dtype and bool((x == y).all())
