"""Length-homogeneous batches: sort texts by token length, cut them by a budget of padded tokens.

Why: a transformer batch is padded to its longest text, so a 10-token question batched with a
90-token sentence runs nine times the tokens it needs, and every padded position costs the same
matmuls as a real one (the mask only hides it from the attention and the pooling). Sorting by
token length and cutting batches by ``texts x longest length`` makes padding nearly vanish.

Two users: evaluation encodes a whole collection this way (:func:`plan_batches`, called by
:func:`xlir.evaluation.encode.encode_texts`), and training's padding-saving forward
(:func:`bucketed_embeddings`) runs one sampler-drawn batch as length-homogeneous micro-chunks and
puts the embeddings back in the sampler's order, so the loss sees exactly the batch it would have
seen (in-batch negatives unchanged); only the padding changes.
"""

from __future__ import annotations

import numpy as np


def plan_batches(lengths: np.ndarray, *, max_texts: int = 64,
                 max_tokens: int | None = None) -> list[np.ndarray]:
    """Batches (arrays of text indices) over texts sorted by token length, longest first.

    Each batch takes the next texts in that order while ``texts x its longest length`` stays within
    ``max_tokens`` (the padded tokens the model will execute) and ``texts <= max_texts``; a text
    longer than the budget gets a batch of its own. Sorting the *whole* list (not a window of it) is
    what makes padding nearly vanish: neighbours in the order differ by a token or less, so executed
    tokens / real tokens was 1.00x on all of XQuAD-R (BENCHMARKS.md).
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    batches: list[np.ndarray] = []
    start, n = 0, len(order)
    while start < n:
        width = max(int(lengths[order[start]]), 1)
        size = max_texts if max_tokens is None else min(max_texts, max(1, max_tokens // width))
        batches.append(order[start:start + size])
        start += size
    return batches


CPU_BUCKET_TOKENS = 256
"""Training's micro-chunk budget on CPU. Of 128, 256 and 512 padded tokens, 256 made an e5-small
step at batch 32 (MLQA, hybrid batches, max length 96) fastest: 1.7x (fp32) and 1.8x (bf16) the
whole-batch step, measured interleaved in one process (BENCHMARKS.md §4, "Training length
bucketing"); 128 costs more in small matmuls than it saves in padding."""


def resolve_bucket_tokens(value: int | None, device: str = "cpu") -> int:
    """The micro-chunk budget a training run uses: ``value`` when given (0: whole batches), else
    :data:`CPU_BUCKET_TOKENS` on CPU and whole batches elsewhere. A GPU was not measured: it needs
    large matmuls to be busy and pays a kernel launch per operator and chunk, so small chunks are
    likely slower there; pass a budget to try one."""
    if value is not None:
        return int(value)
    return CPU_BUCKET_TOKENS if str(device).split(":")[0] == "cpu" else 0


def right_padded_lengths(attention_mask):
    """Each row's token count, or None when the mask is not right padding (ones, then zeros).

    Cutting a chunk's columns to its longest row is only the same input when padding sits on the
    right: with left padding the real tokens would move, and with BERT's absolute positions that
    changes their position embeddings.
    """
    import torch

    lengths = attention_mask.sum(dim=1)
    cols = torch.arange(attention_mask.shape[1], device=attention_mask.device)
    expected = (cols[None, :] < lengths[:, None]).to(attention_mask.dtype)
    return lengths if torch.equal(attention_mask, expected) else None


def bucketed_embeddings(forward, features: dict, max_tokens: int):
    """``forward(features)`` (rows = texts -> ``(n, d)`` embeddings), run as length-sorted
    micro-chunks of at most ``max_tokens`` padded tokens each, each cut to its own longest text;
    the rows come back in the input's order (differentiably: gradients flow to every chunk).

    ``features`` is a tokenizer's padded output (``input_ids``, ``attention_mask``, maybe
    ``token_type_ids``): every tensor whose first two dimensions are ``(texts, padded length)`` is
    sliced; anything else is passed to every chunk unchanged. Without right padding (see
    :func:`right_padded_lengths`) the batch runs whole, as ``forward(features)``.
    """
    import torch

    mask = features["attention_mask"]
    n, width = mask.shape
    lengths = right_padded_lengths(mask)
    if lengths is None or n < 2:
        return forward(features)
    plan = plan_batches(lengths.cpu().numpy(), max_texts=n, max_tokens=max_tokens)
    if len(plan) == 1 and int(lengths.max()) == width:  # one chunk, no padding to cut: as is
        return forward(features)
    outs = []
    for sel in plan:
        rows = torch.as_tensor(sel, device=mask.device)
        w = max(int(lengths[rows[0]]), 1)
        chunk = {k: (v.index_select(0, rows)[:, :w]
                     if torch.is_tensor(v) and v.dim() >= 2 and v.shape[:2] == (n, width) else v)
                 for k, v in features.items()}
        outs.append(forward(chunk))
    order = torch.as_tensor(np.concatenate(plan), device=mask.device)
    inverse = torch.empty_like(order)
    inverse[order] = torch.arange(n, device=mask.device)
    return torch.cat(outs).index_select(0, inverse)
