"""The pre-training stage that runs before hybrid fine-tuning (study 2).

:func:`pretrain` runs one stage (the one trainer with a pre-training objective of
:mod:`xlir.training.objectives`: ``translation-ranking``, ``mlm``) and returns a
sentence-transformers folder; :mod:`~xlir.training.pretrain.corpus` reads the bitext;
:mod:`~xlir.training.pretrain.languages` holds the nested, seeded language-set rule of study 2.
"""

from xlir.training.objectives import OBJECTIVES
from xlir.training.pretrain.languages import ARMS, K_GRID, TARGETS, nested_language_sets
from xlir.training.pretrain.stage import PretrainConfig, pretrain

__all__ = [
    "ARMS",
    "K_GRID",
    "OBJECTIVES",
    "TARGETS",
    "PretrainConfig",
    "nested_language_sets",
    "pretrain",
]
