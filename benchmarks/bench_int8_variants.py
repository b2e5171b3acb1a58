"""int8 variants of the ONNX export side by side: cosine to fp32 torch and speed, plus a per-layer
sensitivity scan of dynamic int8. This is what chose the variants in ``xlir.evaluation.onnx_backend``.

    # candidate quantizations (each built once into --work), cosine on 300 XQuAD-R texts, speed
    python benchmarks/bench_int8_variants.py --texts 300 --json out/int8_candidates.json
    # which MatMul groups cost the most under dynamic int8: quantize one group at a time
    python benchmarks/bench_int8_variants.py --sensitivity --texts 300 --json out/int8_sensitivity.json

Every candidate is a keyword set of :func:`xlir.models.onnx_export.quantize_onnx` applied to the
model's cached fp32 export. The reference is fp32 torch on the same texts, encoded in the same
process; speed is tokens/s of each variant relative to ORT fp32, best of ``--rounds``, interleaved
(so a shared machine's load hits all alike; the load average is recorded). The mAP of the promising
ones comes from ``bench_precision.py --full --parity`` once they are registered as runtimes.
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
from bench_precision import sample_texts, write_report  # noqa: E402

LAYER = r"layer\.{i}/"
GROUPS = {"qkv": r"attention/self/(query|key|value)/", "attn_out": r"attention/output/dense",
          "ffn_in": r"intermediate/dense", "ffn_out": r"layer\.\d+/output/dense"}

CANDIDATES: dict[str, dict] = {
    "dynamic": {"method": "dynamic"},
    "dynamic-reduce-range": {"method": "dynamic", "reduce_range": True},
    "dynamic-ffn": {"method": "dynamic", "exclude": (GROUPS["ffn_out"],)},
    # ORT 1.32 stores 8 bits in blocks of 32 as 16 levels: its vectors equal nbits4-b32-acc4's
    "nbits8-b32-acc4": {"method": "nbits", "bits": 8, "block_size": 32, "accuracy_level": 4},
    "nbits8-b64-acc4": {"method": "nbits", "bits": 8, "block_size": 64, "accuracy_level": 4},
    "nbits8-b128-acc4": {"method": "nbits", "bits": 8, "block_size": 128, "accuracy_level": 4},
    "nbits8-b32-acc0": {"method": "nbits", "bits": 8, "block_size": 32, "accuracy_level": 0},
    "nbits4-b32-acc4": {"method": "nbits", "bits": 4, "block_size": 32, "accuracy_level": 4},
}


def only(pattern: str) -> tuple[str, ...]:
    """An exclude list that keeps everything except ``pattern``'s MatMuls in fp32."""
    return (rf"^(?!.*(?:{pattern}))",)


def sensitivity_specs(n_layers: int) -> dict[str, dict]:
    """Dynamic int8 of one group only (all other MatMuls fp32): by kind over all layers, by layer
    over all kinds."""
    specs = {f"only-{k}": {"method": "dynamic", "exclude": only(p)} for k, p in GROUPS.items()}
    for i in range(n_layers):
        specs[f"only-layer{i}"] = {"method": "dynamic", "exclude": only(LAYER.format(i=i))}
    return specs


def build(fp32: Path, work: Path, name: str, spec: dict) -> tuple[Path, float]:
    from xlir.models.onnx_export import quantize_onnx

    path = work / f"{name}.onnx"
    t = time.perf_counter()
    if not path.is_file():
        info = quantize_onnx(fp32, path, **spec)
        (work / f"{name}.json").write_text(json.dumps(info) + "\n")
    return path, time.perf_counter() - t


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--texts", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--only", default="", help="comma-separated candidate names (default: all)")
    ap.add_argument("--sensitivity", action="store_true", help="scan groups instead of the candidates")
    ap.add_argument("--work", type=Path, default=None, help="where quantized files go (default: the "
                                                            "model's ONNX cache folder /bench)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    from xlir.data import load_collection
    from xlir.evaluation.encode import EncodeStats, configure_threads, encode_texts
    from xlir.evaluation.onnx_backend import OnnxEncoder, ensure_variant, onnx_dir
    from xlir.models import load_model

    model = load_model(args.model)
    threads = configure_threads(args.threads, model)
    fp32 = ensure_variant(model, "onnx")
    work = args.work or onnx_dir(model) / "bench"
    work.mkdir(parents=True, exist_ok=True)
    texts = sample_texts(load_collection("xquad-r"), model, args.texts)
    if args.sensitivity:
        specs = sensitivity_specs(model[0].auto_model.config.num_hidden_layers)
    else:
        names = [x for x in args.only.split(",") if x] or list(CANDIDATES)
        specs = {n: CANDIDATES[n] for n in names}
    report: dict = {"command": " ".join(sys.argv), "model": args.model, "threads": threads,
                    "texts": len(texts), "load_start": [round(x, 2) for x in os.getloadavg()], "variants": {}}
    ref = encode_texts(model, texts, show_progress=False)
    encoders = {"onnx": OnnxEncoder(model, fp32, "onnx", threads)}
    for name, spec in specs.items():
        path, secs = build(fp32, work, name, spec)
        encoders[name] = OnnxEncoder(model, path, name, threads)
        shown = {k: list(v) if isinstance(v, tuple) else v for k, v in spec.items()}
        report["variants"][name] = {"spec": shown,
                                    "build_s": round(secs, 1), "mb": round(path.stat().st_size / 2**20, 1)}
        print(f"built {name} in {secs:.0f}s", file=sys.stderr)
    best: dict[str, float] = {}
    loads = []
    for enc in encoders.values():
        encode_texts(enc, texts[:16], show_progress=False)
    for r in range(args.rounds):
        order = list(encoders) if r % 2 == 0 else list(encoders)[::-1]
        for name in order:
            st = EncodeStats()
            t = time.perf_counter()
            vecs = encode_texts(encoders[name], texts, show_progress=False, stats=st)
            secs = time.perf_counter() - t
            best[name] = min(best.get(name, math.inf), secs)
            loads.append(round(os.getloadavg()[0], 2))
            cos = (vecs * ref).sum(axis=1)
            row = report["variants"].setdefault(name, {})
            row.update(cosine_mean=round(float(cos.mean()), 6), cosine_min=round(float(cos.min()), 6),
                       cosine_p01=round(float(np.quantile(cos, 0.01)), 6),
                       tokens_per_s=round(st.tokens / best[name], 1))
    for name, row in report["variants"].items():
        row["speed_vs_onnx_fp32"] = round(best["onnx"] / best[name], 3)
        print(f"{name:28s} cos {row['cosine_mean']:.5f} min {row['cosine_min']:.5f} "
              f"x{row['speed_vs_onnx_fp32']:.2f} vs ORT fp32", file=sys.stderr)
    report["load_during"] = loads
    report["load_end"] = [round(x, 2) for x in os.getloadavg()]
    write_report(report, args.json)
    return report


if __name__ == "__main__":
    main()
