"""Translation ranking: a contrastive bitext objective, as in LaBSE's pre-training.

Feng et al., "Language-agnostic BERT Sentence Embedding" (ACL 2022), section 3: a sentence and its
translation are the positive pair, every other translation in the batch a negative; the loss is a
softmax over cosine similarities with an additive margin on the positive (Yang et al. 2019), taken
in both directions (source -> English and English -> source). Both sides use the model's "query"
prompt: e5 models are trained to use it for symmetric tasks such as bitext mining.
"""

from __future__ import annotations

from xlir.training.pretrain.objective import OBJECTIVES, PretrainObjective


def encode_with_grad(model, texts: list[str], prompt: str = ""):
    """Sentence embeddings of ``texts`` with gradients (``SentenceTransformer.encode`` has none)."""
    texts = [prompt + t for t in texts]
    prep = getattr(model, "preprocess", None)  # sentence-transformers >= 6; ``tokenize`` before
    features = prep(texts) if prep is not None else model.tokenize(texts)
    device = next(model.parameters()).device
    features = {k: v.to(device) if hasattr(v, "to") else v for k, v in features.items()}
    return model(features)["sentence_embedding"]


@OBJECTIVES.register("translation-ranking")
class TranslationRanking(PretrainObjective):
    """Bidirectional in-batch softmax over cosine similarity with an additive margin."""

    name = "translation-ranking"
    budget_unit = "pairs"

    def __init__(self, temperature: float = 0.05, margin: float = 0.3, bidirectional: bool = True):
        self.temperature = temperature
        self.margin = margin
        self.bidirectional = bidirectional

    def loss(self, model, batch):
        import torch
        import torch.nn.functional as F

        prompt = model.prompts.get("query", "")
        a = F.normalize(encode_with_grad(model, [p.text for p in batch], prompt), dim=-1)
        b = F.normalize(encode_with_grad(model, [p.english for p in batch], prompt), dim=-1)
        sim = a @ b.T
        sim = sim - self.margin * torch.eye(len(batch), device=sim.device)
        logits = sim / self.temperature
        labels = torch.arange(len(batch), device=sim.device)
        loss = F.cross_entropy(logits, labels)
        if self.bidirectional:
            loss = (loss + F.cross_entropy(logits.T, labels)) / 2
        return loss
