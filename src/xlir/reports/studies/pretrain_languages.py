"""Study 2's report and generated answer: mAP against the number of pre-training languages k.

Built only from the study's files: its tables (``results.csv``, ``per_question.csv.gz``), ``study.json``
(preset, plan, interim count) and each cell's ``result.json`` (cell and machine time).
"""

from __future__ import annotations

import math
import shlex
from pathlib import Path

from xlir.evaluation.significance import format_ci, format_p, p_equals
from xlir.experiments.run_study import read_per_question, read_question_clusters
from xlir.experiments.studies.pretrain_analysis import (
    UNIT_KINDS,
    changed,
    changed_per_question,
    comparable_rows,
    design_cells,
    main_rows,
    pretraining_effect,
    reference_ci,
    seed_level_effect,
    stage_effects,
    stage_trends,
    stages_of,
    survival,
    target_scores,
    target_trends,
)
from xlir.reports.studies import REPORTS
from xlir.reports.studies.common import (
    interim_note,
    preset_note,
    preset_settings,
    sliced_pools,
    spread_text,
)

EPS = 1e-6  # slopes closer to 0 than this are float noise (a metric that did not move at all)


def _direction(tr: dict) -> int | str | None:
    """+1 rising, -1 falling, 0 no detectable trend, None or "one-seed" not testable."""
    if tr["levels"] < 3 or math.isnan(tr["slope"]):
        return None
    if tr.get("min_per_level", 2) < 2:  # one seed at some k: the bootstrap CI is degenerate
        return "one-seed"
    if tr["slope_low"] > EPS:
        return 1
    if tr["slope_high"] < -EPS:
        return -1
    return 0

def _verdict(tr: dict) -> str:
    return {
        None: "not testable (fewer than 3 k levels)",
        "one-seed": "not testable (a single seed at some k, so no CI)",
        1: "rises with k (95% CI of the slope above 0)",
        -1: "falls with k (95% CI of the slope below 0)",
        0: "no detectable trend (95% CI of the slope includes 0)",
    }[_direction(tr)]

