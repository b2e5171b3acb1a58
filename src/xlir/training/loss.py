"""InfoNCE with in-batch negatives over cosine similarities (the loss of arXiv 2408.10536, eq. 1).

For query ``q_i`` with positive ``p_i``, every other positive in the (global) batch and every hard
negative is a negative:

    L_i = -log  exp(cos(q_i, p_i) / t) / sum_j exp(cos(q_i, c_j) / t)

with candidates ``c`` = all positives (then all hard negatives) and temperature ``t`` (0.05 by
default, as in the paper and in E5's fine-tuning). ``symmetric=True`` adds the passage-to-query
direction (each positive against all queries) and averages the two, as in CLIP-style training.
``margin`` subtracts an additive margin from the positive's cosine (Yang et al. 2019, the
translation ranking loss of LaBSE, Feng et al. 2022, section 3): ``exp((cos(q_i, p_i) - m) / t)``.

Under several processes, pass ``gather`` (:func:`xlir.training.distributed.gather_with_grad`): the
candidates are gathered from every rank with their gradient, so negatives come from the whole
global batch and the loss equals the single-process loss over the same global batch. The returned
value is the mean over this rank's rows; the mean over ranks is the global loss.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

DEFAULT_TEMPERATURE = 0.05


def info_nce(queries: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor | None = None, *,
             temperature: float = DEFAULT_TEMPERATURE, symmetric: bool = False, margin: float = 0.0,
             gather: Callable[[torch.Tensor], torch.Tensor] | None = None, rank: int = 0) -> torch.Tensor:
    """Mean InfoNCE of this rank's rows (see the module docstring).

    ``queries`` and ``positives`` are (B, d) local embeddings, row i a pair; ``negatives`` is (B*k, d)
    or None. Embeddings are L2-normalised here, so dot products are cosines.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    q = F.normalize(queries, dim=-1)
    p = F.normalize(positives, dim=-1)
    n = F.normalize(negatives, dim=-1) if negatives is not None and negatives.numel() else None
    g = gather or (lambda t: t)
    all_p = g(p)
    cands = torch.cat([all_p, g(n)]) if n is not None else all_p
    b = q.shape[0]
    labels = torch.arange(b, device=q.device) + rank * b
    loss = F.cross_entropy(_logits(q @ cands.T, labels, margin, temperature), labels)
    if symmetric:
        all_q = g(q)
        loss = (loss + F.cross_entropy(_logits(p @ all_q.T, labels, margin, temperature), labels)) / 2
    return loss


def _logits(sims: torch.Tensor, labels: torch.Tensor, margin: float, temperature: float) -> torch.Tensor:
    """Cosines to logits: the positive of each row lowered by ``margin``, then divided by ``t``."""
    if margin:
        sims = sims - margin * F.one_hot(labels, sims.shape[1]).to(sims.dtype)
    return sims / temperature
