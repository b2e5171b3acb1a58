"""xlir results in MTEB's results-JSON layout, so LAReQA numbers can sit beside MTEB's in its tooling.

MTEB stores one ``TaskResult`` per task (``mteb.results.task_result``): ``task_name``,
``dataset_revision``, ``mteb_version``, ``evaluation_time`` and ``scores`` = ``{split: [one dict per
subset with hf_subset, languages, main_score and the metric values]}``, filed as
``<results>/<model name>/<revision>/<task name>.json``. An xlir run folder becomes three such tasks,
one per LAReQA setting (``<collection>-mono``, ``-cross``, ``-multi``), whose subsets are the language
pairs (``de-en``) or, for the multilingual setting, the query language; the mean of a task's
``main_score`` over its subsets (what MTEB reports for a multilingual task) is then xlir's macro
average for that setting.

``main_score`` is xlir's ``AP`` (LAReQA's mAP, over the whole candidate pool) by default: these are
not MTEB's ``XQuADRetrieval``/``MLQARetrieval`` numbers (those are nDCG@10 over one language's
paragraphs; ``docs/mteb.md``). Metric names follow MTEB's (``nDCG@10`` -> ``ndcg_at_10``, ``R@100`` ->
``recall_at_100``, ``RR@10`` -> ``mrr_at_10``, ``P@1`` -> ``precision_at_1``); whole-pool ``AP`` is
``map`` (MTEB's ``map_at_1000`` stops at rank 1000).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from xlir.errors import ConfigError
from xlir.evaluation.results import EvalResult

SPLIT = "test"
_NAMES = {"nDCG": "ndcg", "R": "recall", "RR": "mrr", "P": "precision", "AP": "map"}


def mteb_metric_name(name: str) -> str:
    """MTEB's key for an xlir metric name (``nDCG@10`` -> ``ndcg_at_10``; ``AP`` -> ``map``)."""
    m = re.fullmatch(r"([A-Za-z]+)(?:@(\d+))?", name)
    if not m or m.group(1) not in _NAMES:
        return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    base = _NAMES[m.group(1)]
    return f"{base}_at_{m.group(2)}" if m.group(2) else base


def mteb_language(code: str) -> str:
    """MTEB's language label ``iso639-3-Script`` (``de`` -> ``deu-Latn``) from xlir's language table."""
    from xlir.data.languages import language

    lang = language(code)
    script = lang.script or "Zyyy"
    return f"{lang.iso639_3}-{script}"


def task_results(result: EvalResult, *, main_metric: str = "AP") -> list[dict]:
    """One MTEB ``TaskResult`` dict per setting kind present in ``result``."""
    means = result.setting_means()
    if not means:
        raise ConfigError("the run has no settings to export")
    metrics = result.metrics
    if main_metric not in metrics:
        raise ConfigError(f"main metric {main_metric!r} is not in this run (it has {', '.join(metrics)})")
    name = result.collection.get("name", "collection")
    seconds = sum(v for v in result.timings.values() if isinstance(v, int | float)) or None
    by_kind: dict[str, list[dict]] = {}
    for setting, values in sorted(means.items()):
        kind, subset = setting.split("/", 1)
        langs = subset.split("-", 1) if kind != "multi" else [subset]
        row = {"hf_subset": subset, "languages": [mteb_language(x) for x in langs],
               "main_score": values[main_metric]}
        row.update({mteb_metric_name(m): values[m] for m in metrics if values.get(m) is not None})
        row["n_queries"] = values["n_queries"]
        by_kind.setdefault(kind, []).append(row)
    return [{"task_name": f"{name}-{kind}", "dataset_revision": f"xlir:{name}",
             "mteb_version": None, "evaluation_time": seconds, "kg_co2_emissions": None,
             "scores": {SPLIT: rows}} for kind, rows in by_kind.items()]


def export_run(run_dir: str | Path, out_dir: str | Path, *, main_metric: str = "AP") -> list[Path]:
    """Write the run folder's results as MTEB task JSONs under ``out_dir/<model>/<fingerprint>/``."""
    result = EvalResult.load(run_dir)
    model = re.sub(r"[^A-Za-z0-9._-]+", "__", str(result.model.get("name") or "model")).strip("_") or "model"
    revision = str(result.model.get("fingerprint") or "no_revision_available")
    folder = Path(out_dir) / model / revision
    written = []
    for task in task_results(result, main_metric=main_metric):
        path = folder / f"{task['task_name']}.json"
        if path.exists():
            raise ConfigError(f"{path} exists; export into a new folder")
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(task, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    meta = folder / "model_meta.json"
    if not meta.exists():
        meta.write_text(json.dumps({"name": model, "revision": revision, "source": "xlir"}, indent=2) + "\n",
                        encoding="utf-8")
    return written
