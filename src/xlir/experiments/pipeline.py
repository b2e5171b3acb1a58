"""The steps a study cell chains: slice a collection, fine-tune, evaluate, turn results into rows.

These are thin adapters over the public APIs (:func:`xlir.data.load_collection`,
:func:`xlir.training.train`, :func:`xlir.evaluation.evaluate`), so the studies stay a list of
configs and the layers below stay the single place where data, training and evaluation live.

Slices (why, and how they stay comparable)
    CPU presets cannot encode full candidate pools for dozens of cells (about 35 sentences/s for
    the embedded model). An :class:`EvalSpec` keeps the first ``limit`` questions (groups) of each
    language and, when ``pool_per_language`` is set, a candidate pool of the gold sentences of the
    kept questions plus the first ``pool_per_language`` candidates of each language in file order
    (the paragraphs around the kept questions, i.e. hard same-topic distractors). Every cell of a
    study uses the same slices, so comparisons between cells are exact; absolute numbers are
    higher than on the full pool and the reports say so.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, model_serializer

from xlir.data.schema import Collection
from xlir.training.config import train_overrides
from xlir.training.record import TrainingRecord


class EvalSpec(BaseModel):
    """One evaluation collection of a cell: a registered name, sliced with :meth:`Collection.subset`
    (``pool_per_language=0``: only the relevant candidates of the kept queries, as for bitext)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    languages: tuple[str, ...] | None = None
    limit: int | None = None
    pool_per_language: int | None = None
    optional: bool = False  # skip (and say so) when the loader or files are missing
    questions: Literal["all", "dev", "test"] = "all"
    """``dev``: only the fixed dev slice of the questions, ``test``: all but it
    (:mod:`xlir.data.dev_split`); applied before ``limit``."""

    @model_serializer(mode="wrap")
    def _without_new_defaults(self, handler):
        """Fields added after studies were committed are left out of the dump at their default, so
        the cells of those studies keep their ids (a cell id hashes its config's dump)."""
        data = handler(self)
        if isinstance(data, dict) and data.get("questions") == "all":
            data.pop("questions")
        return data


def load_eval(spec: EvalSpec, data_dir=None) -> Collection | None:
    """The sliced collection of ``spec`` (:meth:`Collection.subset`); ``None`` when optional and
    unavailable (no loader, or its files missing)."""
    from xlir.data import load_collection
    from xlir.errors import XlirError

    try:
        opts = {"languages": list(spec.languages)} if spec.languages else {}
        coll = load_collection(spec.name, data_dir=data_dir, **opts)
    except XlirError:
        if spec.optional:
            return None
        raise
    if spec.questions != "all":
        from xlir.data.dev_split import split_questions

        coll = split_questions(coll, spec.questions)
    if spec.limit or spec.pool_per_language is not None:
        coll = coll.subset(limit=spec.limit, pool_per_language=spec.pool_per_language)
    return coll


FinetuneSpec = train_overrides(
    "FinetuneSpec",
    ("sources", "sampler", "alpha", "steps", "batch_size", "lr", "max_length", "max_groups",
     "freeze_word_embeddings"),
    module=__name__,
    doc="The fine-tuning of a cell: the TrainConfig fields studies vary or fix (TrainConfig's types, "
        "defaults and checks); the rest is TrainConfig's defaults.",
)


def train_precision(precision: str | None) -> str | None:
    """``precision`` when the trainer takes one (``TrainConfig.precision``), else ``None``: training
    then runs in fp32 whatever the cell asks, and the estimate's timing probe times fp32 steps."""
    from xlir.training import TrainConfig

    return precision if precision is not None and "precision" in TrainConfig.model_fields else None


CHECKPOINT_EVERY = 200
"""Fine-tuning steps between a study cell's checkpoints (and always one at the end)."""


def finetune(model: str, spec: FinetuneSpec, seed: int, output: Path,
             precision: str | None = None) -> tuple[str, TrainingRecord]:
    """Train with :func:`xlir.training.train`; return (model folder, training record).

    Resumes: a grid runs a killed cell again in its kept work folder, and a cell killed after this
    run saved its model (during the evaluation that follows) would otherwise fail on every rerun with
    "already holds a training run". The final step's checkpoint restores the finished run (nothing is
    trained again); a folder without a checkpoint trains from the start; other settings are refused.
    Long runs also checkpoint every 200 steps (the recipe search's 1,000-1,200-step cells take over
    an hour), so a cell killed mid-training loses at most that much."""
    from xlir.training import TrainConfig, train

    extra = {"precision": p} if (p := train_precision(precision)) else {}
    every = max(1, min(spec.steps, CHECKPOINT_EVERY))
    config = TrainConfig.build("study cell", **spec.model_dump(), **extra, model=str(model), seed=seed,
                               output=Path(output), progress=False, checkpoint_every=every, resume=True)
    result = train(config)
    return str(result.model_dir), result.record


