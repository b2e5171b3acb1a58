"""The pre-training stage: continue training an encoder on k languages before hybrid fine-tuning.

``pretrain(model, objective, languages, budget, seed, output)`` returns a sentence-transformers
folder, so the fine-tuning stage takes it like any other model. It is a run of the one trainer
(:func:`xlir.training.train`) with a pre-training objective (``translation-ranking``, ``mlm``; see
:mod:`xlir.training.objectives`) on bitext pairs, so optimiser, schedule, checkpoints and resume,
non-finite checks and distributed training are fine-tuning's. A killed stage resumes from its
last checkpoint when called again with the same output.

The budget (pairs for translation ranking, tokens for MLM) is the same whatever the number of
languages; the ``round-robin`` sampler spreads it evenly over the languages, so between two runs
that differ in k only the breadth of languages changes, not the amount of training. Steps are fixed
up front from the budget, so the schedule is identical for every k: budget / batch size for pairs;
for tokens, the budget over the mean tokens of the first four batches of this data.

Optimisation is the fine-tuning recipe (AdamW, weight decay 0.01 except biases and norm weights,
linear warmup over ``warmup`` x steps then linear decay, gradient clipping at 1.0), with the word
embeddings optionally frozen: they are most of a multilingual model's parameters and freezing them
makes CPU steps far cheaper. With ``languages=[]`` (k = 0) the stage is skipped and the input model
is returned unchanged.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import ClassVar, Literal

from pydantic import ConfigDict, Field

from xlir.config import TomlConfig
from xlir.training.pretrain.corpus import bitext_pair_set, load_language_bitext

PRETRAIN_RECORD = "pretrain.json"


class PretrainConfig(TomlConfig):
    """Everything a pre-training run depends on (written to ``pretrain.json`` beside the model);
    ``PretrainConfig.from_toml(path, overrides)`` reads it (top level or a ``[pretrain]`` table)."""

    model_config = ConfigDict(extra="forbid")
    toml_table: ClassVar[str] = "pretrain"

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
    precision: Literal["auto", "fp32", "bf16"] = "auto"
    """Of the transformer's matrix products, as ``TrainConfig.precision``."""


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
    from xlir.models.loading import resolve_model_path
    from xlir.training import train

    config = (config or PretrainConfig()).model_copy(
        update={"objective": objective, "budget": budget, "seed": seed}
    )
    if not languages:
        return Path(resolve_model_path(model_name_or_path))
    per_language = {lang: load_language_bitext(lang, sources=config.sources, data_dir=data_dir)
                    for lang in languages}
    pairs = bitext_pair_set(per_language, config.sources)
    steps, per_step = _steps_for_budget(config, _train_config(model_name_or_path, config, 1, output), pairs)
    train_config = _train_config(model_name_or_path, config, steps, output)

    def report(info) -> None:
        if log is not None and info.step % max(1, steps // 5) == 0:
            log(f"pretrain step {info.step}/{steps} loss {info.loss:.4f}")

    result = train(train_config, pairs, on_step=report)
    record = {
        "config": config.model_dump(mode="json"),
        "base_model": str(model_name_or_path),
        "languages": list(languages),
        "pairs_available": {k: len(v) for k, v in per_language.items()},
        "steps": len(result.losses),
        "budget_used": sum(per_step),
        "budget_unit": _objective(train_config).budget_unit,
        "first_loss": result.losses[0] if result.losses else None,
        "last_loss": result.losses[-1] if result.losses else None,
        "wall_s": result.record.wall_time_s,
    }
    (Path(output) / PRETRAIN_RECORD).write_text(json.dumps(record, indent=2))
    return Path(output)


def _train_config(model, config: PretrainConfig, steps: int, output):
    from xlir.training import TrainConfig

    return TrainConfig(
        model=str(model), sources=list(config.sources), sampler="round-robin",
        objective=config.objective, objective_options=config.objective_options, steps=steps,
        batch_size=config.batch_size, lr=config.lr, weight_decay=config.weight_decay,
        warmup_steps=int(steps * config.warmup), max_grad_norm=1.0, max_length=config.max_length,
        freeze_word_embeddings=config.freeze_embeddings, seed=config.seed, output=Path(output),
        progress=False, resume=True, checkpoint_every=max(50, steps // 4), precision=config.precision,
    )


def _objective(train_config):
    from xlir.training.objectives import build_objective

    return build_objective(train_config.objective, **train_config.objective_settings())


def _steps_for_budget(config: PretrainConfig, train_config, pairs) -> tuple[int, list[int]]:
    """Steps that spend ``config.budget``, and what each step's batch costs. Token costs are those of
    the very batches the trainer will draw (the sampler is seeded and deterministic)."""
    objective = _objective(train_config)
    if objective.budget_unit == "pairs":
        steps = max(1, math.ceil(config.budget / config.batch_size))
        return steps, [config.batch_size] * steps
    from xlir.models.loading import load_model
    from xlir.training.samplers import build_sampler

    model = load_model(train_config.model, device="cpu")  # for its tokenizer
    sampler = build_sampler("round-robin", pairs.pairs, config.batch_size, seed=config.seed)

    def cost() -> int:
        return objective.cost(model, [pairs.pairs[i] for i in sampler.next_global().indices])

    costs = [cost() for _ in range(4)]
    steps = max(1, math.ceil(config.budget / max(1.0, sum(costs) / len(costs))))
    costs += [cost() for _ in range(steps - len(costs))]
    return steps, costs[:steps]
