"""InfoNCE against a hand computation, and gradient-cache gradients equal to plain ones."""

from __future__ import annotations

import math

import pytest
import torch

from xlir.training.grad_cache import cached_backward
from xlir.training.loss import info_nce

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny(tiny_model_path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_model_path), device="cpu")


def _manual(q, c, temp):
    q = q / q.norm(dim=1, keepdim=True)
    c = c / c.norm(dim=1, keepdim=True)
    total = 0.0
    for i in range(q.shape[0]):
        scores = [float(q[i] @ c[j]) / temp for j in range(c.shape[0])]
        total += -scores[i] + math.log(sum(math.exp(s) for s in scores))
    return total / q.shape[0]


def test_info_nce_matches_hand_computation():
    g = torch.Generator().manual_seed(0)
    q, p, n = (torch.randn(5, 8, generator=g, dtype=torch.float64) for _ in range(3))
    assert float(info_nce(q, p, temperature=0.05)) == pytest.approx(_manual(q, p, 0.05), rel=1e-9)
    assert float(info_nce(q, p, n, temperature=0.1)) == pytest.approx(_manual(q, torch.cat([p, n]), 0.1),
                                                                      rel=1e-9)
    sym = (_manual(q, p, 0.05) + _manual(p, q, 0.05)) / 2
    assert float(info_nce(q, p, temperature=0.05, symmetric=True)) == pytest.approx(sym, rel=1e-9)
    # a perfect match scores ~0 loss, and the loss is scale invariant (cosine)
    assert float(info_nce(p, p * 3.0, temperature=0.01)) < 1e-6


def test_gradient_cache_equals_plain_gradients(tiny):
    import copy

    from xlir.training.optim import set_dropout

    model = copy.deepcopy(tiny)
    set_dropout(model, 0.0)
    model.train()
    queries = [f"query: question number {i} about {w}" for i, w in enumerate("abcdefghij")]
    passages = [f"passage: the answer {i} is {w * (i + 1)}" for i, w in enumerate("abcdefghij")]
    negatives = [f"passage: unrelated text {i}" for i in range(10)]

    def encode(texts):
        return model(model.preprocess(texts))["sentence_embedding"]

    def loss_fn(q, p, n):
        return info_nce(q, p, n, temperature=0.05, symmetric=True)

    model.zero_grad()
    plain = loss_fn(encode(queries), encode(passages), encode(negatives))
    plain.backward()
    ref = {k: v.grad.clone() for k, v in model.named_parameters() if v.grad is not None}
    model.zero_grad()
    cached = cached_backward(encode, [queries, passages, negatives], loss_fn, chunk_size=3)
    got = {k: v.grad.clone() for k, v in model.named_parameters() if v.grad is not None}
    assert float(cached) == pytest.approx(plain.item(), abs=1e-6)
    assert got.keys() == ref.keys() and len(ref) > 20
    worst = max(float((got[k] - ref[k]).abs().max()) for k in ref)
    assert worst < 1e-5, worst
    assert max(float(v.abs().max()) for v in ref.values()) > 1e-3  # the gradients are not trivially 0


def test_gradient_cache_replays_dropout_masks(tiny):
    """With dropout on, chunk re-encoding must see the masks of the first pass (RNG restored)."""
    model = tiny
    model.train()
    texts = [f"query: sentence {i}" for i in range(6)]
    seen = []

    def encode(t):
        out = model(model.preprocess(t))["sentence_embedding"]
        seen.append(out.detach().clone())
        return out

    torch.manual_seed(0)
    cached_backward(encode, [texts, texts[::-1]], lambda q, p: info_nce(q, p), chunk_size=3)
    first, second = seen[:4], seen[4:]
    assert all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    model.eval()
    with torch.no_grad():
        clean = model(model.preprocess(texts[:3]))["sentence_embedding"]
    assert not torch.allclose(clean, first[0], atol=1e-4)  # dropout was really on
