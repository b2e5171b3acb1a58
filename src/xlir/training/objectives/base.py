"""What every training objective shares, and the registry that names them.

An objective turns one batch of :class:`~xlir.data.schema.TrainingPair` into a loss and its
gradients. The trainer (:mod:`xlir.training.trainer`) owns everything else (data, sampler, optimiser,
schedule, checkpoints and resume, non-finite checks, distributed gradients), so fine-tuning and
pre-training are one loop, and a new objective is one small file plus ``@OBJECTIVES.register(name)``.

``Options`` declares the objective's settings (typed, with ranges); the trainer fills them from
the :class:`~xlir.training.config.TrainConfig` fields of the same name plus ``objective_options``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from xlir.data.schema import TrainingPair
from xlir.registry import Registry
from xlir.training.options import Options as BaseOptions
from xlir.training.options import parse_options


def embed(model, texts: list[str], device=None, precision: str = "fp32", bucket_tokens: int | None = None):
    """Sentence embeddings of ``texts`` with gradients (``SentenceTransformer.encode`` has none); the
    transformer in ``precision`` (resolved: fp32 or bf16 autocast), pooling and output in fp32.

    ``bucket_tokens``: run the texts as length-sorted micro-chunks of at most that many padded
    tokens, each padded to its own longest text, and return the rows in the order of ``texts``
    (:func:`xlir.models.batching.bucketed_embeddings`): the same embeddings up to float rounding,
    fewer padded positions."""
    from xlir.models.batching import bucketed_embeddings
    from xlir.models.precision import forward_embeddings

    features = model.preprocess(texts)
    device = device if device is not None else next(model.parameters()).device
    features = {k: (v.to(device) if hasattr(v, "to") else v) for k, v in features.items()}

    def forward(feats):
        return forward_embeddings(model, feats, precision, str(device))

    return bucketed_embeddings(forward, features, bucket_tokens) if bucket_tokens else forward(features)


@dataclass
class StepContext:
    """What an objective may use in one step besides the model and the batch."""

    encode: Callable  # texts -> embeddings, with gradient (the model's forward on this device)
    step: int
    rank: int = 0
    gather: Callable | None = None  # all ranks' embeddings, differentiable (None: one process)
    chunk_size: int | None = None  # gradient-cache chunk (None: plain backward)
    # ``encode`` runs length-sorted micro-chunks of this many padded tokens (None: whole batches);
    # with the gradient cache, each text list is also sorted by length before it is chunked
    bucket_tokens: int | None = None


class Objective(ABC):
    """Base class; subclasses set ``name``, declare ``Options`` and implement :meth:`backward`."""

    name: ClassVar[str] = ""
    budget_unit: ClassVar[str] = "pairs"  # or "tokens": what :meth:`cost` counts
    uses_grad_cache: ClassVar[bool] = False  # whether ``chunk_size`` (gradient cache) applies
    uses_bucketing: ClassVar[bool] = False  # whether ``bucket_tokens`` (ctx.encode's chunks) applies
    uses_precision: ClassVar[bool] = False  # whether ``precision`` applies (it encodes through ctx.encode)

    class Options(BaseOptions):
        pass

    def __init__(self, options: BaseOptions | None = None):
        self.options = options if options is not None else self.Options()

    def modules(self, model) -> dict:
        """Extra ``torch.nn.Module``\\ s to train alongside the model, by name (none by default)."""
        return {}

    @abstractmethod
    def backward(self, model, pairs: Sequence[TrainingPair], ctx: StepContext):
        """The loss of this rank's ``pairs`` (a scalar tensor), its gradients accumulated."""

    def cost(self, model, pairs: Sequence[TrainingPair]) -> int:
        """How much of a budget a batch uses: its pairs, or its tokens for token budgets."""
        return len(pairs)

    def describe(self) -> dict:
        return {"name": self.name, **self.options.model_dump(mode="json")}


OBJECTIVES: Registry[type[Objective]] = Registry("training objective")


def build_objective(name: str, **options) -> Objective:
    """A registered objective by name, its options checked against its ``Options``."""
    import xlir.training.objectives  # noqa: F401  (registers the built-in objectives)

    cls = OBJECTIVES.get(name)
    return cls(parse_options(cls.Options, options, f"objective {name!r}"))
