"""Encode texts once, fast: deduplicated, length-sorted batches, cached on disk.

Why not just ``model.encode``: an evaluation of XQuAD-R holds 13,090 questions and 13,014 candidate
sentences, many of them repeated; we encode each distinct ``prefix + text`` exactly once, look it up
in the on-disk cache (:mod:`xlir.evaluation.cache`) first, and tokenize everything in one call of the
fast (Rust) tokenizer before sorting by *token* length, so each batch pads to nearly its own length.
The forward pass is the SentenceTransformer's own (``model.forward``: transformer, pooling,
normalisation modules as configured), so vectors equal ``model.encode``'s (checked in the tests).
Measured with e5-small on 400 XQuAD-R sentences, one thread on a shared 2-core machine, two
repeats each: this path 44.7 s / 40.1 s, ``model.encode`` 67.0 s / 80.1 s, vectors equal to 1e-7 —
token-length sorting pads less than ``encode``'s character-length sorting, and the whole list is
tokenized in one batched call. (Timings on a busy machine are noisy; ``benchmarks/`` has the
controlled comparison.)

Queries get the model's ``query`` prompt and candidates its ``document`` prompt (``passage`` in older
folders; :func:`xlir.models.prompts.prefix`; e5: "query: " / "passage: ", Wang et al. 2022,
arXiv 2212.03533 §4.2): the same prefixes ``encode_query``/``encode_document`` apply. Output is
float32, L2-normalised.

``quantize_int8``: PyTorch dynamic quantization of every ``nn.Linear`` (int8 weights with one scale
per output channel, activations quantized on the fly; Jacob et al. 2018; per-channel scales as in
Krishnamoorthi 2018, arXiv 1806.08342, "granularity of quantization"), CPU only, applied to a copy
so the caller's model is untouched. Per-channel scales halved the XQuAD-R mAP loss of per-tensor
ones at the same speed (BENCHMARKS.md §3). Its vectors are cached under the fingerprint plus
``+int8pc`` (per-tensor vectors, cached by earlier versions under ``+int8``, are never reused).
"""

from __future__ import annotations

import copy
import os
import time
import warnings
from collections.abc import Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from xlir.errors import DataError
from xlir.evaluation.cache import EmbeddingCache, text_key
from xlir.models.batching import plan_batches
from xlir.models.precision import shared_weight_casts


