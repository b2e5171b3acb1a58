"""How to spend the cores on a study grid: one cell at a time on all threads, or cells in parallel.

Why: a grid cell trains (bf16 steps of batch 32) and then encodes its evaluation pools. Part of a
training step does not use a second thread (dropout's mask is drawn by one thread, Python and the
tokenizer run between the products), so two single-thread processes may do more work per second
than one process with two threads. This runs the same work both ways, one after the other on an
otherwise idle machine, and prints the machine's throughput (steps/s, texts/s summed over the
processes) and the ratio parallel / one. About 4 min for e5-small on 2 cores::

    python benchmarks/bench_grid_jobs.py --json benchmarks/results/grid_jobs_e5.json

``xlir study ... --jobs N`` gives each of N worker processes cpu_count // N threads.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def _worker(kind: str, threads: int, n: int, seed: int) -> None:
    """Child process: ``n`` training steps or ``n`` encoded XQuAD-R sentences; prints one JSON line."""
    import tempfile

    import torch

    torch.set_num_threads(threads)
    if kind == "train":
        from xlir.data.pairs import load_pairs
        from xlir.training import TrainConfig, train

        pairs = load_pairs(["mlqa"])
        with tempfile.TemporaryDirectory() as tmp:
            cfg = TrainConfig(model="e5-small", sources=["mlqa"], steps=n, batch_size=32, seed=seed,
                              checkpoint_every=10**9, progress=False, output=Path(tmp) / "m",
                              precision="bf16", sampler="hybrid", num_threads=threads)
            train(cfg, pairs)
            log = [json.loads(x) for x in (Path(tmp) / "m" / "training_log.jsonl").read_text().splitlines()]
        rate = (len(log) - 1) / (log[-1]["elapsed_s"] - log[0]["elapsed_s"])  # steps 2.. timed
    else:
        from xlir.data import load_collection
        from xlir.evaluation.encode import encode_texts
        from xlir.models import load_model

        docs = load_collection("xquad-r").documents  # every process the same spread over the languages
        texts = [d.text for d in docs[:: max(1, len(docs) // n)]][:n]
        model = load_model("e5-small")
        encode_texts(model, texts[:64], show_progress=False, precision="bf16")  # warm-up
        t = time.perf_counter()
        encode_texts(model, texts, show_progress=False, precision="bf16")
        rate = len(texts) / (time.perf_counter() - t)
    print(json.dumps({"kind": kind, "threads": threads, "rate": rate}), flush=True)


def _run(kind: str, procs: int, threads: int, n: int) -> list[float]:
    """Start ``procs`` workers at once; their rates (each timed over its own work)."""
    cmd = [sys.executable, __file__, "--worker", kind, "--threads", str(threads), "--n", str(n)]
    running = [subprocess.Popen([*cmd, "--seed", str(i)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                text=True) for i in range(procs)]
    rates = []
    for p in running:
        out, _ = p.communicate()
        rates.append(json.loads(out.strip().splitlines()[-1])["rate"])
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="parallel processes to compare with one")
    ap.add_argument("--steps", type=int, default=12, help="training steps per process (2.. timed)")
    ap.add_argument("--texts", type=int, default=1500, help="XQuAD-R sentences encoded per process")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        _worker(args.worker, args.threads, args.n, args.seed)
        return

    cores = os.cpu_count() or 1
    per_job = max(1, cores // args.jobs)
    out: dict = {"command": " ".join(["python", *sys.argv]), "cores": cores, "jobs": args.jobs,
                 "threads_per_job": per_job, "load_before": os.getloadavg()[0]}
    for kind, n, unit in (("train", args.steps, "steps/s"), ("encode", args.texts, "texts/s")):
        one = _run(kind, 1, cores, n)
        par = _run(kind, args.jobs, per_job, n)
        one_again = _run(kind, 1, cores, n)  # bracket: the machine's state may drift
        base = (one[0] + one_again[0]) / 2
        out[kind] = {"one_process": [round(one[0], 3), round(one_again[0], 3)],
                     "parallel_each": [round(r, 3) for r in par], "parallel_sum": round(sum(par), 3),
                     "ratio": round(sum(par) / base, 3), "unit": unit}
        print(f"{kind}: one process x {cores} threads {one[0]:.3f} / {one_again[0]:.3f} {unit}; "
              f"{args.jobs} x {per_job} thread(s) {' + '.join(f'{r:.3f}' for r in par)} = {sum(par):.3f}; "
              f"parallel / one {sum(par) / base:.2f}x")
    out["load_after"] = os.getloadavg()[0]
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
