"""The recipe search's report (issue 14) and ``docs/recipes.md``: what was tried on the dev slice, what
each factor led to, the WiSE-FT λ curve, the mono-vs-multi trade-off, and the final test figures.

Built only from the study's tables (``results.csv``, ``per_question.csv.gz``, each cell's
``result.json`` for training times) and, for the final section, the ``xlir eval`` run folders put in
``<study>/test/`` (the chosen recipe and the base model on XQuAD-R in full and minus the dev
questions). The paper's rows (arXiv 2408.10536, Table 1, XQuAD-R) are the only constants.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

from xlir.evaluation.significance import format_ci, format_p, p_equals
from xlir.evaluation.stats import mean_ci, seed_spread
from xlir.experiments.run_study import clusters_note, read_per_question, read_question_clusters
from xlir.experiments.studies.recipe import (
    ALPHA,
    FACTORS,
    KINDS,
    NONINFERIORITY_MARGIN,
    VARIANTS,
    apply_holm,
    cell_index,
    compose,
    factor_decision,
    merge_stage,
    noise_floor,
    paired_tests,
    seed_noise,
    verdict,
)
from xlir.reports.studies import REPORTS
from xlir.reports.studies.common import cost_note, preset_settings, seeds_text, with_interim

COLL = "xquad-r"
QUICK = ("quick", 1.0)
BASE = ("base", 0.0)
PAPER_XQUAD_R = (  # arXiv 2408.10536, Table 1 (XQuAD-R, hybrid batches): mono, cross, multi mAP
    ("paper: XLM-R, hybrid batches", 0.798, 0.705, 0.593),
    ("paper: LaBSE, hybrid batches", 0.817, 0.767, 0.682),
)
TEST_MODELS = (("e5-small", "base"), ("runs/quick", "quick"), ("runs/best-cpu", "best-cpu"))
"""The models the final section evaluates (``xlir eval --model M --output <study>/test/LABEL-{all,test}``):
the base model, ``quick`` as shipped (``xlir train --recipe quick``: its merge) and the chosen recipe."""
TARGET = "mono >= 0.800 (no loss against the base model), cross >= 0.72, multi >= 0.62, rank distance <= 250"


@REPORTS.register("recipe")
def recipe_report(study_dir: Path, meta: dict, rows: list[dict]) -> tuple[str, str]:
    rows = [r for r in rows if r["collection"] == COLL]
    index = cell_index(rows)
    weights = sorted({w for _, w in index})
    pq = {"finetuned": read_per_question(study_dir)}
    clusters = read_question_clusters(study_dir).get(COLL)
    for w in weights:
        if w not in (0.0, 1.0):
            pq[merge_stage(w)] = read_per_question(study_dir, merge_stage(w))
    vals: dict = defaultdict(list)  # (variant, λ, setting, metric) -> values over seeds
    info: dict = {}  # variant -> (factor, steps)
    for r in rows:
        if r["setting"] in KINDS:
            vals[(r["variant"], float(r["weight"]), r["setting"], r["metric"])].append(r["value"])
            info[r["variant"]] = (r["factor"], r.get("finetune.steps"))
    ci = {k: mean_ci(v) for k, v in vals.items()}
    variants = [v for v in info if v != "base"]
    figures = study_dir / "figures"

    planned = _planned(meta)
    from xlir.reports.plots import variant_colors

    # one colour per variant in every figure, in the preset's order: stable while the grid fills in
    colors = variant_colors(v for v in [*(preset_settings(meta).get("variants") or ()), *variants]
                            if v != "quick")
    noise_tests = seed_noise(pq, index, COLL, clusters=clusters)
    noise = noise_floor(pq, index, COLL)
    main = apply_holm(paired_tests(pq, index, [(QUICK, (v, 1.0)) for v in variants if v != "quick"]
                                   if QUICK in index else [], COLL, clusters), planned["main"])
    by_variant = defaultdict(list)
    for t in main:
        by_variant[t["cand"][0]].append(t)
    lam = apply_holm(paired_tests(pq, index, [(BASE, k) for k in sorted(index) if k != BASE], COLL, clusters),
                     planned["lambda"])

    lines = [
        f"# Recipe search on the XQuAD-R dev slice ({meta.get('preset')} preset)",
        "",
        "Which training choices lift the embedded model's multilingual retrieval without costing "
        "monolingual accuracy (issue 14)? Every variant starts from the `quick` recipe (hybrid batches "
        "alpha 0.5 on MLQA pairs, batch 32, lr 3e-5, temperature 0.05, frozen word embeddings, max "
        "length 96, 120 steps) and changes one factor; "
        + _merged_variants_text(meta) + " also interpolated with the base model (WiSE-FT, "
        "θ = (1 − λ)·θ_base + λ·θ_trained).",
        "",
        "**Where it is decided: the dev slice, not the test.** 120 of XQuAD-R's 1,190 questions, the same "
        "ids in all 11 languages: the question ids ranked by sha256(\"xlir-dev-v1:\" + id), first 120 "
        "(`xlir.data.dev_split`), against the full 13,014-sentence pool. The final figures are reported "
        "on XQuAD-R in full and on XQuAD-R minus these questions (last section). Zero-shot: no variant "
        "trains on XQuAD (the guard checks every cell).",
        "",
        f"Command: `{meta.get('command')}`",
        "",
        _preset_note(meta),
        "",
    ]
    comp = compose(by_variant, noise)
    lines += _decisions(by_variant, info, noise, [t for t in lam if t["cand"] == QUICK], meta, comp)
    lines += _composition(comp)
    lines += _seed_noise_line(noise_tests, noise)
    lines += _tried_table(ci, vals, info, *_train_facts(study_dir, rows))
    unit = clusters_note(clusters, {g for stage in pq.values() for cell in stage.values()
                                    for groups in cell.get(COLL, {}).values() for g in groups})
    lines += _tests_table(main, "Paired tests against the quick recipe (trained models, λ = 1)",
                          "variant − quick", planned["main"], unit)
    lines += _lambda_section(ci, vals, lam, index, figures, study_dir, planned["lambda"], colors)
    own = apply_holm(paired_tests(pq, index, [((v, 1.0), (v, w)) for v, w in sorted(index)
                                              if w not in (0.0, 1.0) and (v, 1.0) in index], COLL, clusters),
                     planned["own"])
    lines += _tests_table(own, "Each merge against its own trained model (λ = 1)",
                          "merged − trained (same variant, same seeds)", planned["own"], unit)
    lines += _quickstart_merge(own)
    lines += _tradeoff_section(ci, index, figures, study_dir, colors)
    lines += _test_section(study_dir, meta, clusters, noise)
    report = "\n".join(lines)
    answer = (report.replace("](figures/", f"]({study_dir.name}/figures/")
              .replace(f"# Recipe search on the XQuAD-R dev slice ({meta.get('preset')} preset)",
                       "# Training recipes for the embedded model: the evidence (generated)"))
    where = _study_path(meta, study_dir)
    answer = answer.replace("\n\nWhich training", f"\n\nGenerated by `xlir study report {where} --answer "
                            f"<this file>` from the tables in `{where}/` (figures there); do not edit "
                            "by hand.\n\nWhich training", 1)
    return report, answer + "\n"


def _merged_variants_text(meta: dict) -> str:
    """Which variants the preset interpolates with the base model, as the report's intro names them."""
    names = preset_settings(meta).get("merge_variants")
    if not names:
        return "the trained models are"
    return "the models of " + ", ".join(f"`{n}`" for n in names) + " are"


