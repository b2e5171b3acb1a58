"""Where bf16 encoding time goes: torch.profiler over xlir's ``encode_texts`` on real XQuAD-R texts.

Issue 10 asks for useful FLOP/s >= 50% of the bf16 ``torch.mm`` peak, "if short, show with a profile
where the rest of the time goes". This runs e5-small over ``--texts`` sampled XQuAD-R texts (the
sample of ``bench_precision.py``: questions and candidate sentences with their prompts) exactly as
evaluation does (``encode_texts``: one tokenizer call, length-sorted batches of at most 64 texts
and 8,192 padded tokens, bf16 autocast on the transformer), once unprofiled for the wall time and
once under ``torch.profiler`` (CPU, ``record_shapes``), per thread count. The profile's operator
self times are grouped into the table below; the matmul FLOPs are counted from the recorded shapes.

    python benchmarks/profile_encode.py                        # 256 texts, 1 thread, ~1 min
    python benchmarks/profile_encode.py --threads 1,2 --variants --json out/profile.json

``--variants`` also times xlir's path against two others (2 interleaved rounds), with the cosine
of each vector to its fp32 twin (one more, unprofiled, fp32 run): the weights cast for every batch
(``encode_texts`` before it kept autocast's weight-cast cache alive over all batches; same
vectors), and the transformer cast to bf16 once (weights included, no autocast, token embeddings
back to fp32 for pooling and normalisation; other vectors).

Groups (operator *self* time, so nested operators are not counted twice):
  linear matmuls      aten::addmm / mm / linear / matmul (oneDNN bf16 GEMMs of the dense layers)
  attention           scaled_dot_product_attention and its kernels, bmm, softmax
  GELU, LayerNorm     aten::gelu, aten::native_layer_norm / layer_norm
  dtype conversions   aten::to / _to_copy / copy_ / empty_strided (autocast's casts: weights and
                      activations, per linear layer and batch)
  embeddings          aten::embedding / index_select (the embedding look-ups)
  element-wise, views add, mul, views, reshapes, the mask and the pooling's sums
  other operators     everything else (the largest named in the JSON)
  tokenizer           the one batched tokenizer call, timed on its own outside the profiler
  Python, no operator profiled wall minus all operators' self time minus the tokenizer
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_eval import encoder_flops, matmul_peak, model_shape  # noqa: E402
from bench_precision import sample_texts  # noqa: E402

BATCH_SIZE, BATCH_TOKENS = 64, 8192  # EvalConfig's defaults (encode_texts' batching)


def _ops(names: str) -> set[str]:
    return {f"aten::{n}" for n in names.split()}


GROUPS = [  # (group, operator names); anything not named is "other operators"
    ("linear matmuls", _ops("addmm mm linear matmul")),
    ("attention", _ops("scaled_dot_product_attention _scaled_dot_product_flash_attention_for_cpu "
                       "_scaled_dot_product_attention_math _scaled_dot_product_efficient_attention "
                       "bmm baddbmm softmax _softmax _safe_softmax")),
    ("GELU", _ops("gelu")),
    ("LayerNorm", _ops("layer_norm native_layer_norm")),
    ("dtype conversions", _ops("to _to_copy copy_ empty_strided")),
    ("embeddings", _ops("embedding index_select")),
    ("element-wise, views", _ops(
        "add add_ mul mul_ div sub rsub view reshape _reshape_alias transpose permute t expand expand_as "
        "contiguous clone slice unsqueeze squeeze select sum clamp clamp_min masked_fill _unsafe_view "
        "as_strided empty detach where full fill_ ones zeros zero_ lift_fresh linalg_vector_norm norm max "
        "resolve_conj resolve_neg alias dropout arange cumsum ne eq type_as new_zeros split chunk narrow cat "
        "stack item _local_scalar_dense result_type bitwise_not __and__ bitwise_and __or__ bitwise_or "
        "index all")),
]
ORDER = [g for g, _ in GROUPS] + ["other operators", "tokenizer", "Python, no operator"]


def group_of(name: str) -> str:
    for group, names in GROUPS:
        if name in names:
            return group
    return "other operators"


def matmul_flops(name: str, shapes: list) -> float:
    """FLOPs of one recorded matmul call from its input shapes (2 per multiply-add)."""
    try:
        if name == "aten::addmm":
            (m, k), (_, n) = shapes[1], shapes[2]
            return 2.0 * m * k * n
        if name == "aten::mm":
            (m, k), (_, n) = shapes[0], shapes[1]
            return 2.0 * m * k * n
        if name in ("aten::bmm", "aten::baddbmm"):
            a, b = (shapes[0], shapes[1]) if name == "aten::bmm" else (shapes[1], shapes[2])
            return 2.0 * a[0] * a[1] * a[2] * b[2]
        if name.startswith("aten::_scaled_dot_product") or name == "aten::scaled_dot_product_attention":
            bsz, heads, length, dim = shapes[0]
            return 4.0 * bsz * heads * length * shapes[1][2] * dim  # QK^T and AV
    except (IndexError, TypeError, ValueError):
        return 0.0
    return 0.0


class PreCastEncoder:
    """e5-small's transformer cast to bf16 once (no autocast, so no per-batch weight casts), its
    token embeddings returned to fp32 for pooling and normalisation: what ``encode_texts`` needs."""

    def __init__(self, model):
        import torch

        self.model = copy.deepcopy(model).eval()
        self.model[0].to(torch.bfloat16)
        self.tokenizer, self.max_seq_length = model.tokenizer, model.max_seq_length
        self._dim = model.get_sentence_embedding_dimension()

    def get_sentence_embedding_dimension(self) -> int:
        return self._dim

    def embed_batch(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        import torch

        modules = list(self.model.children())
        with torch.inference_mode():
            feats = modules[0]({"input_ids": torch.as_tensor(input_ids),
                                "attention_mask": torch.as_tensor(attention_mask)})
            feats = {k: (v.float() if torch.is_tensor(v) and v.is_floating_point() else v)
                     for k, v in feats.items()}
            for module in modules[1:]:
                feats = module(feats)
            emb = torch.nn.functional.normalize(feats["sentence_embedding"].float(), dim=1)
        return emb.numpy()


def full_collection_batches(model, texts: list[str], n: int) -> list[str]:
    """Whole batches of ``encode_texts``' plan over all of ``texts`` (the full collection), picked
    evenly over its length order (the middles of equal stretches, so neither extreme batch) until
    about ``n`` texts: the batches a full evaluation runs, each as little padded as there."""
    from xlir.models.batching import plan_batches

    lengths = np.array(_lengths(model, texts))
    plan = plan_batches(lengths, max_texts=BATCH_SIZE, max_tokens=BATCH_TOKENS)
    per = max(1, round(n / (len(texts) / len(plan))))
    picked = [plan[int((i + 0.5) * len(plan) / per)] for i in range(per)]
    return [texts[i] for b in picked for i in b]


def encode(encoder, texts, precision, stats=None):
    from xlir.evaluation.encode import encode_texts

    return encode_texts(encoder, texts, batch_size=BATCH_SIZE, batch_tokens=BATCH_TOKENS,
                        precision=precision, show_progress=False, stats=stats)


def profile_once(encoder, texts, precision: str, tokenizer_s: float) -> dict:
    """One profiled encode: seconds per group, matmul FLOPs and GFLOP/s, top other operators."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        t = time.perf_counter()
        encode(encoder, texts, precision)
        wall = time.perf_counter() - t
    self_us: dict[str, float] = defaultdict(float)
    by_op: dict[str, float] = defaultdict(float)
    calls: dict[str, int] = defaultdict(int)
    flops = {"linear matmuls": 0.0, "attention": 0.0}
    casts = {"weights and biases": 0.0, "activations": 0.0}
    for ev in prof.events():
        if ev.device_type.name != "CPU" or not ev.name.startswith("aten::"):
            continue
        group = group_of(ev.name)
        self_us[group] += ev.self_cpu_time_total
        by_op[ev.name] += ev.self_cpu_time_total
        calls[ev.name] += 1
        if group in flops:
            flops[group] += matmul_flops(ev.name, ev.input_shapes)
        if ev.name == "aten::copy_" and ev.input_shapes:  # a weight/bias (1-2 dims) or activation cast
            kind = "activations" if len(ev.input_shapes[0]) >= 3 else "weights and biases"
            casts[kind] += ev.self_cpu_time_total / 1e6
    ops_s = sum(self_us.values()) / 1e6
    seconds = {g: self_us.get(g, 0.0) / 1e6 for g in ORDER[:-2]}
    seconds["tokenizer"] = tokenizer_s
    seconds["Python, no operator"] = max(0.0, wall - ops_s - tokenizer_s)
    others = sorted(((n, s) for n, s in by_op.items() if group_of(n) == "other operators"),
                    key=lambda x: -x[1])[:8]
    return {"profiled_wall_s": round(wall, 3),
            "seconds": {g: round(s, 3) for g, s in seconds.items()},
            "share": {g: round(s / wall, 4) for g, s in seconds.items()},
            "flops": flops,
            "gflop_per_s": {g: round(flops[g] / max(seconds[g], 1e-9) / 1e9, 1) for g in flops},
            "copy_s": {k: round(v, 3) for k, v in casts.items()},
            "calls": {n: calls[n] for n in ("aten::addmm", "aten::linear", "aten::_to_copy", "aten::copy_",
                                             "aten::scaled_dot_product_attention") if n in calls},
            "top_ops_s": {n: round(s / 1e6, 3) for n, s in sorted(by_op.items(), key=lambda x: -x[1])[:12]},
            "other_ops_s": {n: round(s / 1e6, 3) for n, s in others}}


