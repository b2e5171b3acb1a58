"""``evaluate(model, collection, config) -> EvalResult``: every setting from one encoding pass.

How it stays fast (LAReQA's 121 pairs plus the pooled setting on 2 CPU cores):

1. every distinct query and candidate text is encoded once (cached on disk, :mod:`.encode`);
2. for each query language the scores against the union of its settings' pools are computed in
   memory-bounded blocks, once; each setting (``X-Y`` for every Y and the pooled ``multi/X``) takes
   its columns from the same block, so 12 settings cost one matrix product instead of 12;
3. metrics need only the exact ranks of the relevant candidates (:mod:`.metrics.base`), counted
   against the block (:func:`.search.relevant_ranks`), never a sort of the 13k-candidate pool.

With ``backend="exact"`` (default) the ranks are exact over the whole pool, so AP is LAReQA's mAP
over all relevant candidates unless ``depth`` cuts it like a trec_eval run of that depth. Other
backends (``faiss``, ``faiss-ivf``, ``faiss-hnsw``; :mod:`.faiss_search`) only return a top-k, so
their ranking depth is ``max(run_depth, depth, largest metric cutoff)`` and relevant candidates below
it count as not retrieved; the bias measures, which need full-pool ranks, are then left out.

Long documents (``doc_windows``, for MLDR and full-article corpora; :mod:`.long_docs`): instead of
one truncated text per document, each document is cut into overlapping windows of the model's
length, every window is encoded (cached like any passage), and a query's score for a document is
an aggregate of its window scores (Dai & Callan, SIGIR 2019, §3.2): ``maxp`` the best window,
``firstp`` the first, ``mean`` their average. FirstP and mean are linear in the window vectors, so
they become one vector per document and everything downstream is unchanged; MaxP scores every
window of the pool in the same blocks and reduces them to documents before ranking (exact), or, on
a FAISS backend, asks for enough windows that the top ``k`` distinct documents are guaranteed to be
among them. Ranks, metrics, settings, run files and bias are then computed on documents as usual.
"""

from __future__ import annotations

import time
from typing import ClassVar, Literal

import numpy as np
from pydantic import ConfigDict, Field, field_validator

from xlir.config import TomlConfig
from xlir.data.provenance import check_zero_shot
from xlir.errors import ConfigError
from xlir.evaluation.bias import own_language_top, rank_distance
from xlir.evaluation.encode import (
    EncodeStats,
    check_vectors_finite,
    configure_threads,
    encode_collection,
    encode_collection_windows,
)
from xlir.evaluation.long_docs import (
    Windows,
    aggregate,
    document_vectors,
    select_documents,
    windows_to_documents,
)
from xlir.evaluation.metrics import DEFAULT_METRICS, RelevantRanks, parse_metrics
from xlir.evaluation.results import EvalResult, RunData
from xlir.evaluation.run_folder import check_cache_dir
from xlir.evaluation.search import DEFAULT_BLOCK_MB, block_rows, relevant_ranks, tie_keys, top_k
from xlir.evaluation.settings import KINDS, SettingPlan, parse_kinds, plan_settings
from xlir.models.precision import describe_precision