def _planned(meta: dict) -> dict[str, int]:
    """The size of each test table's Holm family when the preset's grid is complete (:func:`apply_holm`):
    ``main`` every planned variant but quick against quick, ``lambda`` every trained variant and every
    planned merge against the base model, ``own`` every merge against its own trained model; three
    kinds each. 0 (the finished tests alone) where the study does not record its preset."""
    p = preset_settings(meta)
    variants = list(p.get("variants") or ())
    merges = [v for v in p.get("merge_variants") or () if v in variants] if variants else []
    n_merges = len(merges) * len(p.get("merge_weights") or ())
    k = len(KINDS)
    return {"main": k * len([v for v in variants if v != "quick"]), "lambda": k * (len(variants) + n_merges),
            "own": k * n_merges}


def _train_facts(study_dir: Path, rows: list[dict]) -> tuple[dict[str, float], dict[str, int]]:
    """variant -> median training minutes over its cells, and variant -> training pairs (after the
    variant's filters; only where the cells' records have it), from each cell's training record."""
    variant_of = {r["cell_id"]: r["variant"] for r in rows}
    minutes: dict = defaultdict(list)
    pairs: dict = {}
    for res in study_dir.glob("cells/*/result.json"):
        if res.parent.name not in variant_of:
            continue
        train = json.loads(res.read_text(encoding="utf-8")).get("train") or {}
        variant = variant_of[res.parent.name]
        if train.get("wall_time_s"):
            minutes[variant].append(train["wall_time_s"] / 60)
        if (train.get("pairs") or {}).get("count"):
            pairs[variant] = int(train["pairs"]["count"])
    import statistics

    # the median: a cell that shared the machine with another job (--jobs 2) runs far longer than its twin
    return {v: statistics.median(x) for v, x in minutes.items()}, pairs


