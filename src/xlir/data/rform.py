"""The LAReQA "-R" retrieval form of a SQuAD-style QA set, shared by every loader that makes one.

LAReQA (Roy et al., 2020, arXiv 2004.05484, section 3.1) turns extractive QA into sentence
retrieval: every sentence of every paragraph (in every language) is a candidate, and the gold
candidate of a question is the sentence that contains its answer's start. Translations keep the
question id, so a question in language X has one gold sentence in each language version of it.

Conventions (the evaluation code relies on them):

* query id ``"{lang}/{qid}"``, query ``group`` = ``qid`` (shared across translations; for a
  non-parallel set ``"{lang}/{qid}"``, and judgments stay within the query's language);
* document id ``"{lang}/{paragraph_index}/{sentence_index}"``, where ``paragraph_index`` counts the
  paragraphs of the language's file in order over the whole file; document ``group`` =
  ``"{lang}/{paragraph_index}"`` (the paragraph key; its text is in ``meta["contexts"]``);
* qrels: query ``X/q`` -> the gold sentence of ``q`` in every language loaded that has ``q``,
  grade 1. Monolingual / cross-lingual / multilingual settings are filters on document language.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from xlir.data.io import read_json
from xlir.data.schema import Collection, Document, Query
from xlir.errors import DataError

_STRIP = " \t\r\n\u00a0\u200b\ufeff"


@dataclass
class RParagraph:
    """One paragraph: its sentences, where each starts in ``context``, and its questions."""

    context: str
    sentences: list[str]
    starts: list[int]
    qas: list[tuple[str, str, int]] = field(default_factory=list)  # (qid, question, answer_start)
    title: str = ""

    def gold(self, answer_start: int) -> int:
        """Index of the sentence containing ``answer_start`` (gaps belong to the sentence before)."""
        return max(0, bisect_right(self.starts, answer_start) - 1)


def align_sentences(context: str, sentences: Sequence[str],
                    breaks: Sequence[Sequence[int]] | None = None) -> list[int]:
    """Start offset of each sentence in ``context``, found by searching forward in order.

    The sentence texts are the source of truth: XQuAD-R ``tr.json`` has two ``sentence_breaks``
    spans off by one character, and one sentence whose text differs from the context by a
    normalised character, so an exact search falls back to a prefix search, then to the given break.
    """
    starts: list[int] = []
    pos = 0
    for k, sent in enumerate(sentences):
        core = sent.strip(_STRIP)
        i = context.find(sent, pos) if sent else -1
        if i < 0 and core:
            i = context.find(core, pos)
        if i < 0 and core:
            i = context.find(core[:24], pos)
        if i < 0 and breaks is not None and k < len(breaks) and breaks[k][0] >= pos:
            i = int(breaks[k][0])
        if i < 0:
            i = pos
        starts.append(i)
        pos = i + len(core or sent)
    return starts


def _where(a: int, p: int | None = None, q: int | None = None) -> str:
    out = f"data[{a}]"
    if p is not None:
        out += f".paragraphs[{p}]"
    if q is not None:
        out += f".qas[{q}]"
    return out


def _scalar_id(value, path, rec: str) -> str:
    """A question id: a string, or a JSON integer (never a list, float or bool turned into text)."""
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise DataError(path, f"bad question id {value!r}", record=rec, expected="a non-empty string id")


def _check_breaks(breaks, n_sentences: int, n_chars: int, path, rec: str) -> list[list[int]] | None:
    """``sentence_breaks`` must be one ``[start, end]`` integer span inside the context per sentence.

    Their text may still differ slightly from the sentences (:func:`align_sentences` copes); a
    malformed or out-of-range list is an error, since the spans place the gold sentence.
    """
    if breaks is None:
        return None
    expected = f"one [start, end] pair of integer offsets within the context (0..{n_chars}) per sentence"
    if not isinstance(breaks, list) or len(breaks) != n_sentences:
        got = f"{len(breaks)} entries for {n_sentences} sentences" if isinstance(breaks, list) \
            else f"a {type(breaks).__name__}"
        raise DataError(path, f"sentence_breaks: {got}", record=rec, expected=expected)
    for k, span in enumerate(breaks):
        ok = (isinstance(span, list) and len(span) == 2
              and all(isinstance(x, int) and not isinstance(x, bool) for x in span)
              and 0 <= span[0] <= span[1] <= n_chars)
        if not ok:
            raise DataError(path, f"sentence_breaks[{k}] is {span!r}", record=rec, expected=expected)
    return breaks


def read_squad(path: str | Path, *, splitter=None, language: str | None = None,
               need_answers: bool = True) -> list[RParagraph]:
    """Read a SQuAD v1.1 file into paragraphs with sentences.

    With ``splitter=None`` the file must be an -R file (``sentences`` and optionally
    ``sentence_breaks`` per paragraph); otherwise ``splitter(context, language)`` returns
    ``[(start, end)]`` spans and the sentences are cut from the context.
    Questions without an answer (SQuAD 2.0 style) are skipped; with ``need_answers`` an answer
    whose text is empty is an error (its offset cannot point at a gold sentence).
    """
    doc = read_json(path)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("data"), list):
        raise DataError(path, "no top-level 'data' list", expected='SQuAD JSON {"data": [...]}')
    out: list[RParagraph] = []
    for a, article in enumerate(doc["data"]):
        if not isinstance(article, Mapping) or not isinstance(article.get("paragraphs"), list):
            raise DataError(path, "article without a 'paragraphs' list", record=_where(a),
                            expected="an article {title, paragraphs: [...]}")
        title = article.get("title") or ""
        if not isinstance(title, str):
            raise DataError(path, f"'title' is a {type(title).__name__}", record=_where(a),
                            expected="the article title as a string")
        for p, para in enumerate(article["paragraphs"]):
            rec = _where(a, p)
            if not isinstance(para, Mapping):
                raise DataError(path, "paragraph is not an object", record=rec,
                                expected="{context, qas}")
            context = para.get("context")
            if not isinstance(context, str) or not context.strip():
                raise DataError(path, "missing or empty 'context'", record=rec,
                                expected="a non-empty paragraph text")
            if splitter is None:
                sentences = para.get("sentences")
                if not isinstance(sentences, list) or not sentences:
                    raise DataError(path, "missing 'sentences'", record=rec,
                                    expected="an -R paragraph with a non-empty 'sentences' list "
                                             "(use a SQuAD-to-R builder for plain SQuAD files)")
                if not all(isinstance(s, str) and s.strip(_STRIP) for s in sentences):
                    raise DataError(path, "empty or non-string sentence", record=rec,
                                    expected="non-empty sentence strings")
                breaks = _check_breaks(para.get("sentence_breaks"), len(sentences), len(context),
                                       path, rec)
                starts = align_sentences(context, sentences, breaks)
                sentences = [s.strip(_STRIP) for s in sentences]
            else:
                spans = splitter(context, language)
                sentences = [context[s:e].strip(_STRIP) for s, e in spans]
                starts = [s for s, _ in spans]
            qas_out: list[tuple[str, str, int]] = []
            qas = para.get("qas")
            if not isinstance(qas, list):
                raise DataError(path, "missing 'qas' list", record=rec, expected="a list of questions")
            for q, qa in enumerate(qas):
                qrec = _where(a, p, q)
                if not isinstance(qa, Mapping) or qa.get("id") is None or qa.get("question") is None:
                    raise DataError(path, "question without 'id' or 'question'", record=qrec,
                                    expected="{id, question, answers: [{text, answer_start}]}")
                qid = _scalar_id(qa["id"], path, qrec)
                question = qa["question"]
                if not isinstance(question, str):
                    raise DataError(path, f"field 'question' is a {type(question).__name__}",
                                    record=qrec, expected="the question as one string")
                answers = qa.get("answers")
                if not isinstance(answers, list):
                    raise DataError(path, "missing 'answers' list", record=qrec,
                                    expected="answers: [{text, answer_start}]")
                for k, ans in enumerate(answers):
                    if not isinstance(ans, Mapping):
                        raise DataError(path, f"answers[{k}] is a {type(ans).__name__}, not an object",
                                        record=qrec, expected='answers: [{"text": ..., "answer_start": int}]')
                    if not isinstance(ans.get("text", ""), str):
                        raise DataError(path, f"answers[{k}].text is a {type(ans['text']).__name__}",
                                        record=qrec, expected="the answer span as a string")
                if not answers:
                    continue
                start = answers[0].get("answer_start")
                if need_answers and not (answers[0].get("text") or "").strip():
                    raise DataError(path, "empty answer text", record=qrec,
                                    expected="the answer span, needed to find the gold sentence")
                if not isinstance(start, int) or isinstance(start, bool) or not 0 <= start < len(context):
                    if start == -1 and not isinstance(start, bool):
                        continue
                    raise DataError(path, f"bad answers[0].answer_start {start!r}", record=qrec,
                                    expected=f"an integer offset in [0, {len(context)})")
                qas_out.append((qid, question, start))
            out.append(RParagraph(context, sentences, starts, qas_out, title))
    return out


def build_r_collection(name: str, paragraphs: Mapping[str, list[RParagraph]], *, source: str,
                       parallel: bool = True, meta: dict | None = None) -> Collection:
    """Assemble the -R collection from each language's paragraphs (see the module docstring)."""
    queries: list[Query] = []
    documents: list[Document] = []
    contexts: dict[str, str] = {}
    gold: dict[str, dict[str, str]] = {}  # lang -> qid -> document id
    for lang, paras in paragraphs.items():
        g = gold.setdefault(lang, {})
        for pi, para in enumerate(paras):
            key = f"{lang}/{pi}"
            contexts[key] = para.context
            for si, sent in enumerate(para.sentences):
                documents.append(Document(f"{key}/{si}", sent, lang, para.title or None, key))
            for qid, question, start in para.qas:
                group = qid if parallel else f"{lang}/{qid}"
                queries.append(Query(f"{lang}/{qid}", question.strip(_STRIP), lang, group))
                g[qid] = f"{key}/{para.gold(start)}"
    langs = list(paragraphs)
    if parallel:
        qrels = {q.id: {gold[lang][q.group]: 1 for lang in langs if q.group in gold[lang]}
                 for q in queries}
    else:  # ids may repeat across languages without being translations
        qrels = {q.id: {gold[q.language][q.id.split("/", 1)[1]]: 1} for q in queries}
    info = {"contexts": contexts, **(meta or {})}
    return Collection(name, queries, documents, qrels, parallel=parallel, source=source, meta=info)