@dataclass
class EncodeStats:
    """What one encoding call did (for logs and the throughput benchmark)."""

    texts: int = 0
    unique: int = 0
    cache_hits: int = 0
    encoded: int = 0
    tokens: int = 0  # non-padding tokens run through the model
    padded_tokens: int = 0  # tokens including padding
    seconds: float = 0.0
    truncated: int = 0  # texts cut to char_limit() before tokenization
    batches: list[tuple[int, int]] = field(default_factory=list)  # (batch size, padded length)

    def add(self, other: EncodeStats) -> None:
        for name in ("texts", "unique", "cache_hits", "encoded", "tokens", "padded_tokens", "seconds",
                     "truncated"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.batches.extend(other.batches)


def available_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS
        return os.cpu_count() or 1


def configure_threads(num_threads: int | None = None, model=None) -> int:
    """Set torch's intra-op threads: ``num_threads``, else ``XLIR_THREADS``, else a sensible default.

    The default is the CPUs this process may run on (its affinity mask: torch otherwise assumes
    every physical core of the host, which over-subscribes a container limited to fewer), except
    for very narrow models (hidden size < 256, e.g. the tiny test model): their matrix products
    are too small to split, and measured on 2 busy cores two threads made the tiny model 8x slower
    than one (thread hand-off costs more than the arithmetic).
    """
    import torch

    n = num_threads or int(os.environ.get("XLIR_THREADS", "0"))
    if not n:
        n = available_cpus()
        if model is not None and embedding_dim(model) < 256:
            n = 1
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


def quantize_int8(model):
    """A dynamically int8-quantized copy of ``model`` (``nn.Linear`` layers), for CPU inference.

    Weights get one symmetric scale per output channel (row), not one per matrix: a row with small
    weights is then not crushed onto a few int8 levels by another row's outliers. Measured on
    XQuAD-R de/en with e5-small (BENCHMARKS.md §3): mAP loss about half of per-tensor's, same speed.
    """
    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    q = copy.deepcopy(model).to("cpu")
    q.eval()
    return quantize_dynamic(q, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)


def embedding_dim(model) -> int:
    """Output dimension (sentence-transformers renamed the getter in v6)."""
    getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(getter())


def _device(model):
    try:
        return next(model.parameters()).device
    except StopIteration:  # pragma: no cover
        import torch

        return torch.device("cpu")


def _batch_runner(model, precision: str):
    """``run(input_ids, attention_mask) -> float32 unit vectors`` for a SentenceTransformer (torch,
    in ``precision``) or for an encoder that brings its own ``embed_batch`` (the ONNX Runtime one)."""
    import torch

    if hasattr(model, "embed_batch"):
        return lambda ids, mask: torch.as_tensor(model.embed_batch(ids.numpy(), mask.numpy()))
    from xlir.models.precision import forward_embeddings

    device = _device(model)

    def run(ids, mask):
        feats = {"input_ids": ids.to(device), "attention_mask": mask.to(device)}
        emb = forward_embeddings(model, feats, precision, device.type).float()
        return torch.nn.functional.normalize(emb, p=2, dim=1).cpu()

    return run


def _no_grad(model, precision: str):
    """``torch.inference_mode()``; for bf16 on torch, ``no_grad`` plus a context that makes autocast
    cast the weights once per call instead of once per batch.

    Autocast caches its casts of the weights (leaf tensors that require grad) until its outermost
    context exits, but not under ``inference_mode``; :func:`~xlir.models.precision.forward_embeddings`
    enters one context per batch, so every batch re-cast all 21M weights of e5-small. The outer
    context here is *disabled* (pooling and normalisation stay fp32): it only keeps the cache alive.
    Same vectors (tested). Nothing is differentiated here; the trainer shares casts the same way
    within a step (:func:`~xlir.models.precision.shared_weight_casts`).
    """
    import torch

    if precision != "bf16" or hasattr(model, "embed_batch"):
        return torch.inference_mode()
    stack = ExitStack()
    stack.enter_context(torch.no_grad())
    stack.enter_context(shared_weight_casts(precision, _device(model).type))
    return stack


CHAR_LIMIT_FACTOR = 2
"""Safety factor of :func:`char_limit` over the longest vocabulary entry."""


@lru_cache(maxsize=8)
def _longest_piece(tokenizer) -> int:
    vocab = tokenizer.get_vocab()
    return max((len(piece) for piece in vocab), default=16)


def char_limit(tokenizer, max_length: int) -> int:
    """Characters of a text that can matter when only ``max_length`` tokens are kept.

    Every token covers at most as many characters as the longest vocabulary entry (13-16 for the
    XLM-R vocabulary), so ``max_length`` tokens never reach past ``max_length x longest`` characters;
    we keep twice that (:data:`CHAR_LIMIT_FACTOR`) for characters the tokenizer drops or merges
    (control characters, runs of spaces). Cutting longer texts before tokenization changes no
    vector of ordinary text, and bounds the time and memory of a pathological one: a single
    50-million-character question once made ``eval`` take 150 s and 13.7 GB.
    """
    return int(max_length) * _longest_piece(tokenizer) * CHAR_LIMIT_FACTOR


def cut_long_texts(texts: Sequence[str], limit: int) -> tuple[list[str], int]:
    """``texts`` with each longer than ``limit`` characters cut to ``limit``, and how many were cut."""
    out = [t if len(t) <= limit else t[:limit] for t in texts]
    return out, sum(1 for t in texts if len(t) > limit)


def encode_texts(model, texts: Sequence[str], *, prefix: str = "", batch_size: int = 64,
                 max_length: int | None = None, show_progress: bool = True, desc: str = "encoding",
                 stats: EncodeStats | None = None, batch_tokens: int | None = None,
                 precision: str = "fp32") -> np.ndarray:
    """Vectors of ``prefix + text`` for every text (no dedup, no cache): float32 ``[n, dim]``, unit norm.

    Tokenizes all texts in one call, sorts them by token count (longest first: the first batch
    shows the peak memory and the progress bar's estimate is pessimistic rather than optimistic),
    cuts batches of at most ``batch_size`` texts and ``batch_tokens`` padded tokens
    (:func:`plan_batches`), pads each batch to its own longest member, and runs the model under
    inference mode, its transformer in ``precision`` ("fp32" or "bf16", resolved; see
    :mod:`xlir.models.precision`) and pooling / normalisation in fp32.
    """
    import torch
    from tqdm.auto import tqdm

    n = len(texts)
    dim = embedding_dim(model)
    out = np.zeros((n, dim), np.float32)
    if n == 0:
        return out
    t0 = time.perf_counter()
    max_len = int(max_length or model.max_seq_length or 512)
    tokenizer = model.tokenizer
    limit = char_limit(tokenizer, max_len)
    cut, n_cut = cut_long_texts(texts, limit)
    if n_cut:
        warnings.warn(f"{n_cut} of {n} texts ({desc}) are longer than {limit:,} characters and were cut to "
                      f"that before tokenization (only the first {max_len} tokens are encoded anyway)",
                      stacklevel=2)
        if stats is not None:
            stats.truncated += n_cut
    enc = tokenizer([prefix + t for t in cut], truncation=True, max_length=max_len,
                    padding=False, return_attention_mask=False, return_token_type_ids=False)
    ids = enc["input_ids"]
    lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=n)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    run = _batch_runner(model, precision)
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    bar = tqdm(total=n, desc=desc, unit="text", disable=not show_progress, leave=False)
    try:
        with _no_grad(model, precision):
            for sel in plan_batches(lengths, max_texts=batch_size, max_tokens=batch_tokens):
                width = int(lengths[sel[0]])
                input_ids = torch.full((len(sel), width), pad_id, dtype=torch.long)
                mask = torch.zeros((len(sel), width), dtype=torch.long)
                for row, j in enumerate(sel):
                    L = int(lengths[j])
                    input_ids[row, :L] = torch.as_tensor(ids[j])
                    mask[row, :L] = 1
                out[sel] = run(input_ids, mask).numpy()
                if stats is not None:
                    stats.tokens += int(lengths[sel].sum())
                    stats.padded_tokens += len(sel) * width
                    stats.batches.append((len(sel), width))
                bar.update(len(sel))
    finally:
        bar.close()
        if hasattr(model, "train"):
            model.train(was_training)
    check_vectors_finite(out, texts, source=f"model {model_label(model)}")
    if stats is not None:
        stats.encoded += n
        stats.seconds += time.perf_counter() - t0
    return out


