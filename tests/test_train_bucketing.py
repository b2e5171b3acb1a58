"""Length-bucketed training forward: the same batch, loss and gradients as the whole-batch step,
fewer padded positions (xlir.models.batching, TrainConfig.bucket_tokens)."""

from __future__ import annotations

import copy

import pytest
import torch

from xlir.models.batching import bucketed_embeddings, right_padded_lengths

pytestmark = pytest.mark.usefixtures("one_thread")


def _features(lengths, width=None):
    width = width or max(lengths)
    ids = torch.zeros(len(lengths), width, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.arange(1, n + 1) + 100 * i
        mask[i, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids),
            "prompt_length": 3}


def test_rows_come_back_in_batch_order_and_chunks_respect_the_budget():
    lengths = [5, 17, 3, 9, 17, 1, 12, 4]
    seen = []

    def forward(f):  # each row's embedding identifies it: (first id, real length, chunk width)
        seen.append(tuple(f["input_ids"].shape))
        assert f["token_type_ids"].shape == f["input_ids"].shape and f["prompt_length"] == 3
        return torch.stack([f["input_ids"][:, 0].float(), f["attention_mask"].sum(1).float()], dim=1)

    feats = _features(lengths, width=20)  # padded past the longest text too
    out = bucketed_embeddings(forward, feats, max_tokens=36)
    expected = torch.tensor([[1.0 + 100 * i, float(n)] for i, n in enumerate(lengths)])
    assert torch.equal(out, expected)
    assert all(n * w <= 36 or n == 1 for n, w in seen) and len(seen) > 1
    assert sum(n for n, _ in seen) == len(lengths)
    widths = [w for _, w in seen]
    assert widths == sorted(widths, reverse=True) and widths[0] == 17  # each chunk cut to its longest
    assert sum(n * w for n, w in seen) < len(lengths) * 17  # less padding than the whole batch


def test_left_padding_is_run_whole():
    feats = _features([3, 5])
    feats["attention_mask"] = feats["attention_mask"].flip(1)
    assert right_padded_lengths(feats["attention_mask"]) is None
    calls = []
    bucketed_embeddings(lambda f: calls.append(f["input_ids"].shape) or torch.zeros(2, 1), feats, 5)
    assert calls == [(2, 5)]


@pytest.fixture(scope="module")
def mlqa_batch(data_dir):
    """A real batch: 12 MLQA pairs of varied length with one hard negative each."""
    from xlir.data.pairs import load_pairs

    ps = load_pairs(["mlqa"], data_dir=data_dir, max_groups=60, hard_negatives=1)
    pairs = [p for p in ps.pairs if p.negatives][::5][:12]
    assert len(pairs) == 12
    return pairs


@pytest.fixture(scope="module")
def tiny_train(tiny_model_path):
    from xlir.models import load_model
    from xlir.training.optim import set_dropout

    model = load_model(str(tiny_model_path))
    model.max_seq_length = 64
    set_dropout(model, 0.0)  # the two steps then differ only by padding (masked positions)
    model.train()
    return model


def _step(model, pairs, *, bucket_tokens, chunk_size, precision, scope=None):
    """One step's loss, gradients and the (texts, padded length) shapes the transformer ran."""
    from contextlib import nullcontext

    from xlir.training.objectives import StepContext, build_objective, embed

    shapes = []
    hook = model[0].register_forward_pre_hook(
        lambda _m, args: shapes.append(tuple(args[0]["input_ids"].shape)))
    try:
        objective = build_objective("info-nce", temperature=0.05, symmetric=True, hard_negatives=1)
        ctx = StepContext(lambda t: embed(model, t, None, precision, bucket_tokens), 0,
                          chunk_size=chunk_size, bucket_tokens=bucket_tokens)
        model.zero_grad(set_to_none=True)
        with scope if scope is not None else nullcontext():
            loss = float(objective.backward(model, pairs, ctx).detach())
    finally:
        hook.remove()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)
    return loss, grads, shapes


# (loss, gradient relative to the largest gradient). Measured on the tiny model, 12 MLQA pairs with
# a hard negative each: fp32 |d loss| 2.4e-7, max |d grad| 3.3e-6 at max |grad| 0.34 (1.0e-5 of it);
# bf16 |d loss| 9.5e-7, max |d grad| 6.7e-4 (2.0e-3). Padding adds only masked positions (zero
# attention weight), but other shapes sum in another order (GEMM blocking), and in bf16 such a
# last-bit difference can flip a rounding; the gradient cache changes neither figure much
TOLERANCE = {"fp32": (1e-5, 5e-5), "bf16": (1e-4, 1e-2)}