def _decisions(by_variant: dict, info: dict, noise: dict, base_tests: list[dict], meta: dict,
               comp: dict | None = None) -> list[str]:
    out = ["## What each factor led to (generated from the paired tests)", ""]
    base = (["", "The quick recipe against the untrained base model (the λ table's quick row): "
             f"{_base_line(base_tests)}."] if base_tests else [])
    if not by_variant:
        return out + ["No trained variant besides the quick recipe has finished yet.", *base, ""]
    floor = ("; ".join(f"{k} {noise[k]:.4f}" for k in KINDS if k in noise)
             or "none measured yet, so nothing is decisive")
    m = NONINFERIORITY_MARGIN
    out += [f"A difference is **decisive** when the paired test is Holm-significant (p < {ALPHA}, over the "
            "table's planned family), it ran on at least two seeds, every seed shows the same sign, and it "
            "is larger than the largest A/A difference between two seeds of any variant run twice "
            f"({floor}): the per-question test sees question noise "
            "only, the last three conditions guard against training noise. A variant is **better** when "
            "it is decisively above the quick recipe on mono, cross or multilingual mAP and on no kind "
            f"possibly more than {m:g} below it (the per-question CI's lower end), **worse** when decisively "
            "below and above on none, a **trade-off** when decisively above on one kind and below (or "
            f"possibly more than {m:g} below) on another, **pending** while it has not run or has one seed "
            "in common with quick, else **inconclusive** (dev slice; the unit is the question, its AP "
            "averaged over the seeds both sides ran, seed paired with seed). A factor is decided only when "
            "all its planned variants have run twice.", "",
            "| factor | variants: verdict against quick | decision |", "|---|---|---|"]
    factor_of = {v: f for f, v, _ in VARIANTS}
    planned = [v for v in (preset_settings(meta).get("variants") or info) if v not in ("base", "quick")]
    for factor in FACTORS:
        mine = [v for v in planned if factor_of.get(v, info.get(v, ("",))[0]) == factor]
        verdicts = {v: verdict(by_variant[v], noise) for v in mine if v in by_variant}
        if verdicts:
            listed = "; ".join(f"{v}: {verdicts.get(v, 'not run')}" for v in mine)
            decision = factor_decision(verdicts, mine, factor)
            taken = [g["variant"] for g in (comp or {}).get("picks", []) if g["factor"] == factor]
            if taken and not decision.startswith("adopt"):
                decision += f"; best-cpu's screen takes {taken[0]} (next section)"
            out.append(f"| {factor} | {listed} | {decision} |")
    return out + base + [""]


SCREEN_IGNORES = ("output", "checkpoint_every", "recipe", "merge_weight", "precision")
"""TrainConfig fields the composition check leaves out: where and how often to save, the recipe's own
name, the WiSE-FT merge (decided from the λ curve, not a one-factor variant) and the precision (auto
in both, per machine)."""


def _composition(comp: dict) -> list[str]:
    """What ``best-cpu`` takes from the search (:func:`~xlir.experiments.studies.recipe.compose`), and
    whether the packaged recipe file says the same: every setting it changes against ``quick`` is
    either the screen's or named as set without one."""
    from xlir.experiments.studies.recipe import quick_recipe
    from xlir.training.recipes import load_recipe

    m = NONINFERIORITY_MARGIN
    out = ["### What best-cpu takes from the search (a screen, to be confirmed on the test questions)", "",
           "Decisive differences are rare at this size: with about fifty planned tests Holm asks the first "
           "for p < 0.001. `best-cpu` is therefore composed by a **screen**: from each factor, the variant "
           "that is decisively better than quick or passes the decisive rule with its unadjusted p (two "
           "seeds agreeing in sign, above the A/A floor) on some kind, passes it downwards on none and "
           f"whose per-question CI reaches more than {m:g} below quick on no kind; the largest summed gain "
           "over the three kinds, taken greedily across factors while compatible. Choices made on the dev "
           "slice can flatter it, and this screen was written on 2026-12-08, after 10 of the 39 cells had "
           "run; so the recipe it leads to is tested once against quick, as both are shipped, on the test "
           "questions (last section), which depend on neither.",
           ""]
    if comp["picks"]:
        out += ["| factor | variant | screened on | summed gain over mono, cross, multi | setting |",
                "|---|---|---|---:|---|"]
        out += [f"| {g['factor']} | {g['variant']} | {'/'.join(g['kinds']) or 'decisive'} | "
                f"{g['gain']:+.4f} | {_settings_text(g['overrides'])} |" for g in comp["picks"]]
        out.append("")
    else:
        out += ["No variant passes the screen yet.", ""]
    out += [f"Left out: {g['variant']}, summed gain {g['gain']:+.4f} ({g['why']})." for g in comp["dropped"]]
    if comp["dropped"]:
        out.append("")
    if comp["pending"]:
        out += [f"Not screened yet (a planned variant without two seeds): {', '.join(comp['pending'])}; "
                "the composition can still change.", ""]
    recipe = load_recipe("best-cpu")
    packaged = {k: v for k, v in recipe.config().model_dump(mode="json").items() if k not in SCREEN_IGNORES}
    # against the search's baseline (quick as the search started), not today's quick.toml, which the
    # search's own decisions may change
    base = quick_recipe(packaged["model"]).model_dump(mode="json")
    changed = {k: v for k, v in packaged.items() if base.get(k) != v}
    want = {k: v for k, v in comp["settings"].items() if base.get(k) != v}
    unscreened = {k: v for k, v in changed.items() if k not in want}
    differs = {k: v for k, v in want.items() if packaged.get(k) != v}
    state = "provisional" if recipe.info.provisional else "final"
    line = (f"The packaged `best-cpu` ({state}) changes against the search's baseline: "
            f"{_settings_text(changed) or 'nothing'}. ")
    if not differs and not unscreened:
        line += "It is the screen's composition."
    else:
        if differs:
            line += (f"**It differs from the screen** on {_settings_text(differs, packaged)} (the screen: "
                     f"{_settings_text(differs)}). ")
        if unscreened:
            varied = {k: f for f, _, o in VARIANTS for k in o}
            left = {g["factor"]: g["variant"] for g in comp["dropped"]}
            why = {k: "not a factor of the search" if k not in varied
                   else f"{varied[k]}: not screened yet" if varied[k] in comp["pending"]
                   else f"{varied[k]}: {left[varied[k]]} passed but was left out" if varied[k] in left
                   else f"{varied[k]}: no variant passed the screen" for k in unscreened}
            line += "Set without a screened variant: " + "; ".join(
                f"{_settings_text({k: v})} ({why[k]})" for k, v in unscreened.items()) + "."
    return out + [line.rstrip(), ""]


