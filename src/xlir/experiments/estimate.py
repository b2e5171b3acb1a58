"""Estimate a grid's wall time before it starts, from a short timing probe on this machine, and fit
a preset to a time budget.

The probe (:func:`calibrate`) loads the preset's model once and times training steps (best of three:
forward and backward of a contrastive loss on real sentences at the preset's batch size and length,
in the precision training will use) and the encoding of a batch of sentences with xlir's encoder
in the precision evaluation will use. Each cell's cost is then counted from its configuration
(:func:`estimate_cell`): fine-tuning steps, pre-training steps (two encoder passes per pair batch,
like a training step), sentences to encode in its evaluation slices (twice for a cell evaluated
after pre-training as well), and the model loads it pays. It is an estimate, from measured speeds
scaled by counts (other load on the machine changes it), printed so that a user can stop a grid
that would not fit before it starts; :func:`fit_to_budget` keeps the design points that fit.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass


@dataclass
class Calibration:
    step_s: float
    encode_s_per_sentence: float
    load_s: float
    train_precision: str = "fp32"
    eval_precision: str = "fp32"

    def describe(self) -> str:
        return (
            f"measured by a timing probe: train step {self.step_s:.2f} s ({self.train_precision}), "
            f"encoding {1 / max(self.encode_s_per_sentence, 1e-9):.0f} sentences/s ({self.eval_precision}), "
            f"model load {self.load_s:.1f} s"
        )

    def as_dict(self) -> dict:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def calibrate(model: str, batch_size: int, max_length: int, precision: str = "fp32") -> Calibration:
    """Time one training step (best of three) and one encoding batch of ``model`` on this machine."""
    import torch

    from xlir.evaluation.encode import configure_threads, encode_texts
    from xlir.experiments.pipeline import train_precision
    from xlir.models.loading import load_model
    from xlir.models.precision import autocast, resolve_precision
    from xlir.training.objectives import embed

    eval_prec = resolve_precision(precision)
    train_prec = resolve_precision(train_precision(precision) or "fp32")
    import sentence_transformers  # noqa: F401  (imported once per process: not part of a model load)

    t0 = time.perf_counter()
    m = load_model(model)
    load_s = time.perf_counter() - t0
    configure_threads(None, model=m)  # the cells' thread rule (one thread for narrow models)
    m.max_seq_length = max_length
    text = (
        "The Normans were the people who in the 10th and 11th centuries gave their name to "
        "Normandy, a region in France. They were descended from Norse raiders and pirates."
    )
    texts = [f"{i} {text}" for i in range(batch_size)]
    m.train()
    m[0].auto_model.get_input_embeddings().weight.requires_grad_(False)  # as in every preset
    times = []
    for _ in range(3):
        t = time.perf_counter()
        with autocast(train_prec):
            a = embed(m, texts).float()
            b = embed(m, texts).float()
        loss = torch.nn.functional.cross_entropy(a @ b.T / 0.05, torch.arange(len(texts)))
        loss.backward()
        times.append(time.perf_counter() - t)
    m.zero_grad(set_to_none=True)
    m.eval()
    # about 45 tokens each with the prompt, the mean of XQuAD-R's candidate sentences (597k tokens over
    # 13,014): a probe of shorter texts read the encoder 2-3 times faster than a full-pool evaluation runs
    sents = [f"{i} {text}" for i in range(64)]
    t = time.perf_counter()
    encode_texts(m, sents, batch_size=32, show_progress=False, precision=eval_prec)
    enc = (time.perf_counter() - t) / len(sents)
    # the optimiser step (AdamW over the unfrozen parameters) is not in the forward/backward time
    return Calibration(step_s=min(times) * 1.15, encode_s_per_sentence=enc, load_s=load_s,
                       train_precision=train_prec, eval_precision=eval_prec)


def eval_sentences(specs, cache: dict) -> int:
    """Queries plus candidates of every evaluation slice (collections loaded once, then cached)."""
    from xlir.experiments.pipeline import load_eval

    total = 0
    for spec in specs:
        key = spec.model_dump_json()
        if key not in cache:
            try:
                coll = load_eval(spec)
            except Exception:  # noqa: BLE001 - an estimate must not fail on an optional collection
                coll = None
            cache[key] = 0 if coll is None else len(coll.queries) + len(coll.documents)
        total += cache[key]
    return total


def estimate_cell(cell, cal: Calibration, cache: dict) -> float:
    """Seconds one cell takes with one job: its training steps, encoded sentences and model loads.

    A cell with a ``cost()`` method counts its own: ``{"steps": probe-sized training steps,
    "passes": evaluations of its slices, "loads": model loads}`` (the recipe study: hard negatives
    make a step encode more passages, and a trained cell evaluates its merges too).
    """
    if callable(getattr(cell, "cost", None)):
        c = cell.cost()
        sentences = eval_sentences(cell.evals, cache) * c["passes"]
        return c["steps"] * cal.step_s + sentences * cal.encode_s_per_sentence + c["loads"] * cal.load_s
    ft = getattr(cell, "finetune", None)
    steps = ft.steps if ft is not None and getattr(cell, "strategy", "") != "base" else 0
    loads = 2 if steps else 1
    passes = 1
    pt = getattr(cell, "pretrain", None)
    if pt is not None and getattr(cell, "k", 0) > 0:
        steps += math.ceil(pt.budget / pt.batch_size)
        loads += 1
    if getattr(cell, "eval_pretrained", False):
        passes, loads = 2, loads + 1
    sentences = eval_sentences(cell.evals, cache) * passes
    return steps * cal.step_s + sentences * cal.encode_s_per_sentence + loads * cal.load_s


def estimate_cells(cells, cal: Calibration) -> float:
    """Seconds for the given (not yet done) cells, run one after another."""
    cache: dict = {}
    return sum(estimate_cell(cell, cal, cache) for cell in cells)


def fit_to_budget(cells, seconds: dict[str, float], budget_s: float) -> tuple[list, list[dict]]:
    """Keep whole design points (:meth:`~xlir.experiments.grid.CellConfig.fit_group`) in the preset's
    priority order (the order of ``cells``) while their summed estimate stays within ``budget_s``.

    The first group that would exceed the budget and every group after it are left out (a later,
    cheaper group never jumps the queue: the preset's order is its priority). Returns (kept cells,
    left-out groups as ``{"group", "cells", "estimate_s"}``).
    """
    groups: dict[str, list] = {}
    for cell in cells:
        groups.setdefault(cell.fit_group(), []).append(cell)
    kept, left, used, full = [], [], 0.0, False
    for name, members in groups.items():
        cost = sum(seconds[c.cell_id] for c in members)
        if not full and used + cost <= budget_s:
            kept.extend(members)
            used += cost
        else:
            full = True
            left.append({"group": name, "cells": len(members), "estimate_s": round(cost, 1)})
    return kept, left
