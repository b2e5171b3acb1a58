"""Estimate a grid's wall time before it starts, from a short calibration on this machine.

The calibration loads the preset's model once and times training steps (best of three: forward
and backward of a contrastive loss on real sentences at the preset's batch size and length) and the
encoding of a batch of sentences. Each remaining cell's cost is then counted from its
configuration: fine-tuning steps, pre-training steps (two encoder passes per pair batch, like a
training step), sentences to encode in its evaluation slices, and the model loads it pays. Cells
already done cost nothing. It is an estimate (other load on the machine changes it), printed so
that a user can stop a grid that would not fit before it starts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass


@dataclass
class Calibration:
    step_s: float
    encode_s_per_sentence: float
    load_s: float

    def describe(self) -> str:
        return (
            f"train step {self.step_s:.2f} s, encoding {1 / max(self.encode_s_per_sentence, 1e-9):.0f} "
            f"sentences/s, model load {self.load_s:.1f} s"
        )


def calibrate(model: str, batch_size: int, max_length: int) -> Calibration:
    import torch

    from xlir.models.loading import load_model
    from xlir.training.pretrain.translation_ranking import encode_with_grad

    t0 = time.perf_counter()
    m = load_model(model)
    load_s = time.perf_counter() - t0
    from xlir.evaluation.encode import configure_threads

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
        a = encode_with_grad(m, texts)
        b = encode_with_grad(m, texts)
        loss = torch.nn.functional.cross_entropy(a @ b.T / 0.05, torch.arange(len(texts)))
        loss.backward()
        times.append(time.perf_counter() - t)
    m.zero_grad(set_to_none=True)
    m.eval()
    sents = [text[: 40 + i] for i in range(64)]
    t = time.perf_counter()
    m.encode(sents, batch_size=32, show_progress_bar=False)
    enc = (time.perf_counter() - t) / len(sents)
    # the optimiser step (AdamW over the unfrozen parameters) is not in the forward/backward time
    return Calibration(step_s=min(times) * 1.15, encode_s_per_sentence=enc, load_s=load_s)


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


def estimate_cells(cells, cal: Calibration) -> float:
    """Seconds for the given (not yet done) cells, run one after another."""
    cache: dict = {}
    total = 0.0
    for cell in cells:
        ft = getattr(cell, "finetune", None)
        steps = ft.steps if ft is not None and getattr(cell, "strategy", "") != "base" else 0
        loads = 2 if steps else 1
        pt = getattr(cell, "pretrain", None)
        if pt is not None and getattr(cell, "k", 0) > 0:
            steps += math.ceil(pt.budget / pt.batch_size)
            loads += 1
        total += steps * cal.step_s + eval_sentences(cell.evals, cache) * cal.encode_s_per_sentence
        total += loads * cal.load_s
    return total
