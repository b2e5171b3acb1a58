"""An evaluation's results: per-query values, every average with its query count, and the run folder.

The per-query values are the single source of truth: ``per_query[setting][metric][query_id]``
(settings ``mono/de-de``, ``cross/de-en``, ``multi/de``; metrics ``AP``, ``nDCG@10``...), and
``bias_per_query[multi setting][measure][query_id]`` for the language-bias measures. Every other
figure (pair means, macro averages, bias summaries) is computed from them, so a result loaded back
from disk gives the same figures, and ``xlir compare`` can pair two runs query by query.

Run folder written by :meth:`EvalResult.save`::

    results.json        config, package versions, model name + fingerprint, collection summary,
                        every figure (per setting, macro averages, bias) with its query counts
    per_query.json      {"per_query": ..., "bias_per_query": ...}  (per_query.json.gz with gzip)
    runs/<kind>/<pair>.trec       TREC run (top ``run_depth`` per query), one per setting
    runs/<kind>/<pair>.qrels.txt  the judgments of that setting (cut to its pool)
    summary.md, report.html       Markdown and HTML tables;  heatmap.png  query x candidate language

The run and qrels files are plain TREC text by default, so ``ranx.Run.from_file``,
``ranx.Qrels.from_file``, ``ir_measures.read_trec_run``, ``trec_eval`` and pytrec_eval read them as
they are. They are large for whole collections (depth-100 runs of all 121 XQuAD-R pairs are 15
million lines, about 0.7 GB): ``EvalConfig.run_format = "trec.gz"`` (``xlir eval --run-format
trec.gz``) gzips them (``.trec.gz``, ``.qrels.txt.gz``; about 6x smaller), ``--no-runs`` skips them.
:func:`read_run` / :func:`read_qrels` read either form.
"""

from __future__ import annotations

import math
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from xlir.errors import DataError, MissingDataError
from xlir.evaluation.trec_io import read_qrels, read_run, write_qrels, write_run  # noqa: F401 (re-exported)
from xlir.files import write_gzip_json_atomic, write_json_atomic

RESULTS_FILE = "results.json"
PER_QUERY_FILE = "per_query.json"
PER_QUERY_GZ_FILE = "per_query.json.gz"
FORMAT_VERSION = 1


def per_query_path(run_dir: str | Path) -> Path | None:
    """The run folder's per-query file, plain or gzipped (``EvalConfig.gzip``); None when neither
    exists. Both at once is a DataError: one of them is stale and the figures would be ambiguous."""
    run_dir = Path(run_dir)
    found = [run_dir / n for n in (PER_QUERY_FILE, PER_QUERY_GZ_FILE) if (run_dir / n).is_file()]
    if len(found) == 2:
        raise DataError(found[1], f"{PER_QUERY_FILE} is there too: one of them is stale",
                        expected="one per-query file per run folder (remove the older one)")
    return found[0] if found else None


@dataclass
class RunData:
    """Top-ranked candidates of one setting: ``doc_ids[i]`` and ``scores[i]`` for ``query_ids[i]``."""

    query_ids: list[str]
    doc_ids: list[list[str]]
    scores: np.ndarray  # float32 [nq, k]


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("xlir", "torch", "transformers", "sentence-transformers", "numpy", "tokenizers"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _mean(values) -> float | None:
    vals = list(values)
    return float(np.mean(vals)) if vals else None


BIAS_RANGES = {"rank_distance": (0.0, math.inf), "own_language_top": (0.0, 1.0),
               "own_language_chance": (0.0, 1.0)}
"""Where each language-bias measure lives (rank distance: a difference of ranks, >= 0)."""


def _metric_range(name: str) -> tuple[float, float]:
    from xlir.errors import XlirError
    from xlir.evaluation.metrics import get_metric

    if name in BIAS_RANGES:
        return BIAS_RANGES[name]
    try:
        return get_metric(name).value_range
    except XlirError:
        return (-math.inf, math.inf)  # a measure we do not know: it must still be finite


def _number_within(v, lo: float, hi: float) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            and lo <= v <= hi)


