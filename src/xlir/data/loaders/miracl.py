"""MIRACL: monolingual retrieval over Wikipedia passages in 18 languages.

Source: Zhang et al., "MIRACL: A Multilingual Retrieval Dataset Covering 18 Diverse Languages"
(TACL 2023, arXiv 2210.09984). Shipped here (from castorini/anserini-tools): topics
``miracl/topics/topics.miracl-v1.0-<lang>-<split>.tsv`` (``qid<TAB>query``) and qrels
``miracl/qrels/qrels.miracl-v1.0-<lang>-<split>.tsv`` (``qid Q0 docid rel``, rel 0 or 1).

The passages live only on the Hugging Face Hub (``miracl/miracl-corpus``: JSON lines with
``docid``, ``title``, ``text``), so the user supplies them: put the files of a language in
``<data_dir>/miracl/corpus/<lang>/`` (any ``*.jsonl`` / ``*.jsonl.gz``, e.g. the Hub's
``docs-*.jsonl.gz``) or pass ``corpus_dir=``. Without them the loader raises
:class:`~xlir.errors.MissingDataError` saying exactly that.

Ids are prefixed with the language (``"sw/10020#0"``), since MIRACL's query ids and docids
(``<articleid>#<passage>``) repeat across languages. Judgments keep grade 0 (judged
non-relevant) as well as 1; queries with no relevant passage are dropped.
"""

from __future__ import annotations

from pathlib import Path

from xlir.data.discover import languages_in_files
from xlir.data.io import find_file, iter_jsonl, iter_tsv, text_field
from xlir.data.registry import register_collection
from xlir.data.schema import Collection, Document, Query
from xlir.errors import ConfigError, DataError, MissingDataError

SPLITS = {
    "dev": ("ar", "bn", "de", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "sw", "te",
            "th", "yo", "zh"),
    "train": ("ar", "bn", "en", "es", "fa", "fi", "fr", "hi", "id", "ja", "ko", "ru", "sw", "te", "th",
              "zh"),
}


def read_topics(path: Path, lang: str) -> list[Query]:
    return [Query(f"{lang}/{f[0].strip()}", f[1].strip(), lang)
            for _, f in iter_tsv(path, min_fields=2)]


def read_qrels(path: Path, lang: str) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    for line, f in iter_tsv(path, min_fields=4, sep=None):
        try:
            grade = int(f[3])
        except ValueError:
            raise DataError(path, f"relevance {f[3]!r} is not an integer", line=line,
                            expected="qid Q0 docid rel (rel an integer)") from None
        judged = qrels.setdefault(f"{lang}/{f[0]}", {})
        if f"{lang}/{f[2]}" in judged:  # a second grade used to replace the first silently
            raise DataError(path, f"query {f[0]!r} judges document {f[2]!r} twice", line=line, record=f[0],
                            expected="each (query, document) judged once")
        judged[f"{lang}/{f[2]}"] = grade
    return qrels


def has_corpus(root: Path, lang: str, corpus_dir: str | Path | None) -> bool:
    """Whether a folder of this language's passages is there (``<lang>/`` or the Hub's name)."""
    base = Path(corpus_dir) if corpus_dir is not None else root / "miracl" / "corpus"
    return any((base / name).is_dir() for name in (lang, f"miracl-corpus-v1.0-{lang}"))


def corpus_files(root: Path, lang: str, corpus_dir: str | Path | None) -> list[Path]:
    """The jsonl files holding a language's passages, or MissingDataError naming where to put them."""
    base = Path(corpus_dir) if corpus_dir is not None else root / "miracl" / "corpus"
    candidates = [base / lang, base / f"miracl-corpus-v1.0-{lang}"]
    if corpus_dir is not None:
        candidates.append(base)
    for folder in candidates:
        if folder.is_dir():
            files = sorted(p for p in folder.rglob("*") if p.is_file() and
                           (p.name.endswith(".jsonl") or p.name.endswith(".jsonl.gz")))
            if files:
                return files
    raise MissingDataError(
        f"MIRACL passages for {lang!r} are not in the data directory: topics and qrels ship with "
        f"xlir's data, the corpus does not. Download the {lang} files of the Hugging Face dataset "
        f"miracl/miracl-corpus (miracl-corpus-v1.0-{lang}/docs-*.jsonl.gz; JSON lines with docid, "
        f"title, text) into {base / lang}/, or pass corpus_dir=<folder> (xlir eval --corpus <folder>)."
    )