def _settings_text(settings: dict, values: dict | None = None) -> str:
    """``key value`` pairs; with ``values``, each key's value there instead."""
    src = values if values is not None else settings
    return ", ".join(f"{k} {src.get(k)!r}" if isinstance(src.get(k), str) else f"{k} {src.get(k)}"
                     for k in settings)


def _seed_noise_line(tests: list[dict], floor: dict[str, float]) -> list[str]:
    """How far apart two seeds of the quick recipe are, and the largest such A/A difference over every
    variant run twice: the training noise the paired tests (which average over the seeds they have)
    do not see, and the floor a decisive difference must clear."""
    if not tests:
        return []
    s0, s1 = tests[0]["seeds"]
    parts = "; ".join(f"{t['kind']} {t['diff']:+.4f} {format_ci(t['low'], t['high'])}, "
                      f"{p_equals(t['p'], 'p')}" for t in tests)
    pooled = "; ".join(f"{k} {floor[k]:.4f}" for k in KINDS if k in floor)
    return [f"**Seed noise.** The quick recipe, seed {s1} − seed {s0} on the same questions: {parts} "
            "(unadjusted). Two seeds of one recipe differ by this much from training noise alone, which "
            "the per-question tests do not measure. The largest |seed − seed| over every variant run "
            f"twice (the decisive floor): {pooled}; variants that change the data stream (hard negatives, "
            "sources, alpha) share less between seeds than quick does.", ""]


def _base_line(tests: list[dict]) -> str:
    """How quick differs from the base model (tests of quick − base, from the λ table), and whether it
    keeps monolingual accuracy by the λ table's non-inferiority rule."""
    text = "; ".join(f"{t['kind']} {t['diff']:+.4f} {format_ci(t['low'], t['high'])}, "
                     f"{p_equals(t['p_holm'], 'Holm p')} (unadjusted {format_p(t['p'])})" for t in tests)
    mono = next((t for t in tests if t["kind"] == "mono"), None)
    if mono:
        m = NONINFERIORITY_MARGIN
        text += ("; keeps monolingual accuracy: " + (
            f"yes (Δ mono CI above −{m:g})" if mono["low"] > -m
            else "not shown (no interval: too few paragraphs)" if math.isnan(mono["low"])
            else f"not shown (Δ mono CI reaches below −{m:g})"))
    return text


def _tried_table(ci: dict, vals: dict, info: dict, minutes: dict, pairs: dict) -> list[str]:
    out = ["## What was tried (dev slice)", "",
           "mAP and rank distance (multilingual pool, lower = less language bias) over seeds: mean "
           "[95% t CI] from three seeds, mean (range) with two, the value with one; n = seeds; training "
           "minutes measured (median over seeds); pairs = the training pairs left after the variant's "
           "filters (hard negatives drop the pairs whose paragraph has too few other sentences), where the "
           "cell's record has it (– for cells trained before it was recorded).", "",
           "| variant | factor | steps | n | pairs | monolingual | cross-lingual | multilingual | "
           "rank distance | training min |", "|---|---|---:|---:|---:|---|---|---|---|---:|"]
    for variant, (factor, steps) in info.items():
        w = 0.0 if variant == "base" else 1.0
        if (variant, w, "mono", "AP") not in vals:
            continue
        cols = [seeds_text(vals.get((variant, w, k, m), []), d)
                for k, m, d in (("mono", "AP", 3), ("cross", "AP", 3), ("multi", "AP", 3),
                                ("multi", "rank_distance", 1))]
        n = len(vals[(variant, w, "mono", "AP")])
        st = "0" if variant == "base" else f"{steps:.0f}" if isinstance(steps, float) else str(steps)
        mins = f"{minutes[variant]:.1f}" if variant in minutes else "–"
        npairs = f"{pairs[variant]:,}" if variant in pairs else "–"
        out.append(f"| {variant} | {factor} | {st} | {n} | {npairs} | " + " | ".join(cols) + f" | {mins} |")
    return out + [""]


def _name(key: tuple) -> str:
    variant, w = key
    return variant if w in (0.0, 1.0) else f"{variant} @ λ {w:g}"


def _family_text(tests: list[dict], planned: int) -> str:
    if planned > len(tests):
        return (f"Holm-corrected over this table's planned family of {planned} tests ({len(tests)} "
                "finished; the rest count as p = 1 until they run, so no interim row passes that would "
                "fail at the end with the same p)")
    return "Holm-corrected over every row of this table"


