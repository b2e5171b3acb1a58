"""Run an MTEB retrieval task on a model, offline, from the task's data in a local folder.

MTEB fetches a task's data from the Hugging Face Hub; without network a user who has the data on disk
(a copy of the task's dataset repository, or a folder written by :mod:`xlir.data.mteb_layout`) can
still run the task here: the task is MTEB's own (its metadata, subsets, metrics and ``main_score``),
only its data comes from ``data_path``, read with ``datasets`` config by config (``S-corpus``,
``S-queries``, ``S-qrels`` per subset ``S``, as MTEB's loader does) into a fresh ``datasets`` cache
(``datasets`` caches a local folder by its name, so two folders of one name would otherwise share
stale data). The model keeps its prompts: MTEB encodes queries with the ``query`` prompt and documents
with ``document`` (:mod:`xlir.models.prompts`), as xlir's evaluator does. Needs the ``mteb`` extra.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from xlir.errors import ConfigError, MissingDataError


def _require_mteb():
    try:
        import mteb
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ConfigError("MTEB is not installed: pip install 'xlir[mteb]'") from exc
    return mteb


def _load_split(path: Path, subset: str, split: str, cache: str) -> dict:
    from datasets import get_dataset_config_names, load_dataset

    configs = set(get_dataset_config_names(str(path)))

    def load(kind: str):
        name = f"{subset}-{kind}" if subset != "default" else kind
        if name not in configs:
            raise MissingDataError(f"{path}: no config {name!r} (has {', '.join(sorted(configs))}); "
                                   f"an MTEB retrieval folder has <subset>-corpus/-queries/-qrels configs")
        ds = load_dataset(str(path), name, cache_dir=cache)
        if split in ds:
            return ds[split]
        if len(ds) == 1:
            return next(iter(ds.values()))
        raise MissingDataError(f"{path}: config {name!r} has no split {split!r} (has {', '.join(ds)})")

    corpus, queries, qrels_ds = load("corpus"), load("queries"), load("qrels")
    qrels: dict[str, dict[str, int]] = {}
    for row in qrels_ds:
        qrels.setdefault(str(row["query-id"]), {})[str(row["corpus-id"])] = int(row["score"])
    keep = [i for i, qid in enumerate(queries["id"]) if str(qid) in qrels]
    return {"corpus": corpus, "queries": queries.select(keep), "relevant_docs": qrels, "top_ranked": None}


def local_task(name: str, data_path: str | Path, *, subsets: Sequence[str] | None = None,
               split: str | None = None):
    """MTEB task ``name`` with its data read from ``data_path`` (see the module docstring); ``split``
    picks the folder's split (default: the task's evaluation split, or the only one there is)."""
    mteb = _require_mteb()
    path = Path(data_path)
    if not (path / "README.md").is_file():
        raise MissingDataError(f"{path}: no README.md declaring the dataset's configs; pass a copy of the "
                               f"task's dataset repository or a folder from xlir.data.mteb_layout")
    try:
        task = mteb.get_task(name, hf_subsets=list(subsets) if subsets else None)
    except KeyError as exc:
        raise ConfigError(f"MTEB has no task {name!r}") from exc
    if task.metadata.type not in ("Retrieval",):
        raise ConfigError(f"{name} is a {task.metadata.type} task; xlir runs MTEB retrieval tasks")
    cache = tempfile.mkdtemp(prefix="xlir-mteb-datasets-")
    # the datasets' Arrow files are memory-mapped from here while the task lives: removed at exit (each
    # run left two folders in the temp directory before)
    atexit.register(shutil.rmtree, cache, ignore_errors=True)
    read = split or task.eval_splits[0]
    task.dataset = {subset: {task.eval_splits[0]: _load_split(path, subset, read, cache)}
                    for subset in task.hf_subsets}
    task.data_loaded = True
    return task


def run_task(model, name: str, data_path: str | Path, *, subsets: Sequence[str] | None = None,
             split: str | None = None, output_dir: str | Path | None = None) -> dict:
    """Scores of MTEB task ``name`` for ``model`` on the local data: ``{subset: {metric: value}}``
    (``main_score`` included). ``output_dir`` also keeps MTEB's own results JSON there."""
    mteb = _require_mteb()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never wait on the network for a local run
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    task = local_task(name, data_path, subsets=subsets, split=split)
    cache = mteb.ResultCache(cache_path=str(output_dir)) if output_dir else None
    result = mteb.evaluate(model, task, cache=cache, overwrite_strategy="always", show_progress_bar=False)
    scores = result.task_results[0].scores[task.eval_splits[0]]
    return {row["hf_subset"]: dict(row) for row in scores}


def mean_main_score(scores: dict) -> float:
    """The task's score as MTEB reports a multilingual task: the mean ``main_score`` over subsets."""
    return sum(row["main_score"] for row in scores.values()) / len(scores)
