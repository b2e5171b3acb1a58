"""The interface of a pre-training objective, and the registry that names them.

An objective is one class: it says how its budget is counted (``pairs`` or ``tokens``), which extra
trainable modules it needs (an MLM head), and the loss of one batch. The stage
(:func:`xlir.training.pretrain.stage.pretrain`) owns everything else (data, optimiser, schedule,
saving), so adding an objective is one small file plus ``@OBJECTIVES.register(name)``.
"""

from __future__ import annotations

from collections.abc import Iterator

from xlir.registry import Registry
from xlir.training.pretrain.corpus import BitextPair


class PretrainObjective:
    """Base class; subclasses set ``name`` and ``budget_unit`` and implement :meth:`loss`."""

    name = ""
    budget_unit = "pairs"  # or "tokens"

    def modules(self, model) -> list:
        """Extra ``torch.nn.Module``\\ s to train alongside the model (none by default)."""
        return []

    def loss(self, model, batch: list[BitextPair]):
        raise NotImplementedError

    def cost(self, model, batch: list[BitextPair]) -> int:
        """How much of the budget a batch uses: its pairs, or its tokens for token budgets."""
        return len(batch)

    def batches(self, stream: Iterator[BitextPair], batch_size: int) -> Iterator[list[BitextPair]]:
        """Batches with no repeated group or text: a translation of a batch member is not a negative.

        An item that would collide waits for the next batch, so no pair is dropped from the stream.
        """
        waiting: list[BitextPair] = []
        while True:
            batch: list[BitextPair] = []
            groups: set[str] = set()
            texts: set[str] = set()
            still: list[BitextPair] = []
            for item in waiting:
                if (
                    len(batch) < batch_size
                    and item.group not in groups
                    and item.text not in texts
                    and item.english not in texts
                ):
                    batch.append(item)
                    groups.add(item.group)
                    texts.update((item.text, item.english))
                else:
                    still.append(item)
            waiting = still
            guard = 0
            while len(batch) < batch_size:
                item = next(stream)
                guard += 1
                if item.group in groups or item.text in texts or item.english in texts:
                    waiting.append(item)
                    if guard > 100 * batch_size:
                        break  # too few distinct groups for this batch size: take a smaller batch
                    continue
                batch.append(item)
                groups.add(item.group)
                texts.update((item.text, item.english))
            yield batch


OBJECTIVES: Registry[type[PretrainObjective]] = Registry("pre-training objective")