def _tests_table(tests: list[dict], title: str, what: str, planned: int = 0,
                 unit: str = "questions as the resampling unit") -> list[str]:
    if not tests:
        return []
    base = any(BASE in (t["ref"], t["cand"]) for t in tests)
    out = [f"## {title}", "",
           f"Difference = {what}, per question (its AP averaged over the seeds both sides ran, seed "
           f"paired with seed{'; the base model stands for every seed' if base else ''}), 95% paired "
           f"bootstrap CI and two-sided randomization test with {unit}, "
           f"{_family_text(tests, planned)} (* p < 0.05); per "
           "seed = the difference within each seed.", "",
           "| compared | setting | questions × seeds | diff | 95% CI | per seed | p | p (Holm) |",
           "|---|---|---:|---:|---|---|---:|---:|"]
    for t in tests:
        per_seed = ", ".join(f"{x:+.4f}" for x in t.get("per_seed") or [])
        out.append(f"| {_name(t['cand'])} | {t['kind']} | {t['n']} × {t['seeds']} | {t['diff']:+.4f} | "
                   f"{format_ci(t['low'], t['high'])} | {per_seed} | {format_p(t['p'])} | "
                   f"{format_p(t['p_holm'])}{' *' if t['p_holm'] < ALPHA else ''} |")
    return out + [""]


def _lambda_section(ci: dict, vals: dict, lam: list[dict], index: dict, figures: Path,
                    study_dir: Path, planned: int = 0, colors: dict | None = None) -> list[str]:
    from xlir.reports.plots import plot_lambda_curve

    merged = sorted({v for v, w in index if w not in (0.0, 1.0)})
    if not merged:
        return []
    series: dict = {}
    for variant in ["quick", *[v for v in merged if v != "quick"]]:
        series[variant] = {kind: [(w, *seed_spread(vals[(variant if w else "base", w, kind, "AP")]))
                                  for w in sorted({w for v, w in index if v in (variant, "base")})
                                  if (variant if w else "base", w, kind, "AP") in vals]
                           for kind in ("mono", "multi")}
    png = plot_lambda_curve(series, "quick", "WiSE-FT: base (λ = 0) to trained (λ = 1), dev slice",
                            figures / "lambda-curve.png", colors=colors,
                            bars="bars: 95% t CI over 3+ seeds, the range of 2")
    margin = NONINFERIORITY_MARGIN
    out = ["## The λ curve (WiSE-FT interpolation with the base model)", "",
           f"![mono and multilingual mAP against λ]({png.relative_to(study_dir)})", "",
           "The cells with a λ curve were also evaluated at λ in {" + ", ".join(
               f"{w:g}" for w in sorted({w for _, w in index if w not in (0.0, 1.0)}))
           + "} (merged in memory from its own weights). Below, every (variant, λ) against the **base "
           f"model**, {_family_text(lam, planned)}; n = seeds. A point **keeps** monolingual accuracy "
           f"when the lower end of its Δ mono CI lies above −{margin:g} (non-inferiority at a margin of "
           f"{margin:g} mAP, about the A/A difference of two quick seeds): not significantly below is not "
           "the same as no loss.", ""]
    by = defaultdict(dict)
    for t in lam:
        by[t["cand"]][t["kind"]] = t
    out += ["| variant | λ | n | monolingual | multilingual | Δ mono vs base [95% CI], Holm p | "
            "Δ multi vs base [95% CI], Holm p |", "|---|---:|---:|---|---|---|---|"]
    keep = []
    for key in sorted(by, key=lambda k: (k[0] != "quick", k[0], k[1])):
        variant, w = key
        mono, multi = by[key].get("mono"), by[key].get("multi")
        n = len(vals.get((variant, w, "mono", "AP"), []))
        cells = [seeds_text(vals.get((variant, w, k, "AP"), []), 3) for k in ("mono", "multi")]
        cols = [f"{t['diff']:+.4f} {format_ci(t['low'], t['high'])}, {format_p(t['p_holm'])}"
                f"{' *' if t['p_holm'] < ALPHA else ''}" if t else "–" for t in (mono, multi)]
        out.append(f"| {variant} | {w:g} | {n} | {cells[0]} | {cells[1]} | {cols[0]} | {cols[1]} |")
        if (mono and multi and min(mono["seeds"], multi["seeds"]) >= 2 and multi["diff"] > 0
                and multi["p_holm"] < ALPHA and mono["low"] > -margin):
            keep.append((multi["diff"], key, mono))
    out.append("")
    widths = sorted(t["diff"] - t["low"] for t in lam if t["kind"] == "mono" and math.isfinite(t["low"]))
    if widths:
        out += [f"On this slice the lower half-width of a Δ mono CI is {widths[0]:.4f}–{widths[-1]:.4f} "
                f"(median {widths[len(widths) // 2]:.4f}): a point with no mono loss at all passes the "
                f"−{margin:g} bound only when its half-width is under {margin:g}, so the rule favours the "
                "points nearest the base model; one that fails is not shown to lose, and the shortlisted "
                "points are checked again on the test questions.", ""]
    if keep:
        d, (variant, w), mono = max(keep)
        out += [f"**Generated candidate**: the largest multilingual gain over the base model among the "
                f"points run with at least two seeds that keep monolingual accuracy (Δ mono CI above "
                f"−{margin:g}) is **{variant} at λ = {w:g}** (multi {d:+.4f}, mono {mono['diff']:+.4f} "
                f"{format_ci(mono['low'], mono['high'])} against the base model). It is a candidate, "
                "not the result: the figures that count are the test figures below.", ""]
    else:
        out += ["**Generated candidate**: none yet: no (variant, λ) run with at least two seeds gains "
                f"multilingual mAP over the base model while its Δ mono CI stays above −{margin:g}.", ""]
    return out


