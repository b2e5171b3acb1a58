"""Masked language modelling on monolingual text, with an MLM head tied to the word embeddings.

Devlin et al., "BERT" (NAACL 2019), section 3.1: 15% of the (non-special) tokens are chosen; of
those 80% become ``<mask>``, 10% a random token, 10% stay; the model predicts the originals. The
head is BERT's (dense, GELU, LayerNorm) with the decoder weight *tied* to the input word embeddings
(Press & Wolf 2017), so the stage adds only a small dense layer and a bias, and MLM updates shape
the same embedding table retrieval uses. The text is the non-English side of the bitext of the
chosen languages (each language's own sentences, no translation signal), so MLM and translation
ranking draw on the same sentences and differ only in the objective. The budget counts tokens.
The head is dropped after the stage: only the encoder goes on to fine-tuning.
"""

from __future__ import annotations

from xlir.training.pretrain.objective import OBJECTIVES, PretrainObjective


def _encoder(model):
    """The Hugging Face encoder inside a sentence-transformers model."""
    first = model[0]
    return getattr(first, "auto_model", None) or first.model


@OBJECTIVES.register("mlm")
class MaskedLM(PretrainObjective):
    name = "mlm"
    budget_unit = "tokens"

    def __init__(self, mask_prob: float = 0.15, max_length: int = 128, seed: int = 0):
        self.mask_prob = mask_prob
        self.max_length = max_length
        self.seed = seed
        self._head = None
        self._gen = None

    def modules(self, model) -> list:
        import torch
        from torch import nn

        enc = _encoder(model)
        emb = enc.get_input_embeddings()
        hidden = emb.weight.shape[1]
        torch.manual_seed(self.seed)
        self._head = nn.ModuleDict(
            {
                "dense": nn.Linear(hidden, hidden),
                "norm": nn.LayerNorm(hidden, eps=1e-12),
            }
        )
        self._bias = nn.Parameter(torch.zeros(emb.weight.shape[0]))
        self._head.register_parameter("bias", self._bias)
        self._head.to(emb.weight.device)
        self._gen = torch.Generator().manual_seed(self.seed)
        return [self._head]

    def _tokens(self, model, batch):
        tok = model[0].tokenizer
        enc = tok(
            [p.text for p in batch],
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
            return_special_tokens_mask=True,
        )
        return tok, enc

    def cost(self, model, batch) -> int:
        _, enc = self._tokens(model, batch)
        return int(enc["attention_mask"].sum())

    def loss(self, model, batch):
        import torch
        import torch.nn.functional as F

        if self._head is None:
            self.modules(model)
        tok, enc = self._tokens(model, batch)
        ids = enc["input_ids"].clone()
        candidates = (enc["attention_mask"] == 1) & (enc["special_tokens_mask"] == 0)
        chosen = (torch.rand(ids.shape, generator=self._gen) < self.mask_prob) & candidates
        if not chosen.any():  # always predict at least one token per batch
            first = candidates.nonzero()[0]
            chosen[first[0], first[1]] = True
        labels = ids[chosen]
        roll = torch.rand(ids.shape, generator=self._gen)
        inputs = ids.clone()
        inputs[chosen & (roll < 0.8)] = tok.mask_token_id
        rand_pos = chosen & (roll >= 0.8) & (roll < 0.9)
        inputs[rand_pos] = torch.randint(len(tok), (int(rand_pos.sum()),), generator=self._gen)
        enc_model = _encoder(model)
        device = enc_model.get_input_embeddings().weight.device
        out = enc_model(input_ids=inputs.to(device), attention_mask=enc["attention_mask"].to(device))
        h = out.last_hidden_state[chosen.to(device)]
        h = self._head["norm"](F.gelu(self._head["dense"](h)))
        logits = h @ enc_model.get_input_embeddings().weight.T + self._bias
        return F.cross_entropy(logits, labels.to(device))