@REPORTS.register("pretrain-languages")
def pretrain_report(study_dir: Path, meta: dict, rows: list[dict]) -> tuple[str, str]:
    from xlir.reports.plots import plot_vs_k

    preset = preset_settings(meta)
    rows, dropped = comparable_rows(rows)  # every cell's endpoint averages the same rows
    all_rows, rows = rows, main_rows(rows, preset)  # the primary tables: main design, after fine-tuning
    scores = target_scores(rows)
    figures = study_dir / "figures"
    lines = [
        f"# Study 2: pre-training languages and low-resource pairs ({meta.get('preset')} preset)",
        "",
        f"Command: `{meta.get('command')}`",
        "",
        preset_note(meta),
        "",
        "Metric: mAP over the settings involving each target language (XQuAD-R: mono and cross pairs "
        "with the target on either side; AfriQA, FLORES-200 test, Tatoeba: target -> English). "
        "`all/all` averages every target row of a cell once (the primary endpoint). Trend: OLS slope of "
        "the metric on log2 k over k >= 1 (mAP per doubling of k) with its 95% t interval (every cell a "
        "point, N - 2 degrees of freedom; no CI while some k has a single seed), and Spearman's rho. "
        "The k columns give the mean over seeds with its 95% t interval [low, high] from three seeds, the "
        "seeds' range (low–high) with two. "
        "k = 0 is no pre-training (shared by both arms). Arm `inside` adds the targets first: at k = 1 "
        "one of the 15 targets is in the pre-training set, at k = 4 four, from k = 16 all of them.",
        "",
        _coverage(scores),
        "",
        *([f"Left out of every cell's endpoint because some cells lack them: {'; '.join(dropped)}.", ""]
          if dropped else []),
    ]
    header = [
        "| target | arm | k=0 | smallest k | largest k | slope / doubling [95% CI] | "
        "Spearman rho (p) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    trends = target_trends(scores)
    keys = sorted(scores, key=lambda x: (x[0] != "all", x[0], x[1] != "all", x[1]))
    current = None
    pending_png = None
    per_target: list[tuple[str, Path]] = []

    def flush_figures() -> None:
        """The collection's figure under its table, then a link to every per-target figure."""
        if pending_png is not None:
            lines.extend(["", f"![mAP against k]({pending_png.relative_to(study_dir)})"])
        if per_target:
            links = " · ".join(f"[{t}]({png.relative_to(study_dir)})" for t, png in per_target)
            lines.extend(["", f"Per-target figures: {links}"])
        per_target.clear()

    for key in keys:
        if key[0] != current:
            flush_figures()
            pending_png = None
            current = key[0]
            title = "all collections (primary endpoint)" if current == "all" else current
            lines += ["", f"## {title}", ""] + header
        ref = reference_ci(scores[key])
        series = {}
        for arm in ("inside", "heldout"):
            if (key, arm) not in trends:
                continue
            tr = trends[(key, arm)]
            series[arm] = tr["series"]
            rho = "–" if math.isnan(tr["rho"]) else f"{tr['rho']:+.2f} ({format_p(tr['rho_p'])})"
            slope = _slope_text(tr)
            lines.append(
                f"| {key[1]} | {arm} | {_ref_cell(tr)} | {_k_cell(tr, 0)} | {_k_cell(tr, -1)} | {slope} | "
                f"{rho} | {_verdict(tr)} |"
            )
        if series:
            seeds = [n for arm in series for n in trends[(key, arm)].get("series_n", [])]
            ref_n = trends[(key, next(iter(series)))].get("ref_n", 3)
            png = plot_vs_k(
                series,
                ref,
                _plot_title(key),
                "mAP",
                figures / f"k-{key[0].replace(':', '_')}-{key[1]}.png",
                ref_band="range of 2 seeds" if ref_n == 2 else "95% CI",
                bars="95% CI, range where 2 seeds" if 2 in seeds and max(seeds) > 2
                else "range of 2 seeds" if 2 in seeds else "",
            )
            if key[1] == "all":
                pending_png = png
            else:
                per_target.append((key[1], png))
    flush_figures()
    clusters = read_question_clusters(study_dir)
    pq = read_per_question(study_dir)
    effect = pretraining_effect(pq, rows, clusters)
    if effect:
        lines += [
            "",
            "## Pre-training at all, against none (paired)",
            "",
            "Per question: AP after pre-training minus AP of the k = 0 cell of the same seed (same "
            "fine-tuning seed), averaged over the seeds of each k and then over the arm's k >= 1 levels "
            "(each k weighs the same); units are (collection, setting kind, question) for the questions "
            "every cell has, one per question whatever the seeds: XQuAD-R's mono and cross units average "
            "a question over all its language pairs (targets or not), AfriQA's pool one question index "
            "over its languages, Tatoeba's are one sentence of one language. 95% paired bootstrap CI and "
            "two-sided randomization test, resampling clusters: a question's mono and cross units move "
            "together, and so do the questions of one paragraph (" + _paragraph_text(clusters, pq) + "). "
            "Holm-corrected over the rows. `all`: each collection weighs "
            "the same, and is resampled within itself, its p read off the same resamples (a collection "
            "with under 10 paragraphs: across collections, with the sign-flip p). These tests are "
            "conditional on the runs made: training noise between seeds is outside them (the seed-level "
            "test below has it).",
            "",
            "| arm | collection | units | mean AP, k = 0 | mean AP, pre-trained | diff | 95% CI | p (Holm) |",
            "|---|---|---:|---:|---:|---:|---|---:|",
        ]
        for e in effect:
            lines.append(
                f"| {e['arm']} | {e['collection']} | {e['n']} | {e['k0']:.3f} | {e['pt']:.3f} | "
                f"{e['diff']:+.4f} | {format_ci(e['low'], e['high'])} | {format_p(e['p_holm'])}"
                f"{' *' if e['p_holm'] < 0.05 else ''} |"
            )
    seed_level = [e for arm in ("inside", "heldout") if (e := seed_level_effect(rows, arm)) is not None]
    if seed_level:
        lines += [
            "",
            "### Pre-training at all, per seed (primary endpoint, training noise included)",
            "",
            "For each seed with k = 0 and every k of the arm: the primary endpoint's mean over those k "
            "minus its k = 0 value; mean over the seeds, 95% t CI and one-sample t-test (df = seeds - 1).",
            "",
            "| arm | seeds | k | diff | 95% CI | p |",
            "|---|---|---|---:|---|---:|",
        ]
        for e in seed_level:
            seeds, ks = ", ".join(map(str, e["seeds"])), ", ".join(map(str, e["ks"]))
            lines.append(f"| {e['arm']} | {seeds} | {ks} | {e['diff']:+.4f} | {_maybe_ci(e)} | "
                         f"{format_p(e['p'])} |")
    two = _two_points(study_dir, all_rows, preset)
    lines += two["report"]
    answer = _answer(meta, trends, rows, effect, seed_level) + two["answer"]
    return "\n".join(lines), answer


DESIGN_TEXT = {"fixed-total": "fixed total (the budget spread over the k languages)",
               "per-language": "fixed per language (the total grows with k)"}


def _maybe_ci(e: dict) -> str:
    return "– (one seed)" if math.isnan(e["low"]) else f"[{e['low']:+.4f}, {e['high']:+.4f}]"


def _ci_text(e: dict) -> str:
    return (f"{e['diff']:+.4f} {format_ci(e['low'], e['high'])}, {p_equals(e['p_holm'], 'Holm p')}"
            f"{' *' if e['p_holm'] < 0.05 else ''}")


def _ci_only(tr: dict) -> str:
    if math.isnan(tr["slope_low"]):
        return "no CI (one seed at some k)"
    return f"95% CI [{tr['slope_low']:+.4f}, {tr['slope_high']:+.4f}]"


def _slope_text(tr: dict) -> str:
    """The slope with its CI, or the slope alone marked as having none (one seed at some k)."""
    if math.isnan(tr["slope"]):
        return "–"
    if math.isnan(tr["slope_low"]):
        return f"{tr['slope']:+.4f} (no CI: one seed at some k)"
    return f"{tr['slope']:+.4f} [{tr['slope_low']:+.4f}, {tr['slope_high']:+.4f}]"


def _two_points(study_dir: Path, rows: list[dict], preset: dict) -> dict:
    """Report and answer sections for a table with two evaluation points (after pre-training, after
    fine-tuning) or two designs; nothing for a table with one of each (the committed cpu run)."""
    stages = stages_of(rows)
    designs = list(design_cells(rows, preset))
    if len(stages) < 2 and len(designs) < 2:
        return {"report": [], "answer": ""}
    trends = stage_trends(rows, preset)
    clusters = read_question_clusters(study_dir)
    effects, units = stage_effects({s: read_per_question(study_dir, s) for s in stages}, rows, preset,
                                   clusters)
    kept = survival(effects, units, clusters=clusters)
    rep = [
        "",
        "## Both evaluation points and both designs",
        "",
        "Every cell is evaluated right after pre-training (`pretrained`; k = 0 is the base model) and "
        "after the identical fine-tuning (`finetuned`). Designs: " + "; ".join(
            f"`{d}`: {DESIGN_TEXT.get(d, d)}" for d in designs) + ". Trend of the mean mAP over each "
        "collection's targets against log2 k, as above.",
        "",
        "| design | arm | stage | collection | k=0 | smallest k | largest k | slope / doubling [95% CI] | "
        "verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (design, stage, coll, arm), tr in sorted(trends.items(), key=lambda x: (
            designs.index(x[0][0]), x[0][3] != "inside", x[0][2] != "all", x[0][2], stages.index(x[0][1]))):
        rep.append(f"| {design} | {arm} | {stage} | {coll} | {_ref_cell(tr)} | {_k_cell(tr, 0)} | "
                   f"{_k_cell(tr, -1)} | {_slope_text(tr)} | {_verdict(tr)} |")
    if kept:
        rep += [
            "",
            "### Does a pre-training gain survive fine-tuning?",
            "",
            "Per question (units and weights as in the paired table above), paired with the k = 0 cells "
            "of the same seeds at the same evaluation point: AP of the pre-trained cells minus AP without "
            "pre-training; 95% paired bootstrap CI (unadjusted), Holm-corrected p within each design and "
            "evaluation point. `change`: the same units' effect after fine-tuning minus their effect "
            "after pre-training, tested as a paired difference (Holm within each design): a gain "
            "significant at one point and not at the other is not a change unless this test says so.",
            "",
            "| design | arm | collection | after pre-training | after fine-tuning | change | verdict |",
            "|---|---|---|---|---|---|---|",
        ]
        for s in kept:
            rep.append(f"| {s['design']} | {s['arm']} | {s['collection']} | {_ci_text(s['pretrained'])} | "
                       f"{_ci_text(s['finetuned'])} | {_ci_text(s['change']) if s['change'] else '–'} | "
                       f"{s['verdict']} |")
    ans = ["", "## Both evaluation points and both designs", ""]
    for design in designs:
        for arm in ("inside", "heldout"):
            parts = []
            for stage in stages:
                tr = trends.get((design, stage, "all", arm))
                if tr is not None:
                    parts.append(f"{stage}: slope {_slope_text(tr)} per doubling of k, {_verdict(tr)}")
            if parts:
                ans.append(f"- **{DESIGN_TEXT.get(design, design)}, targets {arm}** (mean mAP over all "
                           f"target rows): " + "; ".join(parts) + ".")
    ans.append("")
    for s in kept:
        if s["collection"] != "all":
            continue
        ans.append(f"- Pre-training at all ({s['design']}, targets {s['arm']}, any k, against k = 0): after "
                   f"pre-training {_ci_text(s['pretrained'])}; after fine-tuning {_ci_text(s['finetuned'])}: "
                   f"{s['verdict']}.")
    moved = [f"{s['collection']} ({s['design']}, {s['arm']}): {s['verdict']}" for s in kept
             if s["collection"] != "all" and changed(s["verdict"])]
    weak = [f"{s['collection']} ({s['design']}, {s['arm']})" for s in kept
            if s["collection"] != "all" and changed_per_question(s["verdict"])]
    ans += ["", "What changes between the two evaluation points, per collection (a tested change of the "
            "effect, Holm within each design, the same sign in two or more seeds): "
            + ("; ".join(moved) if moved else "no change shown across seeds")
            + (f". Seen per question only (one seed, or seeds that disagree): {', '.join(weak)}"
               if weak else "")
            + ".", "",
            "Multiple testing: each table's Holm family is named with it (designs and evaluation points "
            "are separate families); statements that combine families, and the trend verdicts, are "
            "not corrected across them.", ""]
    return {"report": rep, "answer": "\n".join(ans)}