def _quickstart_merge(own: list[dict]) -> list[str]:
    """What the packaged ``quick`` recipe (the quickstart) merges at, and what that merge does to the
    quick-trained model in this search (the tests of :func:`recipe_report`'s merge table)."""
    from xlir.training.recipes import load_recipe

    w = load_recipe("quick").config().merge_weight
    if w is None or w >= 1.0:
        return ["The `quick` recipe (the quickstart) saves its trained weights unmerged.", ""]
    tests = {t["kind"]: t for t in own if t["cand"] == ("quick", w)}
    if not tests:
        return [f"The `quick` recipe (the quickstart) saves its merge at λ = {w:g}, a weight this search "
                "has not measured for quick.", ""]
    parts = [f"{k} {t['diff']:+.4f} {format_ci(t['low'], t['high'])}"
             f"{' (Holm p < 0.05)' if t['p_holm'] < ALPHA else ' (n.s.)'}"
             for k in KINDS if (t := tests.get(k))]
    m = NONINFERIORITY_MARGIN
    losses = [k for k in KINDS if (t := tests.get(k)) and t["p_holm"] < ALPHA and t["diff"] < 0]
    unsure = [k for k in KINDS if (t := tests.get(k)) and k not in losses and not t["low"] > -m]
    return [f"**The quickstart's merge.** The `quick` recipe (`make quickstart`) saves its WiSE-FT merge at "
            f"λ = {w:g}; against the quick-trained model itself, on the dev slice, that merge measured "
            f"{'; '.join(parts)}: "
            + (f"it costs {', '.join(losses)} significantly." if losses else
               f"not shown to be free: {', '.join(unsure)} may lose more than {m:g} (CI)." if unsure else
               f"no setting worse beyond {m:g} (every CI's lower end above −{m:g}), so on the dev slice the "
               "merge comes free at the quickstart's budget (measured on the questions the search decides "
               "on, not tested on held-out ones)."), ""]


def _tradeoff_section(ci: dict, index: dict, figures: Path, study_dir: Path,
                      colors: dict | None = None) -> list[str]:
    from xlir.reports.plots import plot_tradeoff

    points: dict = defaultdict(list)
    for variant, w in index:
        if variant == "base":
            continue
        m, u = ci.get((variant, w, "mono", "AP")), ci.get((variant, w, "multi", "AP"))
        if m and u:
            points[variant].append((w, u[0], m[0]))
    if not points:
        return []
    base = ci.get(("base", 0.0, "multi", "AP")), ci.get(("base", 0.0, "mono", "AP"))
    if all(base):  # every merge line ends at the base model (λ = 0); no line for unmerged variants
        for pts in points.values():
            if len(pts) > 1:
                pts.append((0.0, base[0][0], base[1][0]))
    png = plot_tradeoff(dict(points), (base[0][0], base[1][0]) if all(base) else None, "quick",
                        "monolingual vs multilingual mAP (dev slice; thin lines: WiSE-FT merges)",
                        figures / "mono-vs-multi.png", colors=colors)
    return ["## The mono-vs-multi trade-off", "",
            f"![monolingual against multilingual mAP of every variant]({png.relative_to(study_dir)})", "",
            "Each labelled point is a trained variant (mean over seeds); the thin line from it runs through "
            "its merges with the base model towards the base (red star). Up and to the right is better; "
            "points above the dashed line keep the base model's monolingual accuracy.", ""]


