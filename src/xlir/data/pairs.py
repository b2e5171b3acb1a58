"""Training pairs from parallel QA data and bitext (arXiv 2408.10536, section 3.2).

Hybrid-batch training needs (query, positive passage) pairs whose languages can be chosen per batch:
monolingual pairs (query and passage in one language) for ``xx-mono`` batches and cross-lingual pairs
for ``xy`` batches. Parallel QA sets give both at once: every language version of a question is paired
with the gold sentence (or its whole paragraph) in every language version, so a question asked in 4
languages yields 4 monolingual and 12 cross-lingual pairs. All of them share the question id as
``group``, which the samplers use to keep translations of one question out of the same batch (a
translated positive would be a false negative).

Sources (:func:`load_pairs` names):

* ``mlqa``, ``xquad``, ``tydiqa`` — SQuAD-style QA in the LAReQA -R form (loaded with
  :func:`xlir.data.registry.load_collection`; the rebuilt form when registered, else the released
  ``-R`` files; TyDi QA's train split). TyDi QA is monolingual, so it only adds monolingual pairs.
* ``afriqa`` — African-language questions with English (French for Fon and Wolof) gold passages
  (train split), plus the human translation of each question into that pivot language, paired with
  the same passage and in the same group.
* ``ntrex``, ``flores`` (SIB-200's copy), ``tatoeba`` — translation pairs, both directions,
  grouped by the pivot-side sentence so translations of one sentence never meet in a batch.

A :class:`~xlir.data.schema.PairSet` keeps the list of sources: the trained model records it and
:func:`xlir.data.provenance.check_zero_shot` refuses to evaluate on the same source.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from xlir.data.schema import Collection, PairSet, TrainingPair
from xlir.errors import ConfigError, DataError

UNITS = ("sentence", "paragraph")

# Pair source name -> collection names to try, first registered wins (rebuilt form before released),
# and the loader options for training (the train split where one exists; dev is for evaluation).
QA_SOURCES: dict[str, tuple[str, ...]] = {
    "mlqa": ("mlqa", "mlqa-r"),
    "xquad": ("xquad", "xquad-r"),
    "tydiqa": ("tydiqa",),
    "afriqa": ("afriqa",),
}
QA_OPTIONS: dict[str, dict] = {"tydiqa": {"split": "train"}, "afriqa": {"split": "train"}}
BITEXT_SOURCES = {"ntrex": "ntrex", "flores": "sib200", "sib200": "sib200", "tatoeba": "tatoeba"}
"""Pair source name -> registered bitext loader (FLORES-200 text ships inside SIB-200)."""
DEFAULT_BITEXT_PAIRS = ("ar-en", "de-en", "es-en", "hi-en", "vi-en", "zh-en")
"""MLQA's non-English languages with English: translation pairs that match the QA training languages."""


# ---- one collection ---------------------------------------------------------------------------
def _paragraph_texts(collection: Collection) -> dict[str, str]:
    """Document group (paragraph key) -> paragraph text.

    The -R loaders keep each paragraph's original context in ``meta["contexts"]``; otherwise the
    paragraph is rebuilt from its sentences in id order.
    """
    contexts = collection.meta.get("contexts") or {}
    out: dict[str, str] = {}
    parts: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for d in collection.documents:
        key = d.group or d.id
        if key in contexts:
            out[key] = contexts[key]
        else:
            tail = d.id.rsplit("/", 1)[-1]
            parts[key].append((int(tail) if tail.isdigit() else len(parts[key]), d.text))
    for key, sents in parts.items():
        out.setdefault(key, " ".join(t for _, t in sorted(sents)))
    return out


def _sentence_negatives(collection: Collection, k: int) -> dict[str, tuple[str, ...]]:
    """Document id -> up to ``k`` other sentences of its paragraph (the hardest in-pool negatives).

    In the -R form the other sentences of the gold paragraph are candidates too, and the ones a model
    most easily confuses with the answer sentence; the nearest ones in the paragraph come first.
    """
    by_para: dict[str, list] = defaultdict(list)
    for d in collection.documents:
        by_para[d.group or d.id].append(d)
    out: dict[str, tuple[str, ...]] = {}
    for docs in by_para.values():
        for i, d in enumerate(docs):
            order = sorted((j for j in range(len(docs)) if j != i), key=lambda j: (abs(j - i), j))
            out[d.id] = tuple(docs[j].text for j in order[:k] if docs[j].text != d.text)
    return out