def _coverage(scores: dict) -> str:
    """Which targets each collection could evaluate: a target without rows there (AfriQA's snapshot has
    no gold passages for some languages, Tatoeba lacks others) is covered only by the other collections."""
    targets = sorted({t for c, t in scores if t != "all" and c != "all"})
    parts = []
    for coll in sorted({c for c, _ in scores if c != "all"}):
        have = {t for c, t in scores if c == coll and t != "all"}
        missing = [t for t in targets if t not in have]
        parts.append(f"{coll} {len(have)} of {len(targets)}" + (f" (no rows for {', '.join(missing)})"
                                                                 if missing else ""))
    return f"Targets evaluated per collection: {'; '.join(parts)}."

def _plot_title(key: tuple[str, str]) -> str:
    coll, target = key
    coll = "all collections" if coll == "all" else coll
    return f"{coll}: {'mean over all targets' if target == 'all' else 'target ' + target}"


def _answer(meta: dict, trends: dict, rows: list[dict], effect: list[dict] | None = None,
            seed_level: list[dict] | None = None) -> str:
    """The written answer: what the data support and what they do not, generated from the trends."""
    seeds = sorted({int(r["seed"]) for r in rows})
    ks = sorted({int(r["k"]) for r in rows})
    skipped = meta.get("skipped_collections") or []
    out = [
        "# Does pre-training on more languages help low-resource pairs? (generated answer)",
        "",
        f"Generated by `xlir study report` from the result table of `{meta.get('command')}` "
        f"({meta.get('preset')} preset; k in {ks}; seeds {seeds}). Every figure below is computed from "
        "that table; rerun the report command to regenerate this file.",
        *([interim, ""] if (interim := interim_note(meta)) else [""]),
        "## Question",
        "",
        "Does increasing the number of languages k in a multilingual pre-training stage (translation "
        "ranking on language-English bitext) improve the zero-shot cross-lingual retrieval of "
        "hybrid-batch fine-tuning for low-resource language pairs? The sections below read the main "
        "design, a fixed total pair budget spread over the k languages; the last section adds the "
        "second design where it ran.",
        "",
        "## What the data say",
        "",
    ]
    primary = [(arm, trends.get((("all", "all"), arm))) for arm in ("inside", "heldout")]
    holm_p = _holm_over_arms(primary)
    for arm, tr in primary:
        if tr is None:
            continue
        first, last = tr["series"][0], tr["series"][-1]
        ref = tr["ref"]
        ref_txt = f"; without pre-training (k = 0) {ref[0]:.3f}" if ref else ""
        where = ("added first to the pre-training set** (1 of the 15 inside at k = 1, 4 at k = 4, all "
                 "from k = 16; " if arm == "inside" else "held out of the pre-training set** (")
        rho = "–" if math.isnan(tr["rho"]) else f"{tr['rho']:+.2f} ({p_equals(tr['rho_p'])})"
        out.append(
            f"- **Targets {where}primary endpoint, mean mAP over all target "
            f"rows): {first[1]:.3f} at k = {first[0]}, {last[1]:.3f} at k = {last[0]}{ref_txt}. "
            f"Slope per doubling of k {_slope_text(tr)}; Spearman rho {rho}. Verdict: {_verdict(tr)}."
        )
        if arm in holm_p:
            out.append("  " + _size_text(tr, holm_p[arm]))
        if ref:
            out.append("  " + _against_no_pretraining(tr["series"], ref, tr.get("series_n"),
                                                      tr.get("ref_n", 3)))
    out.append("")
    rising = sorted(
        f"{k[0]}/{k[1]} ({arm})"
        for (k, arm), tr in trends.items()
        if k[0] != "all" and k[1] != "all" and _direction(tr) == 1
    )
    falling = sorted(
        f"{k[0]}/{k[1]} ({arm})"
        for (k, arm), tr in trends.items()
        if k[0] != "all" and k[1] != "all" and _direction(tr) == -1
    )
    n_tests = sum(1 for (k, _), tr in trends.items() if k[0] != "all" and k[1] != "all"
                  and _direction(tr) in (1, -1, 0))
    out += [
        (f"Per target and collection ({n_tests} trend tests, uncorrected 95% CIs, so about "
         f"{0.05 * n_tests:.0f} could exclude 0 by chance alone): "
         f"rising with k: {', '.join(rising) or 'none'}; falling with k: {', '.join(falling) or 'none'}."
         if n_tests else "Per target and collection: no trend is testable yet (every one needs 3 k levels "
         "with at least 2 seeds each)."),
        "",
        "## What the data support",
        "",
    ]
    tr_in = dict(primary).get("inside")
    tr_out = dict(primary).get("heldout")

    per_seed = {e["arm"]: e for e in seed_level or []}

    def says(tr, arm):
        d = _direction(tr) if tr else None
        if tr is None:
            return "was not run"
        if d in (1, -1):
            first, last, _, size = _trend_size(tr)
            return (("rises" if d == 1 else "falls") + f" with k by {size:+.4f} mAP from k = {first} to "
                    f"k = {last}: the data {'support a benefit' if d == 1 else 'contradict a benefit'} of "
                    "more pre-training languages here"
                    + (f" (pre-training at all, per seed: {e['diff']:+.4f})"
                       if (e := per_seed.get(arm)) is not None and not math.isnan(e["diff"]) else ""))
        return {
            None: "cannot be tested for a trend (fewer than 3 k levels)",
            "one-seed": "cannot be tested for a trend (a single seed at some k)",
            0: "shows no trend we can detect: the data do not support a benefit of more "
            "pre-training languages here (nor rule out one smaller than the CI)",
        }[d]

    entering = (" (up to k = 16 more k also means more of the targets inside the set, so this is not "
                "breadth alone)" if _direction(tr_in) == 1 else "") if tr_in else ""
    out += [
        "- With the targets added first to the pre-training set, the low-resource score "
        f"{says(tr_in, 'inside')}{entering}.",
        f"- With the targets held out (breadth alone), the low-resource score {says(tr_out, 'heldout')}.",
    ]
    for e in effect or []:
        if e["collection"] != "all":
            continue
        out.append(f"- Pre-training at all (targets {e['arm']}, any k, against k = 0 of the same seed): "
                   + _at_all(e, per_seed.get(e["arm"])) + ".")
    pools = ", sliced evaluation pools" if sliced_pools(meta) else ""
    out += [
        "",
        "## What they do not support",
        "",
        f"- Any claim beyond this scale: one base model, {_objective_text(meta)}, the preset's "
        f"pre-training budget and fine-tuning steps{pools} (see the report's preset note). Under the "
        "main design more languages also means fewer pairs per language; the fixed-per-language "
        "design, where it ran, separates the two, but it shares its largest-k cell (where both budgets "
        "are equal) with the main design, so it is not an independent replication there.",
        "- MLDR (the original question's collection): "
        + (
            "not evaluated, its files are not in the data directory."
            if "mldr" in skipped
            else "see the report's MLDR rows."
        ),
        "- Per-question precision on AfriQA: its query ids are numbers within each language, and the "
        "per-question tables key a unit by the id after the language, so an AfriQA unit pools the "
        "queries of its languages that share an id number (the same queries in every cell, so pairing "
        "holds, but the weighting is not the table's and the intervals treat pooled queries as one); "
        "the XQuAD-R, FLORES and Tatoeba units are single questions or sentences, XQuAD-R's resampled "
        "by paragraph.",
        "- Causal attribution to specific languages: sets are drawn by a seeded rule, and seeds vary "
        "which languages enter, so the trend averages over language choices.",
        "- A pure breadth effect from the held-out arm: it never holds a target, but at large k it holds "
        "close relatives of some (e.g. Awadhi, Magahi, Maithili beside Hindi; Xhosa, Swati beside Zulu; "
        "Akan beside Twi), so part of what it measures is transfer from neighbours.",
        "- Effects through the target languages' word embeddings: they stay frozen in both stages, so "
        "pre-training can only move the transformer layers. And the fine-tuning data (MLQA) already hold "
        "two of the XQuAD-R targets (hi, vi) for every cell, k = 0 included.",
        *(["- Anything at all: the smoke preset is a tiny random model; it only checks that the "
           "pipeline runs."] if meta.get("preset") == "smoke" else []),
        "",
    ]
    return "\n".join(out)


