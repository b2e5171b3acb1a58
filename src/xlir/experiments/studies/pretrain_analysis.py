"""Study 2's statistics: from the result tables to trends, effects and the two evaluation points.

Why a module of its own: the cells (:mod:`.pretrain_languages`) run for days; what the report claims
from them is decided here and can be re-run on the committed tables at any time. Choices that an
adversarial review (2026-12-07) made explicit:

- **The primary endpoint** of a cell is the mean AP over its *target rows* (every XQuAD-R mono and
  cross pair with a target on either side, and each target's row in AfriQA, FLORES and Tatoeba), each
  row once, even when both of its languages are targets. Only the (collection, setting) rows that
  every cell of an evaluation stage has enter it (:func:`comparable_rows`): an optional collection
  missing from one cell would otherwise change what that cell's number averages.
- **Trends over k** use the OLS t interval of :func:`xlir.evaluation.stats.trend` (seeds as points).
- **Pre-training at all** is judged twice: per question (conditional on these runs; collections weigh
  equally in ``all``) and per seed on the primary endpoint (training noise included). Every k of an
  arm weighs the same, whatever seeds it ran.
- **Between the two evaluation points** the change of the effect is itself tested (per unit,
  effect after fine-tuning minus effect after pre-training); a gain that is significant at one point
  and not at the other is not called a change unless that test says so.
- **Training noise**: a gain, loss or change (after either evaluation point) counts as shown only
  when it is Holm-significant per question *and* has the same sign in two or more seeds (pre-training
  moves the fine-tuning's starting point, so its trajectory); otherwise it is "per question only".
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np

from xlir.evaluation.significance import holm, paired_difference, stratified_bootstrap
from xlir.evaluation.stats import mean_ci, seed_spread, trend
from xlir.experiments.run_study import PAIRED
from xlir.experiments.studies.pretrain_languages import design_budget

Unit = tuple[str, str, str]  # (collection, kind, group): one question of one collection's setting kind
UNIT_KINDS = ("mono", "cross")
"""Per-question kinds that enter the paired tests: XQuAD-R's multilingual pool has no target language
(the primary endpoint leaves it out too); the other collections have cross-lingual rows only."""


def in_stage(rows: list[dict], stage: str = "finetuned") -> list[dict]:
    """The rows of one evaluation stage (tables written before stages existed are all ``finetuned``)."""
    return [r for r in rows if (r.get("stage") or "finetuned") == stage]


def stages_of(rows: list[dict]) -> list[str]:
    return [s for s in ("pretrained", "finetuned") if in_stage(rows, s)]


def _is_target_row(r: dict) -> bool:
    return (r.get("metric") == "AP" and "/" in str(r.get("setting")) and bool(r.get("targets"))
            and not str(r["setting"]).startswith("multi/"))


def comparable_rows(rows: list[dict]) -> tuple[list[dict], list[str]]:
    """Keep the target rows whose (stage, collection, setting) every cell of that stage has.

    Returns the kept rows (non-target rows pass unchanged) and, for the report, one line per dropped
    (stage, collection, setting) group saying how many cells lacked it."""
    cells: dict[str, set[str]] = defaultdict(set)
    have: dict[tuple, set[str]] = defaultdict(set)
    for r in rows:
        stage = r.get("stage") or "finetuned"
        cells[stage].add(r["cell_id"])
        if _is_target_row(r):
            have[(stage, r["collection"], r["setting"])].add(r["cell_id"])
    short = {key: len(cells[key[0]]) - len(ids) for key, ids in have.items() if ids != cells[key[0]]}
    def key(r: dict) -> tuple:
        return (r.get("stage") or "finetuned", r["collection"], r["setting"])

    kept = [r for r in rows if not (_is_target_row(r) and key(r) in short)]
    by_coll: dict[tuple[str, str], list[str]] = defaultdict(list)
    for (stage, coll, setting), n in sorted(short.items()):
        by_coll[(stage, coll)].append(f"{setting} ({n} cell{'s' if n > 1 else ''} without it)")
    dropped = [f"{coll}, {stage}: {', '.join(v)}" for (stage, coll), v in sorted(by_coll.items())]
    return kept, dropped


def target_scores(rows: list[dict]) -> dict:
    """(collection, target) -> list of (cell_id, k, arm, seed, value): mean AP of the pairs with the target.

    For XQuAD-R: every mono and cross pair whose query or candidate language is the target;
    AfriQA, FLORES and Tatoeba: the target's query language against English (French for Fon).
    ``(collection, "all")`` and ``("all", "all")`` average each target row of a cell once (a row with
    two target languages counts once, not once per target): ``("all", "all")`` is the study's primary,
    pre-declared endpoint.
    """
    per: dict = defaultdict(lambda: defaultdict(list))  # cell -> (coll, target) -> values
    info: dict = {}
    for r in rows:
        if not _is_target_row(r):
            continue
        info[r["cell_id"]] = (int(r["k"]), r["arm"], int(r["seed"]))
        v = r["value"]
        for t in str(r["targets"]).split():
            per[r["cell_id"]][(r["collection"], t)].append(v)
        per[r["cell_id"]][(r["collection"], "all")].append(v)
        per[r["cell_id"]][("all", "all")].append(v)
    out: dict = defaultdict(list)
    for cid, by in per.items():
        k, arm, seed = info[cid]
        for key, v in by.items():
            v = [x for x in v if x is not None and not math.isnan(x)]
            if v:
                out[key].append((cid, k, arm, seed, sum(v) / len(v)))
    return out


def reference_ci(points: list[tuple]) -> tuple[float, float, float] | None:
    """(mean, low, high) over seeds of the k = 0 cells (no pre-training) among ``target_scores``
    points: :func:`~xlir.evaluation.stats.seed_spread` (a 95% t CI from three seeds, the range of two)."""
    values = [v for _, k, _, _, v in points if k == 0]
    return seed_spread(values) if values else None


def target_trends(scores: dict) -> dict:
    """For each (collection, target) of :func:`target_scores` and each arm with k >= 1 cells:
    :func:`~xlir.evaluation.stats.trend` over k, plus ``series`` (k, mean, low, high over seeds:
    :func:`~xlir.evaluation.stats.seed_spread`, so two seeds give their range, not a t(1) interval
    12.7 standard errors wide), ``series_n`` (the seeds behind each point), ``ref``
    (:func:`reference_ci`) and ``ref_n``."""
    out = {}
    for key, pts in scores.items():
        ref = reference_ci(pts)
        ref_n = sum(1 for _, k, _, _, _ in pts if k == 0)
        for arm in ("inside", "heldout"):
            arm_pts = [(k, s, v) for _, k, a, s, v in pts if a == arm and k >= 1]
            if not arm_pts:
                continue
            ks = sorted({k for k, _, _ in arm_pts})
            at = {k: [v for kk, _, v in arm_pts if kk == k] for k in ks}
            series = [(k, *seed_spread(at[k])) for k in ks]
            out[(key, arm)] = {**trend(arm_pts), "ref": ref, "ref_n": ref_n, "series": series,
                               "series_n": [len(at[k]) for k in ks]}
    return out


def _cells(rows: list[dict]) -> dict[str, tuple[int, str, int]]:
    return {r["cell_id"]: (int(r["k"]), r["arm"], int(r["seed"])) for r in rows}


def seed_level_effect(rows: list[dict], arm: str, collection: str = "all") -> dict | None:
    """Pre-training at all on the primary endpoint (or one ``collection``'s mean over its target rows),
    with training noise: for each seed that has k = 0 and every k of the arm, the endpoint's mean over
    those k minus its k = 0 value (``per_seed``); mean over seeds with a t CI and a one-sample t-test
    (NaN with fewer than 2 such seeds). None without any."""
    points = target_scores(rows).get(("all" if collection == "all" else collection, "all"), [])
    by_seed: dict[int, dict[int, float]] = defaultdict(dict)
    for _, k, a, seed, v in points:
        if k == 0 or a == arm:
            by_seed[seed][k] = v
    ks = sorted({k for _, k, a, _, _ in points if a == arm and k >= 1})
    if not ks:
        return None
    diffs = {s: sum(by[k] for k in ks) / len(ks) - by[0] for s, by in sorted(by_seed.items())
             if 0 in by and all(k in by for k in ks)}
    if not diffs:
        return None
    d = list(diffs.values())
    m, lo, hi = mean_ci(d)
    p = math.nan
    if len(d) >= 2:
        from scipy import stats

        p = float(stats.ttest_1samp(d, 0.0).pvalue) if np.ptp(d) > 0 else (0.0 if m != 0 else 1.0)
    if len(d) < 2:
        lo = hi = math.nan
    return {"arm": arm, "seeds": sorted(diffs), "ks": ks, "diff": m, "low": lo, "high": hi, "p": p,
            "per_seed": d}


def effect_units(pq: dict, rows: list[dict], arm: str) -> dict[Unit, tuple[float, float]]:
    """unit -> (AP without pre-training, AP with it) for one arm, each k weighing the same.

    Each pre-trained cell is paired with the k = 0 cell of its seed; per unit, both sides are
    averaged over the seeds of each k, then over the k levels (a k that ran more seeds, such as the
    cell two designs share, does not weigh more). Only the units that every such cell and its
    reference have enter (the same questions on both sides, whatever the k)."""
    info = _cells(rows)
    ref = {seed: cid for cid, (k, _, seed) in info.items() if k == 0}
    cells = [(cid, k, seed) for cid, (k, a, seed) in info.items() if a == arm and k >= 1 and seed in ref]
    if not cells:
        return {}

    def units_of(cid: str) -> dict[Unit, float]:
        return {(coll, kind, g): ap for coll, kinds in pq.get(cid, {}).items()
                for kind, groups in kinds.items() if kind in UNIT_KINDS for g, ap in groups.items()}

    got = {cid: units_of(cid) for cid in {c for c, _, _ in cells} | {ref[s] for _, _, s in cells}}
    common = set.intersection(*(set(u) for u in got.values()))
    by_k: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for cid, k, seed in cells:
        by_k[k].append((cid, seed))
    out = {}
    for unit in sorted(common):
        k0 = [sum(got[ref[s]][unit] for _, s in cs) / len(cs) for cs in by_k.values()]
        pt = [sum(got[c][unit] for c, _ in cs) / len(cs) for cs in by_k.values()]
        out[unit] = (sum(k0) / len(k0), sum(pt) / len(pt))
    return out


def _equal_collection_weights(units: list[Unit]) -> np.ndarray:
    """Per-unit factors n / (C * n_c): the plain mean of the scaled values is the mean over the C
    collections of each collection's own mean (a collection with more questions does not weigh more)."""
    colls = [u[0] for u in units]
    count = {c: colls.count(c) for c in set(colls)}
    return np.array([len(units) / (len(count) * count[c]) for c in colls])


def unit_clusters(units, clusters: dict | None = None) -> list[str]:
    """One resampling cluster per unit: its collection's paragraph (``clusters``: collection ->
    question -> paragraph, :func:`~xlir.experiments.run_study.read_question_clusters`), else the
    question itself, so that a question's mono and cross units always move together (they are one
    question's two scores, not two independent draws)."""
    table = clusters or {}
    return [f"{coll}\x1f" + (table.get(coll, {}).get(g) or f"question:{g}") for coll, _, g in units]


def compare_units(units: dict[Unit, tuple[float, float]], clusters: dict | None = None) -> list[dict]:
    """Per collection and ``all`` (collections weighing equally): mean of (b - a) over the units with
    its paired bootstrap CI and sign-flip randomization p, resampling whole clusters
    (:func:`unit_clusters`; the sign-flip test is exact for the weighted mean too: it is the plain
    mean of the scaled differences). ``all``'s interval and p resample within each collection
    (:func:`~xlir.evaluation.significance.stratified_bootstrap`): across them, the interval was up to
    1.6x too wide after pre-training, where the collections' effects differ most (study 2 at scale,
    fixed total, inside: [-0.0180, +0.0125] against [-0.0122, +0.0065]), and the sign-flip p, which
    also counts the collections' differences from each other as noise, disagreed with the interval.
    Where a collection has too few paragraphs for it, the unstratified interval and the exact sign-flip
    p stand (both err wide)."""
    keys = sorted(units)
    out = []
    for coll in ["all", *sorted({u[0] for u in keys})]:
        sel = [u for u in keys if coll in ("all", u[0])]
        if not sel:
            continue
        a = np.array([units[u][0] for u in sel])
        b = np.array([units[u][1] for u in sel])
        w = _equal_collection_weights(sel) if coll == "all" else np.ones(len(sel))
        labels = unit_clusters(sel, clusters)
        d, lo, hi, p = paired_difference(np.zeros(len(sel)), w * (b - a), clusters=labels, **PAIRED)
        if coll == "all":  # each collection resampled within itself (stratified_bootstrap says why)
            strat = stratified_bootstrap(b - a, [u[0] for u in sel], clusters=labels,
                                         n_resamples=PAIRED["n_bootstrap"], seed=PAIRED["seed"] + 1)
            if not math.isnan(strat.p):  # else a collection has too few paragraphs: the unstratified,
                lo, hi, p = strat        # wider interval and the exact sign-flip p stand

        out.append({"collection": coll, "n": len(sel), "k0": float((w * a).mean()),
                    "pt": float((w * b).mean()), "diff": d, "low": lo, "high": hi, "p": p})
    return out


def pretraining_effect(pq: dict, rows: list[dict], clusters: dict | None = None) -> list[dict]:
    """Does the pre-training stage help at all? Per arm, per collection and ``all``: paired
    per-question differences (:func:`effect_units`, :func:`compare_units`), Holm over every row."""
    out = [{"arm": arm, **e} for arm in ("inside", "heldout")
           for e in compare_units(effect_units(pq, rows, arm), clusters)]
    for e, ph in zip(out, holm([e["p"] for e in out]), strict=True):
        e["p_holm"] = ph
    return out


def design_cells(rows: list[dict], preset: dict) -> dict[str, set[str]]:
    """design -> ids of its cells, read from each cell's pre-training budget (``pretrain.budget``): a
    cell two designs share (k = 0; fixed per language at the k where it equals the fixed total)
    belongs to both. A preset without ``designs`` has one, fixed total."""
    designs = preset.get("designs") or ["fixed-total"]
    out: dict[str, set[str]] = {d: set() for d in designs}
    for r in rows:
        k, budget = int(r["k"]), r.get("pretrain.budget")
        for d in designs:
            if k == 0 or budget is None or int(budget) == design_budget(preset, d, k):
                out[d].add(r["cell_id"])
    return out


def main_rows(rows: list[dict], preset: dict) -> list[dict]:
    """Rows of the main design (the first: fixed total) after fine-tuning: the study's primary table."""
    ids = next(iter(design_cells(rows, preset).values()))
    return [r for r in in_stage(rows) if r["cell_id"] in ids]


def stage_trends(rows: list[dict], preset: dict) -> dict:
    """(design, stage, collection, arm) -> :func:`target_trends` of the mean over the collection's
    targets (``all`` = every collection), for each design and evaluation stage."""
    out = {}
    for design, ids in design_cells(rows, preset).items():
        for stage in stages_of(rows):
            sel = [r for r in in_stage(rows, stage) if r["cell_id"] in ids]
            for ((coll, target), arm), tr in target_trends(target_scores(sel)).items():
                if target == "all":
                    out[(design, stage, coll, arm)] = tr
    return out


def stage_effects(pq_by_stage: dict[str, dict], rows: list[dict], preset: dict,
                  clusters: dict | None = None) -> tuple[list[dict], dict]:
    """:func:`pretraining_effect` for each design and stage (Holm within each), tagged with both; and
    the units behind them, ``(design, stage, arm) -> effect_units``, for :func:`survival`."""
    out, units = [], {}
    for design, ids in design_cells(rows, preset).items():
        for stage in stages_of(rows):
            sel = [r for r in in_stage(rows, stage) if r["cell_id"] in ids]
            out += [{**e, "design": design, "stage": stage,
                     "seed": seed_level_effect(sel, e["arm"], e["collection"])}
                    for e in pretraining_effect(pq_by_stage.get(stage, {}), sel, clusters)]
            for arm in ("inside", "heldout"):
                units[(design, stage, arm)] = effect_units(pq_by_stage.get(stage, {}), sel, arm)
    return out, units


def survival(effects: list[dict], units: dict | None = None, alpha: float = 0.05,
             clusters: dict | None = None) -> list[dict]:
    """Per design, arm and collection: the pre-training effect after pre-training and after
    fine-tuning, the test of its change between them (per unit, effect after fine-tuning minus
    effect after pre-training, on the units both points have; Holm within each design), and a
    verdict built from the three."""
    by = {(e["design"], e["arm"], e["collection"], e["stage"]): e for e in effects}
    out = []
    for (design, arm, coll, stage), pt in by.items():
        ft = by.get((design, arm, coll, "finetuned"))
        if stage != "pretrained" or ft is None:
            continue
        change = None
        if units is not None:
            before = units.get((design, "pretrained", arm), {})
            after = units.get((design, "finetuned", arm), {})
            both = {u: (before[u][1] - before[u][0], after[u][1] - after[u][0]) for u in before if u in after
                    and coll in ("all", u[0])}
            change = (next((e for e in compare_units(both, clusters) if e["collection"] == coll), None)
                      if both else None)
            if change is not None:
                change["seed"] = _seed_change(pt.get("seed"), ft.get("seed"))
        out.append({"design": design, "arm": arm, "collection": coll, "pretrained": pt, "finetuned": ft,
                    "change": change})
    for design in {s["design"] for s in out}:
        fam = [s for s in out if s["design"] == design and s["change"] is not None]
        for s, ph in zip(fam, holm([s["change"]["p"] for s in fam]), strict=True):
            s["change"]["p_holm"] = ph
    for s in out:
        s["verdict"] = survival_verdict(s["pretrained"], s["finetuned"], s["change"], alpha)
    return out


def _seed_change(pt: dict | None, ft: dict | None) -> dict | None:
    """Per seed, the effect after fine-tuning minus the effect after pre-training (seeds both have)."""
    if not pt or not ft:
        return None
    before = dict(zip(pt["seeds"], pt["per_seed"], strict=True))
    after = dict(zip(ft["seeds"], ft["per_seed"], strict=True))
    seeds = sorted(set(before) & set(after))
    return {"seeds": seeds, "per_seed": [after[s] - before[s] for s in seeds]}


def _sign(e: dict | None, alpha: float) -> int | None:
    """1 / −1: Holm-significant per question and the same sign in every seed (at least two);
    2 / −2: significant per question only (one seed, or seeds that disagree: within training noise);
    0: not significant; None: not tested."""
    if e is None or "p_holm" not in e or math.isnan(e["p_holm"]):
        return None
    if e["p_holm"] >= alpha:
        return 0
    s = 1 if e["diff"] > 0 else -1
    seeds = (e.get("seed") or {}).get("per_seed") or []
    return s if len(seeds) >= 2 and all(x * s > 0 for x in seeds) else 2 * s


QUESTIONS_ONLY = " (per question only: not the same sign in two or more seeds)"


def survival_verdict(pt: dict, ft: dict, change: dict | None = None, alpha: float = 0.05) -> str:
    """What became of the pre-training effect between the two evaluations: the effect at each point
    (Holm ``p_holm``, and the sign in every seed: :func:`_sign`) and, where tested, whether it changed
    (``change``: its own Holm family)."""
    at = {1: "gain", -1: "loss", 0: "no detectable effect", 2: "gain" + QUESTIONS_ONLY,
          -2: "loss" + QUESTIONS_ONLY, None: "not testable (too few paragraphs for the resampling)"}
    text = f"{at[_sign(pt, alpha)]} after pre-training, {at[_sign(ft, alpha)]} after fine-tuning"
    moved = _sign(change, alpha)
    if moved is None:
        return text + " (change not tested)"
    return text + {1: ": fine-tuning raises the difference", -1: ": fine-tuning lowers the difference",
                   2: ": fine-tuning raises the difference" + QUESTIONS_ONLY,
                   -2: ": fine-tuning lowers the difference" + QUESTIONS_ONLY,
                   0: ": no detectable change between them"}[moved]


def changed_per_question(verdict: str) -> bool:
    """Whether a :func:`survival_verdict` reports a change seen per question but not across seeds."""
    return verdict.endswith(tuple(f"{how} the difference{QUESTIONS_ONLY}" for how in ("raises", "lowers")))


def changed(verdict: str) -> bool:
    """Whether a :func:`survival_verdict` reports a tested change between the evaluation points."""
    return verdict.endswith(("fine-tuning raises the difference", "fine-tuning lowers the difference"))