def build_pairs(collection: Collection, *, unit: str = "sentence", hard_negatives: int = 0,
                name: str | None = None) -> PairSet:
    """Every (query, relevant document) of ``collection`` as a training pair, grouped by question.

    For a parallel -R collection the judgments of a question already list its gold sentence in every
    language, so this yields every language version of a question with every language version of its
    answer. ``unit="paragraph"`` replaces the sentence by its whole paragraph (the paper's passage
    setting); ``hard_negatives=k`` attaches up to ``k`` other sentences of the gold paragraph (sentence
    unit only). Pairs come in collection order, so the result is deterministic.
    """
    if unit not in UNITS:
        raise ConfigError(f"unknown pair unit {unit!r}; choose one of {', '.join(UNITS)}")
    if hard_negatives and unit != "sentence":
        raise ConfigError("hard negatives from the gold paragraph exist only for unit='sentence'")
    docs = {d.id: d for d in collection.documents}
    paragraphs = _paragraph_texts(collection) if unit == "paragraph" else {}
    negatives = _sentence_negatives(collection, hard_negatives) if hard_negatives else {}
    pairs: list[TrainingPair] = []
    seen: set[tuple[str, str]] = set()
    for q in collection.queries:
        group = q.group or q.id
        questions = [(q.text, q.language)]
        for did, grade in collection.qrels.get(q.id, {}).items():
            if grade <= 0:
                continue
            d = docs[did]
            text = paragraphs.get(d.group or d.id, d.text) if unit == "paragraph" else d.text
            for qtext, qlang in questions:
                key = (qtext, text)
                if key in seen:  # the same question text with the same passage: one pair is enough
                    continue
                seen.add(key)
                pairs.append(TrainingPair(qtext, text, qlang, d.language, group,
                                          negatives.get(did, ())))
    return PairSet(name or collection.name, pairs, [collection.source or collection.name],
                   {"collections": [collection.name], "unit": unit, "hard_negatives": hard_negatives})


def bitext_pairs(rows: Iterable[tuple[str, str]], src: str, tgt: str, *, source: str,
                 both_directions: bool = True) -> list[TrainingPair]:
    """Translation pairs from aligned ``(src_text, tgt_text)`` rows.

    The group is a hash of the target-side (pivot) sentence, so in a multi-parallel set such as NTREX
    or FLORES every translation of one English sentence shares a group and never meets in a batch.
    """
    out: list[TrainingPair] = []
    for a, b in rows:
        a, b = a.strip(), b.strip()
        if not a or not b or a == b:
            continue
        group = f"{source}/" + hashlib.sha1(b.encode()).hexdigest()[:16]
        out.append(TrainingPair(a, b, src, tgt, group))
        if both_directions:
            out.append(TrainingPair(b, a, tgt, src, group))
    return out


# ---- several sources --------------------------------------------------------------------------
def _first_registered(candidates: Sequence[str]) -> str:
    from xlir.data.registry import collection_names

    names = set(collection_names())
    for cand in candidates:
        if cand in names:
            return cand
    raise ConfigError(f"no loader registered for {' or '.join(candidates)}; see `xlir data list`")


def _limit_groups(pairs: list[TrainingPair], max_groups: int | None) -> list[TrainingPair]:
    if max_groups is None:
        return pairs
    keep: dict[str, None] = {}
    for p in pairs:
        if p.group not in keep:
            if len(keep) >= max_groups:
                continue
            keep[p.group] = None
    return [p for p in pairs if p.group in keep]


