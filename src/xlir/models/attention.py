"""Which attention kernel a transformer uses while xlir trains it on a CPU.

Why: transformers' default kernel is torch's ``scaled_dot_product_attention`` (``sdpa``). On a CPU its
fused (flash) kernel serves inference, but with attention dropout, which every BERT/XLM-R model
applies while training (``attention_probs_dropout_prob`` 0.1), torch falls back to its *math* path.
That path (torch 2.13) up-casts bf16 queries, keys and values to fp32, so under bf16 autocast the
attention products run at fp32 speed, and it adds a mask-safe softmax (``isneginf``/``all``/``where``
over the ``[batch, heads, length, length]`` scores of every layer). transformers' ``eager`` attention
computes the same function (scores, softmax in fp32, dropout, weighted sum) with plain ops that
autocast runs in bf16. Measured on e5-small, one step on 64 texts of 88 tokens, 2 threads
(BENCHMARKS.md §4): bf16 3.6-3.9 s eager against 4.2-4.3 s sdpa; fp32 6.4 s against 6.5-7.3 s. So
CPU training switches to ``eager`` and the saved model goes back to what it was loaded with (sdpa
stays the kernel for encoding, where no dropout runs). On CUDA, sdpa's fused kernels support
dropout and are the fast path: left alone.
"""

from __future__ import annotations

TRAINING_ATTENTION_CPU = "eager"


def _transformers(model) -> list:
    """The Hugging Face ``PreTrainedModel`` modules inside a (sentence-transformers) model."""
    try:
        from transformers import PreTrainedModel
    except ImportError:  # pragma: no cover - transformers is a dependency
        return []
    found, seen = [], set()
    for module in model.modules():
        if isinstance(module, PreTrainedModel) and id(module.config) not in seen:
            seen.add(id(module.config))
            found.append(module)
    return found


def attention_implementations(model) -> list[str]:
    """The attention kernel of each transformer in ``model`` (``"sdpa"``, ``"eager"``, ...)."""
    return [str(getattr(m.config, "_attn_implementation", None)) for m in _transformers(model)]


def set_attention(model, implementation: str) -> list[str]:
    """Switch every transformer in ``model`` to ``implementation``; returns what they used before (for
    :func:`restore_attention`). A model that cannot switch keeps its kernel (transformers warns)."""
    before = []
    for module in _transformers(model):
        old = getattr(module.config, "_attn_implementation", None)
        before.append(old)
        if old is not None and old != implementation:
            module.set_attn_implementation(implementation)
    return before


def restore_attention(model, before: list[str | None]) -> None:
    """Undo :func:`set_attention` (``before`` is what it returned)."""
    for module, old in zip(_transformers(model), before, strict=False):
        if old is not None and getattr(module.config, "_attn_implementation", None) != old:
            module.set_attn_implementation(old)


def training_attention(model, device: str) -> list[str | None] | None:
    """Switch ``model`` to the attention kernel xlir trains with on ``device`` (eager on a CPU, see the
    module docstring); returns what to restore before saving, or None when nothing changed."""
    if not str(device).startswith("cpu"):
        return None
    before = set_attention(model, TRAINING_ATTENTION_CPU)
    return before if any(b not in (None, TRAINING_ATTENTION_CPU) for b in before) else None
