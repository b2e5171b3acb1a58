"""Language-bias measures of the multilingual setting.

A retriever can reach a good monolingual and cross-lingual mAP and still prefer candidates in the
query's own language when all languages compete; LAReQA calls a model without this preference
"strongly aligned" (Roy et al. 2020, §2). Two per-query measures, both over the exact ranks of the
relevant candidates in the whole multilingual pool:

**Rank distance** (2408.10536, "Mitigating language bias in multilingual retrieval", §4): rank of
the lowest-ranked relevant candidate minus rank of the highest-ranked one. All translations of the
gold sentence are equally correct, so an unbiased model keeps them together (distance close to
``n_relevant - 1``); a biased one ranks its own language first and the others far below. Defined for
queries with at least two relevant candidates. Lower is better.

**Own-language top share**: the share of queries whose highest-ranked relevant candidate is in the
query's own language, against the share expected by chance. Our definition of chance: if the model
had no language preference among the relevant candidates, each of the query's relevant languages
would be equally likely to supply the top relevant one, so the chance share of a query is
``1 / (number of distinct languages among its relevant candidates)`` (1/11 on XQuAD-R), averaged over
the queries. Counted over queries that have a relevant candidate in their own language.

Both are reported per query language and overall; "overall" is the macro average over query
languages, like every multilingual figure (on XQuAD-R, with 1,190 queries per language, it equals
the average over queries).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def rank_distance(ranks: np.ndarray) -> float | None:
    """max rank - min rank of a query's relevant candidates (``None`` with fewer than two)."""
    if len(ranks) < 2:
        return None
    return float(np.max(ranks) - np.min(ranks))


def own_language_top(ranks: np.ndarray, languages: Sequence[str], query_language: str
                     ) -> tuple[float, float] | None:
    """``(1.0 if the top relevant candidate is in the query's language else 0.0, chance)``."""
    langs = list(languages)
    if query_language not in langs:
        return None
    top = langs[int(np.argmin(ranks))]
    return float(top == query_language), 1.0 / len(set(langs))


def summarize(per_language: Mapping[str, Mapping[str, float]],
              chance: Mapping[str, Mapping[str, float]] | None = None) -> dict:
    """Per-language means with counts and the macro average over languages.

    ``per_language[lang][query_id] = value``; ``chance`` (same shape) adds the expected share.
    """
    out: dict = {"per_language": {}}
    for lang in sorted(per_language):
        vals = np.fromiter(per_language[lang].values(), dtype=np.float64)
        if not len(vals):
            continue
        row = {"mean": float(vals.mean()), "n_queries": int(len(vals))}
        if chance is not None:
            row["chance"] = float(np.mean(list(chance[lang].values())))
        out["per_language"][lang] = row
    rows = list(out["per_language"].values())
    if rows:
        out["mean"] = float(np.mean([r["mean"] for r in rows]))
        out["n_queries"] = int(sum(r["n_queries"] for r in rows))
        out["n_languages"] = len(rows)
        if chance is not None:
            out["chance"] = float(np.mean([r["chance"] for r in rows]))
    else:
        out.update(mean=None, n_queries=0, n_languages=0)
    return out
