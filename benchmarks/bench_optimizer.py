"""AdamW's update on e5-small's trainable parameters: torch's CPU default (for-loop), foreach, fused.

Why: xlir.training.optim builds AdamW with ``fused=True``. On a CPU torch otherwise runs the
for-loop kernel: about eight whole-tensor operations and a temporary per parameter, which costs
most with trained word embeddings (96 M of the 118 M parameters). This times ``optimizer.step()``
with random gradients for frozen and trained word embeddings, the kernels interleaved over rounds in
one process, and prints s/step and each kernel's ratio to fused. Under a minute on 2 cores::

    python benchmarks/bench_optimizer.py --json benchmarks/results/optimizer_kernels_e5.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_eval, beside this file

KERNELS = ("for-loop", "foreach", "fused")


def _optimizer(named, kernel: str):
    from xlir.training.optim import build_optimizer

    opt = build_optimizer(named, lr=3e-5, weight_decay=0.01)
    for group in opt.param_groups:
        group["fused"] = kernel == "fused"
        group["foreach"] = kernel == "foreach"
    return opt


def _seconds_per_step(named, kernel: str, steps: int) -> float:
    import torch

    for _, p in named:
        p.grad = torch.randn_like(p) * 1e-3
    opt = _optimizer(named, kernel)
    opt.step()  # allocates the moment buffers: not timed
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        opt.step()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per run (median taken)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds, every other one in reverse order")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    import torch

    from bench_eval import matmul_peak
    from xlir.models import load_model
    from xlir.training.optim import freeze_word_embeddings, trainable_parameters

    torch.set_num_threads(args.threads)
    peaks = {d: round(matmul_peak(dtype=d) / 1e9, 1) for d in ("fp32", "bf16")}
    res: dict[str, list[float]] = {}
    sizes = {}
    for setting in ("frozen embeddings", "trained embeddings"):
        model = load_model(args.model)
        if setting.startswith("frozen"):
            freeze_word_embeddings(model)
        named = trainable_parameters(model)
        sizes[setting] = round(sum(p.numel() for _, p in named) / 1e6, 1)
        for rnd in range(args.rounds):
            for kernel in KERNELS if rnd % 2 == 0 else KERNELS[::-1]:
                res.setdefault(f"{setting} {kernel}", []).append(
                    round(_seconds_per_step(named, kernel, args.steps), 4))
        del model, named
    med = {k: statistics.median(v) for k, v in res.items()}
    ratios = {f"{s} {k}/fused": round(med[f"{s} {k}"] / med[f"{s} fused"], 2)
              for s in sizes for k in KERNELS[:2]}
    saved = {s: round(med[f"{s} for-loop"] - med[f"{s} fused"], 3) for s in sizes}
    load = round(os.getloadavg()[0], 2)
    print(f"torch.mm 2048 peaks, GFLOP/s: {peaks}; load average {load}")
    for setting, n in sizes.items():
        print(f"{setting}: {n} M trainable parameters; fused saves {saved[setting]} s/step over for-loop")
    for k, v in res.items():
        print(f"  {k:34s} s/step per round {v}")
    for k, v in ratios.items():
        print(f"  {k:34s} {v}x")
    if args.json:
        out = {"command": " ".join(["python", *sys.argv]), "model": args.model, "threads": args.threads,
               "mm_peak_gflops": peaks, "load_average": load, "trainable_millions": sizes,
               "s_per_step": res, "ratio_to_fused": ratios, "saved_s_per_step": saved}
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
