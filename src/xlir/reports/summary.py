"""Markdown summary of an evaluation: the table a paper or a pull request quotes.

Sections: macro averages per setting kind (every metric, with the number of pairs/languages and
queries behind it), the language-bias measures, the multilingual setting per query language, and
the query-language x candidate-language matrix of mAP (the heatmap's numbers).
"""

from __future__ import annotations

import math
from pathlib import Path


def _fmt(v, digits: int = 3) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if isinstance(v, int):
        return str(v)
    return f"{v:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def aggregate_rows(result) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the mono/cross/multi table (also printed by ``xlir eval``)."""
    metrics = result.metrics
    agg = result.aggregates()
    header = ["setting", *metrics, "pairs", "queries"]
    rows = []
    for kind, by_metric in agg.items():
        first = by_metric[metrics[0]]
        rows.append([kind, *(_fmt(by_metric[m]["mean"]) for m in metrics),
                     str(first["n_settings"]), str(first["n_queries"])])
    return header, rows


def bias_rows(result) -> tuple[list[str], list[list[str]]]:
    bias = result.bias()
    if not bias:
        return [], []
    rd, own = bias["rank_distance"], bias["own_language_top"]
    header = ["query language", "rank distance", "own-language top", "chance", "queries"]
    rows = []
    for lang in sorted(rd["per_language"]):
        r = rd["per_language"][lang]
        o = own["per_language"].get(lang, {})
        rows.append([lang, _fmt(r["mean"], 1), _fmt(o.get("mean")), _fmt(o.get("chance")),
                     str(r["n_queries"])])
    rows.append(["**all** (macro)", _fmt(rd.get("mean"), 1), _fmt(own.get("mean")),
                 _fmt(own.get("chance")), str(rd.get("n_queries", 0))])
    return header, rows


def markdown(result, metric: str = "AP") -> str:
    """The whole summary as Markdown text."""
    m = result.model
    c = result.collection
    lines = [f"# {c.get('name', 'evaluation')}: {m.get('name')}", "",
             f"Model fingerprint `{m.get('fingerprint')}`; {c.get('queries')} queries, "
             f"{c.get('documents')} candidates; depth "
             f"{result.config.get('depth') or 'full pool'}.", "",
             "## Macro averages", ""]
    lines += _table(*aggregate_rows(result))
    header, rows = bias_rows(result)
    if rows:
        lines += ["", "## Language bias (multilingual setting)", "",
                  "Rank distance: rank of the lowest-ranked minus the highest-ranked relevant "
                  "candidate (lower is better). Own-language top: share of queries whose best-ranked "
                  "relevant candidate is in the query's language; chance = 1 / relevant languages.", ""]
        lines += _table(header, rows)
    means = result.setting_means()
    multi = [k for k, s in result.settings.items() if s["kind"] == "multi"]
    if multi:
        lines += ["", "## Multilingual setting per query language", ""]
        lines += _table(["query language", *result.metrics, "queries"],
                        [[result.settings[k]["query_language"],
                          *(_fmt(means[k][x]) for x in result.metrics), str(means[k]["n_queries"])]
                         for k in sorted(multi)])
    if metric in result.metrics:
        qlangs, dlangs, mat = result.pair_matrix(metric)
        if qlangs:
            lines += ["", f"## {metric} by query language (rows) x candidate language (columns)", ""]
            lines += _table(["q \\ c", *dlangs],
                            [[q, *(_fmt(float(v)) for v in mat[i])] for i, q in enumerate(qlangs)])
    return "\n".join(lines) + "\n"


def write_summary(result, path: str | Path, metric: str = "AP") -> Path:
    path = Path(path)
    path.write_text(markdown(result, metric), encoding="utf-8")
    return path