def load_pairs(names: Sequence[str] | str, *, data_dir: str | Path | None = None, unit: str = "sentence",
               languages: Sequence[str] | None = None, hard_negatives: int = 0,
               bitext_languages: Sequence[str] = DEFAULT_BITEXT_PAIRS,
               max_groups: int | None = None) -> PairSet:
    """Build and combine the training pairs of several sources (see the module docstring).

    ``names`` are pair sources (``mlqa``, ``xquad``, ``tydiqa``, ``afriqa``, ``ntrex``, ``flores``,
    ``tatoeba``), any registered collection name (``mlqa-r``), or a path to a pairs JSONL file written
    by :func:`write_pairs`. ``languages`` keeps only pairs whose query and passage languages are both in
    it; ``bitext_languages`` lists ``"src-tgt"`` language pairs for bitext sources; ``max_groups`` keeps
    the first groups of each source (for quick runs and tests).
    """
    from xlir.data.registry import BITEXTS, collection_names, discover, load_bitext, load_collection

    if isinstance(names, str):
        names = [x for x in names.replace(",", " ").split() if x]
    if not names:
        raise ConfigError("no training sources given")
    discover()
    langs = set(languages) if languages is not None else None
    all_pairs: list[TrainingPair] = []
    sources: list[str] = []
    counts: dict[str, int] = {}
    for name in names:
        key = name.lower()
        if Path(name).suffix in (".jsonl", ".gz") and Path(name).exists():
            ps = read_pairs(name)
            pairs, srcs = ps.pairs, ps.sources
        elif key in BITEXT_SOURCES or key in BITEXTS:
            loader = BITEXT_SOURCES.get(key, key)
            pairs = []
            for spec in bitext_languages:
                src, _, tgt = spec.partition("-")
                if not tgt:
                    raise ConfigError(f"bitext language pair {spec!r} is not of the form src-tgt")
                if langs is not None and not {src, tgt} <= langs:
                    continue
                rows = load_bitext(loader, src, tgt, data_dir=data_dir)
                pairs.extend(bitext_pairs(rows, src, tgt, source=key))
            srcs = ["flores" if loader == "sib200" else loader]
        elif key in QA_SOURCES or key in collection_names():
            coll_name = _first_registered(QA_SOURCES[key]) if key in QA_SOURCES else key
            opts = QA_OPTIONS.get(key, {})
            coll = load_collection(coll_name, data_dir=data_dir, **opts)
            ps = build_pairs(coll, unit=unit, hard_negatives=hard_negatives)
            pairs, srcs = ps.pairs, ps.sources
            if key == "afriqa":  # the pivot-language translation of each question, same passages
                tr = load_collection(coll_name, data_dir=data_dir, translated=True, **opts)
                pairs = pairs + build_pairs(tr, unit=unit, hard_negatives=hard_negatives).pairs
        else:
            known = sorted(set(QA_SOURCES) | set(BITEXT_SOURCES))
            raise ConfigError(f"unknown training source {name!r}; known: {', '.join(known)}, "
                              f"a collection name, or a pairs .jsonl file")
        if langs is not None:
            pairs = [p for p in pairs if p.query_language in langs and p.positive_language in langs]
        pairs = _limit_groups(pairs, max_groups)
        counts[name] = len(pairs)
        all_pairs.extend(pairs)
        sources.extend(s for s in srcs if s not in sources)
    return PairSet("+".join(names), all_pairs, sources,
                   {"counts": counts, "unit": unit, "languages": sorted(langs) if langs else None,
                    "max_groups": max_groups})


def pairs_fingerprint(pairs: PairSet | Sequence[TrainingPair]) -> str:
    """A content hash of the pairs, in order: a resumed run checks it is fed the same data."""
    h = hashlib.sha256()
    for p in pairs.pairs if isinstance(pairs, PairSet) else pairs:
        h.update(json.dumps([p.query, p.positive, p.query_language, p.positive_language, p.group,
                             list(p.negatives)], ensure_ascii=False).encode())
    return h.hexdigest()[:16]


# ---- files ------------------------------------------------------------------------------------
def write_pairs(pairset: PairSet, path: str | Path) -> Path:
    """Write a PairSet as JSONL: a header line with name, sources and meta, then one pair per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"name": pairset.name, "sources": pairset.sources, "meta": pairset.meta},
                           ensure_ascii=False) + "\n")
        for p in pairset.pairs:
            f.write(json.dumps({"query": p.query, "positive": p.positive, "query_language":
                                p.query_language, "positive_language": p.positive_language,
                                "group": p.group, "negatives": list(p.negatives)},
                               ensure_ascii=False) + "\n")
    return path


def read_pairs(path: str | Path) -> PairSet:
    """Read a file written by :func:`write_pairs` (plain or gzip JSONL); a bad line is a DataError."""
    from xlir.data.io import iter_jsonl, text_field

    rows = list(iter_jsonl(path))
    head_expected = '{"name": ..., "sources": [...], "meta": {...}} first'
    if not rows or "sources" not in rows[0][1]:
        raise DataError(path, "missing header line", line=rows[0][0] if rows else 1, expected=head_expected)
    line, head = rows[0]
    sources, name, meta = head["sources"], head.get("name"), head.get("meta") or {}
    if not isinstance(sources, list) or not all(isinstance(x, str) for x in sources) \
            or not isinstance(name, (str, type(None))) or not isinstance(meta, dict):
        raise DataError(path, "malformed header line", line=line, expected=head_expected)
    pairs = []
    for line, r in rows[1:]:
        fields = [text_field(r, k, path, line=line) for k in
                  ("query", "positive", "query_language", "positive_language", "group")]
        negatives = r.get("negatives") or []
        if not isinstance(negatives, list) or not all(isinstance(n, str) and n.strip() for n in negatives):
            raise DataError(path, "'negatives' is not a list of texts", line=line,
                            expected="negatives: [\"text\", ...]")
        pairs.append(TrainingPair(*fields, tuple(negatives)))
    return PairSet(name or Path(path).stem, pairs, list(sources), meta)