def model_label(model) -> str:
    """Where a SentenceTransformer came from (its folder or Hub id), for messages."""
    try:
        return str(model[0].auto_model.config._name_or_path or "") or type(model).__name__
    except (AttributeError, IndexError, KeyError, TypeError):
        return str(getattr(model, "name_or_path", None) or type(model).__name__)


def check_vectors_finite(vectors: np.ndarray, texts: Sequence[str] | None = None, *, source: str) -> None:
    """Refuse vectors with a NaN or infinite component (a :class:`~xlir.errors.DataError`).

    A model whose weights contain NaN gives NaN vectors, and NaN scores once made every ranking
    "perfect" (AP 1.0, P@1 11.0). The message names ``source`` and how many texts are affected.
    """
    bad = ~np.isfinite(vectors).all(axis=1)
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0])
    example = f" (first: {texts[first][:60]!r})" if texts is not None else ""
    raise DataError(source, f"{int(bad.sum())} of {len(vectors)} texts have non-finite (NaN/inf) "
                    f"embeddings{example}; check the model's weights", expected="finite vectors")


def encode_unique(model, texts: Sequence[str], *, prefix: str = "", cache: EmbeddingCache | None = None,
                  batch_size: int = 64, max_length: int | None = None, show_progress: bool = True,
                  desc: str = "encoding", stats: EncodeStats | None = None, batch_tokens: int | None = None,
                  precision: str = "fp32") -> np.ndarray:
    """Vectors for ``texts`` (duplicates allowed), encoding each distinct text at most once and
    only when the cache does not already hold it; new vectors are added to the cache. The cache
    must belong to this model *and* precision (:func:`model_cache_key`)."""
    st = EncodeStats()
    st.texts = len(texts)
    keys = [text_key(prefix, t) for t in texts]
    first: dict[bytes, int] = {}
    for i, k in enumerate(keys):
        first.setdefault(k, i)
    uniq_keys = list(first)
    uniq_pos = np.fromiter(first.values(), dtype=np.int64, count=len(first))
    st.unique = len(uniq_keys)
    dim = embedding_dim(model)
    uniq_vecs = np.zeros((len(uniq_keys), dim), np.float32)
    hit = np.zeros(len(uniq_keys), bool)
    if cache is not None:
        cached, hit = cache.get(uniq_keys)
        if cached is not None:
            uniq_vecs[hit] = cached[hit]
    st.cache_hits = int(hit.sum())
    todo = np.flatnonzero(~hit)
    if len(todo):
        new = encode_texts(model, [texts[uniq_pos[i]] for i in todo], prefix=prefix,
                           batch_size=batch_size, max_length=max_length, batch_tokens=batch_tokens,
                           precision=precision, show_progress=show_progress, desc=desc, stats=st)
        uniq_vecs[todo] = new
        if cache is not None:
            cache.put([uniq_keys[i] for i in todo], new)
    where = {k: u for u, k in enumerate(uniq_keys)}
    out = uniq_vecs[np.fromiter((where[k] for k in keys), dtype=np.int64, count=len(keys))]
    if stats is not None:
        stats.add(st)
    return out


