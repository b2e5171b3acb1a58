"""Write a BERT-style encoder as a sentence-transformers model folder.

Both the embedded e5 conversion and the tiny test model go through here, so every model xlir
makes loads with ``SentenceTransformer(path)`` and carries the e5 prefixes in
``config_sentence_transformers.json`` under the names sentence-transformers and MTEB use
(``query`` / ``document``, see :mod:`xlir.models.prompts`).
"""

from __future__ import annotations

from pathlib import Path

from xlir.models.prompts import E5_PROMPTS, default_prompt_name


def xlmr_tokenizer(tokenizer_json: Path, max_length: int = 512):
    """A fast XLM-R tokenizer from a local ``tokenizer.json`` (no Hub access)."""
    from transformers import XLMRobertaTokenizerFast

    tok = XLMRobertaTokenizerFast(
        tokenizer_file=str(tokenizer_json), bos_token="<s>", eos_token="</s>", unk_token="<unk>",
        sep_token="</s>", cls_token="<s>", pad_token="<pad>", mask_token="<mask>",
    )
    tok.model_max_length = max_length
    return tok


def _zero_params_not_in(auto_model, saved: set[str]) -> None:
    """Zero the parameters ``AutoModel`` added that the saved encoder lacks (BERT's pooler).

    ``AutoModel`` always builds ``BertModel`` with a pooler; an encoder saved without one would get
    a fresh random pooler here and store it, so two conversions of the same weights would differ.
    Mean-pooled sentence embeddings never use it; zeros make the folder reproducible.
    """
    import torch

    with torch.no_grad():
        for name, param in auto_model.named_parameters():
            if name not in saved:
                param.zero_()


def save_st_folder(model, tokenizer, path: Path, *, max_seq_length: int = 512,
                   prompts: dict[str, str] | None = None) -> Path:
    """Save a ``transformers`` encoder + tokenizer as a mean-pooled, normalised ST model."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Normalize, Pooling, Transformer

    path = Path(path)
    hf_dir = path / "_hf"
    model.save_pretrained(hf_dir)
    tokenizer.save_pretrained(hf_dir)
    word = Transformer(str(hf_dir), max_seq_length=max_seq_length)
    _zero_params_not_in(word.auto_model, set(model.state_dict()))
    dim_of = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    pooling = Pooling(dim_of(), pooling_mode="mean")
    prompts = dict(prompts if prompts is not None else E5_PROMPTS)
    st = SentenceTransformer(modules=[word, pooling, Normalize()], device="cpu", prompts=prompts,
                             default_prompt_name=default_prompt_name(prompts))
    st.save(str(path))
    import shutil

    shutil.rmtree(hf_dir)
    return path