@pytest.mark.parametrize("chunk_size", [None, 5])
@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_bucketed_step_has_the_plain_steps_loss_and_gradients(tiny_train, mlqa_batch, precision, chunk_size):
    model = copy.deepcopy(tiny_train)
    loss0, grads0, shapes0 = _step(model, mlqa_batch, bucket_tokens=None, chunk_size=chunk_size,
                                   precision=precision)
    loss1, grads1, shapes1 = _step(model, mlqa_batch, bucket_tokens=96, chunk_size=chunk_size,
                                   precision=precision)
    executed = [sum(n * w for n, w in s) for s in (shapes0, shapes1)]
    assert executed[1] < 0.9 * executed[0], executed  # padding really saved (measured: 0.80, 0.85)
    loss_tol, grad_tol = TOLERANCE[precision]
    assert abs(loss1 - loss0) < loss_tol, (loss0, loss1)
    assert grads0.keys() == grads1.keys() and len(grads0) > 20
    scale = max(float(g.abs().max()) for g in grads0.values())
    worst = max(float((grads1[k] - grads0[k]).abs().max()) for k in grads0)
    assert scale > 1e-3 and worst < grad_tol * scale, (worst, scale)


def _weight_casts(model, fn) -> int:
    """How many dtype casts of a tensor shaped like one of ``model``'s linear weights ``fn`` ran
    (autocast's fp32 -> bf16 copies in the forward, their gradients' casts back in the backward)."""
    from torch.profiler import ProfilerActivity, profile

    shapes = {list(m.weight.shape).__repr__() for m in model.modules() if isinstance(m, torch.nn.Linear)}
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        fn()
    return sum(1 for e in prof.events() if e.name == "aten::_to_copy" and e.input_shapes
               and repr(list(e.input_shapes[0])) in shapes)


def test_one_bf16_cast_per_weight_per_step_with_the_same_gradients(tiny_train, mlqa_batch):
    """The trainer wraps a step in ``shared_weight_casts``: every length bucket and text list reuses
    one bf16 copy of each weight (it used to re-cast all of them per bucket), same loss and grads."""
    from xlir.models.precision import shared_weight_casts

    model = copy.deepcopy(tiny_train)
    kw = {"bucket_tokens": 96, "chunk_size": None, "precision": "bf16"}
    plain, shared = {}, {}
    casts_plain = _weight_casts(model, lambda: plain.update(zip(
        "lgs", _step(model, mlqa_batch, **kw), strict=True)))
    casts_shared = _weight_casts(model, lambda: shared.update(zip("lgs", _step(
        model, mlqa_batch, scope=shared_weight_casts("bf16"), **kw), strict=True)))
    n_linear = sum(1 for m in model.modules() if isinstance(m, torch.nn.Linear))
    chunks = len(plain["s"])
    # measured: 24 chunks, 13 linear layers (the pooler's unused): 600 casts plain, 25 shared
    assert chunks >= 4 and shared["s"] == plain["s"]
    assert casts_plain >= 2 * chunks * (n_linear - 1)  # each chunk: every used weight, there and back
    assert casts_shared <= 2 * n_linear, (casts_shared, n_linear)  # once per step, there and back
    assert abs(shared["l"] - plain["l"]) < TOLERANCE["bf16"][0]
    assert shared["g"].keys() == plain["g"].keys() and len(plain["g"]) > 20  # gradients still reach weights
    scale = max(float(g.abs().max()) for g in plain["g"].values())
    worst = max(float((shared["g"][k] - plain["g"][k]).abs().max()) for k in plain["g"])
    assert worst < TOLERANCE["bf16"][1] * scale, (worst, scale)


def test_bucketing_needs_an_objective_that_encodes_batches(tmp_path, tiny_model_path):
    from xlir.errors import ConfigError
    from xlir.training import TrainConfig, train

    cfg = TrainConfig(model=str(tiny_model_path), objective="mlm", sources=["mlqa"], max_groups=5,
                      steps=1, bucket_tokens=256, progress=False, output=tmp_path / "m")
    with pytest.raises(ConfigError, match="bucket_tokens"):
        train(cfg)
