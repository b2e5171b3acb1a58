"""``translation-ranking``: a contrastive bitext objective, as in LaBSE's pre-training.

Feng et al., "Language-agnostic BERT Sentence Embedding" (ACL 2022), section 3: a sentence and its
translation are the positive pair, every other translation in the batch a negative; the loss is a
softmax over cosine similarities with an additive margin on the positive (Yang et al. 2019), taken
in both directions (source -> English and English -> source). That is InfoNCE with a margin
(:func:`xlir.training.loss.info_nce`). Pairs are bitext as training pairs: the query is the
sentence, the positive its English translation. Both sides use the model's "query" prompt: e5
models are trained to use it for symmetric tasks such as bitext mining.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from xlir.data.schema import TrainingPair
from xlir.models.prompts import prefix as prompt_prefix
from xlir.training.objectives.base import OBJECTIVES
from xlir.training.objectives.contrastive import ContrastiveObjective
from xlir.training.options import Options


@OBJECTIVES.register("translation-ranking")
class TranslationRanking(ContrastiveObjective):
    name = "translation-ranking"

    class Options(Options):
        temperature: float = Field(0.05, gt=0.0)
        margin: float = Field(0.3, ge=0.0, description="subtracted from the positive's cosine")
        bidirectional: bool = True

    def texts(self, model, pairs: Sequence[TrainingPair]) -> list[list[str]]:
        prompt = prompt_prefix(model.prompts, "query")
        return [[prompt + p.query for p in pairs], [prompt + p.positive for p in pairs], []]

    def loss(self, queries, positives, negatives, ctx):
        from xlir.training.loss import info_nce

        o = self.options
        return info_nce(queries, positives, None, temperature=o.temperature, symmetric=o.bidirectional,
                        margin=o.margin, gather=ctx.gather, rank=ctx.rank)
