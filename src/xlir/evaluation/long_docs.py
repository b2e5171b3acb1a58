"""Long documents (MLDR, MIRACL with full articles): split into windows, score a document from them.

An encoder sees at most ``max_seq_length`` tokens (512 for e5; MLDR documents run to thousands),
so a long document is cut into overlapping windows of that length, each window is encoded, and a
document's score is computed from its windows' scores. The three choices follow Dai & Callan,
"Deeper Text Understanding for IR with Contextual Neural Language Modeling" (SIGIR 2019), §3.2:

* ``maxp``  — the best window: the document is relevant if any part of it is.
* ``firstp`` — the first window only: what plain truncation gives; the baseline.
* ``mean`` — the average over windows (their SumP, divided by the window count).

Windows are cut on tokenizer tokens (so a window really fits the model) and mapped back to
character spans of the original text with the fast tokenizer's offsets, so each window is a real
substring (no detokenisation artefacts). The budget per window leaves room for the special tokens
and the document prefix (``"passage: "`` for e5). Consecutive windows start ``stride`` tokens apart
(default half a window, as Dai & Callan's 150-word windows with a 75-word stride); a final window is
aligned to the end of the document so the tail is always covered by a full window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from xlir.errors import ConfigError
from xlir.evaluation.search import score_blocks, tie_keys, top_k
from xlir.models.prompts import prefix

AGGREGATIONS = ("maxp", "firstp", "mean")


@dataclass
class Windows:
    """Windows of a corpus: ``texts[w]`` comes from document ``doc[w]``, its ``position[w]``-th window.

    Windows of one document are contiguous and in order, so ``starts`` (the first window of every
    document, plus the total) delimits them.
    """

    texts: list[str]
    doc: np.ndarray
    position: np.ndarray
    n_docs: int

    @property
    def starts(self) -> np.ndarray:
        return np.searchsorted(self.doc, np.arange(self.n_docs + 1))

    def __len__(self) -> int:
        return len(self.texts)


def select_documents(windows: Windows, docs: np.ndarray) -> tuple[np.ndarray, Windows]:
    """The windows of documents ``docs`` (sorted, unique): ``(their rows in windows, a Windows whose
    document ``i`` is ``docs[i]``)``, so a candidate pool's window scores aggregate to the pool's order."""
    docs = np.asarray(docs, np.int64)
    starts = windows.starts
    counts = starts[docs + 1] - starts[docs]
    rows = (np.concatenate([np.arange(starts[d], starts[d + 1]) for d in docs]).astype(np.int64)
            if len(docs) else np.zeros(0, np.int64))
    sub_doc = np.repeat(np.arange(len(docs), dtype=np.int64), counts)
    return rows, Windows([windows.texts[r] for r in rows], sub_doc, windows.position[rows], len(docs))


def document_vectors(window_emb: np.ndarray, windows: Windows, mode: str) -> np.ndarray:
    """One vector per document for the aggregations that are linear in the window vectors.

    ``firstp`` is the first window's vector; ``mean`` the (unnormalised) mean of the window vectors,
    since q·mean(w) = mean(q·w), the mean of the window scores, for every query. MaxP has no such
    vector: it needs the window scores themselves (:func:`aggregate`, :func:`windows_to_documents`).
    """
    starts = windows.starts
    if mode == "firstp":
        return np.ascontiguousarray(window_emb[starts[:-1]], dtype=np.float32)
    if mode == "mean":
        sums = np.add.reduceat(np.asarray(window_emb, np.float64), starts[:-1], axis=0)
        return (sums / np.diff(starts)[:, None]).astype(np.float32)
    raise ConfigError(f"window aggregation {mode!r} has no document vector; use firstp or mean")


def window_budget(model, prompt_name: str | None = "document", margin: int = 2) -> int:
    """Text tokens per window: the model's max length minus special tokens, the prompt's tokens and
    a ``margin``: a window's substring can re-tokenise one token longer at its edges, or where the
    prompt joins the text, and a window must not lose its last tokens to truncation."""
    tok = model.tokenizer
    prompt = prefix(model.prompts, prompt_name) if prompt_name else ""
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"]) if prompt else 0
    budget = int(model.max_seq_length) - tok.num_special_tokens_to_add(pair=False) - n_prompt - margin
    if budget < 8:
        raise ConfigError(f"max_seq_length {model.max_seq_length} leaves {budget} tokens per window")
    return budget


def split_windows(texts: Sequence[str], tokenizer, window: int, stride: int | None = None) -> Windows:
    """Cut every text into windows of at most ``window`` tokens, ``stride`` tokens apart."""
    if window < 1:
        raise ConfigError(f"window must be at least 1 token, got {window}")
    stride = stride or max(1, window // 2)
    if not 1 <= stride <= window:
        raise ConfigError(f"stride must be between 1 and the window ({window}), got {stride}")
    enc = tokenizer(list(texts), add_special_tokens=False, return_offsets_mapping=True)
    out_texts: list[str] = []
    out_doc: list[int] = []
    out_pos: list[int] = []
    for d, (text, offsets) in enumerate(zip(texts, enc["offset_mapping"], strict=True)):
        n = len(offsets)
        if n <= window:
            starts = [0]
        else:
            starts = list(range(0, n - window + 1, stride))
            if starts[-1] + window < n:
                starts.append(n - window)
        for p, s in enumerate(starts):
            e = min(n, s + window)
            # a window spans from its first token's first character to its last token's last one
            piece = text[offsets[s][0]:offsets[e - 1][1]] if n else text
            out_texts.append(piece if piece.strip() else text)
            out_doc.append(d)
            out_pos.append(p)
    return Windows(out_texts, np.asarray(out_doc, np.int64), np.asarray(out_pos, np.int64), len(texts))


def encode_windows(model, texts: Sequence[str], *, stride: int | None = None, batch_size: int = 32,
                   encode_fn: Callable[[list[str]], np.ndarray] | None = None) -> tuple[Windows, np.ndarray]:
    """Split ``texts`` into windows of the model's length and encode them as passages.

    ``encode_fn(texts) -> [n, dim]`` lets the evaluator pass its cached, length-sorted encoder;
    by default ``model.encode`` with the document prompt and L2 normalisation.
    """
    windows = split_windows(texts, model.tokenizer, window_budget(model), stride)
    if encode_fn is None:
        emb = model.encode(windows.texts, prompt=prefix(model.prompts, "document"), batch_size=batch_size,
                           normalize_embeddings=True, convert_to_numpy=True)
    else:
        emb = encode_fn(windows.texts)
    return windows, np.asarray(emb, dtype=np.float32)


def aggregate(window_scores: np.ndarray, windows: Windows, mode: str = "maxp") -> np.ndarray:
    """Document scores ``[nq, n_docs]`` from window scores ``[nq, n_windows]``."""
    starts = windows.starts
    if mode == "maxp":
        return np.maximum.reduceat(window_scores, starts[:-1], axis=1)
    if mode == "firstp":
        return window_scores[:, starts[:-1]]
    if mode == "mean":
        sums = np.add.reduceat(window_scores, starts[:-1], axis=1)
        return sums / np.diff(starts)[None, :]
    raise ConfigError(f"unknown window aggregation {mode!r}; known: {', '.join(AGGREGATIONS)}")


def search_documents(query_emb: np.ndarray, window_emb: np.ndarray, windows: Windows, k: int,
                     doc_ids: Sequence[str], *, mode: str = "maxp",
                     max_block_mb: float = 256) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` documents per query under ``mode``; same contract as ``search.search``.

    Scores every window in memory-bounded query blocks, reduces them to document scores, then
    keeps the top ``k`` with the trec_eval tie-break (score desc, document id desc).
    """
    if len(doc_ids) != windows.n_docs:
        raise ValueError(f"{len(doc_ids)} doc ids for {windows.n_docs} documents")
    if mode not in AGGREGATIONS:
        raise ConfigError(f"unknown window aggregation {mode!r}; known: {', '.join(AGGREGATIONS)}")
    keys = tie_keys(list(doc_ids))
    kk = min(int(k), windows.n_docs)
    nq = len(query_emb)
    out_s, out_i = np.zeros((nq, kk), np.float32), np.zeros((nq, kk), np.int64)
    if mode == "firstp":  # only first windows matter: search them alone
        window_emb = window_emb[windows.starts[:-1]]
        windows = Windows([], np.arange(windows.n_docs), np.zeros(windows.n_docs, np.int64), windows.n_docs)
    for start, block in score_blocks(query_emb, window_emb, max_block_mb):
        doc_scores = aggregate(block, windows, "maxp" if mode == "firstp" else mode)
        out_s[start:start + len(block)], out_i[start:start + len(block)] = top_k(
            doc_scores.astype(np.float32, copy=False), kk, keys)
    return out_s, out_i


