"""Which questions of a collection belong together: the paragraph clusters of the paired tests.

The paired tests compare two models question by question and treat questions as independent. In
the LAReQA "-R" form (:mod:`xlir.data.rform`) they are not: XQuAD-R's 1,190 questions come from 240
paragraphs, every question's gold sentence and its closest distractors are sentences of one
paragraph, and a model that separates a paragraph's sentences well answers most of its questions.
A study slice makes it worse (the first 200 XQuAD-R questions are 35 paragraphs). The tests in
:mod:`xlir.evaluation.significance` therefore take one cluster label per question, and this module
gives it: the question's paragraph.

The rule: a question unit is linked to the paragraph (document ``group``) of each of its gold
sentences, in every language; the clusters are the connected units. For XQuAD-R that is exactly the
paragraph (translations keep the paragraph structure); for MLQA-R, whose questions are parallel in
2-4 languages with each language's own paragraph numbering, it joins the paragraphs that are
translations of each other. Collections not in the -R form (AfriQA, FLORES, Tatoeba, BEIR) have no
paragraphs: each unit is its own cluster, which is the plain per-question test.

Why paragraphs and not articles (XQuAD's 48 articles hold 5 paragraphs each): the shared gold and
distractor sentences are a paragraph's; measured on the recipe search's dev slice (120 questions in 96
paragraphs of 44 articles; quick vs base, steps-360 vs quick, quick's two seeds), bootstrap widths by
article were within 0.005 of those by paragraph and of the plain ones (2026-12-07), so the article level
adds little there. On study 1's slice (200 questions, 35 paragraphs, 7 articles) paragraphs widened the
intervals by 5-45%; 7 articles are too few for an interval of their own.
"""

from __future__ import annotations

from xlir.data.schema import Collection

UNITS = ("group", "id-tail")
"""How a per-question key is formed (:func:`~xlir.experiments.pipeline.evaluate_specs`): the query's
``group`` (its translations' shared id), or the query id after ``"<lang>/"``."""


def unit_of(query_id: str, group: str | None, unit: str) -> str:
    """The per-question key of a query under ``unit`` (see :data:`UNITS`), as
    :func:`~xlir.experiments.pipeline.evaluate_specs` keys it: ``group`` falls back to the full id."""
    if unit == "group":
        return group or query_id
    return query_id.split("/", 1)[1] if "/" in query_id else query_id


def has_paragraphs(name: str) -> bool | None:
    """Whether the registered collection ``name`` is in the -R form (its registry entry says so, no
    loading: MIRACL's or Tatoeba's corpora would take long to read for nothing); ``None`` when
    ``name`` is not a registered collection."""
    from xlir.data.registry import DATASETS, discover

    discover()
    if name not in DATASETS.names():
        return None
    info = DATASETS.get(name)
    return info.kind == "collection" and info.paragraphs


def is_paragraph_form(collection: Collection) -> bool:
    """Whether documents' groups are paragraphs: the -R form records each paragraph's text."""
    return "contexts" in collection.meta


def question_clusters(collection: Collection, unit: str = "group") -> dict[str, str]:
    """Per-question key -> cluster label (the smallest paragraph key of its cluster, e.g. ``"ar/12"``);
    a key without paragraphs is its own cluster (its label is the key itself)."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}, not {unit!r}")
    units = {q.id: unit_of(q.id, q.group, unit) for q in collection.queries}
    if not is_paragraph_form(collection):
        return {u: u for u in units.values()}
    paragraph = {d.id: d.group for d in collection.documents if d.group}
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: str, y: str) -> None:
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)

    for qid, u in units.items():
        find("q\x1f" + u)
        for doc_id, grade in collection.qrels.get(qid, {}).items():
            if grade > 0 and doc_id in paragraph:
                union("q\x1f" + u, "p\x1f" + paragraph[doc_id])
    label: dict[str, str] = {}
    for node in list(parent):
        if node.startswith("p\x1f"):
            root = find(node)
            label[root] = min(label.get(root, node), node)
    out = {}
    for u in set(units.values()):
        root = find("q\x1f" + u)
        out[u] = label[root][2:] if root in label else u
    return out
