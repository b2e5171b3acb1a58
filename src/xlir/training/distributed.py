"""Scale-out with ``torch.distributed`` (launched by ``torchrun``; gloo on CPU, NCCL on GPU).

Only two collectives are needed for contrastive training with in-batch negatives:

* :func:`gather_with_grad` — concatenate every rank's embeddings so each query sees the whole global
  batch as negatives, keeping the gradient path back to the rank that computed each embedding
  (``all_gather`` itself is not differentiable; the backward sums the gradient slices over ranks);
* :func:`average_gradients` — after backward, all-reduce and average parameter gradients (what DDP
  does, in one flat buffer, without wrapping the model).

With the loss defined as the mean over ranks of each rank's mean, the resulting gradient equals the
single-process gradient of the same global batch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_from_env(backend: str | None = None) -> DistInfo:
    """Join the process group when launched by ``torchrun`` (``WORLD_SIZE`` > 1), else run alone."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group(backend or ("nccl" if torch.cuda.is_available() else "gloo"))
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def is_main_process() -> bool:
    """Rank 0 of a ``torchrun`` launch (``RANK`` unset: a single process, the main one); readable
    before and after the process group exists, so a command can decide who prints."""
    return os.environ.get("RANK", "0") == "0"


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


class _GatherWithGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor: torch.Tensor) -> torch.Tensor:
        ctx.rank, ctx.world, ctx.n = dist.get_rank(), dist.get_world_size(), tensor.shape[0]
        out = [torch.empty_like(tensor) for _ in range(ctx.world)]
        dist.all_gather(out, tensor.contiguous())
        return torch.cat(out)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        grad = grad.contiguous().clone()
        dist.all_reduce(grad)  # every rank's loss depends on every slice: sum their gradients
        return grad[ctx.rank * ctx.n:(ctx.rank + 1) * ctx.n]


def gather_with_grad(tensor: torch.Tensor) -> torch.Tensor:
    """All ranks' ``tensor`` concatenated in rank order, differentiable (identity when alone)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return tensor
    return _GatherWithGrad.apply(tensor)


def average_gradients(params: list[torch.nn.Parameter]) -> None:
    """All-reduce the gradients of ``params`` and divide by the world size (one flat buffer)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def mean_over_ranks(value: float) -> float:
    """The mean of a scalar over ranks (the global loss from each rank's mean)."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return value
    t = torch.tensor([value], dtype=torch.float64)
    dist.all_reduce(t)
    return float(t.item() / dist.get_world_size())


def barrier() -> None:
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.barrier()
