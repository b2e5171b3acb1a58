"""Study 2: does a pre-training stage with more languages help low-resource pairs?

Each cell: pre-train the base model on k languages (translation ranking on language-English
bitext by default, or MLM), with the same pair/token budget for every k; then the identical hybrid
fine-tuning (alpha 0.5 on MLQA pairs); then zero-shot evaluation on the low-resource targets:
XQuAD-R pairs involving th el tr hi vi, AfriQA dev, FLORES-200 test retrieval (sentences never
seen in pre-training), Tatoeba when its loader is registered, MLDR when its files are present.
Language sets are nested and seeded (:mod:`xlir.training.pretrain.languages`); arm ``inside`` puts
the targets first, arm ``heldout`` never includes them. k = 0 (no pre-training) is shared by both
arms and is the reference every k is compared with.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import ClassVar

from xlir.evaluation.significance import holm, paired_difference
from xlir.evaluation.stats import mean_ci, trend
from xlir.experiments.grid import CellConfig
from xlir.experiments.pipeline import EvalSpec, FinetuneSpec, evaluate_specs, finetune
from xlir.experiments.run_study import PAIRED
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

    table_exclude: ClassVar[frozenset[str]] = frozenset({"evals", "languages"})

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
        EvalSpec(name="tatoeba-en", languages=TARGETS, limit=p["flores_limit"], pool_per_language=0,
                 optional=True),
        EvalSpec(name="mldr", languages=("hi", "th"), limit=p["limit"], optional=True),
    )


def build_cells(preset: str, objective: str | None = None, data_dir=None) -> list[PretrainCell]:
    from xlir.training.pretrain.corpus import language_pool

    p = PRESETS[preset]
    pool = language_pool(data_dir=data_dir)
    pt = PretrainConfig(
        objective=objective or p["objective"],
        budget=p["budget"],
        batch_size=p["pt_batch"],
        max_length=p["max_length"],
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
    cells: list[PretrainCell] = []
    for seed in p["seeds"]:
        if 0 in p["ks"]:
            cells.append(
                PretrainCell(
                    model=p["model"],
                    k=0,
                    arm="none",
                    seed=seed,
                    languages=(),
                    pretrain=pt.model_copy(update={"seed": seed}),
                    finetune=ft,
                    evals=evals,
                )
            )
        for arm in ("inside", "heldout"):
            sets = nested_language_sets(pool, TARGETS, [k for k in p["ks"] if k > 0], arm, seed)
            for k, langs in sets.items():
                cells.append(
                    PretrainCell(
                        model=p["model"],
                        k=k,
                        arm=arm,
                        seed=seed,
                        languages=tuple(langs),
                        pretrain=pt.model_copy(update={"seed": seed}),
                        finetune=ft,
                        evals=evals,
                    )
                )
    return cells


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
    model_path, train_record = finetune(base, cell.finetune, cell.seed, work / "finetuned")
    rows, per_question, skipped = evaluate_specs(
        model_path, cell.evals, train_sources=list(cell.finetune.sources), max_length=cell.finetune.max_length
    )
    inside = set(cell.languages)
    for r in rows:
        langs = {r.get("query_language"), r.get("doc_language")} - {None, ""}
        r["targets"] = " ".join(sorted(t for t in langs if t in TARGETS))
        r["target_inside"] = int(bool(langs & inside & set(TARGETS)))
    return {
        "rows": rows,
        "per_question": per_question,
        "skipped": skipped,
        "pretrain": {k: record.get(k) for k in ("steps", "budget_used", "first_loss", "last_loss", "wall_s")},
        "train": train_record.model_dump(include={"steps", "wall_time_s", "final_loss"}),
    }


__all__ = ["AFRIQA_TARGETS", "PRESETS", "PretrainCell", "XQUAD_TARGETS", "build_cells", "run_cell"]


def target_scores(rows: list[dict]) -> dict:
    """(collection, target) -> list of (cell_id, k, arm, seed, value): mean AP of the pairs with the target.

    For XQuAD-R: every mono and cross pair whose query or candidate language is the target;
    AfriQA, FLORES and Tatoeba: the target's query language against English (French for Fon).
    ``all`` averages every target row of a cell: the study's primary, pre-declared endpoint.
    """
    per: dict = defaultdict(lambda: defaultdict(list))  # cell -> (coll, target) -> values
    info: dict = {}
    for r in rows:
        if r["metric"] != "AP" or "/" not in str(r["setting"]) or not r.get("targets"):
            continue
        if str(r["setting"]).startswith("multi/"):
            continue
        info[r["cell_id"]] = (int(r["k"]), r["arm"], int(r["seed"]))
        for t in str(r["targets"]).split():
            per[r["cell_id"]][(r["collection"], t)].append(r["value"])
            per[r["cell_id"]][(r["collection"], "all")].append(r["value"])
            per[r["cell_id"]][("all", "all")].append(r["value"])
    out: dict = defaultdict(list)
    for cid, by in per.items():
        k, arm, seed = info[cid]
        for key, v in by.items():
            v = [x for x in v if x is not None and not math.isnan(x)]
            if v:
                out[key].append((cid, k, arm, seed, sum(v) / len(v)))
    return out


def pretraining_effect(pq: dict, rows: list[dict]) -> list[dict]:
    """Does the pre-training stage help at all? Per arm (and per collection, plus ``all``): paired
    per-question differences between pre-trained cells and the k = 0 cell of the same seed.

    Averaging an arm's k levels per (seed, question) first keeps one unit per question and seed, so
    the k = 0 reference is not counted once per k."""

    info = {}
    for r in rows:
        info[r["cell_id"]] = (int(r["k"]), r["arm"], int(r["seed"]))
    ref = {seed: cid for cid, (k, _, seed) in info.items() if k == 0}
    out = []
    for arm in ("inside", "heldout"):
        per_unit: dict = defaultdict(list)  # (seed, coll, kind, group) -> APs over k
        for cid, (k, a, seed) in info.items():
            if a != arm or k < 1 or seed not in ref:
                continue
            for coll, kinds in pq.get(cid, {}).items():
                for kind, groups in kinds.items():
                    for g, ap in groups.items():
                        per_unit[(seed, coll, kind, g)].append(ap)
        units = []
        for (seed, coll, kind, g), aps in per_unit.items():
            base = pq.get(ref[seed], {}).get(coll, {}).get(kind, {}).get(g)
            if base is not None:
                units.append((coll, base, sum(aps) / len(aps)))
        for coll in ["all", *sorted({u[0] for u in units})]:
            sel = [u for u in units if coll in ("all", u[0])]
            if not sel:
                continue
            a, b = [u[1] for u in sel], [u[2] for u in sel]
            d, lo, hi, p = paired_difference(a, b, **PAIRED)
            out.append({"arm": arm, "collection": coll, "n": len(sel), "k0": sum(a) / len(a),
                        "pt": sum(b) / len(b), "diff": d, "low": lo, "high": hi, "p": p})
    for e, ph in zip(out, holm([e["p"] for e in out]), strict=True):
        e["p_holm"] = ph
    return out



def reference_ci(points: list[tuple]) -> tuple[float, float, float] | None:
    """Mean [95% CI over seeds] of the k = 0 cells (no pre-training) among ``target_scores`` points."""
    values = [v for _, k, _, _, v in points if k == 0]
    return mean_ci(values) if values else None


def target_trends(scores: dict) -> dict:
    """For each (collection, target) of :func:`target_scores` and each arm with k >= 1 cells:
    :func:`~xlir.evaluation.stats.trend` over k, plus ``series`` (k, mean, low, high over seeds)
    and ``ref`` (:func:`reference_ci`)."""
    out = {}
    for key, pts in scores.items():
        ref = reference_ci(pts)
        for arm in ("inside", "heldout"):
            arm_pts = [(k, s, v) for _, k, a, s, v in pts if a == arm and k >= 1]
            if not arm_pts:
                continue
            ks = sorted({k for k, _, _ in arm_pts})
            series = [(k, *mean_ci([v for kk, _, v in arm_pts if kk == k])) for k in ks]
            out[(key, arm)] = {**trend(arm_pts), "ref": ref, "series": series}
    return out


STUDY = STUDIES.register("pretrain-languages")(
    Study("pretrain-languages", PRESETS, build_cells, run_cell,
          required_columns=("cell_id", "seed", "k", "arm", "collection", "metric", "setting"),
          options=("objective",)))