class EvalConfig(TomlConfig):
    """Options of one evaluation; ``EvalConfig.from_toml(path, overrides)`` reads a TOML file (top level
    or an ``[eval]`` table) with the command line's options winning (:class:`xlir.config.TomlConfig`)."""

    model_config = ConfigDict(extra="forbid")
    toml_table: ClassVar[str] = "eval"

    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_METRICS))
    settings: list[str] = Field(default_factory=lambda: list(KINDS),
                                description="setting kinds: mono, cross, multi")
    batch_size: int = Field(64, ge=1, description="most texts per encoding batch")
    batch_tokens: int | None = Field(8192, ge=8, description="most padded tokens per encoding batch "
                                                             "(texts sorted by length over the whole list)")
    precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto", description="matrix products of the encoder: bf16 autocast, fp32, or auto = bf16 where "
                            "the hardware has it natively (xlir.models.precision). Default auto: on "
                            "the full XQuAD-R, bf16 encoding of e5-small changed mAP by at most "
                            "+0.0005 at 1.9x the speed (BENCHMARKS.md section 4)")
    runtime: str = Field("torch", description="encoder runtime: torch, onnx (ONNX Runtime fp32), onnx-int8 "
                                              "or another int8 variant (xlir.evaluation.onnx_backend)")
    max_length: int | None = Field(None, ge=8, description="override the model's max_seq_length")
    depth: int | None = Field(None, ge=1, description="rank depth for metrics; None = whole pool")
    run_depth: int = Field(100, ge=0, description="candidates per query in TREC run files")
    run_format: Literal["trec", "trec.gz"] = Field(
        "trec", description="run/qrels files as plain TREC text (ranx, ir_measures and trec_eval read "
                            "them as they are) or gzip-compressed (about 6x smaller)")
    gzip: bool = Field(False, description="write per_query.json.gz instead of per_query.json (about 8x "
                                          "smaller; for run folders that are committed or shipped)")
    cache: bool = True
    cache_dir: str | None = None
    quantize_int8: bool = False
    backend: str = "exact"
    max_block_mb: float = Field(DEFAULT_BLOCK_MB, gt=0)
    num_threads: int | None = Field(None, ge=1)
    show_progress: bool = True
    doc_windows: Literal["none", "maxp", "firstp", "mean"] = Field(
        "none", description="long documents: 'none' encodes each document once, truncated; else split "
                            "into windows of the model's length, document score = best window (maxp), "
                            "first window (firstp) or mean over windows (mean)")
    window_stride: int | None = Field(None, ge=1, description="tokens between window starts "
                                                              "(default half a window)")

    @field_validator("metrics", mode="before")
    @classmethod
    def _metrics(cls, v):
        return [m.name for m in parse_metrics(v)]

    @field_validator("runtime")
    @classmethod
    def _runtime(cls, v):
        from xlir.evaluation.onnx_backend import RUNTIMES

        if v not in RUNTIMES:
            raise ValueError(f"unknown runtime {v!r}; known: {', '.join(RUNTIMES)}")
        return v

    @field_validator("settings", mode="before")
    @classmethod
    def _settings(cls, v):
        return list(parse_kinds(v))


def collection_info(collection) -> dict:
    """The ``collection`` entry of ``results.json``: summary counts, source and the slice taken (and,
    for ``--questions dev|test``, which part of the questions, :mod:`xlir.data.dev_split`)."""
    part = {"questions": q} if (q := collection.meta.get("questions")) else {}
    return {**collection.summary(), "source": collection.source, "subset": collection.meta.get("subset"),
            **part}


def _model_device(model) -> str:
    try:
        return next(model.parameters()).device.type
    except (StopIteration, AttributeError):  # pragma: no cover
        return "cpu"


def _model_name(model, given: str | None) -> str:
    if given:
        return str(given)
    card = getattr(model, "model_card_data", None)
    return str(getattr(card, "base_model", None) or getattr(model, "name_or_path", None) or "unknown")