def _holm_over_arms(primary: list[tuple[str, dict | None]]) -> dict[str, float]:
    """The primary endpoint's slope p of each arm, Holm-corrected over the arms that have one: the
    question is asked of both arms, so a trend in either is one of two chances."""
    from xlir.evaluation.significance import holm

    arms = [(arm, tr["slope_p"]) for arm, tr in primary
            if tr is not None and not math.isnan(tr.get("slope_p", math.nan))]
    if not arms:
        return {}
    return dict(zip([a for a, _ in arms], map(float, holm([p for _, p in arms])), strict=True))


def _trend_size(tr: dict) -> tuple[int, int, float, float]:
    """(smallest k, largest k, doublings between them, the fitted slope times those doublings)."""
    first, last = tr["series"][0][0], tr["series"][-1][0]
    doublings = math.log2(last) - math.log2(first)
    return first, last, doublings, tr["slope"] * doublings


def _size_text(tr: dict, p_holm: float) -> str:
    """How much the fitted trend amounts to over the k range, with the slope's p before and after the
    correction over the two arms (the CI above is uncorrected)."""
    first, last, doublings, size = _trend_size(tr)
    return (f"Size: {size:+.4f} mAP from k = {first} to k = {last} ({doublings:g} "
            f"doublings at the fitted slope); slope {p_equals(tr['slope_p'])}, "
            f"{p_equals(p_holm, 'Holm p')} over the two arms.")