def check_figures(per_query: dict, bias_per_query: dict | None = None, *,
                  where: str | Path | None = None) -> None:
    """The invariant of every result: each per-query value is a finite number within its measure's
    range (AP, nDCG, recall, RR, P@k in [0, 1]; rank distance >= 0). Every published figure is a
    mean of these, so this one check covers them all. Raises :class:`DataError` naming setting,
    measure and query (``where``: the file they came from, if any).

    Checked when an :class:`EvalResult` is built (after an evaluation, or loading a run folder):
    NaN embeddings once gave AP 1.0 and P@1 11.0 with exit status 0.
    """
    where = str(where) if where is not None else "evaluation result"
    for table in (per_query, bias_per_query or {}):
        for setting, measures in table.items():
            if not isinstance(measures, dict):
                raise DataError(where, f"setting {setting!r} is not a mapping of measures")
            for name, values in measures.items():
                if not isinstance(values, dict):
                    raise DataError(where, f"{name} of setting {setting!r} is not a mapping of queries")
                lo, hi = _metric_range(name)
                vals = list(values.values())
                if all(type(v) is float for v in vals):  # the usual case, vectorised
                    arr = np.array(vals, dtype=np.float64)
                    ok = np.isfinite(arr) & (arr >= lo) & (arr <= hi)
                else:
                    ok = np.array([_number_within(v, lo, hi) for v in vals], dtype=bool)
                if ok.all():
                    continue
                qid, v = next((q, v) for (q, v), good in zip(values.items(), ok, strict=True) if not good)
                raise DataError(where, f"{name} of query {qid!r} in setting {setting} is {v!r}, outside "
                                f"[{lo:g}, {hi:g}] or not finite ({int((~ok).sum())} such values)",
                                expected="every per-query value finite and within its measure's range")


