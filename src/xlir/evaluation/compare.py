"""Comparing two evaluation run folders: which differences between them are real.

Reads the per-query scores both runs saved (``per_query.json`` in each run folder), runs a paired
randomization test and a bootstrap CI per setting and metric (:mod:`xlir.evaluation.significance`),
Holm-corrects across language pairs, and writes ``compare.md`` and ``compare.json``. ``xlir compare``
is the command-line face of :func:`run_compare`.

Runs of any system compare too: two TREC run files (Pyserini, ColBERT, an xlir folder's
``runs/*.trec``...) and the qrels they answer are scored per query with ir_measures
(:mod:`xlir.evaluation.trec_runs`) and tested the same way, under the one setting ``run``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from xlir.data.io import read_json
from xlir.errors import ConfigError, DataError, MissingDataError, XlirError
from xlir.evaluation.results import EvalResult, check_figures, per_query_path
from xlir.evaluation.significance import (
    PairedTest,
    Pairing,
    check_options,
    compare_runs,
    few_clusters_caveat,
    pair_queries,
    to_markdown,
)
from xlir.files import check_output_dir, write_json_atomic, write_text_atomic


def load_per_query(run_dir: Path) -> dict:
    """``setting -> measure -> query id -> value`` of a run folder, bias measures included.

    Uses the evaluator's ``EvalResult.load`` when the folder is complete, so the file format has one
    owner; otherwise reads ``per_query.json`` (or ``.json.gz``) alone (enough for a paired test). The
    multilingual settings' language-bias measures (``rank_distance``, lower is better;
    ``own_language_top``) are added next to the metrics, so they are tested the same way.
    """
    run_dir = Path(run_dir)
    path = per_query_path(run_dir)
    if path is None:
        raise MissingDataError(f"{run_dir / 'per_query.json'} not found: pass a run folder written by "
                               "`xlir eval`")
    per_query = bias = None
    if (run_dir / "results.json").is_file():
        try:
            loaded = EvalResult.load(run_dir)
            per_query, bias = loaded.per_query, loaded.bias_per_query
        except (XlirError, KeyError, TypeError):
            per_query = None  # an older or partial folder: fall back to the per-query file
    if per_query is None:
        data = read_json(path)  # cut or not UTF-8: a DataError naming the file and line
        if isinstance(data, dict) and isinstance(data.get("per_query"), dict):
            per_query, bias = data["per_query"], data.get("bias_per_query") or {}
        else:
            per_query, bias = data, {}
    if not isinstance(per_query, dict) or not all(isinstance(v, dict) for v in per_query.values()):
        raise DataError(path, "unexpected layout", expected="{setting: {metric: {query_id: score}}}")
    if not all(isinstance(m, dict) for v in per_query.values() for m in v.values()):
        raise DataError(path, "unexpected layout", expected="{setting: {metric: {query_id: score}}}")
    merged = {setting: dict(measures) for setting, measures in per_query.items()}
    for setting, measures in (bias or {}).items():
        for name in ("rank_distance", "own_language_top"):
            if measures.get(name):
                merged.setdefault(setting, {})[name] = measures[name]
    check_figures(merged, where=path)  # finite, and within range for the measures xlir knows
    return merged


@dataclass
class Comparison:
    """What :func:`run_compare` found: the test rows, what was paired, and warnings to show loudly."""

    rows: list[PairedTest]
    pairing: Pairing
    warnings: list[str] = field(default_factory=list)
    resampling_unit: str = ""
    """What the tests resampled: whole paragraphs or single questions, and why."""


def _canonical(names: list[str] | None) -> list[str] | None:
    """Measure names as typed (``ndcg@10``, ``MAP``) in xlir's spelling; bias measures kept as given."""
    from xlir.evaluation.metrics import get_metric

    if not names:
        return None
    out = []
    for name in names:
        try:
            out.append(get_metric(name).name)
        except ConfigError:
            out.append(name)  # rank_distance, own_language_top, or unknown: reported below
    return out


