"""Study reports (Markdown + PNG) built only from a study folder's tables.

Inputs: ``study.json`` (study, preset, command), ``results.csv`` and ``per_question.csv.gz``
(written by :mod:`xlir.experiments.run_study`). Nothing is recomputed from models, so
``xlir study report DIR`` regenerates every number of a committed report from its committed tables.
Every number printed comes from those tables; the only constants are the paper's published figures,
shown beside ours for orientation (arXiv 2408.10536, Tables 1 and 7, XQuAD-R).
"""

from __future__ import annotations

import csv
import gzip
import json
import math
from collections import defaultdict
from pathlib import Path

from xlir.errors import DataError
from xlir.evaluation.significance import format_p, holm, paired_difference
from xlir.evaluation.stats import mean_ci, trend
from xlir.experiments.grid import read_table
from xlir.reports.html import markdown_to_html

PAPER_XQUAD_R = {
    # model: strategy: (mono, cross, multi) mAP; rank distance per strategy
    "XLM-R": {"xx-mono": (0.792, 0.674, 0.547), "xy": (0.755, 0.700, 0.593), "hybrid": (0.798, 0.705, 0.593)},
    "LaBSE": {"xx-mono": (0.808, 0.752, 0.652), "xy": (0.801, 0.762, 0.679), "hybrid": (0.817, 0.767, 0.682)},
}
PAPER_RANK_DISTANCE = {
    "XLM-R": {"xx-mono": 410.2, "xy": 295.4, "hybrid": 286.6},
    "LaBSE": {"xx-mono": 261.5, "xy": 225.2, "hybrid": 221.1},
}
STRATEGY_ORDER = ["base", "xx-mono", "xy", "hybrid-0.25", "hybrid-0.5", "hybrid-0.75", "random"]
PAIRED = {"n_permutations": 5000, "n_bootstrap": 2000, "seed": 0}
"""Resamples of the studies' paired tests (per question, pooled over seeds)."""
ALPHA_OF = {"xy": 0.0, "hybrid-0.25": 0.25, "hybrid-0.5": 0.5, "hybrid-0.75": 0.75, "xx-mono": 1.0}


def _fmt(m: float, lo: float, hi: float, digits: int = 3) -> str:
    if m is None or math.isnan(m):
        return "–"
    if lo == hi:
        return f"{m:.{digits}f}"
    return f"{m:.{digits}f} [{lo:.{digits}f}, {hi:.{digits}f}]"