def variants(model, pre, texts, precision):
    """The ways to encode that ``--variants`` compares: name -> () -> vectors."""
    import torch

    import xlir.evaluation.encode as enc

    def per_batch():  # as before: inference mode, so autocast re-casts the weights for every batch
        kept = enc._no_grad
        enc._no_grad = lambda model, precision: torch.inference_mode()
        try:
            return encode(model, texts, precision)
        finally:
            enc._no_grad = kept

    out = {"xlir now (weights cast once per call)": lambda: encode(model, texts, precision)}
    if precision == "bf16":
        out["weights cast per batch (before)"] = per_batch
        if pre is not None:
            out["transformer pre-cast to bf16"] = lambda: encode(pre, texts, "fp32")
    return out


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="e5-small")
    ap.add_argument("--texts", type=int, default=256)
    ap.add_argument("--threads", default="1", help="comma-separated thread counts, e.g. 1,2")
    ap.add_argument("--precision", default="bf16", choices=["bf16", "fp32"])
    ap.add_argument("--variants", action="store_true",
                    help="also time (2 interleaved rounds) and compare with fp32: the weights cast per "
                         "batch (as before), and the transformer pre-cast to bf16")
    ap.add_argument("--sample", default="random", choices=["random", "full-batches"],
                    help="random: --texts distinct texts at random (bench_precision's sample; its "
                         "batches pad ~1.6x); full-batches: whole batches of the full collection's "
                         "plan, evenly spaced over its length order, ~--texts texts (pad ~1.01x)")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    import torch

    from xlir.data import load_collection
    from xlir.evaluation.encode import EncodeStats
    from xlir.models import load_model

    model = load_model(args.model)
    model.eval()
    full = args.sample == "full-batches"
    texts = sample_texts(load_collection("xquad-r"), model, None if full else args.texts)
    if full:
        texts = full_collection_batches(model, texts, args.texts)
    shape = model_shape(model)
    report: dict = {"command": "python " + " ".join(sys.argv), "model": args.model, "texts": len(texts),
                    "sample": args.sample,
                    "precision": args.precision, "torch": torch.__version__,
                    "batching": {"batch_size": BATCH_SIZE, "batch_tokens": BATCH_TOKENS}, "runs": {}}
    pre = PreCastEncoder(model) if args.variants else None
    for n_threads in [int(x) for x in args.threads.split(",")]:
        torch.set_num_threads(n_threads)
        load0 = os.getloadavg()[0]
        peak = {d: round(matmul_peak(dtype=d) / 1e9, 1) for d in ("fp32", "bf16")}
        encode(model, texts[:16], args.precision)  # warm-up: oneDNN kernels for the shapes
        if pre is not None:
            encode(pre, texts[:16], "fp32")
        t = time.perf_counter()
        model.tokenizer(texts, truncation=True, max_length=model.max_seq_length, padding=False)
        tokenizer_s = time.perf_counter() - t
        st = EncodeStats()
        t = time.perf_counter()
        encode(model, texts, args.precision, st)
        wall = time.perf_counter() - t
        prof = profile_once(model, texts, args.precision, tokenizer_s)
        useful = encoder_flops([(1, n) for n in _lengths(model, texts)], shape)
        executed = encoder_flops(st.batches, shape)
        run = {"threads": n_threads, "mm_peak_gflops": peak, "load_start": round(load0, 2),
               "wall_s": round(wall, 3), "tokens": st.tokens, "padded_tokens": st.padded_tokens,
               "executed_over_real": round(st.padded_tokens / st.tokens, 3), "batches": st.batches,
               "tokens_per_s": round(st.tokens / wall, 1),
               "gflop_per_s_useful": round(useful / wall / 1e9, 1),
               "gflop_per_s_executed": round(executed / wall / 1e9, 1),
               "useful_over_peak": round(useful / wall / 1e9 / peak[args.precision], 3),
               "executed_over_peak": round(executed / wall / 1e9 / peak[args.precision], 3),
               "linear_mm_over_peak": round(prof["gflop_per_s"]["linear matmuls"] / peak[args.precision], 3),
               "profile": prof}
        if args.variants:
            run["variants"] = compare_variants(variants(model, pre, texts, args.precision), model, texts,
                                               first_s=wall)
        run["load_end"] = round(os.getloadavg()[0], 2)
        report["runs"][str(n_threads)] = run
        _print_table(run, args.precision)
    text = json.dumps(report, indent=1)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n")
    return report


