"""bf16 vs fp32 (and ONNX Runtime variants): encoder speed side by side, and mAP on XQuAD-R.

Everything that is compared runs in one process, interleaved round by round on the same texts, so
a shared machine's load hits every variant alike; the load average is recorded with every figure.

    # a few minutes: 256 sampled XQuAD-R texts, 2 rounds; mAP on 50 questions per language
    python benchmarks/bench_precision.py --parity --json out/precision.json
    # the full set: all of XQuAD-R for the mAP parity (13,014 sentences + 11 x 1,190 questions)
    python benchmarks/bench_precision.py --full --parity --skip-throughput --json out/precision_full.json
    # with the ONNX Runtime variants (fp32 export, int8 ones)
    python benchmarks/bench_precision.py --onnx onnx,onnx-int8-dynamic,onnx-int8-static --json out/onnx.json

Throughput: tokens/s per variant (best of ``--rounds``), the ratio to fp32, cosine of every vector
to its fp32 twin, and FLOP/s (useful: each text at its own length; executed: padded batches) against
the ``torch.mm`` peaks of fp32 and bf16 2048x2048 products timed in the same process.
Parity: :func:`xlir.evaluation.evaluate` per variant (embedding cache on, so a variant's vectors are
computed once ever), macro mAP per setting kind and its change against fp32.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_eval import encoder_flops, matmul_peak, model_shape  # noqa: E402


def write_report(report: dict, path: Path | None) -> str:
    """The report as indented JSON, also written to ``path`` (parents made) when one is given."""
    text = json.dumps(report, indent=1)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return text


def mm_peak(dtype: str) -> float:
    """The ``torch.mm`` peak of bench_eval in ``dtype`` (fp32 or bf16), measured in this process."""
    return matmul_peak(dtype=dtype)


def sample_texts(collection, model, n: int | None, seed: int = 0) -> list[str]:
    """Distinct XQuAD-R texts with their prompts (questions and candidates mixed), ``n`` at random."""
    q = sorted({model.prompts.get("query", "") + x.text for x in collection.queries})
    d = sorted({model.prompts.get("passage", "") + x.text for x in collection.documents})
    texts = q + d
    if n is not None and n < len(texts):
        pick = np.random.default_rng(seed).choice(len(texts), size=n, replace=False)
        texts = [texts[i] for i in sorted(pick)]
    return texts


def make_encoder(model, variant: str):
    """``(encoder, precision)`` for a variant name: fp32, bf16, or an ONNX runtime name."""
    if variant in ("fp32", "bf16"):
        return model, variant
    if variant == "torch-int8":
        from xlir.evaluation.encode import quantize_int8

        return quantize_int8(model), "fp32"
    from xlir.evaluation.onnx_backend import onnx_encoder

    return onnx_encoder(model, variant), "fp32"


def throughput(model, texts: list[str], variants: list[str], rounds: int, batch_size: int,
               batch_tokens: int | None) -> dict:
    from xlir.evaluation.encode import EncodeStats, encode_texts

    encoders = {v: make_encoder(model, v) for v in variants}
    shape = model_shape(model)
    best: dict[str, float] = {}
    stats_of: dict[str, EncodeStats] = {}
    vectors: dict[str, np.ndarray] = {}
    loads = []
    for enc, prec in encoders.values():  # warm-up: first-call costs (oneDNN kernels, ORT arenas)
        encode_texts(enc, texts[:16], batch_size=batch_size, batch_tokens=batch_tokens,
                     precision=prec, show_progress=False)
    for r in range(rounds):
        order = variants if r % 2 == 0 else variants[::-1]  # alternate who goes first
        for v in order:
            enc, prec = encoders[v]
            st = EncodeStats()
            t = time.perf_counter()
            vectors[v] = encode_texts(enc, texts, batch_size=batch_size, batch_tokens=batch_tokens,
                                      precision=prec, show_progress=False, stats=st)
            secs = time.perf_counter() - t
            best[v] = min(best.get(v, math.inf), secs)
            stats_of[v] = st
            loads.append(os.getloadavg()[0])
            print(f"round {r + 1} {v}: {secs:.1f}s (load {loads[-1]:.1f})", file=sys.stderr)
    out = {}
    ref = vectors[variants[0]]
    for v in variants:
        st, secs = stats_of[v], best[v]
        useful = encoder_flops([(1, n) for n in _lengths(model, texts)], shape)
        executed = encoder_flops(st.batches, shape)
        cos = (vectors[v] * ref).sum(axis=1)
        out[v] = {"seconds": round(secs, 3), "tokens": st.tokens, "padded_tokens": st.padded_tokens,
                  "executed_over_real": round(st.padded_tokens / st.tokens, 4),
                  "tokens_per_s": round(st.tokens / secs, 1),
                  "speedup_vs_first": round(best[variants[0]] / secs, 3),
                  "gflop_per_s_useful": round(useful / secs / 1e9, 2),
                  "gflop_per_s_executed": round(executed / secs / 1e9, 2),
                  "cosine_to_first_mean": round(float(cos.mean()), 6),
                  "cosine_to_first_min": round(float(cos.min()), 6)}
    return {"texts": len(texts), "rounds": rounds, "load_during": [round(x, 2) for x in loads],
            "variants": out}


def _lengths(model, texts: list[str]) -> list[int]:
    ids = model.tokenizer(list(texts), truncation=True, max_length=model.max_seq_length)["input_ids"]
    return [len(x) for x in ids]


def parity(model, collection, variants: list[str], batch_size: int, batch_tokens: int | None) -> dict:
    from xlir.evaluation import EvalConfig, evaluate

    out = {}
    for v in variants:
        prec, runtime = (v, "torch") if v in ("fp32", "bf16") else ("fp32", v)
        extra = {"runtime": runtime} if runtime != "torch" else {}
        cfg = EvalConfig(precision=prec, batch_size=batch_size, batch_tokens=batch_tokens,
                         show_progress=False, metrics=["AP"], **extra)
        t = time.perf_counter()
        res = evaluate(model, collection, cfg)
        agg = res.aggregates()
        out[v] = {"mAP": {k: round(agg[k]["AP"]["mean"], 5) for k in agg},
                  "encode_s": res.timings["encode_s"], "encoded": res.encoding["encoded"],
                  "cache_hits": res.encoding["cache_hits"], "wall_s": round(time.perf_counter() - t, 1),
                  "load": round(os.getloadavg()[0], 2)}
        print(f"parity {v}: {out[v]}", file=sys.stderr)
    base = out[variants[0]]["mAP"]
    for v in variants[1:]:
        out[v]["delta"] = {k: round(out[v]["mAP"][k] - base[k], 5) for k in base}
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--variants", default="fp32,bf16", help="first one is the reference")
    ap.add_argument("--onnx", default="", help="ONNX runtime variants to add, e.g. onnx,onnx-int8-dynamic")
    ap.add_argument("--texts", type=int, default=256, help="sampled texts for throughput")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: xlir's choice)")
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--batch-tokens", type=int, default=8192)
    ap.add_argument("--languages", default=None, help="comma-separated, for the parity slice")
    ap.add_argument("--limit", type=int, default=50, help="questions per language in the parity slice")
    ap.add_argument("--full", action="store_true", help="all of XQuAD-R: every text for throughput "
                                                         "and every question for parity")
    ap.add_argument("--parity", action="store_true", help="also evaluate every variant (mAP)")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    from xlir.data import load_collection
    from xlir.evaluation.encode import configure_threads
    from xlir.models import load_model

    model = load_model(args.model)
    threads = configure_threads(args.threads, model)
    variants = [v for v in args.variants.split(",") if v] + [v for v in args.onnx.split(",") if v]
    collection = load_collection("xquad-r")
    langs = args.languages.split(",") if args.languages else None
    if not args.full:
        collection = collection.subset(languages=langs, limit=args.limit)
    report: dict = {"command": " ".join(sys.argv), "model": args.model, "threads": threads,
                    "torch": torch.__version__, "load_start": [round(x, 2) for x in os.getloadavg()]}
    report["mm_peak_gflops"] = {"fp32": round(mm_peak("fp32") / 1e9, 1),
                                "bf16": round(mm_peak("bf16") / 1e9, 1)}
    print(f"mm peaks: {report['mm_peak_gflops']} GFLOP/s", file=sys.stderr)
    if not args.skip_throughput:
        texts = sample_texts(collection, model, None if args.full else args.texts)
        report["throughput"] = throughput(model, texts, variants, args.rounds, args.batch_size,
                                          args.batch_tokens)
        peak16 = report["mm_peak_gflops"]["bf16"]
        for v in report["throughput"]["variants"].values():
            v["useful_over_bf16_peak"] = round(v["gflop_per_s_useful"] / peak16, 3)
    if args.parity:
        report["parity"] = parity(model, collection, variants, args.batch_size, args.batch_tokens)
        report["parity_collection"] = {"queries": len(collection.queries),
                                       "documents": len(collection.documents), "full": args.full}
    report["mm_peak_gflops_end"] = {"fp32": round(mm_peak("fp32") / 1e9, 1),
                                    "bf16": round(mm_peak("bf16") / 1e9, 1)}
    report["load_end"] = [round(x, 2) for x in os.getloadavg()]
    print(write_report(report, args.json))
    return report


if __name__ == "__main__":
    main()
