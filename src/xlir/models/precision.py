"""Numeric precision of the encoder's matrix products: one switch, ``auto`` / ``fp32`` / ``bf16``.

Why: CPUs with ``avx512_bf16`` (AMD Zen 4+, Intel Cooper Lake+) or AMX (Intel Sapphire Rapids+), and
every CUDA GPU since Ampere, multiply bf16 matrices about twice as fast as fp32 ones (measured on the
2-core EPYC this project runs on: 88 vs 202 GFLOP/s for a 2048x2048 ``torch.mm``, BENCHMARKS.md). bf16
keeps fp32's exponent range, so unlike fp16 it needs no loss scaling (Kalamkar et al. 2019, "A Study
of BFLOAT16 for Deep Learning Training", arXiv 1905.12322).

What ``bf16`` means here, everywhere (evaluation and training): ``torch.autocast`` with
``dtype=torch.bfloat16`` around the *transformer* module only, so its linear layers and attention run
in bf16 while autocast keeps its fp32 list (softmax, layer norm, ...) in fp32; the pooling and
normalisation modules after it get fp32 token embeddings and run in fp32, and every vector that
leaves the encoder (stored embeddings, the loss's inputs) is fp32. Weights stay fp32 (master
weights; the optimizer and its state never see bf16).

``auto`` picks bf16 only where it is native (:func:`native_bf16`): on a CPU without bf16 instructions
oneDNN emulates bf16 and it is *slower* than fp32, so ``auto`` keeps fp32 there. Asking for ``bf16``
explicitly on such hardware works (same numbers) but warns.
"""

from __future__ import annotations

import functools
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Literal

from xlir.errors import ConfigError

Precision = Literal["auto", "fp32", "bf16"]
PRECISIONS: tuple[str, ...] = ("auto", "fp32", "bf16")
# CPU flags (Linux /proc/cpuinfo) that mean native bf16 matrix products in oneDNN
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@functools.cache
def cpu_bf16_flags() -> tuple[str, ...]:
    """The native-bf16 flags this CPU reports (empty when none, or when not readable)."""
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
            break
    return tuple(f for f in BF16_CPU_FLAGS if f in flags)


def native_bf16(device: str = "cpu") -> bool:
    """Whether ``device`` multiplies bf16 matrices natively (CUDA: compute capability 8.0+)."""
    import torch

    kind = str(device).split(":")[0]
    if kind == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False))
    if kind == "cpu":
        return bool(cpu_bf16_flags())
    return False


def resolve_precision(precision: str, device: str = "cpu") -> str:
    """``"fp32"`` or ``"bf16"``: the precision that ``precision`` means on ``device``."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if precision == "bf16" and not native_bf16(device):
        warnings.warn(f"precision bf16 asked for on {device}, which has no native bf16 matrix products: "
                      "it is emulated and slower than fp32 (use --precision auto)", stacklevel=2)
    return precision


def describe_precision(precision: str, device: str = "cpu") -> dict:
    """What to record in results.json / xlir_training.json: asked, used, and why."""
    kind = str(device).split(":")[0]
    return {"asked": precision, "used": resolve_precision(precision, device), "device": kind,
            "native_bf16": native_bf16(device),
            **({"cpu_flags": list(cpu_bf16_flags())} if kind == "cpu" else {})}


def autocast(precision: str, device: str = "cpu"):
    """A context in which the model's matrix products run in ``precision`` (already resolved)."""
    if precision == "fp32":
        return nullcontext()
    if precision != "bf16":
        raise ConfigError(f"autocast needs a resolved precision (fp32 or bf16), not {precision!r}")
    import torch

    return torch.autocast(device_type=str(device).split(":")[0], dtype=torch.bfloat16)


def shared_weight_casts(precision: str, device: str = "cpu"):
    """A context in which autocast casts each fp32 weight to bf16 once, however many forward passes
    (:func:`forward_embeddings` calls) run inside it; a no-op for fp32.

    Autocast caches its casts of leaf tensors that require grad until its *outermost* context exits;
    :func:`forward_embeddings` enters one context per call, so without an outer one every call (every
    length bucket, queries and passages apart) re-cast all weights. The outer context is *disabled*:
    what runs directly in it (pooling, the loss) stays fp32, it only keeps the cache alive.

    The trainer does not use it around a ``no_grad`` pass followed by a differentiated one (the
    gradient cache's two passes): older torch releases reused a cast cached without a graph there and
    cut the weights' gradients. The pinned torch 2.13 does not (checked: the weight gradient arrives),
    so this is caution, not a known failure. Under ``inference_mode`` autocast does not cache at all;
    encoders use ``no_grad`` inside this context.
    """
    if precision != "bf16":
        return nullcontext()
    import torch

    return torch.autocast(device_type=str(device).split(":")[0], dtype=torch.bfloat16, enabled=False)


def forward_embeddings(model, features: dict, precision: str = "fp32", device: str = "cpu"):
    """``model(features)["sentence_embedding"]`` with the transformer (``model[0]``) in ``precision``
    and the modules after it (pooling, dense, normalisation) in fp32. The result is float32."""
    import torch

    if precision == "fp32":
        return model(features)["sentence_embedding"]
    modules = list(model.children()) if isinstance(model, torch.nn.Sequential) else [model]
    with autocast(precision, device):
        features = modules[0](features)
    features = {k: (v.float() if torch.is_tensor(v) and v.is_floating_point() else v)
                for k, v in features.items()}
    for module in modules[1:]:
        features = module(features)
    return features["sentence_embedding"].float()