def _load_side(path: Path, qrels: Path | None, metrics: list[str] | None, other: Path) -> dict:
    """Per-query scores of a run folder, or of a TREC run file scored against ``qrels``."""
    from xlir.evaluation.trec_runs import per_query_from_trec

    path = Path(path)
    if path.is_dir():
        return load_per_query(path)
    if not path.exists():
        raise MissingDataError(f"{path} not found: pass a run folder written by `xlir eval` or a TREC run "
                               "file (with --qrels)")
    if qrels is None:
        raise ConfigError(f"{path} is a file: comparing TREC run files needs the judgments, "
                          f"--qrels FILE (qid 0 docid grade); or pass two xlir run folders")
    if Path(other).is_dir():
        raise ConfigError(f"{path} is a run file but {other} is a folder: pass two folders or two run files")
    qrels = Path(qrels)
    if not qrels.is_file():
        raise MissingDataError(f"qrels file {qrels} not found")
    return per_query_from_trec(path, qrels, metrics or _TREC_DEFAULT)


_TREC_DEFAULT = ("AP", "nDCG@10", "R@100", "RR@10", "P@1")


CLUSTER_MODES = ("auto", "paragraph", "question")
"""How :func:`run_compare` resamples: ``paragraph`` moves the questions of one paragraph together (the
-R collections: XQuAD-R, MLQA-R, :mod:`xlir.data.clusters`), ``question`` treats questions as
independent, ``auto`` is ``paragraph`` when the runs' collection loads here and has paragraphs."""


def _collection_of(run: Path) -> tuple[str, str] | None:
    """(name, source) of the collection a run folder's ``results.json`` names, if any."""
    try:
        coll = read_json(Path(run) / "results.json").get("collection") or {}
    except (XlirError, AttributeError, OSError):
        return None
    return (str(coll["name"]), str(coll.get("source") or "")) if coll.get("name") else None


def question_clusters_for(run_a: Path, run_b: Path, mode: str, questions: set[str],
                          data_dir=None) -> tuple[dict[str, str] | None, str]:
    """(question -> paragraph, or None for independent questions; the sentence saying which).

    The paragraphs come from loading the collection the runs name, so they are used only when that
    name is a registered -R collection (a run's name can be a split's, ``miracl-dev``, whose source
    says whether it has paragraphs at all) and when every compared question is in it as loaded here
    (a run of another split or version would otherwise silently fall back to single questions)."""
    from xlir.data import load_collection
    from xlir.data.clusters import has_paragraphs, question_clusters

    if mode not in CLUSTER_MODES:
        raise ConfigError(f"--clusters must be one of {', '.join(CLUSTER_MODES)}, not {mode!r}")
    if mode == "question":
        return None, "each question resampled on its own (--clusters question)"
    named = {_collection_of(r) if Path(r).is_dir() else None for r in (run_a, run_b)}
    found = named.pop() if len(named) == 1 else None
    why, clusters = None, {}
    if found is None:
        why = "the two runs do not name one collection in results.json"
    else:
        name, source = found
        flag = has_paragraphs(name.lower())
        if flag is None and source and has_paragraphs(source.lower()) is False:
            flag = False  # e.g. miracl-dev: MIRACL has no paragraphs, whatever the split
        if flag is False:  # known without loading it (MIRACL's corpus is large)
            return None, f"each question resampled on its own ({name} has no paragraphs)"
        if flag is None:
            why = f"{name} is not a registered collection, so its paragraphs are not known here"
        else:
            try:
                clusters = question_clusters(load_collection(name.lower(), data_dir=data_dir), "id-tail")
            except (XlirError, OSError, ValueError) as e:
                why = f"{name} could not be loaded here ({e})"
            else:
                missing = len(questions - set(clusters))
                if missing:
                    why = (f"{missing} of the {len(questions)} compared questions are not in {name} as "
                           "loaded here (another split or version?)")
    if why is not None:
        if mode == "paragraph":
            raise ConfigError(f"--clusters paragraph needs the runs' collection: {why}")
        return None, f"each question resampled on its own (no paragraph table: {why})"
    name = found[0]
    n_clusters = len({clusters[q] for q in questions})
    if n_clusters == len(questions):
        return None, (f"each question resampled on its own ({name}: no two compared questions share a "
                      "paragraph)")
    few = few_clusters_caveat(n_clusters)
    few = f"; {few}" if few else ""
    return clusters, (f"whole paragraphs resampled: the bootstrap and the sign flips move a paragraph's "
                      f"questions together ({name}: {len(questions)} questions in {n_clusters} paragraphs"
                      f"{few}; --clusters question treats them as independent)")


