"""AfriQA: cross-lingual open-retrieval QA, questions in 10 African languages, answers in English
or French Wikipedia passages.

Source: Ogundepo et al., "AfriQA: Cross-lingual Open-Retrieval Question Answering for African
Languages" (Findings of EMNLP 2023, arXiv 2305.06897), github.com/masakhane-io/afriqa. Files:
``afriqa/data/queries/<l>/queries.afriqa.<l>.<pivot>.<split>.json`` (JSON lines: ``id, question,
translated_question, answers, lang, split, translated_answer, translation_type``) and
``afriqa/data/gold_passages/<l>/gold_span_passages.afriqa.<l>.<pivot>.<split>.json`` (``id,
question_lang, question_translated, title, context, answer_pivot, answer_lang``); pivot ``fr`` for
fon and wol, ``en`` otherwise.

The collection is cross-lingual: queries in the African language, candidates are the gold passages
of every question of the split (in English or French), deduplicated by text (the same passage
answers several questions). ``translated=True`` gives the human translations of the questions into
the pivot language instead (same query ids), for the translate-test setting.

The released snapshot has no gold passages for swa and wol (and none for yor dev), and a few
passages with an empty context; their questions cannot be judged and are left out (counted in
``meta["skipped"]``).
"""

from __future__ import annotations

import math
from pathlib import Path

from xlir.data.io import find_file, iter_jsonl
from xlir.data.languages import normalize
from xlir.data.registry import register_collection
from xlir.data.schema import Collection, Document, Query
from xlir.errors import ConfigError, DataError, MissingDataError

AFRIQA_LANGUAGES = ("bem", "fon", "hau", "ibo", "kin", "swa", "twi", "wol", "yor", "zul")
PIVOT = {lang: ("fr" if lang in ("fon", "wol") else "en") for lang in AFRIQA_LANGUAGES}
_CODE = {lang: normalize(lang) for lang in AFRIQA_LANGUAGES}  # hau -> ha, swa -> sw, ...
_FROM_CODE = {v: k for k, v in _CODE.items()}


def _text(value, path: Path | None = None, line: int | None = None, field: str = "text") -> str:
    """AfriQA's JSON has nulls and NaNs where a text is missing; treat them as empty. Anything else
    that is not a string (a list, a number) is an error, not text: ``str(["a", "b"])`` would be
    evaluated as the question "['a', 'b']"."""
    if value is None or isinstance(value, float) and math.isnan(value):
        return ""
    if not isinstance(value, str):
        raise DataError(path, f"field {field!r} is a {type(value).__name__}", line=line,
                        expected=f"{field!r} as a string (or null when missing)")
    return value.strip()


def _id(value, path: Path, line: int) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise DataError(path, f"bad 'id' {value!r}", line=line, expected="a string or integer id")
    return str(value)


def _read(path: Path, fields: tuple[str, ...]) -> list[tuple[int, dict]]:
    rows = []
    for line, rec in iter_jsonl(path):
        for f in fields:
            if f not in rec:
                raise DataError(path, f"missing field {f!r}", line=line,
                                expected=f"AfriQA records with {', '.join(fields)}")
        rows.append((line, rec))
    return rows


@register_collection("afriqa", folder="afriqa", languages=tuple(_CODE.values()),
                     sizes="dev 1,855 q/1,765 psg; train 2,092/1,990",
                     description="AfriQA: questions in 10 African languages -> en/fr gold passages "
                                 "(cross-lingual); translated=True for pivot-language questions")
def load_afriqa(root: Path, *, languages: list[str] | None = None, split: str = "dev",
                translated: bool = False) -> Collection:
    if split not in ("dev", "train"):
        raise ConfigError(f"afriqa: split must be 'dev' or 'train', not {split!r}")
    wanted = list(_CODE.values()) if languages is None else list(dict.fromkeys(languages))
    unknown = [x for x in wanted if x not in _FROM_CODE]
    if unknown:
        raise ConfigError(f"afriqa has no language {', '.join(unknown)}; it has "
                          f"{', '.join(_CODE.values())}")
    base = root / "afriqa" / "data"
    queries: list[Query] = []
    docs: dict[str, Document] = {}
    by_text: dict[tuple[str, str], str] = {}
    qrels: dict[str, dict[str, int]] = {}
    skipped = {"questions_without_passage": 0, "empty_passages": 0, "empty_questions": 0}
    for code in wanted:
        lang, pivot = _FROM_CODE[code], PIVOT[_FROM_CODE[code]]
        qpath = find_file(base / "queries" / lang / f"queries.afriqa.{lang}.{pivot}.{split}.json",
                          hint="AfriQA ships as afriqa/data/ (github.com/masakhane-io/afriqa)")
        rows = _read(qpath, ("id", "question", "translated_question"))
        try:
            gpath = find_file(base / "gold_passages" / lang /
                              f"gold_span_passages.afriqa.{lang}.{pivot}.{split}.json")
            gold = {_id(r["id"], gpath, n): (n, r) for n, r in _read(gpath, ("id", "context"))}
        except MissingDataError:
            gpath, gold = None, {}
        for n, rec in rows:
            qid = _id(rec["id"], qpath, n)
            field = "translated_question" if translated else "question"
            text = _text(rec[field], qpath, n, field)
            pline, passage = gold.get(qid, (None, None))
            if passage is None:
                skipped["questions_without_passage"] += 1
                continue
            context = _text(passage.get("context"), gpath, pline, "context")
            if not context:
                skipped["empty_passages"] += 1
                continue
            if not text:
                skipped["empty_questions"] += 1
                continue
            key = (pivot, context)
            if key not in by_text:
                did = f"{pivot}/{code}/{qid}"
                by_text[key] = did
                title = _text(passage.get("title"), gpath, pline, "title") or None
                docs[did] = Document(did, context, pivot, title)
            query_id = f"{code}/{qid}"
            queries.append(Query(query_id, text, pivot if translated else code, query_id))
            qrels[query_id] = {by_text[key]: 1}
    name = f"afriqa-{split}" + ("-translated" if translated else "")
    return Collection(name, queries, list(docs.values()), qrels, parallel=False, source="afriqa",
                      meta={"split": split, "translated": translated, "skipped": skipped})
