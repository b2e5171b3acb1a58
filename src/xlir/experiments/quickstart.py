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
from typing import ClassVar

from pydantic import ConfigDict, Field, model_validator

from xlir.config import TomlConfig
from xlir.data.clusters import question_clusters
from xlir.data.provenance import training_sources
from xlir.data.registry import load_collection
from xlir.errors import DataError
from xlir.evaluation import EvalConfig, EvalResult, evaluate
from xlir.evaluation.results import per_query_path
from xlir.evaluation.significance import compare_runs
from xlir.experiments.run_study import clusters_note
from xlir.files import check_output_dir
from xlir.models import load_model
from xlir.models.loading import fingerprint
from xlir.training import TrainConfig, train
from xlir.training.model_card import add_evaluation
from xlir.training.record import LOG_FILE, RECORD_FILE, TrainingRecord, read_log

# The documented default slice: the first 200 questions of every XQuAD-R language (2,200 queries)
# against the FULL candidate pool (13,014 sentences, all 11 languages), like the reference prototype.
DEFAULT_SLICE = 200


QUICKSTART_RECIPE = "quick"
DEFAULT_MODEL = "e5-small"
DEFAULT_OUTPUT = Path("runs/quickstart")
LEGACY_TRAIN_KEYS = {"train_sources": "sources", "sampler": "sampler", "alpha": "alpha", "steps": "steps",
                     "batch_size": "batch_size", "lr": "lr", "temperature": "temperature",
                     "symmetric": "symmetric", "max_length": "max_length",
                     "freeze_word_embeddings": "freeze_word_embeddings", "seed": "seed"}
"""Training keys the quickstart config had at its top level before it carried a ``[train]`` table."""


class QuickstartConfig(TomlConfig):
    """The quickstart: the model, what training it gets, and the evaluation slice.

    ``train`` is a whole :class:`TrainConfig`: the ``quick`` recipe
    (``xlir/training/recipes/quick.toml``) with the ``[train]`` table's fields on top; its
    ``model`` and ``output`` are the quickstart's (``model``, ``<output>/model``). The training
    keys of the old flat schema (``steps = 60``, ``train_sources = [...]``) are still read, into
    ``train``.
    """

    model_config = ConfigDict(extra="forbid")
    toml_table: ClassVar[str] = "quickstart"
    toml_siblings: ClassVar[tuple[str, ...]] = ("train",)  # [train] beside [quickstart] is its training

    model: str = DEFAULT_MODEL
    output: Path = DEFAULT_OUTPUT
    train: TrainConfig = Field(default_factory=lambda: TrainConfig(**_train_values({}, {})))
    eval_dataset: str = "xquad-r"
    eval_limit: int | None = Field(DEFAULT_SLICE, ge=1, description="questions per language; None: all")
    eval_languages: list[str] | None = None
    eval_batch_size: int = 64
    progress: bool = True

    @classmethod
    def from_file(cls, data: dict) -> dict:
        """A file in the old flat schema (``steps = 60`` at the top level) reads as ``[train]``."""
        return _move_legacy_keys(data)

    @model_validator(mode="before")
    @classmethod
    def _training(cls, data):
        if not isinstance(data, dict):
            return data
        data = _move_legacy_keys(data)
        train = data.get("train", {})
        if isinstance(train, TrainConfig):
            train = train.model_dump(mode="json")
        if not isinstance(train, dict):
            raise ValueError("train must be a table of TrainConfig fields")
        data["train"] = _train_values(train, data)
        return data


def _move_legacy_keys(data: dict) -> dict:
    data = dict(data)
    legacy = {LEGACY_TRAIN_KEYS[k]: data.pop(k) for k in list(data) if k in LEGACY_TRAIN_KEYS}
    if not legacy:
        return data
    train = data.get("train", {})
    if isinstance(train, TrainConfig):
        train = train.model_dump(mode="json")
    if not isinstance(train, dict):
        raise ValueError("train must be a table of TrainConfig fields")
    both = sorted(set(legacy) & set(train))
    if both:
        raise ValueError(f"{', '.join(both)} given both at the top level and in [train]; keep [train]")
    data["train"] = {**train, **legacy}
    return data


