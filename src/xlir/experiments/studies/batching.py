"""Study 1: batching strategies (arXiv 2408.10536, Tables 1 and 7, at our scale).

Grid: sampler in {xx-mono, xy, hybrid alpha 0.25/0.5/0.75, random} x seeds x direction, where the
two zero-shot directions are "train on MLQA, evaluate on XQuAD-R" and "train on XQuAD, evaluate on
MLQA-R and AfriQA dev" (no evaluation set shares a source with its training set). One extra cell
per direction evaluates the untrained base model, for orientation.
Every cell fine-tunes the same base model with the same steps, batch size and learning rate; only
the sampler, alpha and seed change.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import ClassVar

from xlir.evaluation.significance import holm, paired_difference
from xlir.evaluation.stats import mean_ci
from xlir.experiments.grid import CellConfig
from xlir.experiments.pipeline import EvalSpec, FinetuneSpec, evaluate_specs, finetune
from xlir.experiments.run_study import PAIRED, paired_questions
from xlir.experiments.studies import STUDIES, Study

STRATEGIES: tuple[tuple[str, float | None], ...] = (
    ("xx-mono", None),
    ("xy", None),
    ("hybrid", 0.25),
    ("hybrid", 0.5),
    ("hybrid", 0.75),
    ("random", None),
)


SMOKE_STRATEGIES = (("xx-mono", None), ("xy", None), ("hybrid", 0.5), ("random", None))


def strategy_name(sampler: str, alpha: float | None) -> str:
    return f"hybrid-{alpha:g}" if sampler == "hybrid" else sampler


class BatchingCell(CellConfig):
    model: str
    direction: str  # "mlqa->xquad-r" | "xquad->mlqa-r"
    strategy: str  # xx-mono, xy, hybrid-0.5, ..., random, base (untrained)
    seed: int
    finetune: FinetuneSpec
    evals: tuple[EvalSpec, ...]

    table_exclude: ClassVar[frozenset[str]] = frozenset({"evals"})

    def label(self) -> str:
        return f"{self.direction.split('->')[0]}-{self.strategy}-s{self.seed}"


def _xquad_eval(limit, pool):
    return (EvalSpec(name="xquad-r", limit=limit, pool_per_language=pool),)


def _mlqa_evals(limit, pool, afriqa_limit):
    return (
        EvalSpec(name="mlqa-r", limit=limit, pool_per_language=pool),
        EvalSpec(name="afriqa", limit=afriqa_limit, pool_per_language=pool, optional=True),
    )


PRESETS: dict[str, dict] = {
    # tiny random model, 2 steps, 8 questions per language: checks the pipeline, not a finding
    "smoke": {
        "model": "tiny",
        "seeds": [0, 1],
        "strategies": SMOKE_STRATEGIES,
        "steps": 2,
        "batch_size": 8,
        "max_length": 32,
        "max_groups": 40,
        "limit": 6,
        "pool": 20,
        "afriqa_limit": 6,
    },
    # the embedded e5-small, word embeddings frozen, short sequences, few steps, sliced pools: sized
    # for about 2 h on 2 free cores (38 cells; a step of batch 16 takes about 6 s, encoding about
    # 35 sentences/s; the start-up estimate is recomputed on the machine that runs it)
    "cpu": {
        "model": "e5-small",
        "seeds": [0, 1, 2],
        "steps": 15,
        "batch_size": 16,
        "max_length": 64,
        "max_groups": None,
        "limit": 30,
        "pool": 100,
        "afriqa_limit": 30,
    },
    # full pools and a real budget, for an accelerator
    "gpu": {
        "model": "e5-small",
        "seeds": [0, 1, 2, 3, 4],
        "steps": 1000,
        "batch_size": 64,
        "max_length": 128,
        "max_groups": None,
        "limit": None,
        "pool": None,
        "afriqa_limit": None,
    },
}


def build_cells(preset: str) -> list[BatchingCell]:
    p = PRESETS[preset]
    cells: list[BatchingCell] = []
    directions = {
        "mlqa->xquad-r": (("mlqa",), _xquad_eval(p["limit"], p["pool"])),
        "xquad->mlqa-r": (("xquad",), _mlqa_evals(p["limit"], p["pool"], p["afriqa_limit"])),
    }
    for direction, (sources, evals) in directions.items():
        base_ft = FinetuneSpec(
            sources=sources,
            steps=p["steps"],
            batch_size=p["batch_size"],
            max_length=p["max_length"],
            max_groups=p["max_groups"],
        )
        cells.append(
            BatchingCell(
                model=p["model"],
                direction=direction,
                strategy="base",
                seed=0,
                finetune=base_ft.model_copy(update={"steps": 0}),
                evals=evals,
            )
        )
        for seed in p["seeds"]:
            for sampler, alpha in p.get("strategies", STRATEGIES):
                ft = base_ft.model_copy(
                    update={"sampler": sampler, "alpha": alpha if alpha is not None else 0.5}
                )
                cells.append(
                    BatchingCell(
                        model=p["model"],
                        direction=direction,
                        strategy=strategy_name(sampler, alpha),
                        seed=seed,
                        finetune=ft,
                        evals=evals,
                    )
                )
    return cells


def run_cell(cell: BatchingCell, work: Path) -> dict:
    if cell.model == "tiny":
        import torch

        torch.set_num_threads(1)  # narrow models run slower on several threads
    if cell.strategy == "base":
        model_path, record = cell.model, {}
    else:
        model_path, record = finetune(cell.model, cell.finetune, cell.seed, work / "model")
    rows, per_question, skipped = evaluate_specs(
        model_path, cell.evals, train_sources=cell.finetune.sources, max_length=cell.finetune.max_length
    )
    return {
        "rows": rows,
        "per_question": per_question,
        "skipped": skipped,
        "train": {k: record.get(k) for k in ("steps", "wall_s", "sources", "final_loss") if k in record},
    }



def hybrid_against_baselines(pq: dict, cells: dict, direction: str, coll: str) -> list[tuple]:
    """Hybrid (alpha 0.5) against each baseline on ``coll``: per question, paired by (seed, question).

    ``cells``: (direction, strategy) -> seed -> cell id; ``pq``: :func:`read_per_question`. Rows
    ``(baseline, setting, n, diff, low, high, p, p_holm)``, difference = hybrid - baseline, Holm over
    the rows.
    """
    hyb = cells.get((direction, "hybrid-0.5"), {})
    tests = []
    for base in ("xx-mono", "xy", "random", "hybrid-0.25", "hybrid-0.75"):
        other = cells.get((direction, base))
        if not hyb or not other:
            continue
        for kind in ("mono", "cross", "multi"):
            a, b = paired_questions(pq, other, hyb, coll, kind)
            if a:
                tests.append((base, kind, len(a), *paired_difference(a, b, **PAIRED)))
    adjusted = holm([t[6] for t in tests]) if tests else []
    return [(*t, float(ph)) for t, ph in zip(tests, adjusted, strict=True)]



def seed_cis(vals: dict) -> dict:
    """Mean [95% CI over seeds] (:func:`~xlir.evaluation.stats.mean_ci`) of each key's values over
    seeds; a key without values reads (nan, nan, nan)."""
    return defaultdict(lambda: (math.nan, math.nan, math.nan), {k: mean_ci(v) for k, v in vals.items()})


STUDY = STUDIES.register("batching")(
    Study("batching", PRESETS, build_cells, run_cell,
          required_columns=("cell_id", "seed", "direction", "strategy", "collection", "metric", "setting")))