def _at_all(e: dict, seed: dict | None) -> str:
    """The 'pre-training at all' sentence: the per-question test (conditional on the runs made) and,
    where two or more seeds allow, the seed-level test on the primary endpoint; the verdict needs both."""
    q = (f"per question {e['diff']:+.4f} {format_ci(e['low'], e['high'])}, "
         f"{p_equals(e['p_holm'], 'Holm p')} over {e['n']} units (mean AP {e['pt']:.3f} vs {e['k0']:.3f})")
    if seed is None or math.isnan(seed["p"]):
        s = "per seed: not testable (fewer than 2 seeds with k = 0 and every k)"
        seed_sign = None
    else:
        s = (f"per seed on the primary endpoint {seed['diff']:+.4f} {_maybe_ci(seed)}, "
             f"{p_equals(seed['p'])} over seeds {', '.join(map(str, seed['seeds']))}")
        seed_sign = 0 if not seed["p"] < 0.05 else (1 if seed["diff"] > 0 else -1)
    q_sign = 0 if not e["p_holm"] < 0.05 else (1 if e["diff"] > 0 else -1)  # NaN (not tested): 0
    if math.isnan(e["p_holm"]):
        verdict = "not testable per question (too few paragraphs for the resampling)"
    elif q_sign == 0:
        verdict = "no difference detectable from no pre-training"
    elif seed_sign == q_sign:
        verdict = ("higher than without pre-training: the stage itself helps" if q_sign > 0 else
                   "lower than without pre-training: at this budget the stage itself costs accuracy")
    else:
        verdict = (f"{'higher' if q_sign > 0 else 'lower'} than without pre-training on these runs' "
                   "questions, but not shown beyond the training noise between seeds")
    return f"{verdict} ({q}; {s})"


