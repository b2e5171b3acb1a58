"""Training objectives, registered by name: ``info-nce`` (fine-tuning, arXiv 2408.10536),
``translation-ranking`` and ``mlm`` (pre-training); build one with :func:`build_objective`."""

from xlir.training.objectives import info_nce, masked_lm, translation_ranking  # noqa: F401  (registration)
from xlir.training.objectives.base import OBJECTIVES, Objective, StepContext, build_objective, embed

__all__ = ["OBJECTIVES", "Objective", "StepContext", "build_objective", "embed"]
