"""Aligned sentence pairs (bitext) and their retrieval form, shared by the bitext loaders.

A bitext set maps each of its languages (xlir codes, :mod:`xlir.data.languages`) to a list of
sentences, line-aligned with the others; NTREX-128 and SIB-200/FLORES are multi-way parallel,
Tatoeba pairs every language with English only. The retrieval form (bitext mining, as in LASER's
Tatoeba evaluation, Artetxe & Schwenk 2019) makes the source sentences queries and the target
sentences the candidates, with each query's aligned sentence the only relevant one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xlir.data.languages import UnknownLanguageError, normalize
from xlir.data.schema import Collection, Document, Query
from xlir.errors import ConfigError, DataError


def index_by_language(entries: Iterable[tuple[str, Path]], *, kind: str) -> dict[str, Path]:
    """``{language key: path}`` from ``(key, path)`` entries; two paths for one key is a DataError
    (a release that ships a language twice would otherwise silently lose one of them)."""
    out: dict[str, Path] = {}
    for key, path in entries:
        if key in out:
            raise DataError(path, f"language {key!r} given by two {kind}s ({out[key].name})",
                            expected=f"one {kind} per language variant")
        out[key] = path
    return out


def resolve(code: str, available: dict[str, object], dataset: str) -> str:
    """The key of ``available`` that ``code`` names (region kept if a regional variant exists)."""
    for keep_region in (True, False):
        try:
            key = normalize(code, keep_region=keep_region)
        except UnknownLanguageError:
            raise
        if key in available:
            return key
    raise ConfigError(f"{dataset} has no language {code!r} (normalised {normalize(code)!r}); "
                      f"it has {len(available)}: {', '.join(sorted(available))}")


def pairs_to_collection(name: str, src: str, tgt: str, pairs: list[tuple[str, str]], *,
                        source: str, meta: dict | None = None) -> Collection:
    """Queries in ``src``, candidates in ``tgt``; query i's aligned sentence i is relevant."""
    queries = [Query(f"{src}/{i}", s, src, str(i)) for i, (s, _) in enumerate(pairs)]
    tgt_key = tgt if tgt != src else f"{tgt}~"  # a language against itself still needs unique ids
    docs = [Document(f"{tgt_key}/{i}", t, tgt, None, str(i)) for i, (_, t) in enumerate(pairs)]
    qrels = {q.id: {d.id: 1} for q, d in zip(queries, docs, strict=True)}
    return Collection(f"{name}:{src}-{tgt}", queries, docs, qrels, parallel=False, source=source,
                      meta={"src": src, "tgt": tgt, **(meta or {})})


def to_pivot_collection(name: str, rows: dict[str, list[tuple[str, str, str]]], *, pivot: str, source: str,
                        meta: dict | None = None) -> Collection:
    """Queries in many languages, candidates their translations in one pivot language (English).

    ``rows``: language -> ``(key, text, pivot_text)``. Query ``<lang>/<key>`` (group ``key``) finds
    the candidate ``<pivot>/<key>``. In an n-way parallel set (FLORES) every language shares the key
    of a sentence, so its pivot sentence is one candidate for all of them; a pivot-paired set
    (Tatoeba) gives distinct keys per language. Candidates keep the order they first appear in.
    """
    queries, docs, qrels = [], {}, {}
    for lang, lang_rows in rows.items():
        for key, text, pivot_text in lang_rows:
            qid = f"{lang}/{key}"
            queries.append(Query(qid, text, lang, key))
            docs.setdefault(key, Document(f"{pivot}/{key}", pivot_text, pivot, None, key))
            qrels[qid] = {f"{pivot}/{key}": 1}
    return Collection(name, queries, list(docs.values()), qrels, parallel=False, source=source,
                      meta={"pivot": pivot, **(meta or {})})