def read_per_question(study_dir: Path) -> dict:
    """cell_id -> collection -> kind -> group -> AP."""
    out: dict = defaultdict(lambda: defaultdict(dict))
    path = study_dir / "per_question.csv.gz"
    if not path.is_file():
        return {}
    with gzip.open(path, "rt", newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            out[r["cell_id"]][r["collection"]].setdefault(r["kind"], {})[r["group"]] = float(r["AP"])
    return out


def _paired(pq: dict, cells_a: dict[int, str], cells_b: dict[int, str], coll: str, kind: str):
    """Pool per-question differences over seeds, pairing (seed, question); returns (a, b) lists."""
    a, b = [], []
    for seed in sorted(set(cells_a) & set(cells_b)):
        qa = pq.get(cells_a[seed], {}).get(coll, {}).get(kind, {})
        qb = pq.get(cells_b[seed], {}).get(coll, {}).get(kind, {})
        for g in sorted(set(qa) & set(qb)):
            a.append(qa[g])
            b.append(qb[g])
    return a, b


# ---- study 1 ---------------------------------------------------------------------------------------
def batching_report(study_dir: Path, meta: dict, rows: list[dict]) -> str:
    from xlir.reports.plots import plot_vs_alpha

    pq = read_per_question(study_dir)
    agg = [r for r in rows if r["setting"] in ("mono", "cross", "multi")]
    # (direction, collection, strategy, setting, metric) -> [values over seeds]
    vals: dict = defaultdict(list)
    cells: dict = defaultdict(dict)  # (direction, strategy) -> seed -> cell_id
    for r in agg:
        vals[(r["direction"], r["collection"], r["strategy"], r["setting"], r["metric"])].append(r["value"])
        cells[(r["direction"], r["strategy"])][int(r["seed"])] = r["cell_id"]
    lines = [
        f"# Study 1: batching strategies ({meta.get('preset')} preset)",
        "",
        "Does hybrid batching (arXiv 2408.10536) beat monolingual-only (xx-mono), cross-lingual-only (xy)"
        " and unconstrained (random) batches for monolingual, cross-lingual and multilingual retrieval?"
        " Zero-shot: trained on MLQA pairs and evaluated on XQuAD-R; trained on XQuAD pairs and "
        "evaluated on MLQA-R and on AfriQA dev (low-resource African-language questions against English "
        "or French passages: a cross-lingual-only collection).",
        "",
        f"Command: `{meta.get('command')}`",
        "",
        _preset_note(meta),
        "",
    ]
    directions = sorted({k[0] for k in vals})
    figures = study_dir / "figures"
    findings: list[tuple] = []  # (direction, collection, baseline, setting, diff, Holm p)
    summary_at = len(lines)
    for direction in directions:
        colls = sorted({k[1] for k in vals if k[0] == direction})
        for coll in colls:
            lines += [f"## {direction}: {coll}", ""]
            if any((direction, coll, s, "mono", "AP") in vals for s in STRATEGY_ORDER):
                lines += _settings_table(vals, direction, coll)
            else:  # cross-lingual-only collection (AfriQA): one column per language pair
                lines += _cross_only_table(rows, direction, coll)
            lines.append("")
            # plot against alpha
            series = {}
            ref = {}
            for kind in ("mono", "cross", "multi"):
                series[kind] = [
                    (ALPHA_OF[s], *mean_ci(vals.get((direction, coll, s, kind, "AP"), [])))
                    for s in ALPHA_OF
                    if (direction, coll, s, kind, "AP") in vals
                ]
                ref[kind] = mean_ci(vals.get((direction, coll, "random", kind, "AP"), []))
            png = plot_vs_alpha(
                series,
                ref,
                f"{direction}: {coll}",
                figures / f"alpha-{direction.replace('->', '_to_')}-{coll}.png",
            )
            lines += [f"![mAP against alpha]({png.relative_to(study_dir)})", ""]
            # significance: hybrid-0.5 against each baseline
            hyb = cells.get((direction, "hybrid-0.5"), {})
            tests = []
            for base in ("xx-mono", "xy", "random", "hybrid-0.25", "hybrid-0.75"):
                other = cells.get((direction, base))
                if not hyb or not other:
                    continue
                for kind in ("mono", "cross", "multi"):
                    a, b = _paired(pq, other, hyb, coll, kind)
                    if a:
                        tests.append((base, kind, len(a), *paired_difference(a, b, **PAIRED)))
            if tests:
                adj = holm([t[6] for t in tests])
                lines += [
                    "Paired significance of hybrid (alpha 0.5) against each baseline: AP per question, "
                    "paired by (seed, question) and pooled over seeds; difference = hybrid - baseline, "
                    "95% paired bootstrap CI, two-sided randomization test, Holm-corrected over the "
                    "rows of this table.",
                    "",
                    "| baseline | setting | pairs | diff | 95% CI | p | p (Holm) |",
                    "|---|---|---:|---:|---|---:|---:|",
                ]
                for t, ph in zip(tests, adj, strict=True):
                    base, kind, n, d, lo, hi, p = t
                    findings.append((direction, coll, base, kind, d, ph))
                    lines.append(
                        f"| {base} | {kind} | {n} | {d:+.4f} | [{lo:+.4f}, {hi:+.4f}] | {format_p(p)} | "
                        f"{format_p(ph)}{' *' if ph < 0.05 else ''} |"
                    )
                lines.append("")
    lines[summary_at:summary_at] = _batching_summary(vals, findings)
    lines += [
        "## The paper's published figures (XQuAD-R, full pool, GPU-scale training)",
        "",
        "For orientation only: different models (XLM-R, LaBSE), far larger training data and full "
        "candidate pools; our slices and budgets are not comparable in absolute terms.",
        "",
        "| model | strategy | monolingual | cross-lingual | multilingual | rank distance |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for model, by in PAPER_XQUAD_R.items():
        for s, (m, c, mu) in by.items():
            lines.append(
                f"| {model} | {s} | {m:.3f} | {c:.3f} | {mu:.3f} | {PAPER_RANK_DISTANCE[model][s]:.1f} |"
            )
    lines.append("")
    return "\n".join(lines)


def _batching_summary(vals: dict, findings: list[tuple]) -> list[str]:
    """Generated findings: the best strategy per setting, and every Holm-significant hybrid comparison."""
    out = ["## Summary (generated from the tables below)", ""]
    for direction, coll in sorted({(k[0], k[1]) for k in vals}):
        best = []
        for kind in ("mono", "cross", "multi"):
            means = {
                k[2]: sum(v) / len(v)
                for k, v in vals.items()
                if k[:2] == (direction, coll) and k[3] == kind and k[4] == "AP" and v and k[2] != "base"
            }
            if means:
                top = max(means, key=means.get)
                hyb = means.get("hybrid-0.5")
                hyb_txt = f" (hybrid-0.5 {hyb:.3f})" if hyb is not None and top != "hybrid-0.5" else ""
                best.append(f"{kind}: {top} {means[top]:.3f}{hyb_txt}")
        sig = [
            f"{'beats' if d > 0 else 'loses to'} {base} on {kind} ({d:+.3f})"
            for dd, cc, base, kind, d, ph in findings
            if (dd, cc) == (direction, coll) and ph < 0.05
        ]
        out.append(
            f"- **{direction}, {coll}** — best mean mAP: {'; '.join(best) or '–'}. "
            f"Hybrid (alpha 0.5), Holm p < 0.05: {', '.join(sig) or 'no significant difference'}."
        )
    out += [
        "",
        "A best mean inside the others' seed CIs is not a finding; only the Holm-significant comparisons "
        "are. Absolute values come from sliced pools and short training (see the preset note).",
        "",
    ]
    return out


def _settings_table(vals: dict, direction: str, coll: str) -> list[str]:
    """Mono / cross / multilingual mAP and rank distance per strategy, mean [95% CI over seeds]."""
    out = [
        "mAP (mean [95% CI over seeds]) and rank distance (lower is better). n = seeds.",
        "",
        "| strategy | n | monolingual | cross-lingual | multilingual | rank distance |",
        "|---|---:|---|---|---|---|",
    ]
    for s in STRATEGY_ORDER:
        if (direction, coll, s, "mono", "AP") not in vals:
            continue
        cols = [
            _fmt(*mean_ci(vals.get((direction, coll, s, setting, metric), [])), digits=digits)
            for setting, metric, digits in (
                ("mono", "AP", 3), ("cross", "AP", 3), ("multi", "AP", 3), ("multi", "rank_distance", 1)
            )
        ]
        n = len(vals[(direction, coll, s, "mono", "AP")])
        out.append(f"| {s} | {n} | " + " | ".join(cols) + " |")
    return out


def _cross_only_table(rows: list[dict], direction: str, coll: str) -> list[str]:
    """Table for a collection with only cross-lingual pairs (AfriQA: African-language questions against
    English or French passages), where monolingual/multilingual columns would be empty: overall
    cross-lingual mAP and mAP per language pair, mean [95% CI over seeds]."""
    vals: dict = defaultdict(list)  # (strategy, setting) -> values over seeds
    for r in rows:
        if r["direction"] != direction or r["collection"] != coll or r["metric"] != "AP":
            continue
        if r["setting"] == "cross" or str(r["setting"]).startswith("cross/"):
            vals[(r["strategy"], r["setting"])].append(r["value"])
    pairs = sorted({k[1] for k in vals if k[1] != "cross"})
    strategies = [s for s in STRATEGY_ORDER if (s, "cross") in vals]
    out = [
        "Cross-lingual only (query language -> passage language). mAP, mean [95% CI over seeds] "
        "for the overall column; per-pair columns show the mean over seeds. n = seeds.",
        "",
        "| strategy | n | cross-lingual | " + " | ".join(p.split("/", 1)[1] for p in pairs) + " |",
        "|---|---:|---|" + "---:|" * len(pairs),
    ]
    for s in strategies:
        overall = _fmt(*mean_ci(vals[(s, "cross")]))
        per = []
        for p in pairs:
            v = vals.get((s, p), [])
            per.append(f"{sum(v) / len(v):.3f}" if v else "–")
        out.append(f"| {s} | {len(vals[(s, 'cross')])} | {overall} | " + " | ".join(per) + " |")
    return out


# ---- study 2 ---------------------------------------------------------------------------------------
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


def pretrain_report(study_dir: Path, meta: dict, rows: list[dict]) -> tuple[str, str]:
    from xlir.reports.plots import plot_vs_k

    scores = target_scores(rows)
    figures = study_dir / "figures"
    lines = [
        f"# Study 2: pre-training languages and low-resource pairs ({meta.get('preset')} preset)",
        "",
        f"Command: `{meta.get('command')}`",
        "",
        _preset_note(meta),
        "",
        "Metric: mAP over the settings involving each target language (XQuAD-R: mono and cross pairs "
        "with the target on either side; AfriQA, FLORES-200 test, Tatoeba: target -> English). "
        "`all/all` averages every target row of a cell (the primary endpoint). Trend: OLS slope of the "
        "metric on log2 k over k >= 1 (mAP per doubling of k) with a 95% bootstrap CI (seeds resampled "
        "within k), and Spearman's rho. k = 0 is no pre-training (shared by both arms).",
        "",
        _coverage(scores),
        "",
    ]
    header = [
        "| target | arm | k=0 | smallest k | largest k | slope / doubling [95% CI] | "
        "Spearman rho (p) | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    trends = {}
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
        pts = scores[key]
        ref_vals = [v for _, k, _, _, v in pts if k == 0]
        ref = mean_ci(ref_vals) if ref_vals else None
        series = {}
        for arm in ("inside", "heldout"):
            arm_pts = [(k, s, v) for _, k, a, s, v in pts if a == arm and k >= 1]
            if not arm_pts:
                continue
            ks = sorted({k for k, _, _ in arm_pts})
            series[arm] = [(k, *mean_ci([v for kk, _, v in arm_pts if kk == k])) for k in ks]
            tr = trend(arm_pts)
            trends[(key, arm)] = {**tr, "ref": ref, "series": series[arm]}
            lo_k, hi_k = series[arm][0], series[arm][-1]
            rho = "–" if math.isnan(tr["rho"]) else f"{tr['rho']:+.2f} ({format_p(tr['rho_p'])})"
            slope = (
                "–"
                if math.isnan(tr["slope"])
                else f"{tr['slope']:+.4f} [{tr['slope_low']:+.4f}, {tr['slope_high']:+.4f}]"
            )
            lines.append(
                f"| {key[1]} | {arm} | {_fmt(*ref) if ref else '–'} | "
                f"k={lo_k[0]}: {_fmt(*lo_k[1:])} | k={hi_k[0]}: {_fmt(*hi_k[1:])} | {slope} | {rho} | "
                f"{_verdict(tr)} |"
            )
        if series:
            png = plot_vs_k(
                series,
                ref,
                _plot_title(key),
                "mAP",
                figures / f"k-{key[0].replace(':', '_')}-{key[1]}.png",
            )
            if key[1] == "all":
                pending_png = png
            else:
                per_target.append((key[1], png))
    flush_figures()
    effect = pretraining_effect(read_per_question(study_dir), rows)
    if effect:
        lines += [
            "",
            "## Pre-training at all, against none (paired)",
            "",
            "Per question: AP after pre-training (mean over the arm's k >= 1 cells of one seed) minus AP "
            "of the k = 0 cell with the same seed (same fine-tuning seed); units are (seed, collection, "
            "setting, question) over all evaluation slices; 95% paired bootstrap CI and two-sided "
            "randomization test, Holm-corrected over the rows. `all` pools every unit, so the collection "
            "with most questions weighs most; the other rows show each collection.",
            "",
            "| arm | collection | units | mean AP, k = 0 | mean AP, pre-trained | diff | 95% CI | p (Holm) |",
            "|---|---|---:|---:|---:|---:|---|---:|",
        ]
        for e in effect:
            lines.append(
                f"| {e['arm']} | {e['collection']} | {e['n']} | {e['k0']:.3f} | {e['pt']:.3f} | "
                f"{e['diff']:+.4f} | [{e['low']:+.4f}, {e['high']:+.4f}] | {format_p(e['p_holm'])}"
                f"{' *' if e['p_holm'] < 0.05 else ''} |"
            )
    answer = _answer(meta, trends, rows, effect)
    return "\n".join(lines), answer


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


def _answer(meta: dict, trends: dict, rows: list[dict], effect: list[dict] | None = None) -> str:
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
        "",
        "## Question",
        "",
        "Does increasing the number of languages k in a multilingual pre-training stage (translation "
        "ranking on language-English bitext, a fixed pair budget for every k) improve the zero-shot "
        "cross-lingual retrieval of hybrid-batch fine-tuning for low-resource language pairs?",
        "",
        "## What the data say",
        "",
    ]
    primary = [(arm, trends.get((("all", "all"), arm))) for arm in ("inside", "heldout")]
    for arm, tr in primary:
        if tr is None:
            continue
        first, last = tr["series"][0], tr["series"][-1]
        ref = tr["ref"]
        ref_txt = f"; without pre-training (k = 0) {ref[0]:.3f}" if ref else ""
        where = "inside" if arm == "inside" else "held out of"
        out.append(
            f"- **Targets {where} the pre-training set** (primary endpoint, mean mAP over all target "
            f"rows): {first[1]:.3f} at k = {first[0]}, {last[1]:.3f} at k = {last[0]}{ref_txt}. "
            f"Slope {tr['slope']:+.4f} mAP per doubling of k, 95% CI [{tr['slope_low']:+.4f}, "
            f"{tr['slope_high']:+.4f}]; Spearman rho {tr['rho']:+.2f} (p = {format_p(tr['rho_p'])}). "
            f"Verdict: {_verdict(tr)}."
        )
        if ref:
            out.append("  " + _against_no_pretraining(tr["series"], ref))
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
        f"Per target and collection ({n_tests} trend tests, uncorrected 95% CIs, so about "
        f"{0.05 * n_tests:.0f} could exclude 0 by chance alone): "
        f"rising with k: {', '.join(rising) or 'none'}; falling with k: {', '.join(falling) or 'none'}.",
        "",
        "## What the data support",
        "",
    ]
    tr_in = dict(primary).get("inside")
    tr_out = dict(primary).get("heldout")

    def says(tr):
        d = _direction(tr) if tr else None
        if tr is None:
            return "was not run"
        return {
            None: "cannot be tested for a trend (fewer than 3 k levels)",
            "one-seed": "cannot be tested for a trend (a single seed at some k)",
            1: "rises with k: the data support a benefit of more pre-training languages here",
            -1: "falls with k: the data contradict a benefit of more pre-training languages here",
            0: "shows no trend we can detect: the data do not support a benefit of more "
            "pre-training languages here (nor rule out one smaller than the CI)",
        }[d]

    out += [
        f"- With the target languages inside the pre-training set, the low-resource score {says(tr_in)}.",
        f"- With the targets held out (breadth alone), the low-resource score {says(tr_out)}.",
    ]
    for e in effect or []:
        if e["collection"] != "all":
            continue
        if e["p_holm"] >= 0.05:
            verdict = "no difference detectable from no pre-training"
        elif e["diff"] < 0:
            verdict = "lower than without pre-training: at this budget the stage itself costs accuracy"
        else:
            verdict = "higher than without pre-training: the stage itself helps"
        out.append(
            f"- Pre-training at all (targets {e['arm']}, any k, paired per question against k = 0 of the "
            f"same seed): {verdict} (mean AP {e['pt']:.3f} vs {e['k0']:.3f}, difference {e['diff']:+.4f}, "
            f"95% CI [{e['low']:+.4f}, {e['high']:+.4f}], Holm p = {format_p(e['p_holm'])}, {e['n']} units)."
        )
    out += [
        "",
        "## What they do not support",
        "",
        "- Any claim beyond this scale: one base model, the preset's pre-training budget and fine-tuning "
        "steps, sliced evaluation pools (see the report's preset note). A larger budget per language can "
        "change the picture: with a fixed budget, more languages also means fewer pairs per language.",
        "- MLDR (the original question's collection): "
        + (
            "not evaluated, its files are not in the data directory."
            if "mldr" in skipped
            else "see the report's MLDR rows."
        ),
        "- Causal attribution to specific languages: sets are drawn by a seeded rule, and seeds vary "
        "which languages enter, so the trend averages over language choices.",
        "- For the smoke preset (a tiny random model): nothing; it only checks that the pipeline runs.",
        "",
    ]
    return "\n".join(out)


def _vs_reference(series: list[tuple], ref: tuple[float, float, float]):
    """(k levels whose seed CI lies entirely above the k = 0 CI, ... entirely below); None, None when
    some CI is a single seed (a point, which would make any difference look certain)."""
    if ref[1] == ref[2] or any(lo == hi for _, _, lo, hi in series):
        return None, None
    return [k for k, _, lo, _ in series if lo > ref[2]], [k for k, _, _, hi in series if hi < ref[1]]


def _against_no_pretraining(series: list[tuple], ref: tuple[float, float, float]) -> str:
    """Does any pre-training help at all? Each k's seed CI against the k = 0 seed CI."""
    above, below = _vs_reference(series, ref)
    means = ", ".join(f"k={k}: {m:.3f}" for k, m, _, _ in series)
    if above is None:
        return f"Against no pre-training (k = 0: {ref[0]:.3f}): {means} (CIs need at least 2 seeds per k)."
    return (
        f"Against no pre-training (k = 0: {ref[0]:.3f} [{ref[1]:.3f}, {ref[2]:.3f}]): {means}; "
        f"95% seed CIs entirely above k = 0 at k in {above or 'none'}, entirely below at k in "
        f"{below or 'none'}."
    )


def _preset_note(meta: dict) -> str:
    preset = meta.get("preset")
    p = (meta.get("presets") or {}).get(preset, {})
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
        ("pt_batch", "pre-training batch"),
        ("limit", "questions per language"),
        ("pool", "candidate pool: gold + first N per language"),
        ("seeds", "seeds"),
    ):
        if key in p:
            parts.append(f"{label} {p[key]}")
    note = ", ".join(parts) + "; word embeddings frozen during training."
    if p.get("pool"):
        note += (
            " Evaluation uses slices (first questions per language, trimmed candidate pools), identical "
            "for every cell: differences between cells are exact, absolute values are higher than on the "
            "full pool."
        )
    if preset == "smoke":
        note += " Smoke preset: a tiny random model and a few steps; the numbers test the pipeline only."
    if meta.get("cells_wall_s"):
        note += (
            f" Measured compute: {meta['cells_wall_s'] / 60:.1f} min summed over {meta['cells_timed']} "
            "cells (each cell's own wall time, on this machine's 2 cores)."
        )
    elif meta.get("estimate_s"):
        note += f" Estimated run time before start: {meta['estimate_s'] / 60:.1f} min (one job)."
    return note


