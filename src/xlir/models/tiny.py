"""A tiny, randomly initialised e5-shaped model for fast tests.

Same architecture family (BERT encoder, mean pooling, L2 norm, e5 prefixes) and the real XLM-R
tokenizer, but 2 layers of width 32: it encodes hundreds of sentences per second on one core, so
the test suite can run the real pipeline end to end. Seeded, so every build is identical.
"""

from __future__ import annotations

from pathlib import Path

from xlir.models.assets import e5_tokenizer_dir
from xlir.models.st_folder import save_st_folder, xlmr_tokenizer


def build_tiny_model(path: str | Path, *, hidden: int = 32, layers: int = 2, heads: int = 2,
                     intermediate: int = 64, max_length: int = 128, seed: int = 0) -> Path:
    import torch
    from transformers import BertConfig, BertModel

    path = Path(path)
    if (path / "modules.json").is_file():
        return path
    tok = xlmr_tokenizer(e5_tokenizer_dir() / "tokenizer.json", max_length=max_length)
    config = BertConfig(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=intermediate,
                        max_position_embeddings=max_length + 2, type_vocab_size=2,
                        pad_token_id=tok.pad_token_id)
    torch.manual_seed(seed)
    model = BertModel(config, add_pooling_layer=False)
    return save_st_folder(model, tok, path, max_seq_length=max_length)
