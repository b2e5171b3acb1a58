"""Write a collection as an MTEB retrieval dataset folder (the Hugging Face Hub layout, on disk).

MTEB (Muennighoff et al. 2023, arXiv 2210.07316) loads a retrieval task's data with ``datasets`` from
a Hub repository: per subset ``S`` three configs, ``S-corpus`` (``id``, ``title``, ``text``),
``S-queries`` (``id``, ``text``) and ``S-qrels`` (``query-id``, ``corpus-id``, ``score``), declared in
the ``configs`` block of the repository's ``README.md`` (``mteb.abstasks.retrieval_dataset_loaders``).
``datasets`` reads the same layout from a local folder, so a folder written here stands in for the
Hub repository of a task such as ``XQuADRetrieval`` when there is no network (``xlir mteb run``).

Each subset is one retrieval problem with its own corpus, as MTEB defines them: by default one per
language (queries and documents of that language: the XQuAD/MLQA-Retrieval ``xx`` subsets); pass
``subsets`` to name (query language, document language) pairs, e.g. MLQA-Retrieval's per-pair corpora.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from xlir.errors import ConfigError


def _jsonl(path: Path, rows) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n


def write_retrieval_dataset(collection, out_dir: str | Path, *, split: str = "test",
                            subsets: Mapping[str, tuple[str, str]] | None = None,
                            titles: bool = False) -> dict[str, dict]:
    """Write ``collection`` under ``out_dir`` in MTEB's retrieval layout; returns per-subset counts.

    ``subsets`` maps a subset name to ``(query language, document language)``; default: each query
    language with its own documents. Judgments are kept where both sides fall in the subset; queries
    left without a relevant document are dropped (MTEB drops them too). ``titles``: write document
    titles; MTEB then encodes ``title + " " + text``, while xlir's evaluator encodes the text alone, so
    by default titles are left out and both tools encode the same strings.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise ConfigError(f"{out} is not empty; give a new folder for the MTEB dataset")
    if subsets is None:
        subsets = {lang: (lang, lang) for lang in sorted({q.language for q in collection.queries})}
    configs: list[str] = []
    counts: dict[str, dict] = {}
    for name, (qlang, dlang) in subsets.items():
        corpus = [d for d in collection.documents if d.language == dlang]
        in_corpus = {d.id for d in corpus}
        qrels = {q.id: {d: g for d, g in collection.qrels.get(q.id, {}).items() if d in in_corpus and g > 0}
                 for q in collection.queries if q.language == qlang}
        qrels = {q: rel for q, rel in qrels.items() if rel}
        queries = [q for q in collection.queries if q.id in qrels]
        if not queries or not corpus:
            raise ConfigError(f"subset {name!r} ({qlang} queries, {dlang} documents) has no judged query")
        base = out / name
        _jsonl(base / "corpus.jsonl", ({"id": d.id, "title": (d.title or "") if titles else "",
                                        "text": d.text} for d in corpus))
        _jsonl(base / "queries.jsonl", ({"id": q.id, "text": q.text} for q in queries))
        _jsonl(base / "qrels.jsonl", ({"query-id": q, "corpus-id": d, "score": int(g)}
                                      for q, rel in qrels.items() for d, g in rel.items()))
        for kind in ("corpus", "queries", "qrels"):
            configs.append(f"- config_name: {name}-{kind}\n  data_files:\n"
                           f"  - split: {split}\n    path: {name}/{kind}.jsonl")
        counts[name] = {"queries": len(queries), "documents": len(corpus),
                        "judgments": sum(len(r) for r in qrels.values())}
    readme = ("---\nconfigs:\n" + "\n".join(configs) + "\n---\n\n"
              f"MTEB retrieval layout of xlir collection `{collection.name}`, written by "
              f"xlir.data.mteb_layout (split `{split}`, subsets {', '.join(subsets)}).\n")
    (out / "README.md").write_text(readme, encoding="utf-8")
    return counts