def compare_variants(fns: dict, model, texts, first_s: float) -> dict:
    """Two rounds, the order reversed in the second; best seconds, speed against the first variant
    (whose unprofiled run above counts as one more try), cosine of every vector to fp32."""
    best = {name: float("inf") for name in fns}
    best[next(iter(fns))] = first_s
    vectors, loads = {}, []
    for r in range(2):
        for name in list(fns) if r == 0 else list(fns)[::-1]:
            t = time.perf_counter()
            vectors[name] = fns[name]()
            best[name] = min(best[name], time.perf_counter() - t)
            loads.append(round(os.getloadavg()[0], 2))
    ref = encode(model, texts, "fp32")
    base = best[next(iter(fns))]
    return {"loads": loads, **{name: {"seconds": round(best[name], 3), "speedup": round(base / best[name], 3),
                                     "cosine_to_fp32": _cos(vectors[name], ref)} for name in fns}}


def _cos(a: np.ndarray, b: np.ndarray) -> dict:
    c = (a * b).sum(axis=1)
    return {"mean": round(float(c.mean()), 6), "min": round(float(c.min()), 6)}


def _lengths(model, texts: list[str]) -> list[int]:
    ids = model.tokenizer(list(texts), truncation=True, max_length=model.max_seq_length)["input_ids"]
    return [len(x) for x in ids]