def windows_to_documents(scores: np.ndarray, idx: np.ndarray, windows: Windows, k: int,
                         doc_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Map window-level search results (from any backend, e.g. FAISS) to MaxP document results.

    A document's MaxP score is its best window's, so in a window ranking its first appearance is
    its score, and every document absent from the list scores at most the last listed window. The
    first ``k`` distinct documents are therefore the exact MaxP top ``k`` whenever the window list
    holds ``k`` distinct documents; rows with fewer are padded with ``-1`` / ``-inf`` (ask the
    backend for more windows). Ties between documents use the trec_eval order (id descending).
    """
    keys = tie_keys(list(doc_ids))
    nq = len(scores)
    out_s = np.full((nq, k), -np.inf, np.float32)
    out_i = np.full((nq, k), -1, np.int64)
    for q in range(nq):
        best: dict[int, float] = {}
        for s, w in zip(scores[q], idx[q], strict=True):
            if w < 0:
                continue
            d = int(windows.doc[w])
            if d not in best:
                best[d] = float(s)
        docs = np.fromiter(best, np.int64, len(best))
        vals = np.fromiter(best.values(), np.float64, len(best))
        order = np.lexsort((keys[docs], -vals))[:k]
        out_s[q, :len(order)], out_i[q, :len(order)] = vals[order], docs[order]
    return out_s, out_i