def _train_values(values: dict, quickstart: dict) -> dict:
    """The quick recipe (or the one ``values`` name) with ``values`` on top, as the quickstart runs
    it: its model, into ``<output>/model``, resumable, checkpointed about six times unless ``values``
    say otherwise. The trained model's record names the recipe and what the quickstart changed."""
    from xlir.training.recipes import load_recipe

    fixed = {"model": quickstart.get("model", DEFAULT_MODEL),
             "output": str(Path(quickstart.get("output", DEFAULT_OUTPUT)) / "model")}
    for key, value in fixed.items():
        if key in values and str(values[key]) != value:
            raise ValueError(f"train.{key} is the quickstart's own ({value}); set {key} at the top level")
    recipe = load_recipe(values.get("recipe") or QUICKSTART_RECIPE)  # [train] recipe = "best-cpu" works
    merged = {**recipe.values, **values, "recipe": recipe.name, **fixed,
              "progress": quickstart.get("progress", True), "resume": True}
    steps = merged.get("steps")
    if "checkpoint_every" not in values and isinstance(steps, int):
        merged["checkpoint_every"] = max(10, steps // 6)
    return merged


def _eval(
    model, name: str, collection, cfg: QuickstartConfig, out: Path, train_sources: list[str] | None = None
) -> EvalResult:
    if (out / "results.json").is_file():
        try:
            if per_query_path(out) is None:
                raise DataError(out, "no per-query file", expected="a complete run folder")
            saved = EvalResult.load(out)
            # figures of another model (retrained, or a recipe that now merges) are not this one's
            was = str(saved.model.get("fingerprint") or "").split("+")[0]
            if was == fingerprint(model):
                return saved
            warnings.warn(f"{out} holds the figures of another model (fingerprint {was or 'none'}); "
                          f"evaluating {name} again", stacklevel=2)
        except DataError as exc:  # a file cut by a kill or a full disk: evaluate again, say so
            warnings.warn(f"{exc}; evaluating {name} again", stacklevel=2)
    result = evaluate(
        model,
        collection,
        EvalConfig(batch_size=cfg.eval_batch_size, show_progress=cfg.progress, precision=cfg.train.precision),
        model_name=name,
        train_sources=train_sources,
    )
    result.save(out, runs=False)  # per-query figures suffice here; `xlir eval` writes TREC runs
    return result


def slice_tag(cfg: QuickstartConfig) -> str:
    langs = "-".join(cfg.eval_languages) if cfg.eval_languages else "all"
    return f"{cfg.eval_dataset}-{langs}-" + (f"n{cfg.eval_limit}" if cfg.eval_limit else "full")


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
        train(cfg.train)
    trained = _eval(
        load_model(model_dir),
        f"{cfg.model}+{cfg.train.sampler}",
        collection,
        cfg,
        report_dir / "eval-trained",
        train_sources=training_sources(model_dir),
    )

    add_evaluation(model_dir, [card_row(trained)])  # the model card shows what the quickstart measured
    # XQuAD-R's questions come several to a paragraph (the 200-question slice: 35 paragraphs), sharing
    # gold and distractor sentences: the tests move a paragraph's questions together
    clusters = question_clusters(collection, "id-tail")
    unit = clusters_note(clusters, clusters.keys())  # the studies' phrase, few-paragraph caveat included
    tests = compare_runs(base.per_query, trained.per_query, metrics=["AP"], clusters=clusters)
    significance = [t.as_json() for t in tests]  # strict JSON: an interval not given is null
    (report_dir / "significance.json").write_text(json.dumps(significance, indent=1, allow_nan=False))
    record = TrainingRecord.read(model_dir)
    return {
        "config": cfg.model_dump(mode="json"),
        "collection": collection.summary(),
        "base": base,
        "trained": trained,
        "tests": tests,
        "resampling_unit": unit,
        "training_log": read_log(model_dir / LOG_FILE),
        "training_record": record,
        "output": out,
        "report_dir": report_dir,
    }
