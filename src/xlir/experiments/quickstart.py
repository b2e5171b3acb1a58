"""The quickstart experiment: base model vs hybrid-trained model, zero-shot on XQuAD-R.

This is the smallest honest version of arXiv 2408.10536's result at CPU scale: fine-tune the
embedded multilingual-e5-small with hybrid batches (alpha 0.5) on MLQA pairs, then evaluate base and
trained models on XQuAD-R. XQuAD-R shares no source with MLQA, and 4 of its 11 languages (el, ru,
th, tr) never occur in MLQA training, so the comparison is zero-shot.

Every step writes its output folder and is skipped when that output is already complete, so an
interrupted quickstart resumes where it stopped (training itself resumes from its last checkpoint).
Rendering (tables, plots) is the reports layer's job; this module returns the numbers.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from xlir.data.provenance import training_sources
from xlir.data.registry import load_collection
from xlir.errors import DataError
from xlir.evaluation import EvalConfig, EvalResult, evaluate
from xlir.evaluation.significance import compare_runs
from xlir.files import check_output_dir
from xlir.models import load_model
from xlir.training import TrainConfig, train
from xlir.training.model_card import add_evaluation
from xlir.training.record import LOG_FILE, RECORD_FILE, read_log, read_training_record

# The documented default slice: the first 200 questions of every XQuAD-R language (2,200 queries)
# against the FULL candidate pool (13,014 sentences, all 11 languages), like the reference prototype.
DEFAULT_SLICE = 200


class QuickstartConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = "e5-small"
    output: Path = Path("runs/quickstart")
    train_sources: list[str] = Field(default_factory=lambda: ["mlqa"])
    sampler: str = "hybrid"
    alpha: float = 0.5
    steps: int = 120
    batch_size: int = 32
    lr: float = 3e-5
    temperature: float = 0.05
    symmetric: bool = False
    max_length: int = 96
    freeze_word_embeddings: bool = True
    seed: int = 0
    eval_dataset: str = "xquad-r"
    eval_limit: int | None = DEFAULT_SLICE
    eval_languages: list[str] | None = None
    eval_batch_size: int = 64
    progress: bool = True


def _eval(
    model, name: str, collection, cfg: QuickstartConfig, out: Path, train_sources: list[str] | None = None
) -> EvalResult:
    if (out / "results.json").is_file() and (out / "per_query.json").is_file():
        try:
            return EvalResult.load(out)
        except DataError as exc:  # a file cut by a kill or a full disk: evaluate again, say so
            warnings.warn(f"{exc}; evaluating {name} again", stacklevel=2)
    result = evaluate(
        model,
        collection,
        EvalConfig(batch_size=cfg.eval_batch_size, show_progress=cfg.progress),
        model_name=name,
        train_sources=train_sources,
    )
    result.save(out, runs=False)  # per-query figures suffice here; `xlir eval` writes TREC runs
    return result


def slice_tag(cfg: QuickstartConfig) -> str:
    langs = "-".join(cfg.eval_languages) if cfg.eval_languages else "all"
    return f"{cfg.eval_dataset}-{langs}-" + (f"n{cfg.eval_limit}" if cfg.eval_limit else "full")


def train_config(cfg: QuickstartConfig) -> TrainConfig:
    return TrainConfig(
        model=cfg.model,
        sources=cfg.train_sources,
        sampler=cfg.sampler,
        alpha=cfg.alpha,
        steps=cfg.steps,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        temperature=cfg.temperature,
        symmetric=cfg.symmetric,
        max_length=cfg.max_length,
        freeze_word_embeddings=cfg.freeze_word_embeddings,
        seed=cfg.seed,
        output=cfg.output / "model",
        progress=cfg.progress,
        checkpoint_every=max(10, cfg.steps // 6),
        resume=True,
    )


def card_row(result: EvalResult) -> dict:
    """One row of a model card's evaluation table (:func:`xlir.training.model_card.add_evaluation`)."""
    agg, bias = result.aggregates(), result.bias() or {}
    row = {k: (agg.get(k, {}).get("AP") or {}).get("mean") for k in ("mono", "cross", "multi")}
    coll = result.collection
    return {"collection": coll.get("name"), "queries": coll.get("queries"), **row,
            "rank_distance": (bias.get("rank_distance") or {}).get("mean")}


def run_quickstart(cfg: QuickstartConfig) -> dict:
    """Run (or resume) the quickstart; returns the figures and the paths the report needs."""
    out = check_output_dir(cfg.output, "quickstart folder")
    out.mkdir(parents=True, exist_ok=True)
    (out / "quickstart_config.json").write_text(cfg.model_dump_json(indent=2))

    collection = load_collection(cfg.eval_dataset, languages=cfg.eval_languages)
    if cfg.eval_limit is not None:
        collection = collection.subset(limit=cfg.eval_limit)

    # evaluations and report live in a folder per slice: `--full` after a slice run reuses the
    # trained model but never a slice's figures
    report_dir = out / slice_tag(cfg)
    base = _eval(load_model(cfg.model), cfg.model, collection, cfg, report_dir / "eval-base")

    model_dir = out / "model"
    if not (model_dir / RECORD_FILE).is_file() or not (model_dir / "modules.json").is_file():
        train(train_config(cfg))
    trained = _eval(
        load_model(model_dir),
        f"{cfg.model}+{cfg.sampler}",
        collection,
        cfg,
        report_dir / "eval-trained",
        train_sources=training_sources(model_dir),
    )

    add_evaluation(model_dir, [card_row(trained)])  # the model card shows what the quickstart measured
    tests = compare_runs(base.per_query, trained.per_query, metrics=["AP"])
    (report_dir / "significance.json").write_text(json.dumps([t.as_dict() for t in tests], indent=1))
    record = read_training_record(model_dir)
    return {
        "config": cfg.model_dump(mode="json"),
        "collection": collection.summary(),
        "base": base,
        "trained": trained,
        "tests": tests,
        "training_log": read_log(model_dir / LOG_FILE),
        "training_record": record,
        "output": out,
        "report_dir": report_dir,
    }
