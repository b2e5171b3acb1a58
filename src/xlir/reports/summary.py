"""Markdown summary of an evaluation: the table a paper or a pull request quotes.

Sections: macro averages per setting kind (every metric, with the number of pairs/languages and
queries behind it), the language-bias measures, the multilingual setting per query language, and
the query-language x candidate-language matrix of mAP (the heatmap's numbers).
"""

from __future__ import annotations

import math
from pathlib import Path


def _fmt(v, digits: int = 3, missing: str = "–") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return missing
    if isinstance(v, int):
        return str(v)
    return f"{v:.{digits}f}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def aggregate_rows(result, missing: str = "–") -> tuple[list[str], list[list[str]]]:
    """Header and rows of the mono/cross/multi table (also printed by ``xlir eval``); an absent
    figure reads ``missing``."""
    metrics = result.metrics
    agg = result.aggregates()
    header = ["setting", *metrics, "pairs", "queries"]
    rows = []
    for kind, by_metric in agg.items():
        first = by_metric.get(metrics[0], {}) if metrics else {}
        rows.append([kind, *(_fmt((by_metric.get(m) or {}).get("mean"), missing=missing) for m in metrics),
                     _fmt(first.get("n_settings"), missing=missing),
                     _fmt(first.get("n_queries"), missing=missing)])
    return header, rows


def bias_lines(result, missing: str = "n/a") -> list[str]:
    """The language-bias lines ``xlir eval`` prints. Any figure may be absent (a cross-lingual-only
    collection such as AfriQA has no multilingual pool, so no rank distance): it reads ``missing``."""
    bias = result.bias() or {}
    if not bias:
        return [f"rank distance (multi, lower is better): {missing} (no multilingual setting "
                "with relevant candidates in several languages)"]
    rd = bias.get("rank_distance") or {}
    own = bias.get("own_language_top") or {}
    lines = [f"rank distance (multi, lower is better): {_fmt(rd.get('mean'), 1, missing)} "
             f"over {_fmt(rd.get('n_queries'), missing=missing)} queries"]
    if own.get("mean") is not None:
        lines.append(f"top relevant in the query's own language: {_fmt(own.get('mean'), missing=missing)} "
                     f"(chance {_fmt(own.get('chance'), missing=missing)})")
    return lines


def bias_rows(result) -> tuple[list[str], list[list[str]]]:
    bias = result.bias()
    if not bias:
        return [], []
    rd, own = bias.get("rank_distance") or {}, bias.get("own_language_top") or {}
    header = ["query language", "rank distance", "own-language top", "chance", "queries"]
    rows = []
    for lang in sorted(rd.get("per_language", {})):
        r = rd["per_language"][lang]
        o = own.get("per_language", {}).get(lang, {})
        rows.append([lang, _fmt(r.get("mean"), 1), _fmt(o.get("mean")), _fmt(o.get("chance")),
                     _fmt(r.get("n_queries"))])
    rows.append(["**all** (macro)", _fmt(rd.get("mean"), 1), _fmt(own.get("mean")),
                 _fmt(own.get("chance")), str(rd.get("n_queries", 0))])
    return header, rows


def markdown(result, metric: str = "AP", figure: str | None = None) -> str:
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
            if figure:
                lines += ["", f"![{metric} by query and candidate language]({figure})"]
    return "\n".join(lines) + "\n"


def write_summary(result, path: str | Path, metric: str = "AP", figure: str | None = None) -> Path:
    """Write :func:`markdown` to ``path``; ``figure`` is the heatmap's name beside it, shown under
    its table."""
    path = Path(path)
    path.write_text(markdown(result, metric, figure=figure), encoding="utf-8")
    return path
