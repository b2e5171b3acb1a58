"""Study 2: does a pre-training stage with more languages help low-resource pairs?

Each cell: pre-train the base model on k languages (translation ranking on language-English
bitext by default, or MLM), with a pair budget fixed in total (the same for every k) or, in the
second design of ``cpu-scale``, fixed per language (the total grows with k); then the identical hybrid
fine-tuning (alpha 0.5 on MLQA pairs); then zero-shot evaluation, after fine-tuning and, where the
preset asks (``eval_pretrained``), after pre-training too, on the low-resource targets:
XQuAD-R pairs involving th el tr hi vi, AfriQA dev, FLORES-200 test retrieval (sentences never
seen in pre-training), Tatoeba when its loader is registered, MLDR when its files are present.
Language sets are nested and seeded (:mod:`xlir.training.pretrain.languages`); arm ``inside`` puts
the targets first, arm ``heldout`` never includes them. k = 0 (no pre-training) is shared by both
arms and is the reference every k is compared with.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from xlir.experiments.grid import CellConfig
from xlir.experiments.pipeline import EvalSpec, FinetuneSpec, evaluate_specs, finetune
from xlir.experiments.studies import STUDIES, Study
from xlir.training.pretrain import PretrainConfig
from xlir.training.pretrain.languages import AFRIQA_TARGETS, TARGETS, XQUAD_TARGETS, nested_language_sets


class PretrainCell(CellConfig):
    model: str
    k: int
    arm: str  # inside | heldout | none (k = 0)
    seed: int
    languages: tuple[str, ...]
    pretrain: PretrainConfig
    finetune: FinetuneSpec
    evals: tuple[EvalSpec, ...]
    eval_pretrained: bool = False
    """Also evaluate right after pre-training (rows with ``stage`` = ``pretrained``; k = 0: the base
    model), so a report can say whether a pre-training gain survives fine-tuning."""
    precision: str = "fp32"  # training (where the trainer takes it) and evaluation; see models.precision

    table_exclude: ClassVar[frozenset[str]] = frozenset({"evals", "languages"})
    id_optional: ClassVar[frozenset[str]] = frozenset({"eval_pretrained", "precision", "pretrain.precision"})
    # PretrainConfig.precision defaulted to fp32 until 2026-11-28 (now auto): the ids keep that reference
    id_defaults: ClassVar[dict[str, object]] = {"pretrain.precision": "fp32"}

    def label(self) -> str:
        return f"k{self.k}-{self.arm}-s{self.seed}"


PRESETS: dict[str, dict] = {
    # tiny random model; three k levels so the trend test has something to fit; minutes
    "smoke": {
        "model": "tiny",
        "ks": [0, 1, 2, 4],
        "seeds": [0, 1],
        "objective": "translation-ranking",
        "budget": 32,
        "pt_batch": 8,
        "ft_steps": 2,
        "ft_batch": 8,
        "max_length": 32,
        "max_groups": 40,
        "xquad_langs": ("en",) + XQUAD_TARGETS,
        "limit": 5,
        "pool": 15,
        "flores_limit": 10,
        "afriqa_limit": 5,
        "eval_pretrained": True,
    },
    # e5-small, frozen word embeddings, 256 pre-training pairs and 15 fine-tuning steps per cell, and
    # a log-spaced subset of the k grid (27 cells): about 2 h on 2 free cores. The grid is resumable
    # and cell ids are content hashes, so adding the other k later (gpu preset's list) reuses these.
    "cpu": {
        "model": "e5-small",
        "ks": [0, 1, 4, 16, 128],
        "seeds": [0, 1, 2],
        "objective": "translation-ranking",
        "budget": 256,
        "pt_batch": 16,
        "ft_steps": 15,
        "ft_batch": 16,
        "max_length": 64,
        "max_groups": None,
        "xquad_langs": ("en",) + XQUAD_TARGETS,
        "limit": 30,
        "pool": 100,
        "flores_limit": 40,
        "afriqa_limit": 30,
    },
    # issue 13's budget: 8,192 pre-training pairs per cell under two designs, fixed total (spread over
    # the k languages) and fixed per language (64 pairs each, so 64 k in all; at k = 128 both designs
    # are the same cell), then 200 fine-tuning steps of batch 32 with the quickstart's optimisation,
    # each cell evaluated after pre-training and after fine-tuning, full XQuAD-R pools of the target
    # languages, AfriQA dev and FLORES test in full, the precision "auto" picks. Cells in priority order
    # (seed 0 of every design and arm, then seeds 1-2 of fixed total, then of fixed per language);
    # `fit_hours` keeps the groups that fit by the timing probe and records the rest as left out.
    "cpu-scale": {
        "model": "e5-small",
        "precision": "auto",
        "ks": [0, 1, 4, 16, 128],
        "seeds": [0, 1, 2],
        "objective": "translation-ranking",
        "designs": ["fixed-total", "per-language"],
        "budget": 8192,
        "per_language": 64,
        "pt_batch": 32,
        "ft_steps": 200,
        "ft_batch": 32,
        "max_length": 96,
        "max_groups": None,
        "xquad_langs": ("en",) + XQUAD_TARGETS,
        "limit": 200,
        "pool": None,
        "flores_limit": None,
        "tatoeba_limit": 200,
        "afriqa_limit": None,
        "eval_pretrained": True,
        "fit_hours": 6,
        "priority": True,
    },
    "gpu": {
        "model": "e5-small",
        "ks": [0, 1, 2, 4, 8, 16, 32, 64, 128],
        "seeds": [0, 1, 2, 3, 4],
        "objective": "translation-ranking",
        "budget": 65536,
        "pt_batch": 128,
        "ft_steps": 1000,
        "ft_batch": 64,
        "max_length": 128,
        "max_groups": None,
        "xquad_langs": None,
        "limit": None,
        "pool": None,
        "flores_limit": None,
        "afriqa_limit": None,
    },
}


def _evals(p: dict) -> tuple[EvalSpec, ...]:
    return (
        EvalSpec(name="xquad-r", languages=p["xquad_langs"], limit=p["limit"], pool_per_language=p["pool"]),
        EvalSpec(name="afriqa", limit=p["afriqa_limit"], pool_per_language=p["pool"], optional=True),
        EvalSpec(name="flores-test", languages=TARGETS, limit=p["flores_limit"], pool_per_language=0),
        EvalSpec(name="tatoeba-en", languages=TARGETS, limit=p.get("tatoeba_limit", p["flores_limit"]),
                 pool_per_language=0, optional=True),
        EvalSpec(name="mldr", languages=("hi", "th"), limit=p["limit"], optional=True),
    )


DESIGNS = ("fixed-total", "per-language")
"""fixed-total: ``budget`` pairs whatever k (breadth against depth); per-language: ``per_language``
pairs for each of the k languages (more languages, more data). k = 0 is the reference of both."""


def design_budget(p: dict, design: str, k: int) -> int:
    """Pre-training pairs of a cell of ``design`` at ``k`` languages."""
    if design == "per-language":
        return p["per_language"] * k
    if design == "fixed-total":
        return p["budget"]
    raise ValueError(f"unknown design {design!r}; known: {', '.join(DESIGNS)}")


def build_cells(preset: str, objective: str | None = None, data_dir=None) -> list[PretrainCell]:
    """The preset's cells, deduplicated (a cell two designs share runs once); with ``priority``,
    ordered by design point (seed 0 of every design and arm first) and grouped for fitting."""
    from xlir.training.pretrain.corpus import language_pool

    p = PRESETS[preset]
    pool = language_pool(data_dir=data_dir)
    pt = PretrainConfig(
        objective=objective or p["objective"],
        budget=p["budget"],
        batch_size=p["pt_batch"],
        max_length=p["max_length"],
        precision=p.get("precision", "fp32"),  # a preset without one pre-trains as it fine-tunes: fp32
    )
    ft = FinetuneSpec(
        sources=("mlqa",),
        sampler="hybrid",
        alpha=0.5,
        steps=p["ft_steps"],
        batch_size=p["ft_batch"],
        max_length=p["max_length"],
        max_groups=p["max_groups"],
    )
    evals = _evals(p)
    extra = {key: p[key] for key in ("eval_pretrained", "precision") if key in p}

    def cell(k: int, arm: str, seed: int, langs, budget: int, group: str) -> PretrainCell:
        c = PretrainCell(model=p["model"], k=k, arm=arm, seed=seed, languages=tuple(langs),
                         pretrain=pt.model_copy(update={"seed": seed, "budget": budget}),
                         finetune=ft, evals=evals, **extra)
        c._fit_group = group
        return c

    groups: dict[tuple, list[PretrainCell]] = {}
    for seed in p["seeds"]:
        for design in p.get("designs", ["fixed-total"]):
            for arm in ("inside", "heldout"):
                name = (design, arm, seed)
                label = f"{design} {arm}, seed {seed}"
                members = groups.setdefault(name, [])
                if 0 in p["ks"] and not any(g[2] == seed for g in groups if g != name):
                    members.append(cell(0, "none", seed, (), p["budget"], label))
                sets = nested_language_sets(pool, TARGETS, [k for k in p["ks"] if k > 0], arm, seed)
                for k, langs in sets.items():
                    members.append(cell(k, arm, seed, langs, design_budget(p, design, k), label))
    order = list(groups)
    if p.get("priority"):
        first = p["seeds"][0]
        order.sort(key=lambda g: (g[2] != first, g[0] != "fixed-total", g[2], g[0], g[1] != "inside"))
    else:  # the committed presets' order: per seed, k = 0 then each arm
        order.sort(key=lambda g: p["seeds"].index(g[2]))
    cells: list[PretrainCell] = []
    seen: set[str] = set()
    for g in order:
        for c in groups[g]:
            if c.cell_id not in seen:
                seen.add(c.cell_id)
                cells.append(c)
    return cells


QUESTION_UNIT = "id-tail"
"""The per-question key of this study's cells (:func:`~xlir.experiments.pipeline.evaluate_specs`): the
committed ``cpu`` and ``cpu-scale`` cells used it, and a unit must mean the same in every cell of a
grid; it pools AfriQA's queries that share an id number (the report says so)."""