def _objective_text(meta: dict) -> str:
    """The pre-training objective as run, with the settings that shape it (the answer holds for this
    objective only: translation ranking's additive margin, for one, reshapes the embedding space)."""
    preset = (meta.get("presets") or {}).get(meta.get("preset"), {})
    objective = preset.get("objective", "translation-ranking")
    command = shlex.split(meta.get("command") or "")
    if "--objective" in command[:-1]:  # the command line overrides the preset's
        objective = command[command.index("--objective") + 1]
    if objective != "translation-ranking":
        return f"one pre-training objective ({objective})"
    from xlir.training.objectives.translation_ranking import TranslationRanking

    o = TranslationRanking.Options()
    both = "both directions" if o.bidirectional else "one direction"
    return (f"one pre-training objective (translation ranking: in-batch softmax with LaBSE's additive "
            f"margin {o.margin:g} at temperature {o.temperature:g}, {both})")


def _ref_cell(tr: dict) -> str:
    """The k = 0 column of a trend row (:func:`target_trends`)."""
    return spread_text(*tr["ref"], tr.get("ref_n", 3)) if tr["ref"] else "–"


def _k_cell(tr: dict, i: int) -> str:
    """The ``i``-th k of a trend row's series, labelled with its k."""
    k, *point = tr["series"][i]
    return f"k={k}: {spread_text(*point, tr.get('series_n', [3] * len(tr['series']))[i])}"