def read_corpus(files: list[Path], lang: str, keep: set[str] | None = None) -> list[Document]:
    docs: list[Document] = []
    seen: set[str] = set()
    for path in files:
        for line, rec in iter_jsonl(path):
            docid = text_field(rec, "docid", path, line=line)
            did = f"{lang}/{docid}"
            if keep is not None and did not in keep:
                continue
            if did in seen:
                raise DataError(path, f"duplicate docid {docid!r}", line=line, record=docid,
                                expected="each passage once in the corpus files")
            seen.add(did)
            text = text_field(rec, "text", path, line=line, record_id=docid)
            title = rec.get("title")
            docs.append(Document(did, text, lang, title if isinstance(title, str) and title else None))
    return docs


def corpus_status(root: Path) -> str:
    """Which languages' passages the user has put under ``miracl/corpus`` (for ``xlir data list``)."""
    base = root / "miracl" / "corpus"
    langs = sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []
    return f"topics+qrels; corpus: {','.join(langs) if langs else 'none'}"


@register_collection("miracl", folder="miracl", languages=SPLITS["dev"], user_status=corpus_status,
                     sizes="dev 13,495 q/130,408 judg.; train 40,203",
                     description="MIRACL topics+qrels (dev/train, 18 languages); passages supplied by "
                                 "the user (HF miracl-corpus)")
def load_miracl(root: Path, *, languages: list[str] | None = None, split: str = "dev",
                corpus_dir: str | Path | None = None, judged_only: bool = False) -> Collection:
    """``judged_only`` keeps just the judged passages (a quick re-ranking-style pool)."""
    if split not in SPLITS:
        raise ConfigError(f"miracl: split must be one of {', '.join(SPLITS)}, not {split!r}")
    topics_dir = root / "miracl" / "topics"
    # languages come from the topic files present (a user may add languages MIRACL publishes later)
    present = languages_in_files(topics_dir, rf"topics\.miracl-v1\.0-(?P<lang>[a-z]{{2,3}})-{split}\.tsv")
    if languages is None:
        # every language whose passages are there; the others would only fail for want of a corpus
        langs = [x for x in present if has_corpus(root, x, corpus_dir)]
        if not langs:
            corpus_files(root, present[0] if present else "en", corpus_dir)  # raises, saying where
    else:
        langs = list(dict.fromkeys(languages))
    missing = [x for x in langs if x not in present]
    if missing:
        raise ConfigError(f"miracl {split} has no language {', '.join(missing)}; the topic files in "
                          f"{topics_dir} are for {', '.join(present) or 'no language'}")
    queries: list[Query] = []
    documents: list[Document] = []
    qrels: dict[str, dict[str, int]] = {}
    hint = "MIRACL topics/qrels ship as miracl/{topics,qrels}/ (castorini/anserini-tools)"
    for lang in langs:
        files = corpus_files(root, lang, corpus_dir)
        topics = read_topics(find_file(root / "miracl" / "topics" /
                                       f"topics.miracl-v1.0-{lang}-{split}.tsv", hint=hint), lang)
        judged = read_qrels(find_file(root / "miracl" / "qrels" /
                                      f"qrels.miracl-v1.0-{lang}-{split}.tsv", hint=hint), lang)
        topics = [q for q in topics if any(g > 0 for g in judged.get(q.id, {}).values())]
        keep = {d for q in topics for d in judged[q.id]} if judged_only else None
        queries += topics
        qrels.update({q.id: judged[q.id] for q in topics})
        documents += read_corpus(files, lang, keep)
    return Collection(f"miracl-{split}", queries, documents, qrels, parallel=False, source="miracl",
                      meta={"split": split, "judged_only": judged_only})


def topic_counts(root: Path, split: str = "dev") -> dict[str, tuple[int, int]]:
    """Per language (queries, judgments) from the shipped files, without any corpus."""
    out = {}
    for lang in SPLITS[split]:
        t = find_file(root / "miracl" / "topics" / f"topics.miracl-v1.0-{lang}-{split}.tsv")
        q = find_file(root / "miracl" / "qrels" / f"qrels.miracl-v1.0-{lang}-{split}.tsv")
        out[lang] = (sum(1 for _ in iter_tsv(t, min_fields=2)),
                     sum(1 for _ in iter_tsv(q, min_fields=4, sep=None)))
    return out