def model_cache_key(model, *, quantized: bool = False, precision: str = "fp32", backend: str = "") -> str:
    """The cache key of a model: its content fingerprint, ``+int8pc`` for a quantized encoder
    (per-channel int8; the suffix names the scheme so vectors of another scheme are never reused),
    ``+bf16`` for bf16 matrix products, ``+<backend>`` (e.g. ``+onnx-int8-dyn``) for another runtime.
    fp32 torch vectors keep the bare fingerprint, so caches written before precisions existed stay valid."""
    from xlir.models import fingerprint

    return (fingerprint(model) + ("+int8pc" if quantized else "") + ("+bf16" if precision == "bf16" else "")
            + (f"+{backend}" if backend else ""))


@contextmanager
def _collection_encoder(model, *, max_length, quantize, cache, cache_dir, precision="fp32", encoder=None):
    """``(encoder, cache store or None, cache key)`` with ``model.max_seq_length`` overridden
    by ``max_length`` for the duration (it is part of the key through the fingerprint).
    ``encoder`` (e.g. an :class:`xlir.evaluation.onnx_backend.OnnxEncoder` of ``model``) replaces
    the torch model; its ``cache_key_suffix`` (else ``cache_suffix``) keys its vectors apart."""
    old_len = model.max_seq_length
    if max_length:
        model.max_seq_length = int(max_length)
    try:
        backend = getattr(encoder, "cache_key_suffix", getattr(encoder, "cache_suffix", ""))
        key = model_cache_key(model, quantized=quantize, precision=precision, backend=backend)
        if encoder is None:
            encoder = quantize_int8(model) if quantize else model
        store = cache if isinstance(cache, EmbeddingCache) else (
            EmbeddingCache(key, cache_dir) if cache else None)
        yield encoder, store, key
    finally:
        model.max_seq_length = old_len


