"""One page over a folder of runs: ``xlir report DIR`` writes ``DIR/index.md`` and ``DIR/index.html``.

After a few weeks of experiments, ``runs/`` holds dozens of evaluation folders, quickstarts and
studies. The index finds them all (at any depth) and puts one row per run in a table: what was
evaluated (model, dataset, queries), the headline figures (mono / cross / multilingual mean of a
metric, rank distance), when, and a link to the run's own report. Everything is read from the files
the runs wrote (``results.json``, ``study.json``), so the index can be rebuilt at any time.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from xlir.reports.html import markdown_to_html

COLUMNS = ["run", "kind", "model", "dataset", "queries", "mono", "cross", "multi", "rank distance", "date"]


def _date(path: Path) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.gmtime(path.stat().st_mtime))


def _num(v, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _cell(text) -> str:
    return str(text).replace("|", "\\|")


def _eval_row(results: Path, metric: str) -> dict:
    folder = results.parent
    try:
        meta = json.loads(results.read_text(encoding="utf-8"))
        agg, bias = meta.get("aggregates") or {}, meta.get("bias") or {}
        model, coll = meta["model"].get("name", "?"), meta["collection"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return {"run": folder, "kind": "unreadable", "model": f"results.json: {type(exc).__name__}",
                "date": _date(results), "link": None}
    figures = {k: ((agg.get(k) or {}).get(metric) or {}).get("mean") for k in ("mono", "cross", "multi")}
    page = folder / "summary.md"
    return {"run": folder, "kind": "eval", "model": model, "dataset": coll.get("name", "?"),
            "queries": coll.get("queries"), **figures,
            "rank distance": (bias.get("rank_distance") or {}).get("mean"), "date": _date(results),
            "link": page if page.is_file() else None}


def _study_row(study: Path) -> dict:
    folder = study.parent
    try:
        meta = json.loads(study.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        meta = {}
    presets = meta.get("presets") or {}
    preset = presets.get(meta.get("preset"), {}) if isinstance(presets, dict) else {}
    page = folder / "report.md"
    model = preset.get("model", "") if isinstance(preset, dict) else ""
    return {"run": folder, "kind": "study", "model": model,
            "dataset": f"{meta.get('study', '?')} ({meta.get('preset', '?')} preset)",
            "date": _date(study), "link": page if page.is_file() else None}


def collect_runs(root: str | Path, metric: str = "AP") -> list[dict]:
    """Every evaluation run folder, quickstart report and study under ``root``, by path."""
    root = Path(root)
    rows = [_eval_row(p, metric) for p in root.rglob("results.json")]
    rows += [_study_row(p) for p in root.rglob("study.json")]
    for report in root.rglob("report.md"):
        folder = report.parent
        if (folder / "eval-base").is_dir() or (folder / "heatmap-base.png").is_file():
            rows.append({"run": folder, "kind": "quickstart", "model": "base vs trained",
                         "dataset": folder.name, "date": _date(report), "link": report})
    return sorted(rows, key=lambda r: str(r["run"]))


def index_markdown(root: Path, rows: list[dict], metric: str) -> str:
    lines = [f"# Runs in {root.name or root}", "",
             f"{len(rows)} run(s) found under `{root}`. mono / cross / multi: mean {metric} over the "
             "monolingual pairs, the cross-lingual pairs and the pooled multilingual setting (LAReQA); "
             "rank distance: multilingual setting, lower is better; date: when the run's files were "
             "written (UTC). Rebuild with `xlir report " + str(root) + "`.", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---:" if c in (
                 "queries", "mono", "cross", "multi", "rank distance") else "---" for c in COLUMNS) + "|"]
    for r in rows:
        rel = os.path.relpath(r["run"], root)
        name = f"[{_cell(rel)}]({Path(os.path.relpath(r['link'], root)).as_posix()})" if r.get("link") \
            else _cell(rel)
        queries = r.get("queries")
        lines.append("| " + " | ".join([
            name, r["kind"], _cell(r.get("model", "")), _cell(r.get("dataset", "")),
            "" if queries is None else str(queries), _num(r.get("mono")), _num(r.get("cross")),
            _num(r.get("multi")), _num(r.get("rank distance"), 1), r["date"]]) + " |")
    return "\n".join(lines) + "\n"


def write_index(root: str | Path, metric: str = "AP") -> tuple[Path, list[dict]]:
    """Write ``index.md`` and its HTML twin ``index.html`` in ``root``; returns the page and rows."""
    root = Path(root)
    rows = collect_runs(root, metric)
    md = root / "index.md"
    md.write_text(index_markdown(root, rows, metric), encoding="utf-8")
    return markdown_to_html(md), rows