def evaluate(model, collection, config: EvalConfig | None = None, *, model_name: str | None = None,
             train_sources: list[str] | None = None, allow_seen_source: bool = False) -> EvalResult:
    """Evaluate ``model`` (a SentenceTransformer) on ``collection`` in every requested setting.

    ``train_sources`` (from the model's training record, see
    :func:`xlir.data.provenance.training_sources`) guards zero-shot evaluation: a model trained on
    the collection's own source is refused unless ``allow_seen_source``; the outcome is recorded in
    ``result.model["zero_shot"]``.
    """
    config = config or EvalConfig()
    check_cache_dir(config)
    zero_shot = check_zero_shot(train_sources or [], collection.source or collection.name,
                                override=allow_seen_source)
    parse_metrics(config.metrics)
    t_start = time.perf_counter()
    configure_threads(config.num_threads, model)
    if not plan_settings(collection, config.settings):
        raise ConfigError(f"{collection.name}: no query has a relevant candidate in settings "
                          f"{', '.join(config.settings)}")
    stats = EncodeStats()
    device = _model_device(model)
    precision = describe_precision(config.precision, device)
    encoder = None
    if config.runtime != "torch":
        from xlir.evaluation.onnx_backend import onnx_encoder

        if config.quantize_int8:
            raise ConfigError("--int8 is torch's dynamic quantization; with the ONNX runtime pick an int8 "
                              "variant instead (--runtime onnx-int8)")
        encoder = onnx_encoder(model, config.runtime, threads=configure_threads(config.num_threads, model))
        precision = {**precision, "used": "fp32", "note": f"runtime {config.runtime}: --precision "
                                                           "applies to torch only"}
    elif config.quantize_int8 and precision["used"] != "fp32":
        # torch's dynamic int8 runs its own int8 products; bf16 autocast around them is not a mode
        precision = {**precision, "used": "fp32", "note": "--int8: the int8 products replace --precision"}
    common = dict(batch_size=config.batch_size, max_length=config.max_length, cache=config.cache,
                  cache_dir=config.cache_dir, quantize=config.quantize_int8,
                  show_progress=config.show_progress, stats=stats, batch_tokens=config.batch_tokens,
                  precision=precision["used"], encoder=encoder)
    windows = None
    if config.doc_windows == "none":
        q_emb, d_emb, fp = encode_collection(model, collection, **common)
    else:
        q_emb, windows, d_emb, fp = encode_collection_windows(
            model, collection, window_stride=config.window_stride, **common)
    encode_s = time.perf_counter() - t_start
    result = evaluate_embeddings(q_emb, d_emb, collection, config, windows=windows,
                                 model_info={"name": _model_name(model, model_name), "fingerprint": fp,
                                             "train_sources": list(train_sources or []),
                                             "zero_shot": zero_shot, "precision": precision,
                                             "runtime": getattr(encoder, "cache_suffix", "torch")})
    result.timings = {"encode_s": round(encode_s, 3), **result.timings,
                      "total_s": round(time.perf_counter() - t_start, 3)}
    result.encoding = {"texts": stats.texts, "unique": stats.unique, "cache_hits": stats.cache_hits,
                       "encoded": stats.encoded, "tokens": stats.tokens,
                       "padded_tokens": stats.padded_tokens, "truncated_texts": stats.truncated,
                       "encode_s": round(stats.seconds, 3), "precision": precision["used"],
                       "runtime": config.runtime}
    if windows is not None:
        result.encoding["windows"] = len(windows)  # window texts behind the documents
    return result


