"""What the contrastive objectives share: encode text lists, score them, backward (cached or plain).

A contrastive objective only says which texts a batch becomes (:meth:`texts`) and how their
embeddings are scored (:meth:`loss`); encoding and backward are here, with the gradient cache
(:mod:`xlir.training.grad_cache`) when the trainer asks for chunks, and the cross-rank gather of
negatives passed in by the trainer.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence

from xlir.data.schema import TrainingPair
from xlir.training.objectives.base import Objective, StepContext


class ContrastiveObjective(Objective):
    uses_grad_cache = True

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
        if ctx.chunk_size:
            return cached_backward(ctx.encode, texts, loss_fn, ctx.chunk_size)
        loss = loss_fn(*[ctx.encode(t) if t else None for t in texts])
        loss.backward()
        return loss