def _vs_reference(series: list[tuple], ref: tuple[float, float, float], ns: list[int] | None = None,
                  ref_n: int = 3):
    """(k levels whose seed CI lies entirely above the k = 0 CI, ... entirely below); None, None unless
    every point and the reference have at least three seeds (one seed is a point, which would make any
    difference look certain; two are a range, not a confidence interval)."""
    if ref[1] == ref[2] or any(lo == hi for _, _, lo, hi in series):
        return None, None
    if ref_n < 3 or any(n < 3 for n in (ns or [])):
        return None, None
    return [k for k, _, lo, _ in series if lo > ref[2]], [k for k, _, _, hi in series if hi < ref[1]]


def _against_no_pretraining(series: list[tuple], ref: tuple[float, float, float], ns: list[int] | None = None,
                            ref_n: int = 3) -> str:
    """Does any pre-training help at all? Each k's seed CI against the k = 0 seed CI."""
    above, below = _vs_reference(series, ref, ns, ref_n)
    means = ", ".join(f"k={k}: {m:.3f}" for k, m, _, _ in series)
    if above is None:
        return f"Against no pre-training (k = 0: {ref[0]:.3f}): {means} (CIs need at least 3 seeds per k)."
    return (
        f"Against no pre-training (k = 0: {ref[0]:.3f} [{ref[1]:.3f}, {ref[2]:.3f}]): {means}; "
        f"95% seed CIs entirely above k = 0 at k in {above or 'none'}, entirely below at k in "
        f"{below or 'none'}."
    )


def _paragraph_text(clusters: dict, pq: dict) -> str:
    """Which collections' evaluated questions (``pq``: :func:`read_per_question`) share paragraphs in
    the study's cluster table, in a phrase."""
    from xlir.evaluation.significance import MIN_CLUSTERS

    if not clusters:
        return "no paragraph table: questions count on their own"
    shared = []
    for coll, table in sorted(clusters.items()):
        questions = {g for cell in pq.values() for kind, groups in cell.get(coll, {}).items()
                     if kind in UNIT_KINDS for g in groups}
        paragraphs = {table.get(g, g) for g in questions}
        if len(paragraphs) < len(questions):
            few = (f", under {MIN_CLUSTERS}: no interval of its own, and `all` resamples across collections"
                   if len(paragraphs) < MIN_CLUSTERS else "")
            shared.append(f"{coll}: {len(questions)} questions in {len(paragraphs)} paragraphs{few}")
    return "; ".join(shared) if shared else "no two questions share a paragraph"