def _test_section(study_dir: Path, meta: dict, clusters: dict[str, str] | None = None,
                  noise: dict[str, float] | None = None) -> list[str]:
    out = ["## Final test figures (XQuAD-R, not the dev slice)", "",
           f"Issue 14's target for `best-cpu`: {TARGET}.", ""]
    runs = _test_runs(study_dir / "test")
    name = _study_path(meta, study_dir)
    if not runs:
        return out + [
            "**Not run yet.** When the search has chosen a recipe, evaluate it, `quick` and the base model "
            "on the full XQuAD-R and on XQuAD-R minus the dev questions, into this study's `test/` folder, "
            "then regenerate this report:", "",
            "```bash",
            *[f"xlir eval --model {m} --dataset xquad-r --questions {q} --precision auto --no-runs --gzip "
              f"--output {name}/test/{label}-{q}" for m, label in TEST_MODELS for q in ("all", "test")],
            f"xlir study report {name} --answer docs/recipes.md",
            "```", ""]
    unit = ("the questions of one paragraph resampled and sign-flipped together" if clusters
            else "each question resampled on its own (no paragraph table)")
    out += ["mAP (macro over language pairs, LAReQA) and rank distance; `test` = XQuAD-R minus the 120 dev "
            f"questions. Paired per question against the base model on the same questions, {unit} (Holm "
            "over the rows of that table); a run is compared only with a run of the same collection, "
            "languages, pool, questions and encoding.", "",
            "| questions | run | model | precision | queries | monolingual | cross-lingual | multilingual | "
            "rank distance |", "|---|---|---|---|---:|---:|---:|---:|---:|"]
    tests, confirm, refused = [], [], []
    for questions in sorted({r["questions"] for r in runs}):
        group = [r for r in runs if r["questions"] == questions]
        base = next((r for r in group if not r["train_sources"]), None)
        quick = next((r for r in group if r["train_sources"] and r["label"].startswith("quick-")), None)
        for r in sorted(group, key=lambda r: (bool(r["train_sources"]), r is not quick)):
            s = r["summary"]
            figures = [f"{s[k]:.3f}" if s.get(k) is not None else "–" for k in KINDS]
            figures.append(f"{s['rank_distance']:.1f}" if s.get("rank_distance") is not None else "–")
            out.append(f"| {questions} | {r['label']} | {_what(r)} | {_precision(r)} | {r['queries']} | "
                       + " | ".join(figures) + " |")
            # against quick only on the test questions: the dev ones are where the choices were made
            pairs = [(base, tests), (quick if questions == "test" and r["train_sources"] else None, confirm)]
            for ref, into in pairs:
                if ref is None or r is ref:
                    continue
                why = _not_comparable(ref, r)
                if why:
                    refused.append(f"{r['label']} against {ref['label']} ({why})")
                else:
                    into += _test_pairs(ref, r, questions, clusters)
    for label, m, c, mu in PAPER_XQUAD_R:
        out.append(f"| all (paper) | – | {label} | – | 1,190 × 11 | {m:.3f} | {c:.3f} | {mu:.3f} | – |")
    out.append("")
    if refused:
        out += ["**Not compared**: " + "; ".join(refused) + ".", ""]
    missing = [(m, label) for m, label in TEST_MODELS[1:]
               if not any(r["label"].startswith(f"{label}-") for r in runs)]
    if missing:
        out += [f"**Not evaluated yet**: {', '.join(f'`{label}`' for _, label in missing)}. Once trained "
                f"(`xlir train --recipe NAME`), run", "", "```bash",
                *[f"xlir eval --model {m} --dataset xquad-r --questions {q} --precision auto "
                  f"--no-runs --gzip --output {name}/test/{label}-{q}" for m, label in missing
                  for q in ("all", "test")],
                f"xlir study report {name} --answer docs/recipes.md", "```", ""]
    if tests:
        out += _paired_rows(tests, "run − base model")
    if confirm:
        out += _confirmation(confirm, noise or {})
    return out + [OVERLAP_NOTE, ""]


def _paired_rows(tests: list[dict], what: str) -> list[str]:
    """A paired table, Holm-corrected over its own rows (:func:`apply_holm` sets ``p_holm``)."""
    apply_holm(tests)
    return [f"| questions | {what} | setting | questions paired | diff | 95% CI | p (Holm) |",
            "|---|---|---|---:|---:|---|---:|",
            *[f"| {t['questions']} | {t['label']} − {t['ref']} | {t['kind']} | {t['n']} | "
              f"{t['diff']:+.4f} | {format_ci(t['low'], t['high'])} | {format_p(t['p_holm'])}"
              f"{' *' if t['p_holm'] < ALPHA else ''} |" for t in tests], ""]


def _confirmation(tests: list[dict], noise: dict[str, float]) -> list[str]:
    """The search's one confirmatory test: each recipe against ``quick``, as both are shipped, on the
    test questions (none of which any choice was made on), Holm over each recipe's three kinds, with the
    criterion fixed before the runs: **confirmed** when some kind is Holm-significant upwards by more
    than the dev slice's A/A floor (each recipe is one training run: the floor stands in for the
    training noise a per-question test does not see) and no kind's CI reaches more than the
    non-inferiority margin below quick."""
    m = NONINFERIORITY_MARGIN
    out = ["**Confirmation against quick** (the criterion, fixed before the runs: a kind Holm-significant "
           "upwards, over the recipe's three kinds, by more than the dev slice's largest A/A difference "
           f"between two seeds on that kind; no kind's CI reaching more than {m:g} below quick. Each recipe "
           "is one training run, so the A/A floor stands in for training noise; both are compared as "
           "shipped, i.e. with whatever WiSE-FT merge their recipe files set):", ""]
    rows: list[str] = []
    for label in dict.fromkeys(t["label"] for t in tests):
        mine = [t for t in tests if t["label"] == label]
        rows += _paired_rows(mine, "recipe − quick")[2:-1]  # Holm over this recipe's kinds
        up = [t["kind"] for t in mine if t["diff"] > noise.get(t["kind"], math.inf) and t["p_holm"] < ALPHA]
        loss = [t["kind"] for t in mine if not t["low"] >= -m]
        if loss:
            text = f"not confirmed: possibly more than {m:g} below quick on {'/'.join(loss)}"
        elif up:
            text = f"**confirmed**: better on {'/'.join(up)}"
        else:
            text = "not confirmed: no kind above quick by more than the A/A floor at Holm p < 0.05"
        out.append(f"- {label} − {mine[0]['ref']}: {text}.")
    header = "| questions | recipe − quick | setting | questions paired | diff | 95% CI | p (Holm) |"
    return out + ["", header, "|---|---|---|---:|---:|---|---:|", *rows, ""]


