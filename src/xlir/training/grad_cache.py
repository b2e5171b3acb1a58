"""Gradient cache: the exact contrastive gradient of a large batch, computed in small chunks.

Gao et al., "Scaling Deep Contrastive Learning Batch Size under Memory Limited Setup" (arXiv
2101.06983, section 3). InfoNCE couples every row to every other, so a batch cannot simply be split
into micro-batches with gradient accumulation. But the loss depends on the encoder only through the
embeddings, so:

1. encode every chunk without building a graph, and keep the embeddings;
2. compute the loss on those (detached, ``requires_grad``) embeddings and backpropagate to them —
   this is cheap (a B x B matrix) and gives d loss / d embedding for every row;
3. re-encode each chunk with a graph and backpropagate the cached embedding gradients into the
   encoder, one chunk at a time.

Activation memory is that of one chunk, and the gradient equals the plain one up to floating point
(the test checks 1e-5). Dropout masks are made identical between steps 1 and 3 by restoring the RNG
state captured before each chunk's first pass; afterwards the RNG is where step 1 left it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

Encode = Callable[[list[str]], torch.Tensor]


def _chunks(texts: Sequence[str], size: int) -> list[list[str]]:
    return [list(texts[i:i + size]) for i in range(0, len(texts), size)]


def cached_backward(encode: Encode, inputs: Sequence[Sequence[str]], loss_fn: Callable[..., torch.Tensor],
                    chunk_size: int) -> torch.Tensor:
    """Run forward and backward of ``loss_fn(*[encode(texts) for texts in inputs])`` in chunks.

    ``inputs`` are the text lists (queries, positives, optionally hard negatives); gradients are
    accumulated into the parameters as ``loss.backward()`` would. Returns the loss (detached).
    """
    if chunk_size < 1:
        raise ValueError(f"chunk size must be positive, got {chunk_size}")
    plans: list[list[tuple[list[str], torch.Tensor]]] = []
    reps: list[torch.Tensor] = []
    with torch.no_grad():
        for texts in inputs:
            plan, embs = [], []
            for chunk in _chunks(texts, chunk_size):
                state = torch.get_rng_state()
                embs.append(encode(chunk))
                plan.append((chunk, state))
            plans.append(plan)
            reps.append(torch.cat(embs).detach().requires_grad_(True) if embs else torch.empty(0))
    after = torch.get_rng_state()
    live = [r for r in reps if r.numel()]
    loss = loss_fn(*reps)
    loss.backward(inputs=live)
    for plan, rep in zip(plans, reps, strict=True):
        if not rep.numel():
            continue
        offset = 0
        for chunk, state in plan:
            torch.set_rng_state(state)
            emb = encode(chunk)
            grad = rep.grad[offset:offset + len(chunk)]
            emb.backward(gradient=grad)
            offset += len(chunk)
    torch.set_rng_state(after)
    return loss.detach()