def run_cell(cell: PretrainCell, work: Path) -> dict:
    from xlir.training.pretrain import pretrain

    if cell.model == "tiny":
        import torch

        torch.set_num_threads(1)
    base = cell.model
    record = {}
    if cell.k > 0:
        base = str(
            pretrain(
                cell.model,
                cell.pretrain.objective,
                list(cell.languages),
                cell.pretrain.budget,
                cell.seed,
                work / "pretrained",
                config=cell.pretrain,
            )
        )
        import json

        record = json.loads((Path(base) / "pretrain.json").read_text())
    stages = {}
    if cell.eval_pretrained:  # before fine-tuning: does a pre-training gain exist to survive?
        stages["pretrained"] = evaluate_specs(base, cell.evals, max_length=cell.finetune.max_length,
                                              precision=cell.precision, question_unit=QUESTION_UNIT)
    model_path, train_record = finetune(base, cell.finetune, cell.seed, work / "finetuned",
                                        precision=cell.precision)
    stages["finetuned"] = evaluate_specs(model_path, cell.evals, train_sources=list(cell.finetune.sources),
                                         max_length=cell.finetune.max_length, precision=cell.precision,
                                         question_unit=QUESTION_UNIT)
    inside = set(cell.languages)
    rows = []
    for stage, (stage_rows, _, _) in stages.items():
        for r in stage_rows:
            langs = {r.get("query_language"), r.get("doc_language")} - {None, ""}
            r["targets"] = " ".join(sorted(t for t in langs if t in TARGETS))
            r["target_inside"] = int(bool(langs & inside & set(TARGETS)))
            if cell.eval_pretrained:
                r["stage"] = stage
            rows.append(r)
    _, per_question, skipped = stages["finetuned"]
    return {
        "rows": rows,
        "per_question": per_question,
        **({"per_question_pretrained": stages["pretrained"][1]} if cell.eval_pretrained else {}),
        "skipped": skipped,
        # pairs_available: the bitext each language had (800 FLORES train+dev, 2,797 with NTREX); a budget
        # above it is drawn again in reshuffled passes (fixed total at k = 1: up to 10 passes), and the
        # work folder holding pretrain.json is deleted once the cell is done
        "pretrain": {k: record.get(k) for k in ("steps", "budget_used", "pairs_available", "first_loss",
                                                 "last_loss", "wall_s")},
        "train": train_record.model_dump(include={"steps", "wall_time_s", "final_loss"}),
    }


__all__ = ["AFRIQA_TARGETS", "PRESETS", "PretrainCell", "XQUAD_TARGETS", "build_cells", "run_cell"]


STUDY = STUDIES.register("pretrain-languages")(
    Study("pretrain-languages", PRESETS, build_cells, run_cell,
          required_columns=("cell_id", "seed", "k", "arm", "collection", "metric", "setting"),
          options=("objective",), question_unit=QUESTION_UNIT))

