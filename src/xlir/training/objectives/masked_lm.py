"""``mlm``: masked language modelling, with an MLM head tied to the word embeddings.

Devlin et al., "BERT" (NAACL 2019), section 3.1: 15% of the (non-special) tokens are chosen; of
those 80% become ``<mask>``, 10% a random token, 10% stay; the model predicts the originals. The
head is BERT's (dense, GELU, LayerNorm) with the decoder weight *tied* to the input word embeddings
(Press & Wolf 2017), so the objective adds only a small dense layer and a bias, and MLM updates
shape the same embedding table retrieval uses. The text is each pair's query side (in
pre-training, the non-English side of the bitext: each language's own sentences, no translation
signal), so MLM and translation ranking draw on the same sentences and differ only in the
objective. The budget counts tokens. The head is trained and checkpointed with the model but not
saved with it: only the encoder goes on to fine-tuning.

Masks come from a generator seeded with (seed, step, rank), so a resumed run masks exactly as an
uninterrupted one without any extra checkpoint state.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field

from xlir.data.schema import TrainingPair
from xlir.training.objectives.base import OBJECTIVES, Objective, StepContext
from xlir.training.options import Options


def _encoder(model):
    """The Hugging Face encoder inside a sentence-transformers model."""
    first = model[0]
    return getattr(first, "auto_model", None) or first.model


@OBJECTIVES.register("mlm")
class MaskedLM(Objective):
    name = "mlm"
    budget_unit = "tokens"

    class Options(Options):
        mask_prob: float = Field(0.15, gt=0.0, lt=1.0)
        max_length: int = Field(128, ge=8)
        seed: int = 0

    def __init__(self, options=None):
        super().__init__(options)
        self._head = None

    def modules(self, model) -> dict:
        """The MLM head (dense, LayerNorm, output bias), initialised from ``seed`` without touching
        the global generator the trainer seeded."""
        import torch
        from torch import nn

        emb = _encoder(model).get_input_embeddings()
        vocab, hidden = emb.weight.shape
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(self.options.seed)
            head = nn.ModuleDict({"dense": nn.Linear(hidden, hidden),
                                  "norm": nn.LayerNorm(hidden, eps=1e-12)})
        head.register_parameter("bias", nn.Parameter(torch.zeros(vocab)))
        self._head = head.to(emb.weight.device)
        return {"mlm_head": self._head}

    def _tokens(self, model, pairs: Sequence[TrainingPair]):
        tok = model[0].tokenizer
        return tok, tok([p.query for p in pairs], padding=True, truncation=True,
                        max_length=self.options.max_length, return_tensors="pt",
                        return_special_tokens_mask=True)

    def cost(self, model, pairs: Sequence[TrainingPair]) -> int:
        return int(self._tokens(model, pairs)[1]["attention_mask"].sum())

    def loss(self, model, pairs: Sequence[TrainingPair], step: int = 0, rank: int = 0):
        """Mean cross-entropy over the masked tokens of ``pairs``."""
        import torch
        import torch.nn.functional as F

        if self._head is None:
            self.modules(model)
        gen = torch.Generator().manual_seed((self.options.seed * 1_000_003 + step) * 1_009 + rank)
        tok, enc = self._tokens(model, pairs)
        ids = enc["input_ids"]
        candidates = (enc["attention_mask"] == 1) & (enc["special_tokens_mask"] == 0)
        chosen = (torch.rand(ids.shape, generator=gen) < self.options.mask_prob) & candidates
        if not chosen.any():  # always predict at least one token per batch
            first = candidates.nonzero()[0]
            chosen[first[0], first[1]] = True
        roll = torch.rand(ids.shape, generator=gen)
        inputs = ids.clone()
        inputs[chosen & (roll < 0.8)] = tok.mask_token_id
        rand_pos = chosen & (roll >= 0.8) & (roll < 0.9)
        inputs[rand_pos] = torch.randint(len(tok), (int(rand_pos.sum()),), generator=gen)
        enc_model = _encoder(model)
        emb = enc_model.get_input_embeddings().weight
        out = enc_model(input_ids=inputs.to(emb.device), attention_mask=enc["attention_mask"].to(emb.device))
        h = out.last_hidden_state[chosen.to(emb.device)]
        h = self._head["norm"](F.gelu(self._head["dense"](h)))
        return F.cross_entropy(h @ emb.T + self._head.bias, ids[chosen].to(emb.device))

    def backward(self, model, pairs: Sequence[TrainingPair], ctx: StepContext):
        loss = self.loss(model, pairs, ctx.step, ctx.rank)
        loss.backward()
        return loss
