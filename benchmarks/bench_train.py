"""Training throughput: xlir's trainer against the sentence-transformers trainer, same work.

Both train the same model on the same MLQA-R pairs, in the same batches (xlir's ``random`` sampler
draws them; the sentence-transformers trainer reads them in that order through a sequential batch
sampler), with the same loss (InfoNCE with in-batch negatives, temperature 0.05 =
``MultipleNegativesRankingLoss(scale=20)``), optimiser (AdamW, weight decay 0.01, linear warmup and
decay, clipping at 1.0), max length, prompts and frozen word embeddings. Throughput is measured from
the end of step 1 to the end of the last step, so model loading, data preparation and the first
(warm-up) step are excluded on both sides.

    python benchmarks/bench_train.py                       # tiny model, 30 steps
    python benchmarks/bench_train.py --model e5-small --steps 6
    # padding of the sampler's batches, counted with the tokenizer only (no model run)
    python benchmarks/bench_train.py --model e5-small --padding --sampler hybrid --json out/pad.json
    # xlir's step plain vs length-bucketed (TrainConfig.bucket_tokens), fp32 and bf16, interleaved
    python benchmarks/bench_train.py --model e5-small --compare-bucketing --sampler hybrid --repeat 2

Prints pairs/s for each (the best of ``--repeat`` runs, alternating which trainer goes first, since a
shared machine's load changes) and the ratio xlir / sentence-transformers. Needs ``datasets`` (the
sentence-transformers trainer's input format).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def _st_run(args, pair_rows, batches) -> dict:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.base.sampler import DefaultBatchSampler
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from transformers import TrainerCallback

    from xlir.models import load_model
    from xlir.training.optim import freeze_word_embeddings

    class InOrder(DefaultBatchSampler):
        """Consecutive batches in dataset order: the exact batches xlir trained on."""

        def __init__(self, dataset, batch_size, drop_last, **kw):
            super().__init__(range(len(dataset)), batch_size=batch_size, drop_last=True, **kw)

    class Clock(TrainerCallback):
        def __init__(self):
            self.ends: list[float] = []
            self.losses: list[float] = []

        def on_step_end(self, *a, **kw):
            self.ends.append(time.perf_counter())

        def on_log(self, _args, _state, _control, logs=None, **kw):
            if logs and "loss" in logs:
                self.losses.append(float(logs["loss"]))

    model = load_model(args.model)
    model.max_seq_length = args.max_length
    if not args.train_embeddings:
        freeze_word_embeddings(model)
    order = [i for b in batches for i in b]
    data = Dataset.from_dict({"anchor": [pair_rows[i].query for i in order],
                              "positive": [pair_rows[i].positive for i in order]})
    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp:
        targs = SentenceTransformerTrainingArguments(
            output_dir=tmp, max_steps=args.steps, per_device_train_batch_size=args.batch_size,
            learning_rate=args.lr, weight_decay=0.01, warmup_steps=args.steps // 10,
            lr_scheduler_type="linear", max_grad_norm=1.0, save_strategy="no", report_to="none",
            logging_steps=1, disable_tqdm=True, use_cpu=True, seed=0, dataloader_drop_last=True,
            bf16=args.precision == "bf16",
            prompts={"anchor": model.prompts["query"], "positive": model.prompts["document"]},
            batch_sampler=InOrder,
        )
        trainer = SentenceTransformerTrainer(
            model=model, args=targs, train_dataset=data,
            loss=MultipleNegativesRankingLoss(model, scale=1.0 / args.temperature), callbacks=[clock])
        trainer.train()
    span = clock.ends[-1] - clock.ends[0]
    return {"pairs_per_s": (len(clock.ends) - 1) * args.batch_size / span, "steps": len(clock.ends),
            "first_loss": clock.losses[0] if clock.losses else None,
            "last_loss": clock.losses[-1] if clock.losses else None}


def _xlir_run(args, pairs) -> dict:
    from xlir.training import TrainConfig, train

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(model=args.model, sources=args.sources, steps=args.steps,
                          batch_size=args.batch_size, lr=args.lr, temperature=args.temperature,
                          max_length=args.max_length, freeze_word_embeddings=not args.train_embeddings,
                          checkpoint_every=10**9, progress=False, output=Path(tmp) / "model",
                          seed=0, num_threads=args.threads, precision=args.precision,
                          sampler=args.sampler, bucket_tokens=getattr(args, "bucket", None))
        result = train(cfg, pairs)
        log = [json.loads(x) for x in (Path(tmp) / "model" / "training_log.jsonl").read_text().splitlines()]
    span = log[-1]["elapsed_s"] - log[0]["elapsed_s"]
    return {"pairs_per_s": (len(log) - 1) * args.batch_size / span, "steps": len(log),
            "first_loss": result.losses[0], "last_loss": result.losses[-1]}


def _padding(args, pairs) -> None:
    """Executed tokens / real tokens of the sampler's batches, whole vs length-bucketed, counted with
    the tokenizer alone: the texts the trainer encodes (prompts included, cut at ``--max-length``)."""
    import numpy as np

    from xlir.models import load_model
    from xlir.models.batching import plan_batches
    from xlir.training.objectives import build_objective
    from xlir.training.samplers import build_sampler

    model = load_model(args.model)
    objective = build_objective("info-nce")
    sampler = build_sampler(args.sampler, pairs.pairs, args.batch_size, seed=0)
    budgets = [int(b) for b in args.budgets.split(",")]
    sides = {"queries": 0, "positives": 1}
    real = {k: 0 for k in sides}
    plain = {k: 0 for k in sides}
    bucketed = {k: {b: 0 for b in budgets} for k in sides}
    chunks = {k: {b: 0 for b in budgets} for k in sides}
    for _ in range(args.padding_batches):
        batch = [pairs.pairs[i] for i in sampler.next_global().indices]
        texts = objective.texts(model, batch)
        for side, j in sides.items():
            ids = model.tokenizer(texts[j], truncation=True, max_length=args.max_length)["input_ids"]
            lengths = np.array([len(x) for x in ids])
            real[side] += int(lengths.sum())
            plain[side] += len(lengths) * int(lengths.max())
            for b in budgets:
                plan = plan_batches(lengths, max_texts=len(lengths), max_tokens=b)
                bucketed[side][b] += sum(len(c) * int(lengths[c[0]]) for c in plan)
                chunks[side][b] += len(plan)
    n = args.padding_batches
    out = {"model": args.model, "sampler": args.sampler, "sources": args.sources, "batches": n,
           "batch_size": args.batch_size, "max_length": args.max_length, "real_tokens": real,
           "executed_over_real_plain": {k: round(plain[k] / real[k], 3) for k in sides},
           "executed_over_real_bucketed": {k: {b: round(bucketed[k][b] / real[k], 3) for b in budgets}
                                           for k in sides},
           "chunks_per_batch": {k: {b: round(chunks[k][b] / n, 2) for b in budgets} for k in sides}}
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


def _compare_bucketing(args, pairs) -> None:
    """xlir's step whole vs length-bucketed, in each precision, all variants interleaved round by
    round (the order rotates), on the same batches; the best run of each, with the load average."""
    import os

    import torch

    budgets = [None] + [int(b) for b in str(args.bucket_tokens).split(",")]
    names = [(p, b) for p in args.precisions.split(",") for b in budgets]

    def label(prec, bucket):
        return f"{prec} bucketed {bucket}" if bucket else f"{prec} plain"

    runs: dict[str, list[dict]] = {label(p, b): [] for p, b in names}
    loads: dict[str, list[float]] = {k: [] for k in runs}
    for r in range(args.repeat):
        for prec, bucket in names[r % len(names):] + names[:r % len(names)]:  # rotate who goes first
            key = label(prec, bucket)
            args.precision, args.bucket = prec, bucket or 0  # 0: whole batches (None: xlir's default)
            runs[key].append(_xlir_run(args, pairs))
            loads[key].append(round(os.getloadavg()[0], 2))
            step_s = args.batch_size / runs[key][-1]["pairs_per_s"]
            print(f"round {r + 1} {key}: {step_s:.2f} s/step (load {loads[key][-1]})", flush=True)
    best = {k: max(v, key=lambda x: x["pairs_per_s"]) for k, v in runs.items()}
    step_s = {k: round(args.batch_size / v["pairs_per_s"], 3) for k, v in best.items()}
    out = {"command": "python " + " ".join(sys.argv), "model": args.model,
           "sampler": args.sampler, "steps": args.steps, "timed_steps": args.steps - 1,
           "batch_size": args.batch_size, "repeat": args.repeat, "bucket_tokens": budgets[1:],
           "threads": torch.get_num_threads(), "max_length": args.max_length, "loads": loads,
           "all_step_s": {k: [round(args.batch_size / x["pairs_per_s"], 3) for x in v]
                          for k, v in runs.items()},
           "best_step_s": step_s, "best": best,
           "bucketed_speedup": {label(p, b): round(step_s[label(p, None)] / step_s[label(p, b)], 3)
                                for p, b in names if b}}
    if {"fp32", "bf16"} <= {p for p, _ in names}:  # bf16 over fp32 at each batching, best and per round
        def rate(prec, b):  # unrounded pairs/s of each round
            return [x["pairs_per_s"] for x in runs[label(prec, b)]]

        out["bf16_over_fp32"] = {
            label("", b).strip(): {
                "best": round(max(rate("bf16", b)) / max(rate("fp32", b)), 3),
                "per_round": [round(h / f, 3) for f, h in zip(rate("fp32", b), rate("bf16", b), strict=True)]}
            for b in budgets}
    print(json.dumps(out, indent=1))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tiny", help="tiny (default) or e5-small, or a folder")
    ap.add_argument("--steps", type=int, default=None, help="default: 30 for tiny, 6 otherwise")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=96)
    ap.add_argument("--lr", type=float, default=3e-5)
    ap.add_argument("--temperature", type=float, default=0.05)
    ap.add_argument("--sources", nargs="+", default=["mlqa"])
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    ap.add_argument("--train-embeddings", action="store_true", help="do not freeze the word embeddings")
    ap.add_argument("--repeat", type=int, default=1,
                    help="runs per trainer, alternating the order; the best of each is reported")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                    help="both trainers: xlir's TrainConfig.precision, sentence-transformers' bf16=True")
    ap.add_argument("--compare-precision", action="store_true",
                    help="instead: xlir's trainer in fp32 and bf16, whole and bucketed, interleaved, same "
                         "batches (= --compare-bucketing --precisions fp32,bf16)")
    ap.add_argument("--sampler", default="random",
                    help="xlir's sampler (random: the batches the sentence-transformers run reads)")
    ap.add_argument("--padding", action="store_true",
                    help="instead: executed/real tokens of the sampler's batches (tokenizer only)")
    ap.add_argument("--padding-batches", type=int, default=200)
    ap.add_argument("--budgets", default="256,512,1024,2048", help="--padding: bucket token budgets")
    ap.add_argument("--compare-bucketing", action="store_true",
                    help="instead: xlir's step plain vs length-bucketed, each precision, interleaved")
    ap.add_argument("--bucket-tokens", default="256",
                    help="--compare-bucketing: the token budget(s), comma-separated")
    ap.add_argument("--precisions", default="fp32,bf16", help="--compare-bucketing: which precisions")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = ap.parse_args()
    args.steps = args.steps or (30 if args.model == "tiny" else 6)

    import torch

    from xlir.data.pairs import load_pairs
    from xlir.training.samplers import build_sampler

    if args.threads:
        torch.set_num_threads(args.threads)
    pairs = load_pairs(args.sources)
    sampler = build_sampler(args.sampler, pairs.pairs, args.batch_size, seed=0)  # = xlir's (seed 0)
    batches = [sampler.next_batch().indices for _ in range(args.steps)]

    if args.padding:
        return _padding(args, pairs)
    if args.compare_precision:  # the same as --compare-bucketing with both precisions
        args.compare_bucketing, args.precisions = True, "fp32,bf16"
    if args.compare_bucketing:
        return _compare_bucketing(args, pairs)
    import os

    runs: dict[str, list[dict]] = {"xlir": [], "st": []}
    loads: dict[str, list[float]] = {"xlir": [], "st": []}
    for r in range(args.repeat):  # alternate the order so that a load change hits both alike
        order = ("st", "xlir") if r % 2 == 0 else ("xlir", "st")
        for name in order:
            runs[name].append(_st_run(args, pairs.pairs, batches) if name == "st" else _xlir_run(args, pairs))
            loads[name].append(round(os.getloadavg()[0], 2))
    xl, st = (max(runs[k], key=lambda r: r["pairs_per_s"]) for k in ("xlir", "st"))
    out = {"model": args.model, "steps": args.steps, "batch_size": args.batch_size, "repeat": args.repeat,
           "precision": args.precision,
           "all_pairs_per_s": {k: [r["pairs_per_s"] for r in v] for k, v in runs.items()}, "loads": loads,
           "bucket_tokens": "xlir's default" if getattr(args, "bucket", None) is None else args.bucket,
           "max_length": args.max_length, "threads": torch.get_num_threads(),
           "frozen_word_embeddings": not args.train_embeddings,
           "xlir": xl, "sentence_transformers": st, "ratio": xl["pairs_per_s"] / st["pairs_per_s"]}
    print(f"model {args.model}, {args.steps} steps of {args.batch_size} pairs, max length {args.max_length}, "
          f"{out['threads']} threads, word embeddings {'trained' if args.train_embeddings else 'frozen'}")
    print(f"{'trainer':<24}{'pairs/s':>10}{'first loss':>12}{'last loss':>12}")
    for name, r in (("xlir", xl), ("sentence-transformers", st)):
        fl = f"{r['first_loss']:.4f}" if r["first_loss"] is not None else "-"
        ll = f"{r['last_loss']:.4f}" if r["last_loss"] is not None else "-"
        print(f"{name:<24}{r['pairs_per_s']:>10.1f}{fl:>12}{ll:>12}")
    if args.repeat > 1:
        print(f"all runs (pairs/s): {out['all_pairs_per_s']}")
    print(f"ratio xlir / sentence-transformers: {out['ratio']:.2f}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
