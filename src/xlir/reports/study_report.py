"""Study reports (Markdown + PNG) built only from a study folder's tables.

Inputs: ``study.json`` (study, preset, command), ``results.csv`` and ``per_question.csv.gz``
(written by :mod:`xlir.experiments.run_study`). Nothing is recomputed from models, so
``xlir study report DIR`` regenerates every number of a committed report from its committed tables.
Each study's report is its own module in :mod:`xlir.reports.studies`; this one reads and checks the
folder and writes the files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from xlir.errors import DataError
from xlir.experiments.grid import read_table
from xlir.experiments.run_study import ensure_question_clusters
from xlir.experiments.studies import get_study, study_names
from xlir.reports.html import markdown_to_html
from xlir.reports.studies import get_report


def _read_meta(path: Path) -> dict:
    """``study.json``, checked: it names a known study (the report to build depends on it)."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(path, f"not valid JSON ({e.msg})", line=e.lineno) from None
    known = study_names()
    if not isinstance(meta, dict) or meta.get("study") not in known:
        raise DataError(path, f"unknown study {meta.get('study') if isinstance(meta, dict) else meta!r}",
                        expected=f"\"study\": one of {', '.join(known)}")
    return meta


def _timestamp(value) -> float | None:
    """A cell's ``finished`` (ISO time, as the grid writes it) in seconds, or None."""
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except (TypeError, ValueError):
        return None


def covered_seconds(spans: list[tuple[float, float]]) -> float:
    """Seconds covered by the union of ``(start, end)`` intervals: the machine time cells took when
    ``--jobs`` ran some side by side (their summed wall times count the overlap twice) and sessions
    left gaps between runs (not counted)."""
    total, cur = 0.0, None
    for start, end in sorted(spans):
        if cur is not None and start <= cur[1]:
            cur = (cur[0], max(cur[1], end))
            continue
        if cur is not None:
            total += cur[1] - cur[0]
        cur = (start, end)
    return total + (cur[1] - cur[0] if cur is not None else 0.0)


def build_report(study_dir: str | Path, answer_path: str | Path | None = None) -> Path:
    """Write ``<study_dir>/report.md`` (and, for study 2, the answer) from the study's tables."""
    study_dir = Path(study_dir)
    meta = _read_meta(study_dir / "study.json")
    rows = read_table(study_dir / "results.csv", get_study(meta["study"]).required_columns)
    skipped = set()
    wall, timed, done, spans = 0.0, 0, 0, []
    for res in study_dir.glob("cells/*/result.json"):
        result = json.loads(res.read_text())
        done += 1
        skipped.update(result.get("skipped", []))
        if result.get("wall_s"):
            wall += float(result["wall_s"])
            timed += 1
            end = _timestamp(result.get("finished"))
            if end is not None:
                spans.append((end - float(result["wall_s"]), end))
    if timed:
        meta["cells_wall_s"], meta["cells_timed"] = wall, timed
    meta["cells_done"] = done
    if spans and len(spans) == timed:
        meta["cells_machine_s"] = covered_seconds(spans)
    meta["skipped_collections"] = sorted(skipped)
    # tables committed before the paragraph clusters existed get theirs from the data directory
    ensure_question_clusters(study_dir, {r["collection"] for r in rows} - skipped,
                             get_study(meta["study"]).question_unit, log=lambda _: None)
    text, answer = get_report(meta["study"])(study_dir, meta, rows)
    if skipped:
        text += f"\n\nNot evaluated (loader or files missing): {', '.join(sorted(skipped))}.\n"
    out = study_dir / "report.md"
    out.write_text(text + "\n", encoding="utf-8")
    markdown_to_html(out)
    if answer is not None:
        (study_dir / "answer.md").write_text(answer, encoding="utf-8")
        if answer_path is not None:
            answer_path = Path(answer_path)
            answer_path.parent.mkdir(parents=True, exist_ok=True)
            # links into the study folder (``](<name>/figures/...)``) hold from wherever the answer goes
            rel = os.path.relpath(study_dir.resolve(), answer_path.resolve().parent)
            answer_path.write_text(answer.replace(f"]({study_dir.name}/", f"]({Path(rel).as_posix()}/"),
                                   encoding="utf-8")
    return out
