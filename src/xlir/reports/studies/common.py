"""Pieces every study report shares: the mean [CI] format, the preset's settings and the preset note."""

from __future__ import annotations

import math


def fmt_ci(m: float, lo: float, hi: float, digits: int = 3) -> str:
    if m is None or math.isnan(m):
        return "–"
    if lo == hi:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"

def seeds_text(values, digits: int = 3) -> str:
    """A figure over training seeds (:func:`~xlir.evaluation.stats.seed_spread`): mean [95% t CI] from
    three seeds, mean (low–high) with two, the value with one, – with none."""
    from xlir.evaluation.stats import seed_spread

    n = sum(1 for v in values if v is not None and math.isfinite(v))
    return spread_text(*seed_spread(values), n, digits=digits) if n else "–"


def spread_text(m: float, lo: float, hi: float, n: int, digits: int = 3) -> str:
    """A (mean, low, high) of ``seed_spread`` over ``n`` seeds as the tables print it: [95% t CI]
    from three seeds, (low–high) with two (a range is not a confidence interval), the value with one."""
    if n == 2:
        return f"{m:.{digits}f} ({lo:.{digits}f}–{hi:.{digits}f})"
    return fmt_ci(m, lo, hi, digits=digits)


def preset_settings(meta: dict) -> dict:
    """The settings of the preset a study ran (``study.json``: ``presets[preset]``); {} if not recorded."""
    return (meta.get("presets") or {}).get(meta.get("preset")) or {}


def sliced_pools(meta: dict) -> bool:
    """Whether the preset trims the candidate pools (absolute mAP then reads higher than LAReQA's)."""
    return bool(preset_settings(meta).get("pool"))


def preset_note(meta: dict) -> str:
    preset = meta.get("preset")
    p = preset_settings(meta)
    parts = [f"Preset `{preset}`: model `{p.get('model')}`"]
    for key, label in (
        ("steps", "fine-tuning steps"),
        ("ft_steps", "fine-tuning steps"),
        ("batch_size", "batch"),
        ("ft_batch", "batch"),
        ("max_length", "max length"),
        ("objective", "pre-training objective"),
        ("ks", "k levels"),
        ("budget", "pre-training pairs per cell (split evenly over the k languages)"),
        ("per_language", "pre-training pairs per language in the fixed-per-language design"),
        ("pt_batch", "pre-training batch"),
        ("limit", "questions per language (at most: a language with fewer keeps all)"),
        ("pool", "candidate pool: gold + first N per language"),
        ("seeds", "seeds"),
        ("precision", "precision"),
    ):
        if key == "pool" and key in p and p[key] is None:
            parts.append("candidate pool: full (every sentence of the evaluated languages)")
        elif key in p:
            parts.append(f"{label} {p[key]}")
    note = ", ".join(parts) + "; word embeddings frozen during training."
    if sliced_pools(meta):
        note += (
            " Evaluation uses slices (first questions per language, trimmed candidate pools), identical "
            "for every cell: differences between cells are exact, absolute values are higher than on the "
            "full pool."
        )
    plan = meta.get("plan")
    if plan:
        left = "; ".join(f"{g['group']} ({g['cells']} cells)" for g in plan.get("left_out", []))
        note += (f" Fitted to {plan['fit_hours']:g} h by the start-up estimate ({len(plan['kept'])} cells "
                 "kept" + (f"; left out: {left}" if left else "; nothing left out") + ").")
    return with_interim(note + cost_note(meta), meta)


def cost_note(meta: dict) -> str:
    """The tail every preset note shares: the smoke caveat, then what the cells cost
    (:func:`cell_time_note`) or, before any cell finished, the start-up estimate."""
    from xlir.experiments.grid import format_duration

    note = ""
    if meta.get("preset") == "smoke":
        note += " Smoke preset: a tiny random model and a few steps; the numbers test the pipeline only."
    if meta.get("cells_wall_s"):
        note += cell_time_note(meta)
    elif meta.get("estimate_s"):
        note += f" Estimated run time before start: {format_duration(meta['estimate_s'])} (one job)."
    return note


def with_interim(note: str, meta: dict) -> str:
    """``note`` followed by :func:`interim_note` where the grid is unfinished."""
    interim = interim_note(meta)
    return f"{note} {interim}" if interim else note


def interim_note(meta: dict) -> str:
    """A warning when the table holds fewer cells than the recorded plan: a report of a grid still
    running must not read as its result."""
    kept = len((meta.get("plan") or {}).get("kept") or meta.get("cells") or [])
    done = meta.get("cells_done")
    if not kept or done is None or done >= kept:
        return ""
    return (f"**Interim: {done} of the {kept} planned cells are finished.** The grid resumes with the "
            "same command; this file is regenerated from the full table when it is done.")


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.1f} min" if seconds < 2 * 3600 else f"{seconds / 3600:.1f} h"


def cell_time_note(meta: dict) -> str:
    """What the cells cost: their wall times summed, and the machine time they took (the union of
    their run intervals, :func:`xlir.reports.study_report.covered_seconds`), which is what a reader
    planning a rerun needs when ``--jobs`` overlapped cells."""
    note = (f" Measured cell time: {_duration(meta['cells_wall_s'])} summed over {meta['cells_timed']} "
            "cells (each cell's own wall time")
    if meta.get("cells_machine_s"):
        return note + (f"); machine time {_duration(meta['cells_machine_s'])}, the union of the cells' run "
                       "intervals (cells run in parallel with `--jobs` overlap; pauses between runs are "
                       "not counted).")
    return note + ("; cells run in parallel with `--jobs` overlap, so the sum exceeds the machine time "
                   "they took).")