REQUIRED_COLUMNS = {
    "batching": ("cell_id", "seed", "direction", "strategy", "collection", "metric", "setting"),
    "pretrain-languages": ("cell_id", "seed", "k", "arm", "collection", "metric", "setting"),
}


def _read_meta(path: Path) -> dict:
    """``study.json``, checked: it names a known study (the report to build depends on it)."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise DataError(path, f"not valid JSON ({e.msg})", line=e.lineno) from None
    if not isinstance(meta, dict) or meta.get("study") not in REQUIRED_COLUMNS:
        raise DataError(path, f"unknown study {meta.get('study') if isinstance(meta, dict) else meta!r}",
                        expected=f"\"study\": one of {', '.join(REQUIRED_COLUMNS)}")
    return meta


def build_report(study_dir: str | Path, answer_path: str | Path | None = None) -> Path:
    """Write ``<study_dir>/report.md`` (and, for study 2, the answer) from the study's tables."""
    study_dir = Path(study_dir)
    meta = _read_meta(study_dir / "study.json")
    rows = read_table(study_dir / "results.csv", REQUIRED_COLUMNS[meta["study"]])
    skipped = set()
    wall, timed = 0.0, 0
    for res in study_dir.glob("cells/*/result.json"):
        result = json.loads(res.read_text())
        skipped.update(result.get("skipped", []))
        if result.get("wall_s"):
            wall += float(result["wall_s"])
            timed += 1
    if timed:
        meta["cells_wall_s"], meta["cells_timed"] = wall, timed
    meta["skipped_collections"] = sorted(skipped)
    if meta["study"] == "batching":
        text = batching_report(study_dir, meta, rows)
        answer = None
    else:
        text, answer = pretrain_report(study_dir, meta, rows)
    if skipped:
        text += f"\n\nNot evaluated (loader or files missing): {', '.join(sorted(skipped))}.\n"
    out = study_dir / "report.md"
    out.write_text(text + "\n", encoding="utf-8")
    markdown_to_html(out)
    if answer is not None:
        (study_dir / "answer.md").write_text(answer, encoding="utf-8")
        if answer_path is not None:
            Path(answer_path).parent.mkdir(parents=True, exist_ok=True)
            Path(answer_path).write_text(answer, encoding="utf-8")
    return out
