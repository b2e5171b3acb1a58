"""CPU training step with transformers' sdpa vs eager attention, fp32 and bf16, whole and bucketed.

Why: with attention dropout (training), torch's sdpa leaves its fused CPU kernel for the math path,
which up-casts bf16 to fp32 (xlir.models.attention). This runs xlir's trainer with each kernel
(sdpa: the trainer's switch to eager disabled) on the same batches, interleaved in one process, and
prints s/step and the eager/sdpa and bf16/fp32 ratios. About 10 min for e5-small on 2 cores::

    python benchmarks/ab_train_attention.py --json benchmarks/results/train_attention_ab.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_eval, beside this file


def _step_seconds(attention: str, precision: str, bucket: int, args, pairs) -> float:
    import xlir.training.trainer as trainer
    from xlir.models.attention import training_attention
    from xlir.training import TrainConfig, train

    trainer.training_attention = training_attention if attention == "eager" else (lambda model, device: None)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = TrainConfig(model=args.model, sources=["mlqa"], steps=args.steps, batch_size=32,
                              checkpoint_every=10**9, progress=False, output=Path(tmp) / "m", seed=0,
                              precision=precision, sampler="random", bucket_tokens=bucket,
                              num_threads=args.threads)
            train(cfg, pairs)
            log = [json.loads(x) for x in (Path(tmp) / "m" / "training_log.jsonl").read_text().splitlines()]
    finally:
        trainer.training_attention = training_attention
    return (log[-1]["elapsed_s"] - log[0]["elapsed_s"]) / (len(log) - 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--steps", type=int, default=9, help="steps per run; steps 2.. are timed")
    ap.add_argument("--rounds", type=int, default=2, help="rounds, every other one in reverse order")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--attention", default="sdpa,eager", help="kernels to compare (comma-separated)")
    ap.add_argument("--buckets", default="0,256", help="bucket_tokens values (0: whole batches)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import os

    import torch

    from bench_eval import matmul_peak
    from xlir.data.pairs import load_pairs

    torch.set_num_threads(args.threads)
    peaks = {d: round(matmul_peak(dtype=d) / 1e9, 1) for d in ("fp32", "bf16")}  # GFLOP/s, this process
    pairs = load_pairs(["mlqa"])
    loads: dict[str, list[float]] = {}
    kernels = args.attention.split(",")
    buckets = [int(b) for b in args.buckets.split(",")]
    variants = [(a, p, b) for p in ("fp32", "bf16") for a in kernels for b in buckets]
    res: dict[str, list[float]] = {}
    for rnd in range(args.rounds):
        for v in variants if rnd % 2 == 0 else variants[::-1]:
            res.setdefault(" ".join(map(str, v)), []).append(round(_step_seconds(*v, args, pairs), 3))
            loads.setdefault(" ".join(map(str, v)), []).append(round(os.getloadavg()[0], 2))
    ratios = {}
    for a in kernels:
        for b in buckets:
            fp32, bf16 = res[f"{a} fp32 {b}"], res[f"{a} bf16 {b}"]
            ratios[f"bf16/fp32 {a} bucket {b}"] = [round(f / h, 3) for f, h in zip(fp32, bf16, strict=True)]
    for p in ("fp32", "bf16"):
        for b in buckets if {"sdpa", "eager"} <= set(kernels) else []:
            ratios[f"sdpa/eager {p} bucket {b}"] = [
                round(s / e, 3) for s, e in zip(res[f"sdpa {p} {b}"], res[f"eager {p} {b}"], strict=True)]
    peaks_after = {d: round(matmul_peak(dtype=d) / 1e9, 1) for d in ("fp32", "bf16")}
    print(f"torch.mm 2048 peaks, GFLOP/s: before {peaks}, after {peaks_after}")
    for k, v in res.items():
        print(f"{k:22s} s/step {v}  load {loads[k]}")
    for k, v in ratios.items():
        print(f"{k:28s} per round {v}")
    if args.json:
        out = {"command": " ".join(["python", *sys.argv]), "model": args.model, "steps": args.steps,
               "threads": args.threads, "mm_peak_gflops": {"before": peaks, "after": peaks_after},
               "loads": loads, "s_per_step": res, "ratios": ratios}
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
