"""Run a study by name and preset: estimate, run the grid (resumable), write the tables.

Outputs in the study folder: ``results.csv`` (one row per cell x collection x setting x metric),
``per_question.csv.gz`` (AP per question and setting kind, for paired tests) and ``study.json``
(study, preset, the exact command, the time estimate). The report is built from these files alone
(:mod:`xlir.reports.study_report`), so a committed table regenerates its report with one command.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import os
import shlex
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from xlir.experiments.grid import cell_dir, cell_slowdown, format_duration, is_done, read_json, run_grid
from xlir.experiments.studies import get_study
from xlir.files import atomic_write


def build_study_cells(name: str, preset: str, objective: str | None = None):
    """The study ``name`` and the cells of its ``preset``."""
    from xlir.errors import ConfigError

    study = get_study(name)
    if preset not in study.presets:
        raise ConfigError(f"unknown preset {preset!r} for study {name}; known: {', '.join(study.presets)}")
    options = {"objective": objective} if objective is not None else {}
    unknown = sorted(set(options) - set(study.options))
    if unknown:
        raise ConfigError(f"--{unknown[0]} does not apply to the {name} study")
    return study, study.build_cells(preset, **options)


STAGES = {"per_question": "finetuned", "per_question_pretrained": "pretrained"}
"""result.json key -> the ``stage`` column of per_question.csv.gz (study 2 evaluates twice); any other
``per_question_<stage>`` key is stage ``<stage>`` (the recipe study's merges: ``wise-0.5``)."""


def _stages(result: dict) -> list[tuple[str, str]]:
    """(result key, stage) of every per-question table in a cell's result."""
    return [(key, STAGES.get(key, key.removeprefix("per_question_"))) for key in sorted(result)
            if key == "per_question" or key.startswith("per_question_")]


def write_per_question(study_dir: Path, cells) -> Path:
    """``cell_id, collection, kind, group, AP, stage`` for every finished cell (gzip CSV)."""
    path = Path(study_dir) / "per_question.csv.gz"
    with atomic_write(path, "wb") as raw, gzip.open(raw, "wt", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["cell_id", "collection", "kind", "group", "AP", "stage"])
        for cell in cells:
            res = cell_dir(study_dir, cell) / "result.json"
            if not res.is_file():
                continue
            result = read_json(res)
            for key, stage in _stages(result):
                for coll, kinds in result.get(key, {}).items():
                    for kind, groups in kinds.items():
                        for g, v in groups.items():
                            w.writerow([cell.cell_id, coll, kind, g, f"{v:.6f}", stage])
    return path


def run_study(
    name: str,
    preset: str,
    output: str | Path,
    *,
    jobs: int = 1,
    objective: str | None = None,
    estimate: bool = True,
    dry_run: bool = False,
    max_minutes: float | None = None,
    fit_hours: float | None = None,
    fill: bool = False,
    log=print,
) -> dict:
    """Estimate, then run (or with ``dry_run`` only estimate) the study's grid in ``output``.

    ``fit_hours`` (default: the preset's ``fit_hours``; 0 = no fitting) keeps the preset's design
    points, in its priority order, that fit that many hours by the estimate; the plan (kept cells,
    left-out groups, the probe's speeds) is recorded in ``study.json`` and reused when the same
    command resumes, so a resumed grid never re-plans on a busier machine. ``max_minutes`` stops the
    grid between cells before that much wall time has passed (:func:`~xlir.experiments.grid.run_grid`;
    ``fill``: run later cells that still fit instead of stopping at the first that does not).
    """
    from xlir.errors import ConfigError
    from xlir.experiments.estimate import calibrate, estimate_cell, fit_to_budget

    started = time.monotonic()
    if max_minutes is not None and max_minutes <= 0:
        raise ConfigError(f"--max-minutes must be positive, got {max_minutes:g}")
    deadline = started + max_minutes * 60 if max_minutes is not None else None
    output = Path(output)
    study, cells = build_study_cells(name, preset, objective)
    p = study.presets[preset]
    budget_h = p.get("fit_hours") if fit_hours is None else (fit_hours or None)
    plan = _recorded_plan(output, preset, budget_h, cells)
    cal = None
    seconds: dict[str, float] = {}
    sizes: dict = {}

    def probe():
        first = cells[0]
        c = calibrate(first.model, first.finetune.batch_size, first.finetune.max_length,
                      getattr(first, "precision", "fp32"))
        return c

    if budget_h and plan is None:
        cal = probe()
        seconds = {c.cell_id: estimate_cell(c, cal, sizes) for c in cells}
        kept, left = fit_to_budget(cells, seconds, budget_h * 3600)
        plan = {"preset": preset, "fit_hours": budget_h, "calibration": cal.as_dict(),
                "kept": [c.cell_id for c in kept], "left_out": left,
                "estimate_kept_s": round(sum(seconds[c.cell_id] for c in kept), 1)}
    if plan is not None:
        kept_ids = set(plan["kept"])
        cells = [c for c in cells if c.cell_id in kept_ids]
    pending = [c for c in cells if not is_done(output, c)]
    est = None
    if estimate and pending:
        cal = cal or probe()
        for c in pending:
            seconds.setdefault(c.cell_id, estimate_cell(c, cal, sizes))
        est = sum(seconds[c.cell_id] for c in pending)
        speedup = jobs / cell_slowdown(jobs)  # cells share the cores: well below linear
        log(
            f"estimate: {len(pending)} cells to run, about {est / 60:.1f} min with 1 job"
            + (f", roughly {est / speedup / 60:.1f} min with {jobs} jobs" if jobs > 1 else "")
            + f" ({cal.describe()}; {os.cpu_count()} cores)"
        )
        for c in pending:
            log(f"  {c.cell_id}: about {format_duration(seconds[c.cell_id])}")
    if plan is not None:
        log(f"plan: {len(cells)} cells fit {plan['fit_hours']:g} h (estimated "
            f"{format_duration(plan['estimate_kept_s'])} in all, from the probe's speeds)"
            + (f"; left out: {_left_out_text(plan['left_out'])}" if plan["left_out"]
               else "; nothing left out"))
    if dry_run:
        return {"summary": None, "estimate_s": est, "cells": len(cells), "pending": len(pending),
                "plan": plan}
    command = "xlir study " + shlex.join(
        [name, "--preset", preset, "--output", str(output), "--jobs", str(jobs)]
        + (["--objective", objective] if objective else [])
        + (["--fit-hours", f"{fit_hours:g}"] if fit_hours is not None else [])
    )
    meta = {
        "study": name,
        "preset": preset,
        "command": command,
        "estimate_s": est,
        "argv": sys.argv,
        "presets": {preset: _jsonable(p)},
        **({"plan": plan} if plan is not None else {}),
        **({"calibration": cal.as_dict()} if cal is not None else {}),
    }
    from xlir.models.quiet import no_hf_progress_bars

    with no_hf_progress_bars():  # one progress line per cell, not transformers' load/save bars
        summary = run_grid(cells, study.run_cell, output, jobs=jobs, meta=meta, log=log, deadline=deadline,
                           fill=fill,
                           cell_seconds=(lambda c: seconds.get(c.cell_id, 0.0)) if seconds else None)
    write_per_question(output, cells)
    ensure_question_clusters(output, {e.name for c in cells for e in getattr(c, "evals", ())},
                             study.question_unit, log=log)
    return {"summary": summary, "estimate_s": est, "cells": len(cells), "plan": plan}


def _left_out_text(left: list[dict]) -> str:
    return "; ".join(f"{g['group']} ({g['cells']} cells, about {format_duration(g['estimate_s'])})"
                     for g in left)


def _recorded_plan(output: Path, preset: str, budget_h, cells) -> dict | None:
    """The plan of an earlier start of the same preset and budget, if its cells are still the preset's."""
    path = output / "study.json"
    if not budget_h or not path.is_file():
        return None
    try:
        plan = read_json(path).get("plan")
    except (OSError, ValueError, AttributeError):
        return None
    if not isinstance(plan, dict) or plan.get("preset") != preset or plan.get("fit_hours") != budget_h:
        return None
    ids = {c.cell_id for c in cells}
    return plan if set(plan.get("kept", [])) <= ids else None


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    return obj


PAIRED = {"n_permutations": 5000, "n_bootstrap": 2000, "seed": 0}
"""Resamples of the studies' paired tests (one unit per question, AP averaged over seeds)."""


def read_per_question(study_dir: Path, stage: str = "finetuned") -> dict:
    """cell_id -> collection -> kind -> group -> AP, of one evaluation ``stage`` (tables written
    before stages existed hold only ``finetuned``)."""
    out: dict = defaultdict(lambda: defaultdict(dict))
    path = study_dir / "per_question.csv.gz"
    if not path.is_file():
        return {}
    with gzip.open(path, "rt", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            if (r.get("stage") or "finetuned") != stage:
                continue
            out[r["cell_id"]][r["collection"]].setdefault(r["kind"], {})[r["group"]] = float(r["AP"])
    return out

CLUSTERS_FILE = "question_clusters.csv.gz"
"""``collection, question, cluster`` of every question of the collections a study evaluates (the full
collections, not the cells' slices): the paragraph each question's paired-test unit belongs to
(:mod:`xlir.data.clusters`). Written with the study's tables, read by its reports."""


def write_question_clusters(study_dir: Path, names, unit: str, data_dir=None, log=print) -> Path | None:
    """Write :data:`CLUSTERS_FILE` for the collections ``names`` and those the table already has; a
    collection whose files are missing here keeps the rows it had, or is left out (its questions then
    count as their own clusters, which the report says); nothing is written when nothing could be read."""
    from xlir.data import load_collection
    from xlir.data.clusters import has_paragraphs, question_clusters
    from xlir.errors import XlirError

    kept = read_question_clusters(study_dir)  # a collection that does not load here keeps its rows
    rows = []
    for name in sorted(set(names) | set(kept)):
        known = has_paragraphs(name)
        if known is False:  # registered without paragraphs: nothing to load
            rows.append((name, "", ""))
            continue
        try:
            if known is None:
                raise XlirError(f"{name} is not a registered collection")
            table = question_clusters(load_collection(name, data_dir=data_dir), unit)
        except XlirError as e:
            if name not in kept:
                log(f"question clusters: {name} left out ({e})")
                continue
            table = kept[name]
        if table and len(set(table.values())) == len(table):
            table = {}  # no paragraphs: every question its own cluster, one marker row says so
        rows += [(name, q, c) for q, c in sorted(table.items())] or [(name, "", "")]
    if not rows:
        return None
    path = Path(study_dir) / CLUSTERS_FILE
    # no time stamp or temporary name in the gzip header: the same table gives the same bytes, so a
    # report build that rewrites it leaves git clean
    with atomic_write(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz, \
            io.TextIOWrapper(gz, encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["collection", "question", "cluster"])
        w.writerows(rows)
    return path


def ensure_question_clusters(study_dir: Path, names, unit: str, data_dir=None, log=print) -> None:
    """Add to :data:`CLUSTERS_FILE` the collections of ``names`` it lacks (existing rows are kept)."""
    if set(names) - set(read_question_clusters(study_dir)):
        write_question_clusters(study_dir, names, unit, data_dir, log)


def read_question_clusters(study_dir: Path) -> dict[str, dict[str, str]]:
    """collection -> question -> cluster label (:data:`CLUSTERS_FILE`); ``{}`` without the file. A
    collection without paragraphs maps to ``{}`` (one marker row with no question): its questions are
    their own clusters."""
    path = Path(study_dir) / CLUSTERS_FILE
    out: dict = defaultdict(dict)
    if not path.is_file():
        return {}
    with gzip.open(path, "rt", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            table = out[r["collection"]]
            if r["question"]:
                table[r["question"]] = r["cluster"]
    return dict(out)


def clusters_note(clusters: Mapping[str, str] | None, questions) -> str:
    """The resampling unit of the paired tests over ``questions``, as a phrase for a report."""
    n = len(set(questions))
    if clusters is None:
        return "questions as the resampling unit (no paragraph table)"
    if not clusters:
        return "questions as the resampling unit (the collection has no paragraphs)"
    labels = set(cluster_labels(sorted(set(questions)), clusters) or ())
    if len(labels) == n:
        return "questions as the resampling unit (no two share a paragraph)"
    from xlir.evaluation.significance import few_clusters_caveat

    few = few_clusters_caveat(len(labels))
    few = f"; {few}" if few else ""
    return (f"paragraphs as the resampling unit ({n} questions in {len(labels)} paragraphs: the bootstrap "
            f"draws and the sign flips move a paragraph's questions together{few})")


class Averaged(NamedTuple):
    """Two sides' per-question scores (:func:`seed_averaged`), questions in sorted order."""

    a: list[float]
    b: list[float]
    seeds: int
    questions: list[str]


def seed_averaged(per_seed) -> Averaged:
    """One unit per question: ``per_seed`` holds, for each seed both sides ran, the two sides'
    question -> AP maps; returns each question's AP averaged over the seeds that have it on both
    sides (a list per side, questions in sorted order), the number of seeds that share at least
    one question (a seed whose per-question table lacks the collection is not counted) and the
    questions.

    Why the question and not (seed, question) is the unit: a question's seeds are runs on the same
    question, strongly correlated, so counting them as separate pairs multiplies n by the seeds and
    understates p (the recipe's dev cells, steps-360 vs quick, multi: p 0.035 pooled, 0.082 per
    question). Averaging keeps the seeds' information in each unit's value. What no per-question
    test sees is training noise between seeds: two seeds of one recipe differ by ~0.01 mono with a
    per-question p of 0.013 (:func:`seed_to_seed`), so the reports give seed
    CIs beside these tests.
    """
    acc: dict = {}
    seeds = 0
    for qa, qb in per_seed:
        shared = set(qa) & set(qb)
        seeds += bool(shared)  # a seed whose cells share no question adds nothing: not counted
        for g in shared:
            xs, ys = acc.setdefault(g, ([], []))
            xs.append(qa[g])
            ys.append(qb[g])
    questions = sorted(acc)
    return Averaged([sum(acc[g][0]) / len(acc[g][0]) for g in questions],
                    [sum(acc[g][1]) / len(acc[g][1]) for g in questions], seeds, questions)


def cluster_labels(questions, clusters: Mapping[str, str] | None) -> list[str] | None:
    """One cluster label per question for the paired tests (:func:`read_question_clusters`); a
    question the table lacks is its own cluster; ``None`` (no table): the plain per-question tests."""
    if not clusters:
        return None
    return [clusters.get(q, "\x1fquestion:" + q) for q in questions]


def paired_test(sides: Averaged, clusters: Mapping[str, str] | None = None):
    """:func:`~xlir.evaluation.significance.paired_difference` of ``sides`` (b - a), with the studies'
    resampling counts and, given a cluster table, whole paragraphs moving together."""
    from xlir.evaluation.significance import paired_difference

    return paired_difference(sides.a, sides.b, clusters=cluster_labels(sides.questions, clusters), **PAIRED)


def paired_questions(pq: dict, cells_a: dict[int, str], cells_b: dict[int, str], coll: str,
                     kind: str) -> Averaged:
    """Per-question AP of two strategies over the seeds both ran (seed paired with seed: the same
    data order), one unit per question (:func:`seed_averaged`)."""
    return seed_averaged(
        (pq.get(cells_a[seed], {}).get(coll, {}).get(kind, {}),
         pq.get(cells_b[seed], {}).get(coll, {}).get(kind, {}))
        for seed in sorted(set(cells_a) & set(cells_b)))


def seed_to_seed(first, second, kinds, clusters: Mapping[str, str] | None = None) -> list[tuple]:
    """The A/A comparison of every study: two seeds of one configuration, the second minus the first,
    per question, for each kind; ``first`` and ``second`` map a kind to that seed's question -> AP.
    Rows ``(kind, n, diff, low, high, p)`` (95% paired bootstrap CI, randomization p, unadjusted: it
    calibrates, it decides nothing). Two runs of one configuration differ only by training noise, so
    a "significant" difference here measures what the per-question tests cannot see (the recipe's
    quick on the dev slice, 2026-11-28: mono +0.009, p 0.013 between its two seeds)."""
    out = []
    for kind in kinds:
        sides = seed_averaged([(first(kind), second(kind))])
        if sides.a:
            out.append((kind, len(sides.a), *paired_test(sides, clusters)))
    return out


def seed_pairs(by_seed: dict, kinds, clusters: Mapping[str, str] | None = None) -> list[tuple]:
    """:func:`seed_to_seed` for every pair of seeds of one configuration, the later minus the earlier
    (the first two alone can hide a larger gap: study 1's xx-mono, +0.007 mono between seeds 0 and 1,
    +0.015 between 0 and 2). ``by_seed``: seed -> (kind -> question -> AP). Rows ``((earlier, later),
    kind, n, diff, low, high, p)``."""
    from itertools import combinations

    return [((s0, s1), *row) for s0, s1 in combinations(sorted(by_seed), 2)
            for row in seed_to_seed(by_seed[s0], by_seed[s1], kinds, clusters)]


def largest_gap(rows) -> dict[str, float]:
    """kind -> the largest |diff| over :func:`seed_pairs` rows (finite ones): what a new seed alone has
    done, the floor a decisive difference must clear (:func:`decisive`)."""
    out: dict = {}
    for _, kind, _, diff, *_ in rows:
        if math.isfinite(diff):
            out[kind] = max(out.get(kind, 0.0), abs(diff))
    return out


def decisive(diff: float, p_holm: float, per_seed: list[float], floor: float, alpha: float = 0.05) -> bool:
    """Whether a paired comparison of two training configurations decides anything: Holm p < ``alpha``
    (a per-question test: it sees question noise only), at least two seeds, the same sign in every
    seed, and a difference larger than ``floor``, the A/A difference between two seeds of one
    configuration (:func:`seed_to_seed`): the last three are what training noise would have to beat.
    Every study's "finding" and every recipe decision uses this one rule."""
    seeds = [x for x in per_seed if x is not None and math.isfinite(x)]
    return (p_holm < alpha and len(seeds) >= 2 and all(x != 0 and (x > 0) == (diff > 0) for x in seeds)
            and abs(diff) > floor)