def evaluate_specs(
    model_path,
    specs,
    *,
    train_sources=(),
    max_length: int | None = None,
    data_dir=None,
    keep_pairs: bool = True,
    precision: str = "fp32",
    question_unit: str = "group",
) -> tuple[list[dict], dict, list[str]]:
    """Evaluate ``model_path`` (a model name or folder, or a loaded SentenceTransformer: a merge made
    in memory) on every spec; return (rows, per-question scores, skipped collection names).

    Rows: one per (collection, setting, metric) plus the aggregate rows ``mono``, ``cross``,
    ``multi`` (AP) and ``rank_distance``. Per-question scores, for paired tests, are keyed
    ``collection -> kind -> group -> AP`` (averaged over the pairs a question appears in).

    ``question_unit``: what a per-question key is. ``group`` (the default): the query's ``group``, the
    id its translations share (XQuAD-R, MLQA-R, FLORES), else the query id (AfriQA: one query).
    ``id-tail``: the part of the query id after the language, which is the same for every collection
    with shared ids but pools AfriQA's queries of different languages that share an id number; the
    grids begun with it (studies 1 and 2 at ``cpu-scale``) keep it, so their cells stay comparable.
    """
    if question_unit not in ("group", "id-tail"):
        raise ValueError(f"question_unit must be 'group' or 'id-tail', not {question_unit!r}")
    from xlir.data.provenance import check_zero_shot
    from xlir.evaluation import EvalConfig, evaluate, quick_summary
    from xlir.models.loading import load_model

    model = load_model(model_path) if isinstance(model_path, str | Path) else model_path
    rows: list[dict] = []
    per_question: dict = {}
    skipped: list[str] = []
    for spec in specs:
        coll = load_eval(spec, data_dir)
        if coll is None:
            skipped.append(spec.name)
            continue
        check_zero_shot(train_sources, coll.source or coll.name)
        kinds = ["mono", "cross", "multi"] if coll.parallel else ["cross"]
        res = evaluate(
            model,
            coll,
            EvalConfig(
                metrics=["AP", "P@1"], settings=kinds, cache=False, show_progress=False,
                max_length=max_length, precision=precision,
            ),
        )
        summary = quick_summary(res)
        for kind in ("mono", "cross", "multi"):
            if summary.get(kind) is not None:
                rows.append(
                    {
                        "collection": spec.name,
                        "setting": kind,
                        "metric": "AP",
                        "value": summary[kind],
                        "n_queries": summary["n_queries"].get(kind),
                    }
                )
        if summary.get("rank_distance") is not None:
            rows.append(
                {
                    "collection": spec.name,
                    "setting": "multi",
                    "metric": "rank_distance",
                    "value": summary["rank_distance"],
                    "n_queries": summary["n_queries"].get("multi"),
                }
            )
        if keep_pairs:
            for key, means in res.setting_means().items():
                info = res.settings[key]
                for metric in ("AP", "P@1") if not coll.parallel else ("AP",):
                    if means.get(metric) is not None:
                        rows.append(
                            {
                                "collection": spec.name,
                                "setting": key,
                                "metric": metric,
                                "value": means[metric],
                                "n_queries": info["n_queries"],
                                "query_language": info["query_language"],
                                "doc_language": info.get("doc_language") or "",
                            }
                        )
        pq: dict[str, dict[str, list[float]]] = {}
        unit_of = {q.id: q.group or q.id for q in coll.queries} if question_unit == "group" else {}
        for key, by_metric in res.per_query.items():
            kind = res.settings[key]["kind"]
            for qid, v in by_metric.get("AP", {}).items():
                group = unit_of.get(qid) or (qid.split("/", 1)[1] if "/" in qid else qid)
                pq.setdefault(kind, {}).setdefault(group, []).append(v)
        per_question[spec.name] = {
            kind: {g: sum(v) / len(v) for g, v in groups.items()} for kind, groups in pq.items()
        }
    for r in rows:
        if isinstance(r["value"], float) and math.isnan(r["value"]):
            r["value"] = None
    return rows, per_question, skipped