def _print_table(run: dict, precision: str) -> None:
    prof = run["profile"]
    print(f"\n{run['threads']} thread(s), load {run['load_start']} -> {run['load_end']}; mm peak "
          f"{run['mm_peak_gflops']} GFLOP/s; unprofiled {run['wall_s']} s, {run['tokens_per_s']} tokens/s, "
          f"executed/real {run['executed_over_real']}; useful {run['gflop_per_s_useful']} GFLOP/s "
          f"= {run['useful_over_peak']:.0%} of the {precision} peak; profiled {prof['profiled_wall_s']} s")
    print(f"{'group':<24}{'s':>8}{'share':>8}{'GFLOP/s':>10}")
    for g in ORDER:
        rate = prof["gflop_per_s"].get(g)
        print(f"{g:<24}{prof['seconds'][g]:>8.2f}{prof['share'][g]:>8.1%}"
              f"{'' if rate is None else f'{rate:>10.1f}'}")
    print(f"linear matmuls alone: {prof['gflop_per_s']['linear matmuls']} GFLOP/s = "
          f"{run['linear_mm_over_peak']:.0%} of the {precision} mm peak; calls {prof['calls']}")
    print(f"top operators (self s): {prof['top_ops_s']}; aten::copy_ by what it casts: {prof['copy_s']}")
    for name, v in run.get("variants", {}).items():
        if name != "loads":
            print(f"{name:<36} {v['seconds']:>7.2f} s  x{v['speedup']:<6} "
                  f"cosine to fp32 {v['cosine_to_fp32']}")


if __name__ == "__main__":
    main()
