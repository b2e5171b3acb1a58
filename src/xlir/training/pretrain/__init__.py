"""Pre-training objectives and the pre-training stage that runs before hybrid fine-tuning.

``OBJECTIVES`` names each objective class (``translation-ranking``, ``mlm``);
:func:`pretrain` runs one stage and returns a sentence-transformers folder;
:mod:`~xlir.training.pretrain.languages` holds the nested, seeded language-set rule of study 2.
"""

from xlir.training.pretrain import masked_lm, translation_ranking  # noqa: F401  (registration)
from xlir.training.pretrain.languages import ARMS, K_GRID, TARGETS, nested_language_sets
from xlir.training.pretrain.objective import OBJECTIVES, PretrainObjective
from xlir.training.pretrain.stage import PretrainConfig, pretrain

__all__ = [
    "ARMS",
    "K_GRID",
    "OBJECTIVES",
    "TARGETS",
    "PretrainConfig",
    "PretrainObjective",
    "nested_language_sets",
    "pretrain",
]
