"""The three LAReQA evaluation settings, as filters on the candidates' language.

In a parallel collection every translation of the gold sentence is relevant to every translation of
the question (Roy et al., "LAReQA", arXiv 2004.05484, §3), so one set of judgments serves all
settings; a setting only restricts which candidates compete:

* ``mono/X-X``  — queries in X, candidates in X (for every language X);
* ``cross/X-Y`` — queries in X, candidates in Y, for every ordered pair X != Y with judgments
  (MLQA-R questions exist in 2-4 languages only, so not every pair has them);
* ``multi/X``   — queries in X against the pool of all candidates in all languages; the hard,
  "language-agnostic" setting where a model biased toward its own language loses.

A query enters a setting only when it has at least one relevant candidate in that setting's pool
(trec_eval likewise skips queries without relevant judgments), and its judgments are cut to the
pool, so ``num_rel`` in the metrics counts only candidates that can be retrieved there.
Macro averages: ``mono`` over mono pairs, ``cross`` over cross pairs, ``multi`` over query languages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from xlir.errors import ConfigError

KINDS = ("mono", "cross", "multi")


@dataclass(frozen=True)
class Setting:
    """One evaluation setting: which queries, which candidate languages."""

    kind: str  # "mono" | "cross" | "multi"
    query_language: str
    doc_language: str | None  # None: every language (multi)

    @property
    def key(self) -> str:
        if self.kind == "multi":
            return f"multi/{self.query_language}"
        return f"{self.kind}/{self.query_language}-{self.doc_language}"

    @classmethod
    def parse(cls, key: str) -> Setting:
        kind, _, rest = key.partition("/")
        if kind == "multi":
            return cls(kind, rest, None)
        q, _, d = rest.partition("-")
        if kind not in KINDS or not q or not d:
            raise ConfigError(f"bad setting key {key!r}; expected mono/X-X, cross/X-Y or multi/X")
        return cls(kind, q, d)


@dataclass
class SettingPlan:
    """A setting resolved against a collection (all indices into the collection's lists)."""

    setting: Setting
    queries: np.ndarray  # query indices
    candidates: np.ndarray  # document indices, the pool
    relevant: list[np.ndarray]  # per query: relevant document indices (global) in the pool
    grades: list[np.ndarray]  # per query: their grades

    @property
    def key(self) -> str:
        return self.setting.key


def parse_kinds(kinds) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = [k.strip() for k in kinds.split(",") if k.strip()]
    if not isinstance(kinds, (list, tuple)) or not all(isinstance(k, str) for k in kinds):
        raise ConfigError(f"settings must be names among {', '.join(KINDS)}, not {kinds!r}")
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ConfigError(f"unknown setting {', '.join(bad) or '(none)'}; known: {', '.join(KINDS)}")
    return tuple(k for k in KINDS if k in kinds)


def plan_settings(collection, kinds=KINDS) -> list[SettingPlan]:
    """Every setting of the requested kinds that has at least one query with a relevant candidate.

    ``multi`` is planned only when the pool has at least two languages (with one language it is
    the monolingual setting again).
    """
    kinds = parse_kinds(kinds)
    doc_index = {d.id: i for i, d in enumerate(collection.documents)}
    doc_lang = np.array([d.language for d in collection.documents], dtype=object)
    langs = sorted(set(doc_lang.tolist()))
    pools = {lang: np.flatnonzero(doc_lang == lang) for lang in langs}
    everything = np.arange(len(collection.documents))
    # per query: relevant doc indices and grades (grade > 0 only), grouped by doc language
    per_query: list[dict[str, tuple[list[int], list[int]]]] = []
    for q in collection.queries:
        by_lang: dict[str, tuple[list[int], list[int]]] = {}
        for did, grade in collection.qrels.get(q.id, {}).items():
            if grade <= 0 or did not in doc_index:
                continue
            j = doc_index[did]
            ids, grades = by_lang.setdefault(doc_lang[j], ([], []))
            ids.append(j)
            grades.append(grade)
        per_query.append(by_lang)
    q_by_lang: dict[str, list[int]] = {}
    for i, q in enumerate(collection.queries):
        q_by_lang.setdefault(q.language, []).append(i)

    plans: list[SettingPlan] = []
    for ql in sorted(q_by_lang):
        for dl in langs:
            kind = "mono" if dl == ql else "cross"
            if kind not in kinds:
                continue
            qs, rel, gr = [], [], []
            for i in q_by_lang[ql]:
                if dl in per_query[i]:
                    ids, grades = per_query[i][dl]
                    qs.append(i)
                    rel.append(np.asarray(ids, np.int64))
                    gr.append(np.asarray(grades, np.float64))
            if qs:
                plans.append(SettingPlan(Setting(kind, ql, dl), np.asarray(qs, np.int64), pools[dl],
                                         rel, gr))
        if "multi" in kinds and len(langs) > 1:
            qs, rel, gr = [], [], []
            for i in q_by_lang[ql]:
                if per_query[i]:
                    ids = [j for lang in sorted(per_query[i]) for j in per_query[i][lang][0]]
                    grades = [g for lang in sorted(per_query[i]) for g in per_query[i][lang][1]]
                    qs.append(i)
                    rel.append(np.asarray(ids, np.int64))
                    gr.append(np.asarray(grades, np.float64))
            if qs:
                plans.append(SettingPlan(Setting("multi", ql, None), np.asarray(qs, np.int64),
                                         everything, rel, gr))
    return plans
