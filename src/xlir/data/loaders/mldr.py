"""MLDR (BGE-M3's Multilingual Long-Document Retrieval) layout: corpus + query files.

Source: Chen et al., "BGE M3-Embedding: Multi-Lingual, Multi-Functionality, Multi-Granularity
Text Embeddings Through Self-Knowledge Distillation" (arXiv 2402.03216); data Shitao/MLDR on the
Hugging Face Hub. Per language (13 in the release) a folder ``<data_dir>/mldr/<lang>/`` (or the
Hub's ``mldr-v1.0-<lang>/``, or ``mldr_dir=``) holding:

* ``corpus.jsonl`` - ``{"docid", "text"}`` per line;
* ``<split>.jsonl`` (train/dev/test) - ``{"query_id", "query", "positive_passages":
  [{"docid", "text"?}], "negative_passages": [...]}`` per line.

Positives become grade-1 judgments and must be in the corpus; negatives are hard negatives (for
training), not judgments, and are kept in ``meta["negatives"]``. :func:`mldr_pairs` gives a
split as training pairs with those negatives. Ids are prefixed with the language.
"""

from __future__ import annotations

from pathlib import Path

from xlir.data.discover import languages_in_folders
from xlir.data.io import find_file
from xlir.data.records import read_documents, read_queries
from xlir.data.registry import register_collection, user_supplied
from xlir.data.schema import Collection, PairSet, TrainingPair
from xlir.errors import ConfigError, DataError, MissingDataError

MLDR_LANGUAGES = ("ar", "de", "en", "es", "fr", "hi", "it", "ja", "ko", "pt", "ru", "th", "zh")


def mldr_folder(root: Path, lang: str, mldr_dir: str | Path | None = None) -> Path:
    base = Path(mldr_dir) if mldr_dir is not None else root / "mldr"
    for cand in (base / lang, base / f"mldr-v1.0-{lang}"):
        if cand.is_dir():
            return cand
    raise MissingDataError(
        f"MLDR {lang!r} not found: put the Hugging Face Shitao/MLDR files of {lang} "
        f"(corpus.jsonl and dev.jsonl/test.jsonl/train.jsonl) in {base / lang}/, or pass mldr_dir= "
        "(xlir eval --dataset mldr --path <folder>)"
    )


def _passage_ids(rec: dict, field: str, path: Path, line: int, qid: str) -> list[str]:
    items = rec.get(field, [])
    if not isinstance(items, list):
        raise DataError(path, f"{field!r} is not a list", line=line, record=qid,
                        expected=f'{field}: [{{"docid": ..., "text": ...}}]')
    out = []
    for item in items:
        docid = item.get("docid") if isinstance(item, dict) else None
        if isinstance(docid, bool) or not isinstance(docid, (str, int)) or not str(docid).strip():
            raise DataError(path, f"{field} entry without a string 'docid'", line=line, record=qid,
                            expected='{"docid": ..., "text": ...}')
        out.append(str(docid))
    return out


@register_collection("mldr", user_status=user_supplied,
                     folder="mldr", languages=MLDR_LANGUAGES, sizes="user-supplied",
                     description="MLDR (BGE-M3) long-document retrieval; files supplied by the user")
def load_mldr(root: Path, *, languages: list[str] | None = None, split: str = "test",
              mldr_dir: str | Path | None = None) -> Collection:
    if split not in ("train", "dev", "test"):
        raise ConfigError(f"mldr: split must be train, dev or test, not {split!r}")
    if languages is None:  # the languages whose folders are there
        base = Path(mldr_dir) if mldr_dir is not None else root / "mldr"
        langs = sorted(set(languages_in_folders(base)) | set(languages_in_folders(
            base, r"mldr-v1\.0-(?P<lang>[a-z]{2,3})")))
        if not langs:
            raise MissingDataError(
                f"no MLDR language folder in {base}: put the Hugging Face Shitao/MLDR files of a language "
                f"(corpus.jsonl and dev/test/train.jsonl) in {base}/<lang>/ (e.g. {base}/de/), or pass "
                "mldr_dir=<folder> (xlir eval --dataset mldr --path <folder>)")
    else:
        langs = list(dict.fromkeys(languages))
    queries, docs, qrels, negatives = [], [], {}, {}
    for lang in langs:
        folder = mldr_folder(root, lang, mldr_dir)
        lang_docs = read_documents(find_file(folder / "corpus.jsonl"), language=lang, id_field="docid",
                                   prefix=f"{lang}/")
        doc_ids = {d.id for d in lang_docs}
        qpath = find_file(folder / f"{split}.jsonl")
        for line, rec, q in read_queries(qpath, language=lang, id_field="query_id", text_name="query",
                                         prefix=f"{lang}/"):
            raw_id = q.id.split("/", 1)[1]
            positives = _passage_ids(rec, "positive_passages", qpath, line, raw_id)
            if not positives:
                raise DataError(qpath, "no positive passage", line=line, record=raw_id,
                                expected="at least one entry in positive_passages")
            for did in positives:
                if f"{lang}/{did}" not in doc_ids:
                    raise DataError(qpath, f"positive passage {did!r} is not in the corpus", line=line,
                                    record=raw_id, expected=f"a docid of {folder / 'corpus.jsonl'}")
            qrels[q.id] = {f"{lang}/{did}": 1 for did in positives}
            negs = _passage_ids(rec, "negative_passages", qpath, line, raw_id)
            if negs:
                negatives[q.id] = [f"{lang}/{did}" for did in negs]
            queries.append(q)
        docs += lang_docs
    return Collection(f"mldr-{split}", queries, docs, qrels, parallel=False, source="mldr",
                      meta={"split": split, "negatives": negatives})


def mldr_pairs(root: Path, lang: str, *, split: str = "train", max_negatives: int = 7,
               mldr_dir: str | Path | None = None) -> PairSet:
    """Training pairs (query, each positive, hard negatives) from an MLDR split."""
    col = load_mldr(root, languages=[lang], split=split, mldr_dir=mldr_dir)
    text = {d.id: d.text for d in col.documents}
    pairs = []
    for q in col.queries:
        negs = tuple(text[d] for d in col.meta["negatives"].get(q.id, [])[:max_negatives] if d in text)
        for did in col.qrels[q.id]:
            pairs.append(TrainingPair(q.text, text[did], lang, lang, q.id, negs))
    return PairSet(f"mldr-{split}-{lang}", pairs, ["mldr"])
