"""A tiny, randomly initialised e5-shaped model for fast tests.

Same architecture family (BERT encoder, mean pooling, L2 norm, e5 prefixes) and the real XLM-R
tokenizer with a trimmed vocabulary, 2 layers of width 32: it encodes hundreds of sentences per
second on one core, so the test suite can run the real pipeline end to end. Seeded, so every build
is identical.

Why trim: loading the full 250k-piece tokenizer costs seconds per model load, and the study smoke
tests load a model for every grid cell. The trimmed tokenizer keeps the XLM-R pieces with the best
unigram scores (the first ``vocab`` ids, after the 4 special tokens) plus every single-character
piece, so any text in any script still segments into real pieces rather than ``<unk>``; only rarer
multi-character pieces are split further.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from xlir.models.assets import e5_tokenizer_dir
from xlir.models.st_folder import save_st_folder, xlmr_tokenizer

TINY_VOCAB = 16_000


def trimmed_tokenizer_json(source: Path, dest: Path, keep_top: int = TINY_VOCAB) -> Path:
    """Write a copy of an XLM-R Unigram ``tokenizer.json`` keeping the top pieces and all characters."""
    spec = json.loads(Path(source).read_text(encoding="utf-8"))
    vocab = spec["model"]["vocab"]
    mask = vocab[-1]
    if mask[0] != "<mask>" or [p for p, _ in vocab[:4]] != ["<s>", "<pad>", "</s>", "<unk>"]:
        raise ValueError(f"{source}: not an XLM-R vocabulary (special pieces out of place)")
    kept = [v for i, v in enumerate(vocab[:-1]) if i < keep_top or len(v[0].lstrip("▁")) <= 1]
    kept.append(mask)
    spec["model"]["vocab"] = kept
    for tok in spec["added_tokens"]:
        if tok["content"] == "<mask>":
            tok["id"] = len(kept) - 1
    dest.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return dest


def build_tiny_model(path: str | Path, *, hidden: int = 32, layers: int = 2, heads: int = 2,
                     intermediate: int = 64, max_length: int = 128, seed: int = 0,
                     vocab: int | None = TINY_VOCAB) -> Path:
    """Build (once) the tiny model at ``path``; ``vocab=None`` keeps the full 250,002 pieces."""
    import torch
    from transformers import BertConfig, BertModel

    path = Path(path)
    if (path / "modules.json").is_file():
        return path
    source = e5_tokenizer_dir() / "tokenizer.json"
    with tempfile.TemporaryDirectory() as tmp:
        if vocab is not None:
            source = trimmed_tokenizer_json(source, Path(tmp) / "tokenizer.json", vocab)
        tok = xlmr_tokenizer(source, max_length=max_length)
    config = BertConfig(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=intermediate,
                        max_position_embeddings=max_length + 2, type_vocab_size=2,
                        pad_token_id=tok.pad_token_id)
    torch.manual_seed(seed)
    model = BertModel(config, add_pooling_layer=False)
    return save_st_folder(model, tok, path, max_seq_length=max_length)