@dataclass
class EvalResult:
    """Everything one ``evaluate`` call measured (see the module docstring for the layout)."""

    model: dict  # {"name": str, "fingerprint": str}
    config: dict
    collection: dict
    settings: dict[str, dict]  # key -> {kind, query_language, doc_language, n_queries, n_candidates, depth}
    per_query: dict[str, dict[str, dict[str, float]]]
    bias_per_query: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    versions: dict = field(default_factory=package_versions)
    timings: dict = field(default_factory=dict)
    encoding: dict = field(default_factory=dict)
    runs: dict[str, RunData] = field(default_factory=dict, repr=False)
    qrels: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        check_figures(self.per_query, self.bias_per_query)

    # ---- figures ---------------------------------------------------------------------------
    @property
    def metrics(self) -> list[str]:
        for values in self.per_query.values():
            return list(values)
        return list(self.config.get("metrics", []))

    def setting_means(self) -> dict[str, dict]:
        """``{setting: {metric: mean, ..., "n_queries": n}}``."""
        out = {}
        for key, by_metric in self.per_query.items():
            row: dict = {m: _mean(v.values()) for m, v in by_metric.items()}
            row["n_queries"] = self.settings[key]["n_queries"]
            out[key] = row
        return out

    def aggregates(self) -> dict[str, dict[str, dict]]:
        """Macro averages per setting kind: ``{kind: {metric: {"mean", "n_settings", "n_queries"}}}``.

        ``mono`` averages the monolingual pairs, ``cross`` the cross-lingual pairs, ``multi`` the
        query languages of the pooled setting: each pair (language) weighs the same, as in LAReQA.
        """
        means = self.setting_means()
        out: dict[str, dict[str, dict]] = {}
        for kind in ("mono", "cross", "multi"):
            keys = [k for k in means if self.settings[k]["kind"] == kind]
            if not keys:
                continue
            out[kind] = {m: {"mean": _mean(means[k][m] for k in keys), "n_settings": len(keys),
                             "n_queries": int(sum(self.settings[k]["n_queries"] for k in keys))}
                         for m in self.metrics}
        return out

    def bias(self) -> dict:
        """Rank distance and own-language-top share, per query language and macro-averaged."""
        from xlir.evaluation.bias import summarize

        rd: dict[str, dict[str, float]] = {}
        own: dict[str, dict[str, float]] = {}
        chance: dict[str, dict[str, float]] = {}
        for key, measures in self.bias_per_query.items():
            lang = self.settings[key]["query_language"]
            rd[lang] = measures.get("rank_distance", {})
            own[lang] = measures.get("own_language_top", {})
            chance[lang] = measures.get("own_language_chance", {})
        if not rd:
            return {}
        return {"rank_distance": summarize(rd), "own_language_top": summarize(own, chance)}

    def pair_matrix(self, metric: str = "AP") -> tuple[list[str], list[str], np.ndarray]:
        """``(query languages, candidate languages, matrix)`` of a metric's pair means (NaN: no pair)."""
        means = self.setting_means()
        pairs = {(s["query_language"], s["doc_language"]): means[k].get(metric)
                 for k, s in self.settings.items() if s["kind"] in ("mono", "cross")}
        qlangs = sorted({q for q, _ in pairs})
        dlangs = sorted({d for _, d in pairs})
        mat = np.full((len(qlangs), len(dlangs)), np.nan)
        for (q, d), v in pairs.items():
            if v is not None:
                mat[qlangs.index(q), dlangs.index(d)] = v
        return qlangs, dlangs, mat

    def figures(self) -> dict:
        return {"settings": self.setting_means(), "aggregates": self.aggregates(), "bias": self.bias()}

    def to_dict(self) -> dict:
        return {"format_version": FORMAT_VERSION, "model": self.model, "config": self.config,
                "collection": self.collection, "versions": self.versions, "timings": self.timings,
                "encoding": self.encoding, "setting_info": self.settings, **self.figures()}

    # ---- files -----------------------------------------------------------------------------
    def save(self, run_dir: str | Path, *, runs: bool = True, gzip: bool | None = None) -> Path:
        """Write the run folder's data files (see the module docstring); returns its path.

        ``runs=False`` skips the TREC files (large for full collections). ``gzip`` (default: the
        config's ``gzip``) writes ``per_query.json.gz`` instead of ``per_query.json`` (about 8x
        smaller: 34 -> 4 MB for the full XQuAD-R), e.g. for a run folder that is committed; the
        other form is removed, so a folder never holds both. The human-facing files
        (``summary.md``, ``heatmap.png``) belong to the reports layer:
        :func:`xlir.reports.run_report.write_run_reports`.
        """
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        # results.json last, as the commit marker: a kill part-way leaves no results.json beside a
        # per-query file of another run (load refuses a folder without it)
        (run_dir / RESULTS_FILE).unlink(missing_ok=True)
        gzip = bool(self.config.get("gzip", False)) if gzip is None else gzip
        doc = {"per_query": self.per_query, "bias_per_query": self.bias_per_query}
        keep, drop = (PER_QUERY_GZ_FILE, PER_QUERY_FILE) if gzip else (PER_QUERY_FILE, PER_QUERY_GZ_FILE)
        (run_dir / drop).unlink(missing_ok=True)
        if gzip:
            write_gzip_json_atomic(run_dir / keep, doc)
        else:
            write_json_atomic(run_dir / keep, doc)
        if runs:
            for key in self.runs:
                run_path, qrels_path = run_file_paths(run_dir, key, self.config.get("run_format", "trec"))
                write_run(run_path, self.runs[key])
                write_qrels(qrels_path, self.qrels.get(key, {}))
        write_json_atomic(run_dir / RESULTS_FILE, self.to_dict())
        return run_dir

    @classmethod
    def load(cls, run_dir: str | Path) -> EvalResult:
        """Read a run folder written by :meth:`save` (run files stay on disk; see :func:`read_run`)."""
        run_dir = Path(run_dir)
        path = run_dir / RESULTS_FILE
        if not path.is_file():
            raise MissingDataError(f"{run_dir} is not an xlir run folder: {RESULTS_FILE} is missing")
        pq_path = per_query_path(run_dir)
        if pq_path is None:
            raise MissingDataError(f"{run_dir}: {PER_QUERY_FILE} is missing")
        meta = _read_object(path, ("model", "config", "collection", "setting_info"))
        pq = _read_object(pq_path, ("per_query",))
        try:
            return cls(model=meta["model"], config=meta["config"], collection=meta["collection"],
                       settings=meta["setting_info"], per_query=pq["per_query"],
                       bias_per_query=pq.get("bias_per_query", {}), versions=meta.get("versions", {}),
                       timings=meta.get("timings", {}), encoding=meta.get("encoding", {}))
        except DataError as exc:  # the invariant (check_figures): name the file the values came from
            raise DataError(pq_path, exc.problem, expected=exc.expected) from None


def _read_object(path: Path, keys: tuple[str, ...]) -> dict:
    """A run folder's JSON file as a dict holding ``keys``; a cut or foreign file is a DataError."""
    from xlir.data.io import read_json

    doc = read_json(path)
    missing = [k for k in keys if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise DataError(path, f"no {', '.join(repr(k) for k in missing)}",
                        expected="a file written by xlir eval (rerun the evaluation)")
    return doc


RUN_FORMATS = ("trec", "trec.gz")


def run_file_paths(run_dir: str | Path, setting: str, run_format: str = "trec") -> tuple[Path, Path]:
    """Where the run and the qrels of ``setting`` (``mono/de-de``) go: ``runs/mono/de-de.trec`` and
    ``runs/mono/de-de.qrels.txt`` (``.gz`` added for ``run_format="trec.gz"``). The suffixes are
    the ones ranx infers the format from."""
    if run_format not in RUN_FORMATS:
        raise ValueError(f"run_format must be one of {RUN_FORMATS}, not {run_format!r}")
    gz = ".gz" if run_format == "trec.gz" else ""
    base = Path(run_dir) / "runs" / setting
    return base.with_name(base.name + ".trec" + gz), base.with_name(base.name + ".qrels.txt" + gz)
