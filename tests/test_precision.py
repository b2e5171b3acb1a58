"""Precision switch: auto picks bf16 only on native hardware; bf16 encodings stay close to fp32."""

from __future__ import annotations

import numpy as np
import pytest

from xlir.errors import ConfigError
from xlir.evaluation.encode import EncodeStats, encode_texts, model_cache_key, plan_batches
from xlir.models import precision as prec

TEXTS = ["Der Himmel ist blau.", "The sky is blue.", "短い", "a much longer sentence " * 8,
         "El cielo es azul.", "Ein Satz, der etwas länger ist als die anderen, aber nicht viel."]


@pytest.fixture(scope="module")
def model():
    from xlir.evaluation.encode import configure_threads
    from xlir.models import load_model

    m = load_model("tiny")
    configure_threads(model=m)
    return m


@pytest.mark.parametrize("flags, expected",
                         [((), "fp32"), (("avx512_bf16",), "bf16"), (("amx_bf16",), "bf16")])
def test_auto_picks_bf16_only_where_native(monkeypatch, flags, expected):
    monkeypatch.setattr(prec, "cpu_bf16_flags", lambda: flags)
    assert prec.resolve_precision("auto", "cpu") == expected
    assert prec.resolve_precision("fp32", "cpu") == "fp32"
    rec = prec.describe_precision("auto", "cpu")
    assert rec == {"asked": "auto", "used": expected, "device": "cpu", "native_bf16": bool(flags),
                   "cpu_flags": list(flags)}


def test_explicit_bf16_without_native_support_warns_but_runs(monkeypatch):
    monkeypatch.setattr(prec, "cpu_bf16_flags", lambda: ())
    with pytest.warns(UserWarning, match="no native bf16"):
        assert prec.resolve_precision("bf16", "cpu") == "bf16"


def test_unknown_precision_is_a_config_error():
    with pytest.raises(ConfigError, match="precision must be one of auto, fp32, bf16, not 'fp16'"):
        prec.resolve_precision("fp16")


def test_cuda_without_gpu_is_not_native():
    import torch

    if not torch.cuda.is_available():
        assert prec.resolve_precision("auto", "cuda") == "fp32"


def test_bf16_and_fp32_encodings_agree(model):
    """Tolerance: every bf16 vector within cosine 0.999 of its fp32 twin (bf16 keeps 8 mantissa bits,
    relative error ~0.4% per product; sums over the width average it down), and same nearest text."""
    import torch

    a = encode_texts(model, TEXTS, prefix="passage: ", show_progress=False, precision="fp32")
    b = encode_texts(model, TEXTS, prefix="passage: ", show_progress=False, precision="bf16")
    assert b.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-6)  # fp32 normalisation
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.999
    assert not np.array_equal(a, b)  # the bf16 path really ran in bf16
    q = encode_texts(model, TEXTS, prefix="query: ", show_progress=False, precision="bf16")
    np.testing.assert_array_equal(np.argsort(-(q @ b.T), axis=1)[:, 0], np.argsort(-(q @ a.T), axis=1)[:, 0])
    # the model itself is untouched: still fp32 weights, training mode restored
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_bf16_vectors_are_cached_apart(model):
    assert model_cache_key(model, precision="bf16") == model_cache_key(model) + "+bf16"
    assert model_cache_key(model, precision="fp32") == model_cache_key(model)


def test_token_budget_batches_cover_every_text_once_and_respect_the_budget():
    rng = np.random.default_rng(0)
    lengths = rng.integers(3, 200, size=1000)
    batches = plan_batches(lengths, max_texts=64, max_tokens=2048)
    flat = np.concatenate(batches)
    assert sorted(flat.tolist()) == list(range(1000))
    for b in batches:
        assert len(b) <= 64 and len(b) * lengths[b].max() <= 2048
        assert lengths[b[0]] == lengths[b].max()
    assert np.all(np.diff(lengths[flat]) <= 0)  # one global length order
    executed = sum(len(b) * lengths[b[0]] for b in batches)
    assert executed / lengths.sum() < 1.05
    assert [len(b) for b in plan_batches(np.array([5000, 3, 3]), max_texts=8, max_tokens=100)] == [1, 2]


