"""AdamW with decoupled weight decay and a linear warmup + linear decay schedule.

The standard recipe for fine-tuning BERT-style encoders (Devlin et al. 2019; Loshchilov & Hutter,
arXiv 1711.05101) and the one arXiv 2408.10536 uses: weight decay 0.01, except on biases and
LayerNorm weights, where decaying toward zero only hurts.

The update runs torch's fused AdamW kernel wherever torch has one for the parameters' device (CPU
and CUDA): one vectorised pass over each tensor instead of the eight whole-tensor operations (and a
temporary) of the default CPU for-loop. With trained word embeddings (96 M of e5-small's 118 M
parameters) that is 0.04 s per step instead of 0.38 s on 2 cores; with frozen ones ~0.06 s saved.
The kernel computes the same update up to float rounding (tests/test_optim.py).
"""

from __future__ import annotations

import torch

NO_DECAY = ("bias", "LayerNorm.weight", "LayerNorm.bias", "layer_norm", "norm.weight")


def trainable_parameters(model: torch.nn.Module) -> list[tuple[str, torch.nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def build_optimizer(named: list[tuple[str, torch.nn.Parameter]], *, lr: float,
                    weight_decay: float = 0.01) -> torch.optim.AdamW:
    """AdamW over ``named`` parameters (``trainable_parameters`` of the model and of any objective
    head), weight decay on all but biases and norm weights (chosen by name)."""
    decay = [p for n, p in named if not any(k in n for k in NO_DECAY)]
    no_decay = [p for n, p in named if any(k in n for k in NO_DECAY)]
    groups = [{"params": decay, "weight_decay": weight_decay},
              {"params": no_decay, "weight_decay": 0.0}]
    params = [p for _, p in named]
    return torch.optim.AdamW([g for g in groups if g["params"]], lr=lr,
                             fused=fused_supported(params) or None)


def fused_supported(params: list[torch.Tensor]) -> bool:
    """Whether torch has a fused AdamW kernel for every parameter (floating point, on a device
    with fused optimizer kernels); otherwise torch picks its default implementation."""
    from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

    devices = set(_get_fused_kernels_supported_devices())
    return bool(params) and all(
        torch.is_floating_point(p) and p.device.type in devices for p in params)


def optimizer_implementation(optimizer: torch.optim.Optimizer) -> str:
    """'fused', 'foreach' or 'for-loop': the update kernel ``optimizer`` runs, for the record."""
    group = optimizer.param_groups[0]
    if group.get("fused"):
        return "fused"
    foreach = group.get("foreach")
    if foreach is None:  # torch decides at step time: foreach for CUDA tensors, the loop otherwise
        foreach = all(p.device.type == "cuda" for p in group["params"])
    return "foreach" if foreach else "for-loop"


def linear_schedule(step: int, *, warmup: int, total: int) -> float:
    """LR multiplier after ``step`` updates: ramps up over ``warmup`` steps, then decays linearly to 0."""
    if step < warmup:
        return (step + 1) / (warmup + 1)
    return max(0.0, (total - step) / max(1, total - warmup))


def build_scheduler(optimizer: torch.optim.Optimizer, *, warmup: int, total: int):
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: linear_schedule(s, warmup=warmup, total=total))


def freeze_word_embeddings(model) -> int:
    """Stop training the token embedding matrix; returns how many parameters that freezes.

    In a multilingual encoder it holds most of the weights (250k x 384 of e5-small's 118M), so
    freezing it makes CPU steps and checkpoints far cheaper, and it keeps the embeddings of tokens
    absent from the training languages where pre-training put them.
    """
    emb = model.transformers_model.get_input_embeddings()
    emb.weight.requires_grad_(False)
    return emb.weight.numel()


def set_dropout(model: torch.nn.Module, p: float) -> None:
    """Override every dropout probability (0 makes training deterministic across batch splits)."""
    for mod in model.modules():
        if isinstance(mod, torch.nn.Dropout):
            mod.p = p