def run_compare(run_a: Path, run_b: Path, *, metrics: list[str] | None = None, alpha: float = 0.05,
                n_permutations: int = 10_000, n_bootstrap: int = 10_000, seed: int = 0,
                out_dir: Path | None = None, qrels: Path | None = None, clusters: str = "auto",
                data_dir=None) -> Comparison:
    """Compare two run folders, or two TREC run files against ``qrels``, and write
    ``compare.md``/``compare.json`` into ``out_dir`` (default: B's folder; for run files, the folder
    that holds B).

    Checked before any test runs: the options' ranges (:func:`~xlir.evaluation.significance.check_options`),
    the output folder, every per-query value finite (the file and query are named otherwise), and
    the pairing: runs with no query in common are refused; runs whose query sets differ are compared
    on the common queries with a warning that says how many were paired (also written to both files).
    ``clusters`` (:data:`CLUSTER_MODES`): whether the questions of one paragraph are resampled together.
    """
    check_options(alpha, n_permutations, n_bootstrap)
    metrics = _canonical(metrics)
    default_out = Path(run_b) if Path(run_b).is_dir() or not Path(run_b).exists() else Path(run_b).parent
    out = Path(out_dir) if out_dir is not None else default_out
    check_output_dir(out, "compare output folder")
    pq_a, pq_b = _load_side(run_a, qrels, metrics, run_b), _load_side(run_b, qrels, metrics, run_a)
    shared = set(pq_a) & set(pq_b)
    if not shared:
        raise ConfigError(f"{run_a} and {run_b} share no setting: were they run on the same dataset?")
    if metrics:
        known = {m for s in shared for m in pq_a[s]} & {m for s in shared for m in pq_b[s]}
        unknown = [m for m in metrics if m not in known]
        if unknown:
            raise ConfigError(f"metric(s) {', '.join(unknown)} not in both runs; "
                              f"known: {', '.join(sorted(known))}")
    name_a, name_b = Path(run_a).name or str(run_a), Path(run_b).name or str(run_b)
    pairing = pair_queries(pq_a, pq_b, metrics)
    if pairing.paired == 0:
        raise ConfigError(f"{run_a} and {run_b} have no query in common ({pairing.describe('A', 'B')}): "
                          "nothing to pair; were they run on the same collection and slice?")
    warnings = [] if pairing.complete else [
        f"the runs' query sets differ: compared on the common queries only ({pairing.describe('A', 'B')})"]
    questions = {q.split("/", 1)[1] if "/" in q else q for s in shared for m in pq_a[s].values() for q in m}
    table, unit = question_clusters_for(run_a, run_b, clusters, questions, data_dir)
    rows = compare_runs(pq_a, pq_b, metrics=metrics, alpha=alpha, n_permutations=n_permutations,
                        n_bootstrap=n_bootstrap, seed=seed, clusters=table,
                        aggregates=Path(run_a).is_dir())  # run files: one setting, nothing to average
    md = to_markdown(rows, name_a=name_a, name_b=name_b, alpha=alpha)
    md += f"\nResampling unit: {unit}.\n"
    if warnings:
        md += "".join(f"\n**Warning:** {w}\n" for w in warnings)
    write_text_atomic(out / "compare.md", md)
    payload = {
        "run_a": str(run_a), "run_b": str(run_b), "qrels": str(qrels) if qrels else None,
        "alpha": alpha, "n_permutations": n_permutations,
        "n_bootstrap": n_bootstrap, "seed": seed, "pairing": pairing.as_dict(), "warnings": warnings,
        "clusters": clusters, "resampling_unit": unit,
        "tests": {"randomization": "paired sign-flip, two-sided", "ci": "paired bootstrap percentile 95%",
                  "correction": "Holm across the language pairs of each metric; aggregates separately"},
        "rows": [r.as_json() for r in rows],
    }
    write_json_atomic(out / "compare.json", payload)
    return Comparison(rows, pairing, warnings, unit)