def _role_encoder(model, encoder, store, *, batch_size: int, show_progress: bool,
                  stats: EncodeStats | None, batch_tokens: int | None = None, precision: str = "fp32"):
    """``encode(texts, role, desc)``: deduplicated, cached encoding with the model's prompt for ``role``
    ("query" or "document"; e5 models need "query: " / "passage: " prefixes)."""
    from xlir.models.prompts import prefix

    prompts = getattr(model, "prompts", {}) or {}

    def encode(texts: list[str], role: str, desc: str) -> np.ndarray:
        return encode_unique(encoder, texts, prefix=prefix(prompts, role), desc=desc, cache=store,
                             batch_size=batch_size, max_length=model.max_seq_length,
                             batch_tokens=batch_tokens, precision=precision,
                             show_progress=show_progress, stats=stats)

    return encode


def encode_collection(model, collection, *, batch_size: int = 64, max_length: int | None = None,
                      cache: bool | EmbeddingCache = True, cache_dir: str | None = None,
                      quantize: bool = False, show_progress: bool = True,
                      stats: EncodeStats | None = None, batch_tokens: int | None = None,
                      precision: str = "fp32", encoder=None) -> tuple[np.ndarray, np.ndarray, str]:
    """``(query vectors, document vectors, model fingerprint)`` in the collection's order.

    ``max_length`` overrides ``model.max_seq_length`` for this call (and is part of the cache key
    through the fingerprint). ``cache`` may be an :class:`EmbeddingCache`, ``True`` (default
    location or ``cache_dir``) or ``False``. ``precision`` is a resolved one ("fp32" / "bf16";
    :func:`xlir.models.precision.resolve_precision`); ``encoder`` runs instead of ``model`` (ONNX).
    """
    with _collection_encoder(model, max_length=max_length, quantize=quantize, cache=cache,
                             cache_dir=cache_dir, precision=precision, encoder=encoder) as (enc, store, key):
        encode = _role_encoder(model, enc, store, batch_size=batch_size, show_progress=show_progress,
                               stats=stats, batch_tokens=batch_tokens, precision=precision)
        q = encode([x.text for x in collection.queries], "query", "queries")
        d = encode([x.text for x in collection.documents], "document", "candidates")
    return q, d, key


def encode_collection_windows(model, collection, *, window_stride: int | None = None,
                              batch_size: int = 64, max_length: int | None = None,
                              cache: bool | EmbeddingCache = True, cache_dir: str | None = None,
                              quantize: bool = False, show_progress: bool = True,
                              stats: EncodeStats | None = None, batch_tokens: int | None = None,
                              precision: str = "fp32", encoder=None):
    """``(query vectors, Windows, window vectors, model fingerprint)``: as :func:`encode_collection`,
    but every document is cut into overlapping windows of the model's length
    (:func:`xlir.evaluation.long_docs.split_windows`) and each window is encoded as a passage,
    through the same deduplicating cache (a window is cached like any passage text)."""
    from xlir.evaluation.long_docs import encode_windows

    with _collection_encoder(model, max_length=max_length, quantize=quantize, cache=cache,
                             cache_dir=cache_dir, precision=precision, encoder=encoder) as (enc, store, key):
        encode = _role_encoder(model, enc, store, batch_size=batch_size, show_progress=show_progress,
                               stats=stats, batch_tokens=batch_tokens, precision=precision)
        q = encode([x.text for x in collection.queries], "query", "queries")
        windows, w = encode_windows(
            model, [x.text for x in collection.documents], stride=window_stride,
            encode_fn=lambda texts: encode(texts, "document", "windows"))
    return q, windows, w, key
