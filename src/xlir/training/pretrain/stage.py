"""The pre-training stage: continue training an encoder on k languages before hybrid fine-tuning.

``pretrain(model, objective, languages, budget, seed, output)`` returns a sentence-transformers
folder, so the fine-tuning stage takes it like any other model. The budget (pairs for translation
ranking, tokens for MLM) is the same whatever the number of languages; it is spread evenly over the
languages (:func:`~xlir.training.pretrain.corpus.balanced_stream`), so between two runs that differ
in k only the breadth of languages changes, not the amount of training.

Optimisation follows the fine-tuning recipe (AdamW, weight decay 0.01, linear warmup then linear
decay, gradient clipping at 1.0), with the word embeddings optionally frozen: they are most of a
multilingual model's parameters and freezing them makes CPU steps far cheaper.
With ``languages=[]`` (k = 0) the stage is skipped and the input model is returned unchanged.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from xlir.errors import XlirError
from xlir.training.pretrain.corpus import balanced_stream, load_language_bitext
from xlir.training.pretrain.objective import OBJECTIVES


class PretrainConfig(BaseModel):
    """Everything a pre-training run depends on (written to ``pretrain.json`` beside the model)."""

    model_config = ConfigDict(extra="forbid")

    objective: str = "translation-ranking"
    objective_options: dict = Field(default_factory=dict)
    budget: int = 4096
    """pairs (translation ranking) or tokens (MLM), the same for every k."""
    batch_size: int = 32
    lr: float = 2e-5
    warmup: float = 0.1
    weight_decay: float = 0.01
    max_length: int = 64
    freeze_embeddings: bool = True
    sources: tuple[str, ...] = ("flores", "ntrex")
    seed: int = 0


class NonFiniteLoss(XlirError):
    """The loss became NaN or infinite; the message names the step."""


def _load_pairs(languages, config: PretrainConfig, data_dir):
    return {lang: load_language_bitext(lang, sources=config.sources, data_dir=data_dir) for lang in languages}


def pretrain(
    model_name_or_path: str | Path,
    objective: str,
    languages: list[str],
    budget: int,
    seed: int,
    output: str | Path,
    *,
    config: PretrainConfig | None = None,
    data_dir: str | Path | None = None,
    log=None,
) -> Path:
    """Pre-train on ``languages`` for ``budget`` pairs/tokens; return the saved model folder."""
    import random

    import numpy as np
    import torch

    from xlir.models.loading import load_model, resolve_model_path

    config = (config or PretrainConfig()).model_copy(
        update={"objective": objective, "budget": budget, "seed": seed}
    )
    output = Path(output)
    if not languages:
        return Path(resolve_model_path(model_name_or_path))
    obj_cls = OBJECTIVES.get(config.objective)
    opts = dict(config.objective_options)
    if config.objective == "mlm":
        opts.setdefault("max_length", config.max_length)
        opts.setdefault("seed", seed)
    obj = obj_cls(**opts)

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    model = load_model(model_name_or_path, device="cuda" if torch.cuda.is_available() else "cpu")
    model.max_seq_length = config.max_length
    model.train()
    if config.freeze_embeddings:
        model[0].auto_model.get_input_embeddings().weight.requires_grad_(False)
    extra = obj.modules(model)
    params = [p for p in model.parameters() if p.requires_grad]
    for m in extra:
        params += [p for p in m.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2]
    no_decay = [p for p in params if p.ndim < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=config.lr,
    )

    per_language = _load_pairs(languages, config, data_dir)
    stream = balanced_stream(per_language, seed)
    # Steps are fixed up front from the budget so the schedule is identical for every k. For a
    # token budget, steps come from the average tokens of a batch of this data (measured on the
    # first batches), and the loop still stops once the budget is spent.
    batches = obj.batches(stream, config.batch_size)
    if obj.budget_unit == "tokens":
        probe = [next(batches) for _ in range(4)]
        per_batch = max(1.0, sum(obj.cost(model, b) for b in probe) / len(probe))
        steps = max(1, math.ceil(budget / per_batch))
        pending = probe
    else:
        steps = max(1, math.ceil(budget / config.batch_size))
        pending = []
    warm = max(1, int(steps * config.warmup))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
    )

    output.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    used = 0
    losses = []
    with open(output / "pretrain_log.jsonl", "w", encoding="utf-8") as fh:
        for step in range(steps):
            batch = pending.pop(0) if pending else next(batches)
            loss = obj.loss(model, batch)
            if not torch.isfinite(loss):
                raise NonFiniteLoss(
                    f"pre-training loss is {loss.item()} at step {step + 1} "
                    f"(languages {sorted({p.language for p in batch})})"
                )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            used += obj.cost(model, batch)
            losses.append(float(loss.item()))
            fh.write(
                json.dumps(
                    {
                        "step": step + 1,
                        "loss": round(losses[-1], 5),
                        "used": used,
                        "lr": sched.get_last_lr()[0],
                        "elapsed_s": round(time.time() - t0, 2),
                    }
                )
                + "\n"
            )
            if log is not None and (step + 1) % max(1, steps // 5) == 0:
                log(f"pretrain step {step + 1}/{steps} loss {losses[-1]:.4f}")
            if obj.budget_unit == "tokens" and used >= budget:
                break
    model.eval()
    model.save(str(output))
    record = {
        "config": config.model_dump(mode="json"),
        "base_model": str(model_name_or_path),
        "languages": list(languages),
        "pairs_available": {k: len(v) for k, v in per_language.items()},
        "steps": len(losses),
        "budget_used": used,
        "budget_unit": obj.budget_unit,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "wall_s": round(time.time() - t0, 2),
    }
    (output / "pretrain.json").write_text(json.dumps(record, indent=2))
    return output