OVERLAP_NOTE = (
    "Zero-shot by source, and by content almost: no training text of any recipe equals an XQuAD-R "
    "sentence or question; sharing an 8-word run with an English XQuAD-R sentence are TyDi QA train's two "
    "'Oxygen' sentences (another revision of XQuAD's article: gold of 5 test questions) and, in MLQA, two "
    "'Prime number' ones (gold of 2 test questions), 7 of the 1,070 test questions at most.")


def _what(run: dict) -> str:
    """The model of a test run in words: its name and what it was trained on (the run's own record)."""
    model = run["result"].model or {}
    sources = run["train_sources"]
    return f"{model.get('name', '?')}" + (f", trained on {'+'.join(sources)}" if sources else ", untrained")


def _precision(run: dict) -> str:
    """The precision the run encoded in (``auto`` resolves per machine: the record says which)."""
    p = (run["result"].model or {}).get("precision") or {}
    return str(p.get("used") or run["result"].config.get("precision") or "–")


def _not_comparable(base: dict, run: dict) -> str | None:
    """Why a run's figures cannot be paired with the base run's (another collection, languages, pool or
    question set would make the difference a difference of tasks), or None."""
    a, b = base["result"].collection, run["result"].collection
    keys = ("name", "query_languages", "documents", "subset", "questions")
    diffs = [f"{key} {a.get(key)!r} vs {b.get(key)!r}" for key in keys if a.get(key) != b.get(key)]
    encoding = {"precision": _precision, "max length": lambda r: r["result"].config.get("max_length")}
    diffs += [f"{what} {get(base)!r} vs {get(run)!r}" for what, get in encoding.items()
              if get(base) != get(run)]
    return "; ".join(diffs)[:300] or None


def _study_path(meta: dict, study_dir: Path) -> str:
    """The study folder as its command named it (``docs/recipes-dev``), else its name."""
    import shlex

    try:
        words = shlex.split(str(meta.get("command") or ""))
        return words[words.index("--output") + 1]
    except (ValueError, IndexError):
        return study_dir.name


def _preset_note(meta: dict) -> str:
    """The preset and what the run cost (each cell's own wall time, summed)."""
    preset = meta.get("preset")
    p = preset_settings(meta)
    note = (f"Preset `{preset}`: model `{p.get('model')}`, seeds {p.get('seeds')}, precision "
            f"{p.get('precision', 'fp32')}, WiSE-FT weights {p.get('merge_weights')}")
    if p.get("limit") or p.get("pool"):
        note += (f"; evaluation cut further to the first {p.get('limit')} dev questions per language and a "
                 f"pool of gold + {p.get('pool')} per language")
    note += "."
    plan = meta.get("plan")
    if plan and plan.get("left_out"):
        note += " Left out by the time fit: " + "; ".join(g["group"] for g in plan["left_out"]) + "."
    return with_interim(note + cost_note(meta), meta)


def _test_runs(folder: Path) -> list[dict]:
    """The ``xlir eval`` run folders under ``<study>/test/``, with their summary and question set."""
    from xlir.evaluation import EvalResult, quick_summary

    out = []
    for res in sorted(folder.glob("*/results.json")) if folder.is_dir() else []:
        result = EvalResult.load(res.parent)
        part = (result.collection.get("questions") or {}).get("part", "all")
        out.append({"label": res.parent.name, "questions": part, "result": result,
                    "summary": quick_summary(result),
                    "train_sources": result.model.get("train_sources") or [],
                    "queries": result.collection.get("queries")})
    return out


def _per_question(result) -> dict[str, dict[str, float]]:
    """kind -> question -> AP averaged over the pairs the question appears in (as the study cells)."""
    acc: dict = defaultdict(lambda: defaultdict(list))
    for key, by_metric in result.per_query.items():
        kind = result.settings[key]["kind"]
        for qid, v in by_metric.get("AP", {}).items():
            acc[kind][qid.split("/", 1)[1] if "/" in qid else qid].append(v)
    return {k: {g: sum(v) / len(v) for g, v in gs.items()} for k, gs in acc.items()}


def _test_pairs(base: dict, run: dict, questions: str, clusters: dict[str, str] | None = None) -> list[dict]:
    """Per kind: ``run`` − ``base`` (the reference run: the base model or ``quick``), paired per question."""
    from xlir.experiments.run_study import Averaged, paired_test

    a, b = _per_question(base["result"]), _per_question(run["result"])
    out = []
    for kind in KINDS:
        ids = sorted(set(a.get(kind, {})) & set(b.get(kind, {})))
        if ids:
            d = paired_test(Averaged([a[kind][g] for g in ids], [b[kind][g] for g in ids], 1, ids), clusters)
            out.append({"questions": questions, "label": run["label"], "ref": base["label"], "kind": kind,
                        "n": len(ids),
                        "diff": d[0], "low": d[1], "high": d[2], "p": d[3]})
    return out
