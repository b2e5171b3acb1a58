"""Collection.subset: the one place collections are cut (languages, per-language limit, trimmed pool)."""

from __future__ import annotations

from xlir.data.schema import Collection, Document, Query


def _toy(parallel: bool) -> Collection:
    """Two languages x three groups; each query's gold is its group's sentence in both languages,
    plus two distractors per language."""
    queries = [Query(f"{lang}/{g}", f"q {g}", lang, str(g)) for lang in ("de", "en") for g in range(3)]
    docs = [Document(f"{lang}/d{i}", f"s {i}", lang, None, str(i)) for lang in ("de", "en") for i in range(5)]
    qrels = {q.id: {f"de/d{q.group}": 1, f"en/d{q.group}": 1} for q in queries}
    if not parallel:  # the English questions start at group 1: per language is not "first overall"
        queries = [q for q in queries if q.id != "en/0"]
        del qrels["en/0"]
    return Collection("toy", queries, docs, qrels, parallel=parallel)


def test_subset_limit_is_per_query_language():
    par = _toy(parallel=True).subset(limit=2)
    assert [q.id for q in par.queries] == ["de/0", "de/1", "en/0", "en/1"] and len(par.documents) == 10
    non = _toy(parallel=False).subset(limit=2)
    assert [q.id for q in non.queries] == ["de/0", "de/1", "en/1", "en/2"]
    assert non.meta["subset"] == {"languages": None, "limit": 2}


def test_subset_pool_keeps_gold_plus_first_per_language():
    sliced = _toy(parallel=True).subset(limit=1, pool_per_language=2)
    assert [d.id for d in sliced.documents] == ["de/d0", "de/d1", "de/d2", "en/d0", "en/d1", "en/d2"]
    gold_only = _toy(parallel=True).subset(limit=1, pool_per_language=0)
    assert [d.id for d in gold_only.documents] == ["de/d0", "en/d0"]
    assert gold_only.meta["subset"]["pool_per_language"] == 0
    one_language = _toy(parallel=True).subset(languages=["en"], pool_per_language=0)
    assert one_language.query_languages == ["en"] and one_language.qrels["en/2"] == {"en/d2": 1}
