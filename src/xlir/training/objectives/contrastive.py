"""What the contrastive objectives share: encode text lists, score them, backward (cached or plain).

A contrastive objective only says which texts a batch becomes (:meth:`texts`) and how their
embeddings are scored (:meth:`loss`); encoding and backward are here, with the gradient cache
(:mod:`xlir.training.grad_cache`) when the trainer asks for chunks, and the cross-rank gather of
negatives passed in by the trainer. With ``bucket_tokens`` the trainer's ``encode`` pads less
(length-sorted micro-chunks, rows back in batch order), and the gradient cache chunks each text
list in length order; the loss always sees the batch in the sampler's order.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

from xlir.data.schema import TrainingPair
from xlir.training.objectives.base import Objective, StepContext


class ContrastiveObjective(Objective):
    uses_grad_cache = True
    uses_bucketing = True
    uses_precision = True

    @abstractmethod
    def texts(self, model, pairs: Sequence[TrainingPair]) -> list[list[str]]:
        """The text lists to encode: queries, positives, and hard negatives (possibly empty)."""

    @abstractmethod
    def loss(self, queries, positives, negatives, ctx: StepContext):
        """The loss of this rank's rows from their embeddings (``negatives`` may be None)."""

    def backward(self, model, pairs: Sequence[TrainingPair], ctx: StepContext):
        from xlir.training.grad_cache import cached_backward

        def loss_fn(q, p, n=None):
            return self.loss(q, p, n if n is not None and n.numel() else None, ctx)

        texts = self.texts(model, pairs)
        if ctx.chunk_size and ctx.bucket_tokens:
            return _length_sorted_cached_backward(model, ctx, texts, loss_fn)
        if ctx.chunk_size:
            return cached_backward(ctx.encode, texts, loss_fn, ctx.chunk_size)
        loss = loss_fn(*[ctx.encode(t) if t else None for t in texts])
        loss.backward()
        return loss


def _length_sorted_cached_backward(model, ctx: StepContext, texts: list[list[str]], loss_fn):
    """The gradient cache over each text list sorted by token length (longest first), so that each
    cached chunk holds texts of similar length and pads little; the loss sees the embeddings back
    in the batch's order, so it is the same loss (the gradient cache is exact for any chunking)."""
    import torch

    from xlir.training.grad_cache import cached_backward

    orders = [torch.argsort(-model.preprocess(t)["attention_mask"].sum(dim=1), stable=True) if t
              else torch.empty(0, dtype=torch.long) for t in texts]
    inverses = [torch.argsort(o) for o in orders]

    def unsorted_loss(*reps):
        return loss_fn(*[r.index_select(0, inv.to(r.device)) if r.numel() else r
                         for r, inv in zip(reps, inverses, strict=True)])

    sorted_texts = [[t[int(i)] for i in o] for t, o in zip(texts, orders, strict=True)]
    return cached_backward(ctx.encode, sorted_texts, unsorted_loss, ctx.chunk_size)
