"""Benchmark xlir's evaluator against the MTEB-style way of scoring XQuAD-R, plus encoder throughput.

Four measurements in one process, on the same model and the same slice of XQuAD-R:

1. **xlir** — ``xlir.evaluation.evaluate``: every distinct text encoded once (cache off, so the
   encoder really runs), one blocked score matrix per query language serving all its settings,
   metrics from exact ranks.
2. **MTEB-style reference** — what MTEB does for a multi-pair retrieval task (each language pair is
   its own subset): for every ordered pair (X, Y), ``SentenceTransformer.encode`` the X queries and
   the Y candidates separately, score by dot product of the normalised vectors, keep the top
   ``--depth`` (MTEB's ``top_k`` = 1000) per query as a run dict and score it with pytrec_eval; the
   pooled multilingual setting likewise per query language against all candidates. Both runs use
   the same ranking depth, so their metric values must agree; the script checks them per query.
3. **Throughput** of the encoder on a sample of XQuAD-R texts: tokens/s, and FLOP/s against the
   fp32 matrix-multiply peak (``torch.mm`` of 2048x2048) measured in the same process.
4. **int8 dynamic quantization**: encoding speed-up on the same sample and the change in mAP on the
   evaluated slice.

Run ``python benchmarks/bench_eval.py --help``; results print as text and, with ``--json``, are
written to a file. ``BENCHMARKS.md`` records the numbers and the exact commands.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

PYTREC_MEASURES = {"AP": "map", "nDCG@10": "ndcg_cut_10", "R@100": "recall_100", "P@1": "P_1"}
# MRR@10 is trec_eval's recip_rank on the run cut to its first 10 candidates.


# ---- data ---------------------------------------------------------------------------------------
def load_slice(languages: list[str] | None, limit: int | None):
    from xlir.data.registry import load_collection

    coll = load_collection("xquad-r", languages=languages)
    return coll.subset(limit=limit) if limit else coll


def setting_qrels(coll) -> dict[str, tuple[list, list, dict]]:
    """``key -> (queries, candidates, qrels)`` for every mono/cross pair and pooled setting."""
    qs, ds = coll.queries_by_language(), coll.documents_by_language()
    langs = sorted(qs)
    dlangs = sorted(ds)
    doc_lang = {d.id: d.language for d in coll.documents}
    out = {}
    for x in langs:
        for y in dlangs:
            kind = "mono" if x == y else "cross"
            qrels = {q.id: {d: g for d, g in coll.qrels[q.id].items() if doc_lang[d] == y and g > 0}
                     for q in qs[x]}
            qrels = {k: v for k, v in qrels.items() if v}
            if qrels:
                out[f"{kind}/{x}-{y}"] = ([q for q in qs[x] if q.id in qrels], ds[y], qrels)
        qrels = {q.id: {d: g for d, g in coll.qrels[q.id].items() if g > 0} for q in qs[x]}
        qrels = {k: v for k, v in qrels.items() if v}
        out[f"multi/{x}"] = ([q for q in qs[x] if q.id in qrels], coll.documents, qrels)
    return out


# ---- the two ways -------------------------------------------------------------------------------
def run_xlir(model, coll, depth: int, batch_size: int, quantize: bool = False):
    from xlir.evaluation import EvalConfig, evaluate

    cfg = EvalConfig(depth=depth, cache=False, show_progress=False, batch_size=batch_size,
                     quantize_int8=quantize)
    t0 = time.perf_counter()
    result = evaluate(model, coll, cfg)
    return result, time.perf_counter() - t0


def run_mteb_style(model, coll, depth: int, batch_size: int) -> tuple[dict, float, dict]:
    """Per-pair encode + top-``depth`` run + pytrec_eval, as MTEB's retrieval evaluator does."""
    import pytrec_eval

    t0 = time.perf_counter()
    timings = defaultdict(float)
    counts = defaultdict(int)
    per_query: dict[str, dict[str, dict[str, float]]] = {}
    for key, (queries, docs, qrels) in setting_qrels(coll).items():
        t = time.perf_counter()
        q = model.encode([x.text for x in queries], prompt_name="query", batch_size=batch_size,
                         normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        d = model.encode([x.text for x in docs], prompt_name="document", batch_size=batch_size,
                         normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        timings["encode_s"] += time.perf_counter() - t
        counts["texts_encoded"] += len(queries) + len(docs)
        t = time.perf_counter()
        scores = q @ d.T
        k = min(depth, len(docs))
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < len(docs) else \
            np.broadcast_to(np.arange(len(docs)), scores.shape)
        ids = [x.id for x in docs]
        run = {}
        for i, qq in enumerate(queries):
            row = top[i]
            run[qq.id] = dict(zip([ids[j] for j in row], scores[i, row].astype(float).tolist(), strict=True))
        counts["run_entries"] += len(queries) * k
        timings["rank_s"] += time.perf_counter() - t
        t = time.perf_counter()
        res = pytrec_eval.RelevanceEvaluator(qrels, set(PYTREC_MEASURES.values())).evaluate(run)
        run10 = {qid: dict(sorted(r.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[:10])
                 for qid, r in run.items()}
        rr = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(run10)
        timings["pytrec_s"] += time.perf_counter() - t
        pq = {name: {qid: res[qid][m] for qid in res} for name, m in PYTREC_MEASURES.items()}
        pq["RR@10"] = {qid: rr[qid]["recip_rank"] for qid in rr}
        per_query[key] = pq
    total = time.perf_counter() - t0
    return per_query, total, {**{k: round(v, 2) for k, v in timings.items()}, **counts}


def compare_values(xlir_pq: dict, ref_pq: dict) -> dict:
    """Per metric: queries compared, queries differing by more than 1e-9, max abs difference."""
    out: dict = {}
    examples = []
    missing = sorted(set(ref_pq) ^ set(xlir_pq))
    for metric in ("AP", "nDCG@10", "R@100", "RR@10", "P@1"):
        n = bad = 0
        worst = 0.0
        for key in set(ref_pq) & set(xlir_pq):
            a, b = xlir_pq[key].get(metric, {}), ref_pq[key].get(metric, {})
            for qid in set(a) | set(b):
                n += 1
                diff = abs(a.get(qid, math.nan) - b.get(qid, math.nan))
                if not diff <= 1e-9:
                    bad += 1
                    worst = max(worst, diff if diff == diff else math.inf)
                    examples.append((diff if diff == diff else math.inf, key, metric, qid,
                                     a.get(qid), b.get(qid)))
        out[metric] = {"queries": n, "differ": bad, "max_abs_diff": worst}
        by_kind = defaultdict(int)
        for _, key, m, *_rest in examples:
            if m == metric:
                by_kind[key.split("/")[0]] += 1
        out[metric]["differ_by_kind"] = dict(by_kind)
    examples.sort(reverse=True)
    out["largest_differences"] = [{"setting": k, "metric": m, "query": q, "xlir": x, "mteb_style": r}
                                  for _, k, m, q, x, r in examples[:10]]
    out["settings_missing_in_one"] = missing
    return out


def workload(model, coll, depth: int) -> dict:
    """Exact work each approach does on ``coll``: tokens encoded and query x candidate products.

    xlir encodes every distinct ``prefix + text`` once; the MTEB-style run encodes, for every
    setting, its queries and its whole candidate pool again. Token counts use the model's
    tokenizer with its truncation, so they are what the encoder really processes.
    """
    from xlir.models.prompts import prefix

    qp, dp = prefix(model.prompts, "query"), prefix(model.prompts, "document")
    q_len = dict(zip([q.id for q in coll.queries], _lengths(model, [qp + q.text for q in coll.queries]),
                     strict=True))
    d_len = dict(zip([d.id for d in coll.documents],
                     _lengths(model, [dp + d.text for d in coll.documents]), strict=True))
    uniq = {qp + q.text: q_len[q.id] for q in coll.queries}
    uniq |= {dp + d.text: d_len[d.id] for d in coll.documents}
    mteb_tokens = entries = 0
    settings = setting_qrels(coll)
    for queries, docs, _ in settings.values():
        mteb_tokens += sum(q_len[q.id] for q in queries) + sum(d_len[d.id] for d in docs)
        entries += len(queries) * min(depth, len(docs))
    products = len(coll.queries) * len(coll.documents)  # xlir: each query against the union pool, once
    return {"settings": len(settings), "xlir_tokens": int(sum(uniq.values())), "xlir_texts": len(uniq),
            "mteb_tokens": int(mteb_tokens), "xlir_products": int(products), "mteb_run_entries": int(entries)}


def _lengths(model, texts: list[str]) -> list[int]:
    enc = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)
    return [len(x) for x in enc["input_ids"]]


def extrapolate(slice_work: dict, full_work: dict, xlir: dict, mteb: dict,
                full_run: dict | None = None) -> dict:
    """Full-collection wall time of each approach from measured unit costs.

    Encoding scales with tokens: seconds per token measured on this slice for each approach's own
    encoder path, times the exact token count of the full collection. The rest (xlir's search and
    metrics; the MTEB-style top-k ranking and pytrec_eval) barely depends on the model, so when
    ``full_run`` (the JSON of a full-collection run of this script, e.g. with the tiny model) is
    given its measured seconds are used as they are; otherwise they are scaled linearly from the
    slice (query x candidate products for xlir, run entries for MTEB-style), which overstates
    xlir's fixed per-setting costs. Model loading is excluded from both.
    """
    x_enc = xlir["timings"]["encode_s"] / slice_work["xlir_tokens"]
    m_enc = mteb["encode_s"] / slice_work["mteb_tokens"]
    if full_run is not None:
        x_rest = full_run["xlir"]["timings"]["search_s"] + full_run["xlir"]["timings"]["metrics_s"]
        m_rest = full_run["mteb_style"]["rank_s"] + full_run["mteb_style"]["pytrec_s"]
        rest_from = f"measured on the full set ({full_run['model']})"
    else:
        x_rest = (xlir["timings"]["search_s"] + xlir["timings"]["metrics_s"]) / slice_work["xlir_products"] \
            * full_work["xlir_products"]
        m_rest = (mteb["rank_s"] + mteb["pytrec_s"]) / slice_work["mteb_run_entries"] \
            * full_work["mteb_run_entries"]
        rest_from = "scaled linearly from the slice"
    xlir_s = x_enc * full_work["xlir_tokens"] + x_rest
    mteb_s = m_enc * full_work["mteb_tokens"] + m_rest
    # the same per-token cost for both paths: the ratio that token counts alone explain
    mteb_same_s = x_enc * full_work["mteb_tokens"] + m_rest
    return {"same_cost_ratio": mteb_same_s / xlir_s, "xlir_s_per_token": x_enc, "mteb_s_per_token": m_enc,
            "xlir_encode_full_s": x_enc * full_work["xlir_tokens"],
            "mteb_encode_full_s": m_enc * full_work["mteb_tokens"], "xlir_rest_s": x_rest,
            "mteb_rest_s": m_rest, "rest_from": rest_from, "xlir_full_s": xlir_s, "mteb_full_s": mteb_s,
            "ratio": mteb_s / xlir_s}


def kind_means(per_query: dict, metric: str = "AP") -> dict[str, float]:
    by_kind = defaultdict(list)
    for key, measures in per_query.items():
        by_kind[key.split("/")[0]].append(np.mean(list(measures[metric].values())))
    return {k: float(np.mean(v)) for k, v in sorted(by_kind.items())}


# ---- throughput ---------------------------------------------------------------------------------
def matmul_peak(n: int = 2048, repeats: int = 10, dtype: str = "fp32") -> float:
    """Best-of-``repeats`` FLOP/s of ``torch.mm`` on n x n ``dtype`` matrices (2 n^3 FLOPs per product)."""
    import torch

    dt = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a, b = torch.randn(n, n, dtype=dt), torch.randn(n, n, dtype=dt)
    torch.mm(a, b)
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best


def model_shape(model) -> dict:
    """Non-embedding parameters (those a token's matmuls touch), layers and hidden width."""
    hf = model[0].auto_model
    total = sum(p.numel() for p in hf.parameters())
    emb = sum(p.numel() for n, p in hf.named_parameters() if n.startswith("embeddings."))
    cfg = hf.config
    return {"params": total, "params_embedding": emb, "params_nonembedding": total - emb,
            "layers": cfg.num_hidden_layers, "hidden": cfg.hidden_size}


def encoder_flops(widths_and_counts, shape: dict) -> float:
    """FLOPs of the encoder over sequences given as ``(count, length)``.

    Per token ``2 * N_nonembedding`` for the weight matmuls (Kaplan et al. 2020, "Scaling laws for
    neural language models", §2.1), plus, per layer, ``4 * length * hidden`` for the attention
    scores ``QK^T`` and the weighted sum ``AV``. Embedding look-ups, softmax, layer norms and
    GELUs are not counted (they are not matmuls and are a few percent at these sizes).
    """
    p, n_layers, h = shape["params_nonembedding"], shape["layers"], shape["hidden"]
    return float(sum(c * w * (2 * p + 4 * n_layers * w * h) for c, w in widths_and_counts))


def throughput(model, texts: list[str], batch_size: int, quantize: bool) -> dict:
    """Encode ``texts`` with xlir's encoder (length-sorted batches) and time it.

    ``flop/s executed`` counts the padded batches the model really ran; ``flop/s useful`` counts each
    text at its own token length, i.e. the work a padding-free encoder would need.
    """
    from xlir.evaluation.encode import EncodeStats, encode_texts, quantize_int8

    enc = quantize_int8(model) if quantize else model
    encode_texts(enc, texts[:batch_size], batch_size=batch_size, show_progress=False)  # warm-up
    stats = EncodeStats()
    t = time.perf_counter()
    vecs = encode_texts(enc, texts, batch_size=batch_size, show_progress=False, stats=stats)
    secs = time.perf_counter() - t
    shape = model_shape(model)
    lengths = [len(x) for x in model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)[
        "input_ids"]]
    executed = encoder_flops(stats.batches, shape)
    useful = encoder_flops([(1, n) for n in lengths], shape)
    return {"texts": len(texts), "seconds": secs, "texts_per_s": len(texts) / secs,
            "tokens": stats.tokens, "padded_tokens": stats.padded_tokens,
            "tokens_per_s": stats.tokens / secs, "flops_executed": executed,
            "flop_per_s_executed": executed / secs, "flops_useful": useful,
            "flop_per_s_useful": useful / secs, "vectors": vecs}


def _use_per_channel_int8() -> None:
    """Swap xlir's int8 quantizer for one with per-output-channel weight scales (an experiment:
    one scale per row of each weight matrix instead of one per matrix)."""
    import copy

    import torch
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    import xlir.evaluation.encode as encode

    def per_channel(model):
        q = copy.deepcopy(model).to("cpu")
        q.eval()
        return quantize_dynamic(q, {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)

    encode.quantize_int8 = per_channel


# ---- main ---------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="e5-small", help="short name, folder or HF id (default e5-small)")
    ap.add_argument("--languages", default=None, help="comma-separated XQuAD-R languages (default: all 11)")
    ap.add_argument("--limit", type=int, default=None, help="questions per language (default: all 1190)")
    ap.add_argument("--depth", type=int, default=1000, help="ranking depth of both runs (MTEB top_k)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--skip-reference", action="store_true", help="do not run the MTEB-style reference")
    ap.add_argument("--throughput-texts", type=int, default=0,
                    help="encode this many XQuAD-R texts for the throughput/int8 timing (0: skip)")
    ap.add_argument("--int8", action="store_true", help="also evaluate the slice with int8 quantization")
    ap.add_argument("--extrapolate", action="store_true",
                    help="estimate full-XQuAD-R wall times from this slice's measured unit costs")
    ap.add_argument("--full-run", type=Path, default=None,
                    help="JSON of a full-collection run: its measured non-encoding times feed --extrapolate")
    ap.add_argument("--int8-per-channel", action="store_true",
                    help="int8 weights with one scale per output channel, not per tensor")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: usable CPUs)")
    ap.add_argument("--json", type=Path, default=None, help="write all numbers to this JSON file")
    args = ap.parse_args(argv)

    import torch

    from xlir.evaluation.encode import configure_threads
    from xlir.models.loading import load_model

    threads = configure_threads(args.threads)
    if args.int8_per_channel:
        _use_per_channel_int8()
    langs = [x for x in args.languages.split(",") if x] if args.languages else None
    report: dict = {"command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
                    "machine": {"cpus_usable": threads, "torch_threads": torch.get_num_threads(),
                                "processor": platform.processor() or platform.machine(),
                                "loadavg_start": os.getloadavg()},
                    "model": args.model, "languages": langs or "all", "limit": args.limit,
                    "int8_scheme": "per-channel" if args.int8_per_channel else "per-tensor",
                    "depth": args.depth, "batch_size": args.batch_size}
    t = time.perf_counter()
    model = load_model(args.model)
    report["model_load_s"] = round(time.perf_counter() - t, 2)
    coll = load_slice(langs, args.limit)
    report["collection"] = {"queries": len(coll.queries), "documents": len(coll.documents),
                            "languages": coll.query_languages}
    print(f"model {args.model}; slice: {len(coll.queries)} queries, {len(coll.documents)} candidates, "
          f"{len(coll.query_languages)} languages; {threads} threads", flush=True)

    result, t_xlir = run_xlir(model, coll, args.depth, args.batch_size)
    report["xlir"] = {"wall_s": round(t_xlir, 2), "timings": result.timings, "encoding": result.encoding,
                      "settings": len(result.per_query), "AP": kind_means(result.per_query)}
    print(f"xlir:       {t_xlir:8.1f} s  ({len(result.per_query)} settings; "
          f"encoded {result.encoding['encoded']} of {result.encoding['texts']} texts)  "
          f"mAP {report['xlir']['AP']}", flush=True)

    if not args.skip_reference:
        ref_pq, t_ref, parts = run_mteb_style(model, coll, args.depth, args.batch_size)
        agree = compare_values(result.per_query, ref_pq)
        ratio = t_ref / t_xlir
        report["mteb_style"] = {"wall_s": round(t_ref, 2), **parts, "AP": kind_means(ref_pq)}
        report["agreement"] = agree
        report["ratio"] = round(ratio, 2)
        print(f"MTEB-style: {t_ref:8.1f} s  {parts}", flush=True)
        print(f"ratio MTEB-style / xlir = {ratio:.1f}x", flush=True)
        if args.extrapolate:
            full = load_slice(None, None)
            full_run = json.loads(args.full_run.read_text()) if args.full_run else None
            est = extrapolate(workload(model, coll, args.depth), workload(model, full, args.depth),
                              report["xlir"], report["mteb_style"], full_run)
            report["work_slice"] = workload(model, coll, args.depth)
            report["work_full"] = workload(model, full, args.depth)
            report["extrapolation"] = est
            print(f"work on the slice: {report['work_slice']}\nwork on the full set: {report['work_full']}")
            print(f"extrapolated to all of XQuAD-R: xlir {est['xlir_full_s'] / 60:.1f} min, MTEB-style "
                  f"{est['mteb_full_s'] / 60:.1f} min, ratio {est['ratio']:.1f}x; "
                  f"(with xlir's per-token cost for both: {est['same_cost_ratio']:.1f}x); "
                  f"non-encoding part {est['rest_from']} "
                  f"(s/token: xlir {est['xlir_s_per_token']:.2e}, ST.encode {est['mteb_s_per_token']:.2e})")
        for metric, row in agree.items():
            if metric in PYTREC_MEASURES or metric == "RR@10":
                print(f"  {metric:8s} {row['queries']} query values, {row['differ']} differ > 1e-9, "
                      f"max |diff| {row['max_abs_diff']:.3g}")

    if args.throughput_texts:
        texts = [q.text for q in coll.queries] + [d.text for d in coll.documents]
        rng = np.random.default_rng(0)
        sample = [texts[i] for i in rng.choice(len(texts), min(args.throughput_texts, len(texts)),
                                               replace=False)]
        peak = matmul_peak()
        shape = model_shape(model)
        fp32 = throughput(model, sample, args.batch_size, quantize=False)
        int8 = throughput(model, sample, args.batch_size, quantize=True)
        cos = float(np.mean(np.sum(fp32.pop("vectors") * int8.pop("vectors"), axis=1)))
        report["throughput"] = {"matmul_peak_flop_per_s": peak, "shape": shape, "fp32": fp32, "int8": int8,
                                "int8_speedup": fp32["seconds"] / int8["seconds"],
                                "int8_mean_cosine_to_fp32": cos}
        for name, r in (("fp32", fp32), ("int8", int8)):
            print(f"{name}: {r['texts_per_s']:.1f} texts/s, {r['tokens_per_s']:.0f} tokens/s, "
                  f"{r['flop_per_s_executed'] / 1e9:.1f} GFLOP/s executed "
                  f"({100 * r['flop_per_s_executed'] / peak:.0f}% of fp32 mm peak {peak / 1e9:.1f} GFLOP/s), "
                  f"{r['flop_per_s_useful'] / 1e9:.1f} GFLOP/s useful (without padding)", flush=True)
        print(f"int8 speed-up {report['throughput']['int8_speedup']:.2f}x, mean cosine to fp32 {cos:.4f}")

    if args.int8:
        q_result, t_q = run_xlir(model, coll, args.depth, args.batch_size, quantize=True)
        report["int8_eval"] = {"wall_s": round(t_q, 2), "AP": kind_means(q_result.per_query),
                               "AP_fp32": report["xlir"]["AP"],
                               "delta": {k: kind_means(q_result.per_query)[k] - report["xlir"]["AP"][k]
                                         for k in report["xlir"]["AP"]}}
        print(f"int8 eval: {t_q:.1f} s (fp32 {t_xlir:.1f} s); mAP {report['int8_eval']['AP']}; "
              f"delta {report['int8_eval']['delta']}", flush=True)

    report["machine"]["loadavg_end"] = os.getloadavg()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1, default=float))
    return report


if __name__ == "__main__":
    main()