def test_bf16_weight_casts_shared_across_batches_change_no_vector(model):
    """encode_texts keeps autocast's weight casts for all its batches (one outer, disabled context):
    each weight is cast once, and each batch's vectors equal those of a call that encodes that
    batch alone (its own casts)."""
    import torch
    from torch.profiler import profile

    st = EncodeStats()
    with profile(record_shapes=True) as prof:
        together = encode_texts(model, TEXTS, show_progress=False, batch_size=2, precision="bf16", stats=st)
    assert len(st.batches) == 3
    linears = [m.weight for m in model.modules() if isinstance(m, torch.nn.Linear)]
    shapes = [list(w.shape) for w in linears]
    weight_casts = [e for e in prof.events() if e.name == "aten::_to_copy" and e.input_shapes[0] in shapes]
    assert len(weight_casts) == len(linears)  # each weight matrix cast once, not once per batch
    order = np.argsort([-len(model.tokenizer(t)["input_ids"]) for t in TEXTS], kind="stable")
    for start in range(0, len(TEXTS), 2):
        rows = order[start:start + 2]
        alone = encode_texts(model, [TEXTS[i] for i in rows], show_progress=False, precision="bf16")
        np.testing.assert_array_equal(together[rows], alone)


def test_token_budget_changes_batching_not_vectors(model):
    st_small, st_big = EncodeStats(), EncodeStats()
    a = encode_texts(model, TEXTS, show_progress=False, batch_tokens=40, stats=st_small)
    b = encode_texts(model, TEXTS, show_progress=False, batch_size=64, batch_tokens=None, stats=st_big)
    assert len(st_small.batches) > len(st_big.batches) == 1
    assert all(n * w <= 40 or n == 1 for n, w in st_small.batches)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_evaluate_records_precision(model, data_dir, monkeypatch, tmp_path):
    from xlir.data import load_collection
    from xlir.evaluation import EvalConfig, evaluate

    monkeypatch.setattr(prec, "cpu_bf16_flags", lambda: ())
    col = load_collection("xquad-r").subset(languages=["de", "en"], limit=3)
    res = evaluate(model, col, EvalConfig(precision="auto", cache_dir=str(tmp_path), show_progress=False))
    assert res.model["precision"]["used"] == "fp32" and res.config["precision"] == "auto"
    assert res.encoding["precision"] == "fp32"
    monkeypatch.setattr(prec, "cpu_bf16_flags", lambda: ("avx512_bf16",))
    res16 = evaluate(model, col, EvalConfig(precision="auto", cache_dir=str(tmp_path), show_progress=False))
    assert res16.model["precision"]["used"] == "bf16"
    assert res16.model["fingerprint"].endswith("+bf16") and res16.encoding["cache_hits"] == 0
    a32, a16 = res.aggregates(), res16.aggregates()
    for kind in ("mono", "cross", "multi"):  # tiny model: near-ties everywhere, so a loose bound
        assert abs(a32[kind]["AP"]["mean"] - a16[kind]["AP"]["mean"]) < 0.05


def test_training_embed_in_bf16_has_fp32_gradients(model):
    """The trainer's forward (objectives.embed): bf16 autocast changes the output, the gradients
    reach the fp32 master weights as fp32."""
    import torch

    from xlir.training.objectives import embed

    model.eval()  # dropout off, so the two forwards differ only by precision (gradients still flow)
    try:
        e32 = embed(model, TEXTS, precision="fp32")
        e16 = embed(model, TEXTS, precision="bf16")
        assert e16.dtype == torch.float32 and not torch.equal(e16, e32)
        assert torch.nn.functional.cosine_similarity(e16, e32).min() > 0.99
        model.zero_grad(set_to_none=True)
        (e16 @ e16.T).logsumexp(dim=1).sum().backward()
        grads = [p.grad for p in model.parameters() if p.requires_grad and p.grad is not None]
        assert grads and all(g.dtype == torch.float32 and torch.isfinite(g).all() for g in grads)
    finally:
        model.zero_grad(set_to_none=True)
