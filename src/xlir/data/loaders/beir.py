"""A generic BEIR-layout collection, so users can bring their own data.

Layout (Thakur et al., "BEIR: A Heterogeneous Benchmark for Zero-shot Evaluation of Information
Retrieval Models", NeurIPS 2021 Datasets track, arXiv 2104.08663; github.com/beir-cellar/beir):
a folder with ``corpus.jsonl`` (``_id, title, text``), ``queries.jsonl`` (``_id, text``) and
``qrels/<split>.tsv`` (header, then ``query-id<TAB>corpus-id<TAB>score``); any file may be gzipped.
The same tables from the Hugging Face world load too (:mod:`xlir.data.tables`): ``corpus.parquet``,
``queries.parquet``, ``qrels/<split>.parquet`` (columns ``query-id, corpus-id, score``), or folders
``corpus/``, ``queries/``, ``qrels/<split>/`` written by ``Dataset.save_to_disk`` or holding
Parquet shards. BEIR records carry no language: pass ``language=`` (default ``en``), or give records
a ``language`` field. Only queries with judgments in the split are kept, as BEIR does.

Use: ``load_collection("beir", path="my-data/", split="test", language="de")`` or ``xlir eval
--dataset beir --path my-data/``; a relative ``path`` is looked up in the data directory first.
"""

from __future__ import annotations

from pathlib import Path

from xlir.data.io import iter_tsv
from xlir.data.languages import normalize
from xlir.data.records import read_documents, read_queries
from xlir.data.registry import register_collection, user_supplied
from xlir.data.schema import Collection
from xlir.data.tables import FORMS, find_table, iter_table
from xlir.errors import ConfigError, DataError, MissingDataError


def _qrels_rows(path: Path):
    """``(line, [qid, docid, score])`` from a qrels TSV, or from a table with BEIR's columns."""
    if path.name.endswith((".tsv", ".tsv.gz")):
        for line, f in iter_tsv(path, min_fields=3):
            if line == 1 and f[0].strip().lower() in ("query-id", "query_id", "qid"):
                continue  # header "query-id corpus-id score"
            yield line, [x.strip() for x in f[:3]]
        return
    for row, rec in iter_table(path):
        fields = [next((rec[k] for k in keys if rec.get(k) is not None), None) for keys in
                  (("query-id", "query_id", "qid"), ("corpus-id", "corpus_id", "docid"), ("score",))]
        if None in fields:
            raise DataError(path, f"columns {', '.join(map(str, rec))}", line=row,
                            expected="columns query-id, corpus-id, score")
        yield row, [str(x).strip() for x in fields]


def read_qrels_tsv(path: Path, query_ids: set[str], doc_ids: set[str]) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line, (qid, did, score) in _qrels_rows(path):
        try:
            grade = int(score)
        except ValueError:
            raise DataError(path, f"score {score!r} is not an integer", line=line,
                            expected="query-id<TAB>corpus-id<TAB>integer score") from None
        if qid not in query_ids:
            raise DataError(path, f"judgment names unknown query id {qid!r}", line=line, record=qid,
                            expected="a query id present in queries.jsonl")
        if did not in doc_ids:
            raise DataError(path, f"judgment names unknown document id {did!r}", line=line,
                            record=did, expected="a document id present in corpus.jsonl")
        judged = qrels.setdefault(qid, {})
        if did in judged:  # a second grade used to replace the first silently
            raise DataError(path, f"query {qid!r} judges document {did!r} twice", line=line, record=qid,
                            expected="each (query, document) judged once")
        judged[did] = grade
    return qrels


def _folder(root: Path, path: str | Path | None) -> Path:
    if path is None:
        raise ConfigError("beir: pass path=<folder with corpus.jsonl, queries.jsonl, qrels/> "
                          "(xlir eval --dataset beir --path <folder>)")
    for cand in (root / path, Path(path)):
        if cand.is_dir():
            return cand
    if Path(path).is_file():
        raise ConfigError(f"BEIR path {path} is a file: pass the folder holding corpus, queries, qrels/")
    raise MissingDataError(f"BEIR folder {path} not found (looked in {root} and the working directory)")


def _table(folder: Path, name: str, *, tsv: bool = False) -> Path:
    """Where table ``name`` is, in any form :mod:`xlir.data.tables` reads (qrels also as TSV)."""
    for cand in ((folder / f"{name}.tsv", folder / f"{name}.tsv.gz") if tsv else ()):
        if cand.is_file():
            return cand
    found = find_table(folder, name)
    if found is None:
        forms = ([f"{name}.tsv"] if tsv else []) + [f.format(name=name) for f in FORMS]
        raise MissingDataError(f"BEIR table {name!r} not found in {folder}: expected one of "
                               f"{', '.join(forms)}")
    return found


@register_collection("beir", user_status=user_supplied,
                     folder="<path>", languages=(), sizes="user-supplied",
                     description="any BEIR-layout folder (corpus.jsonl, queries.jsonl, qrels/*.tsv): "
                                 "pass path=")
def load_beir(root: Path, *, path: str | Path | None = None, split: str = "test",
              language: str | None = "en", name: str | None = None) -> Collection:
    folder = _folder(root, path)
    lang = normalize(language) if language is not None else None
    corpus, queries_path = _table(folder, "corpus"), _table(folder, "queries")
    qrels_path = _table(folder / "qrels", split, tsv=True)
    docs = read_documents(corpus, language=lang, rows=iter_table(corpus))
    queries = [q for _, _, q in read_queries(queries_path, language=lang, rows=iter_table(queries_path))]
    qrels = read_qrels_tsv(qrels_path, {q.id for q in queries}, {d.id for d in docs})
    queries = [q for q in queries if q.id in qrels]
    return Collection(name or folder.name, queries, docs, qrels, parallel=False,
                      source=name or folder.name, meta={"format": "beir", "split": split,
                                                        "path": str(folder)})