def evaluate_embeddings(query_emb: np.ndarray, doc_emb: np.ndarray, collection,
                        config: EvalConfig | None = None, *, model_info: dict | None = None,
                        windows: Windows | None = None) -> EvalResult:
    """Evaluate given vectors (rows aligned with ``collection.queries`` / ``.documents``).

    Scores are plain inner products: pass L2-normalised vectors for cosine similarity. Used by
    :func:`evaluate` after encoding, and directly by tests and benchmarks with vectors of their own.
    With ``windows`` (and ``config.doc_windows`` not ``"none"``), ``doc_emb`` holds one row per
    window and documents are scored by ``config.doc_windows`` over their windows.
    """
    config = config or EvalConfig()
    metrics = parse_metrics(config.metrics)
    plans = plan_settings(collection, config.settings)
    if not plans:
        raise ConfigError(f"{collection.name}: no query has a relevant candidate in settings "
                          f"{', '.join(config.settings)}")
    if (windows is None) != (config.doc_windows == "none"):
        raise ConfigError(f"doc_windows={config.doc_windows!r} needs window vectors and their Windows; "
                          "'none' needs document vectors")
    n_doc_rows = len(collection.documents) if windows is None else windows.n_docs
    if windows is not None and len(doc_emb) != len(windows):
        raise ValueError(f"{len(doc_emb)} window vectors for {len(windows)} windows")
    if len(query_emb) != len(collection.queries) or n_doc_rows != len(collection.documents):
        raise ValueError(f"{len(query_emb)} query / {n_doc_rows} document vectors for "
                         f"{len(collection.queries)} queries / {len(collection.documents)} documents")
    check_vectors_finite(query_emb, [q.text for q in collection.queries], source="query vectors")
    check_vectors_finite(doc_emb, None if windows is not None else [d.text for d in collection.documents],
                         source="document vectors" if windows is None else "window vectors")
    q_emb, d_emb = query_emb, doc_emb
    if windows is not None and config.doc_windows in ("firstp", "mean"):
        d_emb, windows = document_vectors(doc_emb, windows, config.doc_windows), None
    t_encoded = time.perf_counter()
    doc_ids = [d.id for d in collection.documents]
    max_cut = max((m.k or 0) for m in metrics)
    if config.backend == "exact":
        ranked = _rank_exact(plans, q_emb, d_emb, doc_ids, max(config.run_depth, 1), config.max_block_mb,
                             windows)
        depth = config.depth
    else:
        k = max(config.run_depth, config.depth or 0, max_cut, 1)
        ranked = _rank_backend(config.backend, plans, q_emb, d_emb, doc_ids, k, windows)
        depth = min(config.depth or k, k)
    t_ranked = time.perf_counter()

    query_ids = [q.id for q in collection.queries]
    doc_langs = [d.language for d in collection.documents]
    settings: dict[str, dict] = {}
    per_query: dict[str, dict[str, dict[str, float]]] = {}
    bias_pq: dict[str, dict[str, dict[str, float]]] = {}
    runs: dict[str, RunData] = {}
    qrels: dict[str, dict[str, dict[str, int]]] = {}
    for plan in plans:
        top_s, top_i, ranks = ranked[plan.key]
        qids = [query_ids[i] for i in plan.queries]
        rr = RelevantRanks.from_lists(ranks, plan.grades, depth=depth)
        per_query[plan.key] = {m.name: dict(zip(qids, m(rr).tolist(), strict=True)) for m in metrics}
        s = plan.setting
        settings[plan.key] = {"kind": s.kind, "query_language": s.query_language,
                              "doc_language": s.doc_language, "n_queries": len(qids),
                              "n_candidates": int(len(plan.candidates)),
                              "depth": depth if depth is not None else int(len(plan.candidates))}
        if s.kind == "multi" and config.backend == "exact":
            bias_pq[plan.key] = _bias(plan, qids, ranks, doc_langs)
        keep = min(config.run_depth, top_i.shape[1])
        runs[plan.key] = RunData(qids, [[doc_ids[j] for j in row if j >= 0] for row in top_i[:, :keep]],
                                 top_s[:, :keep])
        qrels[plan.key] = {qid: {doc_ids[j]: int(g) for j, g in zip(rel, gr, strict=True)}
                           for qid, rel, gr in zip(qids, plan.relevant, plan.grades, strict=True)}
    t_end = time.perf_counter()

    return EvalResult(
        model=dict(model_info or {"name": "unknown", "fingerprint": None}),
        config=config.model_dump(),
        collection=collection_info(collection),
        settings=settings, per_query=per_query, bias_per_query=bias_pq,
        timings={"search_s": round(t_ranked - t_encoded, 3), "metrics_s": round(t_end - t_ranked, 3)},
        runs=runs, qrels=qrels,
    )


def _bias(plan: SettingPlan, qids: list[str], ranks: list[np.ndarray], doc_langs: list[str]) -> dict:
    lang = plan.setting.query_language
    rd, own, chance = {}, {}, {}
    for qid, r, rel in zip(qids, ranks, plan.relevant, strict=True):
        d = rank_distance(r)
        if d is not None:
            rd[qid] = d
        o = own_language_top(r, [doc_langs[j] for j in rel], lang)
        if o is not None:
            own[qid], chance[qid] = o
    return {"rank_distance": rd, "own_language_top": own, "own_language_chance": chance}


