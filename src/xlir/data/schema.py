"""The data model every loader produces.

Records are plain slotted dataclasses rather than pydantic models: a MIRACL corpus has millions of
passages, and validation happens once per collection in :meth:`Collection.validate`, not per record.

Identifiers
    Query and document ids are unique within a collection. Parallel collections (XQuAD-R, MLQA-R)
    share one question id across translations; there the query id is ``"{lang}/{qid}"`` and the
    shared id is kept as ``group``, which is what links translations for the multilingual setting
    (every translation of the gold sentence is relevant) and for the samplers (translations of one
    group must not meet in a training batch, where they would be false negatives).

Languages
    Always normalised codes (ISO 639-1 where one exists, else 639-3), see :mod:`xlir.data.languages`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from xlir.errors import DataError


@dataclass(frozen=True, slots=True)
class Query:
    id: str
    text: str
    language: str
    group: str | None = None


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    text: str
    language: str
    title: str | None = None
    group: str | None = None


Qrels = dict[str, dict[str, int]]
"""query id -> document id -> relevance grade (> 0 is relevant)."""


@dataclass
class Collection:
    """A retrieval test collection: queries, candidate documents and relevance judgments.

    ``parallel`` is true when queries (and documents) are translations of each other linked by
    ``group``; only then do the monolingual / cross-lingual / multilingual settings apply.
    ``source`` names the original dataset (e.g. ``"xquad"``) so that zero-shot checks can refuse
    to evaluate a model on data from the source it was trained on.
    """

    name: str
    queries: list[Query]
    documents: list[Document]
    qrels: Qrels
    parallel: bool = False
    source: str = ""
    meta: dict = field(default_factory=dict)

    # ---- views ---------------------------------------------------------------------------
    @property
    def query_languages(self) -> list[str]:
        return sorted({q.language for q in self.queries})

    @property
    def document_languages(self) -> list[str]:
        return sorted({d.language for d in self.documents})

    def query_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(q.language for q in self.queries).items()))

    def document_counts(self) -> dict[str, int]:
        return dict(sorted(Counter(d.language for d in self.documents).items()))

    def queries_by_language(self) -> dict[str, list[Query]]:
        out: dict[str, list[Query]] = defaultdict(list)
        for q in self.queries:
            out[q.language].append(q)
        return dict(out)

    def documents_by_language(self) -> dict[str, list[Document]]:
        out: dict[str, list[Document]] = defaultdict(list)
        for d in self.documents:
            out[d.language].append(d)
        return dict(out)

    def subset(self, *, languages: Iterable[str] | None = None, limit: int | None = None,
               query_languages: Iterable[str] | None = None,
               pool_per_language: int | None = None, groups: Iterable[str] | None = None,
               exclude_groups: Iterable[str] | None = None) -> Collection:
        """A slice of the collection: the one place where collections are cut.

        ``languages`` keeps queries and documents in those languages only; ``query_languages``
        restricts queries only (documents keep every language). ``limit`` keeps the first ``limit``
        groups (or queries, when there are no groups) of each query language, in file order; in a
        parallel collection these are the first groups overall, so that a limited parallel
        collection stays parallel. The candidate pool is not cut by ``limit``: retrieval against
        the full pool is what makes a slice's numbers comparable to the full set.
        ``pool_per_language`` does cut it, for CPU-sized studies: the relevant candidates of the
        kept queries plus the first ``pool_per_language`` other candidates of each language (in
        file order: the paragraphs around the kept questions, hard same-topic distractors).
        ``groups`` keeps only the queries of those groups (question ids; the query id when a query
        has no group), ``exclude_groups`` drops them (a dev slice and the rest of the questions, see
        :mod:`xlir.data.dev_split`); both apply before ``limit``.
        Queries left without a relevant candidate are dropped.
        """
        langs = set(languages) if languages is not None else None
        qlangs = set(query_languages) if query_languages is not None else langs
        docs = [d for d in self.documents if langs is None or d.language in langs]
        queries = [q for q in self.queries if qlangs is None or q.language in qlangs]
        if groups is not None:
            keep_groups = set(groups)
            queries = [q for q in queries if (q.group or q.id) in keep_groups]
        if exclude_groups is not None:
            drop_groups = set(exclude_groups)
            queries = [q for q in queries if (q.group or q.id) not in drop_groups]
        if limit is not None:
            queries = _first_groups(queries, limit, per_language=not self.parallel)
        doc_ids = {d.id for d in docs}
        qrels = {
            q.id: {d: g for d, g in self.qrels.get(q.id, {}).items() if d in doc_ids}
            for q in queries
        }
        queries = [q for q in queries if qrels.get(q.id)]
        qrels = {q.id: qrels[q.id] for q in queries}
        sliced = {"languages": sorted(qlangs) if qlangs else None, "limit": limit}
        if groups is not None or exclude_groups is not None:
            sliced["groups"] = "kept" if groups is not None else "excluded"
            sliced["n_groups"] = len(keep_groups if groups is not None else drop_groups)
        if pool_per_language is not None:
            docs = _trim_pool(docs, qrels, pool_per_language)
            kept = {d.id for d in docs}
            qrels = {qid: {d: g for d, g in judged.items() if d in kept} for qid, judged in qrels.items()}
            sliced["pool_per_language"] = pool_per_language
        return Collection(self.name, queries, docs, qrels, self.parallel, self.source,
                          {**self.meta, "subset": sliced})

    # ---- checks --------------------------------------------------------------------------
    def validate(self, path: str | None = None) -> Collection:
        """Raise :class:`DataError` on duplicate ids, empty texts or judgments naming unknown ids."""
        where = path or self.name
        seen: set[str] = set()
        for i, q in enumerate(self.queries):
            if q.id in seen:
                raise DataError(where, "duplicate query id", record=q.id,
                                expected="unique query ids")
            seen.add(q.id)
            if not q.text or not q.text.strip():
                raise DataError(where, "empty query text", record=q.id or f"#{i}",
                                expected="a non-empty question")
        dseen: set[str] = set()
        for i, d in enumerate(self.documents):
            if d.id in dseen:
                raise DataError(where, "duplicate document id", record=d.id,
                                expected="unique document ids")
            dseen.add(d.id)
            if not d.text or not d.text.strip():
                raise DataError(where, "empty document text", record=d.id or f"#{i}",
                                expected="a non-empty passage")
        for qid, judged in self.qrels.items():
            if qid not in seen:
                raise DataError(where, "judgment names an unknown query id", record=qid,
                                expected="a query id present in the queries")
            for did in judged:
                if did not in dseen:
                    raise DataError(where, f"judgment for query {qid} names an unknown document id",
                                    record=did, expected="a document id present in the corpus")
        return self

    def summary(self) -> dict:
        n_judg = sum(len(v) for v in self.qrels.values())
        return {"name": self.name, "queries": len(self.queries), "documents": len(self.documents),
                "judgments": n_judg, "query_languages": self.query_counts(),
                "document_languages": self.document_counts(), "parallel": self.parallel}


def _first_groups(queries: list[Query], limit: int, *, per_language: bool) -> list[Query]:
    """The queries of the first ``limit`` groups (of each language when ``per_language``)."""
    keep: dict[str, dict[str, None]] = defaultdict(dict)  # language (or "") -> groups in file order
    for q in queries:
        keep[q.language if per_language else ""].setdefault(q.group or q.id)
    allowed = {(lang, g) for lang, groups in keep.items() for g in list(groups)[:limit]}
    return [q for q in queries if (q.language if per_language else "", q.group or q.id) in allowed]


def _trim_pool(docs: list[Document], qrels: Qrels, per_language: int) -> list[Document]:
    """Relevant documents plus the first ``per_language`` others of each language, in order."""
    gold = {d for judged in qrels.values() for d, g in judged.items() if g > 0}
    seen: Counter = Counter()
    out = []
    for d in docs:
        if d.id in gold or seen[d.language] < per_language:
            out.append(d)
            seen[d.language] += d.id not in gold
    return out


@dataclass(frozen=True, slots=True)
class TrainingPair:
    """One (query, positive passage) example for contrastive training.

    ``group`` links every language version of the same question (and its gold passage): the
    samplers keep a group out of a batch once one of its members is in, since a translated copy of
    a positive would otherwise be scored as a negative.
    """

    query: str
    positive: str
    query_language: str
    positive_language: str
    group: str
    negatives: tuple[str, ...] = ()


@dataclass
class PairSet:
    """Training pairs plus the sources they were built from (kept for zero-shot checks)."""

    name: str
    pairs: list[TrainingPair]
    sources: list[str]
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.pairs)

    def language_pairs(self) -> dict[tuple[str, str], int]:
        c = Counter((p.query_language, p.positive_language) for p in self.pairs)
        return dict(sorted(c.items()))
