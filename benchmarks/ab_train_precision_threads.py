"""bf16 against fp32 training steps in the grids' configuration: one thread per process, both cores busy.

Why: the study grids run two one-thread cells at once on 2 cores (BENCHMARKS.md §5), so that is
how most of xlir's training runs here. This starts an fp32 and a bf16 training process *at the same
time*, one thread each (each gets a core, both share the memory bus, as in a grid), then again with
the two swapped, and prints s/step of each and bf16/fp32 per round. The same default step as
everywhere (e5-small, batch 32, random sampler over MLQA, bucketed, eager attention). About 4 min::

    python benchmarks/ab_train_precision_threads.py \
        --json benchmarks/results/train_bf16_over_fp32_1thread_pairs.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_eval, beside this file


def _worker(precision: str, steps: int) -> None:
    import tempfile

    import torch

    from xlir.data.pairs import load_pairs
    from xlir.training import TrainConfig, train

    torch.set_num_threads(1)
    pairs = load_pairs(["mlqa"])
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(model="e5-small", sources=["mlqa"], steps=steps, batch_size=32, seed=0,
                          checkpoint_every=10**9, progress=False, output=Path(tmp) / "m",
                          precision=precision, sampler="random", num_threads=1)
        train(cfg, pairs)
        log = [json.loads(x) for x in (Path(tmp) / "m" / "training_log.jsonl").read_text().splitlines()]
    print(json.dumps({"precision": precision,
                      "s_per_step": (log[-1]["elapsed_s"] - log[0]["elapsed_s"]) / (len(log) - 1)}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=11, help="steps per run; steps 2.. are timed")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args.worker, args.steps)
        return

    import torch

    from bench_eval import matmul_peak

    torch.set_num_threads(1)
    peaks = {d: round(matmul_peak(dtype=d) / 1e9, 1) for d in ("fp32", "bf16")}  # one thread
    res: dict[str, list[float]] = {"fp32": [], "bf16": []}
    loads = []
    for rnd in range(args.rounds):
        order = ("fp32", "bf16") if rnd % 2 == 0 else ("bf16", "fp32")  # which starts first
        cmd = [sys.executable, __file__, "--steps", str(args.steps), "--worker"]
        procs = [subprocess.Popen([*cmd, p], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                 for p in order]
        for p in procs:
            row = json.loads(p.communicate()[0].strip().splitlines()[-1])
            res[row["precision"]].append(round(row["s_per_step"], 3))
        loads.append(round(os.getloadavg()[0], 2))
    ratios = [round(f / b, 3) for f, b in zip(res["fp32"], res["bf16"], strict=True)]
    print(f"torch.mm 2048 peaks, 1 thread, GFLOP/s: {peaks}; load averages {loads}")
    print(f"fp32 s/step {res['fp32']}; bf16 s/step {res['bf16']}; bf16/fp32 per round {ratios}")
    if args.json:
        out = {"command": " ".join(["python", *sys.argv]), "steps": args.steps, "threads_per_process": 1,
               "mm_peak_gflops_1thread": peaks, "loads": loads, "s_per_step": res, "ratios": ratios}
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
