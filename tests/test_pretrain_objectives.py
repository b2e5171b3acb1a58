"""Pre-training stage: nested seeded language sets, balanced budgets, collision-free batches, and both
objectives training a tiny model on real FLORES bitext."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from xlir.training.pretrain import OBJECTIVES, TARGETS, PretrainConfig, nested_language_sets, pretrain
from xlir.training.pretrain.corpus import balanced_stream, language_pool, load_language_bitext
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


def test_balanced_stream_gives_each_language_the_same_share(data_dir):
    per = {lang: load_language_bitext(lang, data_dir=data_dir) for lang in ("ha", "de", "yo")}
    assert all(len(v) >= 800 for v in per.values())  # FLORES train + dev at least
    stream = balanced_stream({"ha": per["ha"], "de": per["de"][:50], "yo": per["yo"]}, seed=3)
    counts = Counter(next(stream).language for _ in range(900))
    assert counts == {"ha": 300, "de": 300, "yo": 300}  # de (50 pairs) is repeated, not under-used


def test_batches_never_hold_two_translations_of_one_sentence(data_dir):
    per = {lang: load_language_bitext(lang, data_dir=data_dir) for lang in ("fr", "es", "sw")}
    obj = OBJECTIVES.get("translation-ranking")()
    batches = obj.batches(balanced_stream(per, seed=0), 32)
    for _ in range(20):
        b = next(batches)
        assert len(b) == 32
        assert len({p.group for p in b}) == 32 and len({p.english for p in b}) == 32


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
    from xlir.training.pretrain.masked_lm import MaskedLM

    model = load_model(str(tiny_model_path))
    obj = MaskedLM(max_length=32)
    obj.modules(model)
    batch = load_language_bitext("sw", data_dir=data_dir)[:8]
    loss = obj.loss(model, batch)
    assert math.log(1000) < loss.item() < 20  # about log(vocab) for a random model
    loss.backward()
    emb = model[0].auto_model.get_input_embeddings().weight
    assert emb.grad is not None and emb.grad.abs().sum() > 0  # the decoder is the embedding table
    assert sum(p.numel() for p in obj._head.parameters()) == 32 * 32 + 32 + 2 * 32 + emb.shape[0]