def _rank_exact(plans: list[SettingPlan], q_emb: np.ndarray, d_emb: np.ndarray, doc_ids: list[str],
                k: int, max_block_mb: float, windows: Windows | None = None) -> dict[str, tuple]:
    """Top-k and exact relevant ranks for every plan, one blocked product per query language.

    With ``windows``, ``d_emb`` holds window vectors and each block's window scores are reduced
    to MaxP document scores (columns = the pool's documents) before anything else sees them.
    """
    keys = tie_keys(doc_ids)
    by_lang: dict[str, list[SettingPlan]] = {}
    for p in plans:
        by_lang.setdefault(p.setting.query_language, []).append(p)
    out: dict[str, tuple] = {}
    for group in by_lang.values():
        rows = np.unique(np.concatenate([p.queries for p in group]))
        cols = np.unique(np.concatenate([p.candidates for p in group]))
        col_pos = np.full(len(doc_ids), -1, np.int64)
        col_pos[cols] = np.arange(len(cols))
        if windows is None:
            d_sub, sub_windows = np.ascontiguousarray(d_emb[cols]), None
        else:
            rows_w, sub_windows = select_documents(windows, cols)
            d_sub = np.ascontiguousarray(d_emb[rows_w])
        state = {}
        for p in group:
            local = np.full(len(doc_ids), -1, np.int64)
            local[p.candidates] = np.arange(len(p.candidates))
            row_of = np.searchsorted(rows, p.queries)  # plan query i -> row in `rows`
            kk = min(k, len(p.candidates))
            state[p.key] = (p, row_of, local, col_pos[p.candidates], keys[p.candidates],
                            np.zeros((len(p.queries), kk), np.float32),
                            np.zeros((len(p.queries), kk), np.int64), [None] * len(p.queries), kk)
        step = block_rows(len(d_sub), max_block_mb)
        for start in range(0, len(rows), step):
            block = np.ascontiguousarray(q_emb[rows[start:start + step]], dtype=np.float32) @ d_sub.T
            if sub_windows is not None:
                block = aggregate(block, sub_windows, "maxp")
            for p, row_of, local, pcols, pkeys, top_s, top_i, ranks, kk in state.values():
                sel = np.flatnonzero((row_of >= start) & (row_of < start + len(block)))
                if not len(sel):
                    continue
                sub = block[row_of[sel] - start]
                if len(pcols) != len(cols) or not np.array_equal(pcols, np.arange(len(cols))):
                    sub = sub[:, pcols]
                s, i = top_k(sub, kk, pkeys)
                top_s[sel], top_i[sel] = s, p.candidates[i]
                rel_local = [local[p.relevant[j]] for j in sel]
                for j, r in zip(sel, relevant_ranks(sub, pkeys, rel_local), strict=True):
                    ranks[j] = r
        for p, _, _, _, _, top_s, top_i, ranks, _ in state.values():
            out[p.key] = (top_s, top_i, ranks)
    return out


def _rank_backend(name: str, plans: list[SettingPlan], q_emb: np.ndarray, d_emb: np.ndarray,
                  doc_ids: list[str], k: int, windows: Windows | None = None) -> dict[str, tuple]:
    """Top-k from a registered search backend; relevant ranks from positions in it (inf if absent).

    With ``windows`` (MaxP), the backend searches the pool's windows, deep enough that the top
    ``k`` distinct documents are among them: ``(k - 1) * (most windows of one document) + 1``
    windows always hold ``k`` documents; :func:`windows_to_documents` keeps each one's best.
    """
    from xlir.evaluation.faiss_search import get_search_backend

    backend = get_search_backend(name)
    out: dict[str, tuple] = {}
    for p in plans:
        ids = [doc_ids[j] for j in p.candidates]
        kk = min(k, len(ids))
        if windows is None:
            s, i = backend(q_emb[p.queries], d_emb[p.candidates], kk, ids)
        else:
            rows_w, sub = select_documents(windows, p.candidates)
            w_ids = [f"{ids[d]}#{pos:06d}" for d, pos in zip(sub.doc, sub.position, strict=True)]
            kw = min(len(rows_w), (kk - 1) * int(np.diff(sub.starts).max(initial=1)) + 1)
            ws, wi = backend(q_emb[p.queries], d_emb[rows_w], kw, w_ids)
            s, i = windows_to_documents(ws, wi, sub, kk, ids)
        glob = np.where(i >= 0, p.candidates[np.where(i >= 0, i, 0)], -1)
        ranks = []
        for row, rel in zip(glob, p.relevant, strict=True):
            pos = {int(j): r for r, j in enumerate(row.tolist(), start=1) if j >= 0}
            ranks.append(np.array([pos.get(int(j), np.inf) for j in rel], dtype=np.float64))
        out[p.key] = (s, glob, ranks)
    return out
