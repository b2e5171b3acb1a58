"""Bad input never ends in a bare traceback: each case raises DataError naming file, line or
record, and what was expected."""

from __future__ import annotations

import gzip
import json

import pytest

from xlir.data import load_collection
from xlir.data.io import iter_jsonl, iter_tsv, read_json
from xlir.data.languages import UnknownLanguageError
from xlir.data.rform import read_squad
from xlir.errors import ConfigError, DataError, XlirError


def _beir(folder, corpus=None, queries=None, qrels="query-id\tcorpus-id\tscore\nq0\td0\t1\n"):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "qrels").mkdir(exist_ok=True)
    corpus = corpus if corpus is not None else [json.dumps({"_id": "d0", "text": "a passage"}),
                                                json.dumps({"_id": "d1", "text": "another"})]
    queries = queries if queries is not None else [json.dumps({"_id": "q0", "text": "a question"})]
    (folder / "corpus.jsonl").write_text("\n".join(corpus) + "\n", encoding="utf-8")
    (folder / "queries.jsonl").write_text("\n".join(queries) + "\n", encoding="utf-8")
    (folder / "qrels" / "test.tsv").write_text(qrels, encoding="utf-8")
    return folder


def _load(folder, **kw):
    return load_collection("beir", data_dir=folder.parent, path=folder.name, **kw)


def _check(err, path_part, *, line=None, record=None, expected=None):
    e = err.value
    assert isinstance(e, DataError) and isinstance(e, XlirError)
    assert path_part in e.path
    if line is not None:
        assert e.line == line and f":{line}:" in str(e)
    if record is not None:
        assert e.record == record and f"(record {record})" in str(e)
    assert e.expected and "expected" in str(e)
    if expected:
        assert expected in e.expected


def test_fixture_is_valid(tmp_path):
    assert len(_load(_beir(tmp_path / "ok")).queries) == 1


def test_malformed_jsonl(tmp_path):
    folder = _beir(tmp_path / "b", corpus=[json.dumps({"_id": "d0", "text": "x"}), '{"_id": "d1", "text": '])
    with pytest.raises(DataError, match="malformed JSON") as err:
        _load(folder)
    _check(err, "corpus.jsonl", line=2, expected="one JSON object per line")


def test_malformed_json_file(tmp_path):
    path = tmp_path / "squad.json.gz"
    with gzip.open(path, "wt") as fh:
        fh.write('{"data": [\n  {"title": "x",\n  "paragraphs": [}\n]}')
    with pytest.raises(DataError, match="malformed JSON") as err:
        read_json(path)
    _check(err, "squad.json.gz", line=3, expected="valid JSON")


def test_jsonl_line_not_an_object(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text('{"a": 1}\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(DataError, match="list instead of an object") as err:
        list(iter_jsonl(path))
    _check(err, "x.jsonl", line=2)


def test_missing_field(tmp_path):
    folder = _beir(tmp_path / "b", corpus=[json.dumps({"_id": "d0", "title": "no text"})])
    with pytest.raises(DataError, match="missing field 'text'") as err:
        _load(folder)
    _check(err, "corpus.jsonl", line=1, record="d0")


def test_missing_squad_field(tmp_path):
    path = tmp_path / "plain.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [{"qas": []}]}]}), encoding="utf-8")
    with pytest.raises(DataError, match="context") as err:
        read_squad(path, splitter=lambda text, lang: [(0, len(text))])
    _check(err, "plain.json", record="data[0].paragraphs[0]")


def test_empty_text(tmp_path):
    folder = _beir(tmp_path / "b", queries=[json.dumps({"_id": "q0", "text": "   "})])
    with pytest.raises(DataError, match="empty 'text'") as err:
        _load(folder)
    _check(err, "queries.jsonl", line=1, record="q0", expected="non-empty")


def test_duplicate_ids(tmp_path):
    folder = _beir(tmp_path / "b", corpus=[json.dumps({"_id": "d0", "text": "a"}),
                                            json.dumps({"_id": "d1", "text": "b"}),
                                            json.dumps({"_id": "d0", "text": "c"})])
    with pytest.raises(DataError, match="duplicate document id") as err:
        _load(folder)
    _check(err, "corpus.jsonl", line=3, record="d0", expected="unique")


def test_judgment_unknown_document(tmp_path):
    folder = _beir(tmp_path / "b", qrels="query-id\tcorpus-id\tscore\nq0\td0\t1\nq0\td9\t1\n")
    with pytest.raises(DataError, match="unknown document id 'd9'") as err:
        _load(folder)
    _check(err, "test.tsv", line=3, record="d9")


def test_judgment_unknown_query(tmp_path):
    folder = _beir(tmp_path / "b", qrels="q7\td0\t1\n")
    with pytest.raises(DataError, match="unknown query id 'q7'") as err:
        _load(folder)
    _check(err, "test.tsv", line=1, record="q7")


def test_bad_score_and_short_line(tmp_path):
    folder = _beir(tmp_path / "b", qrels="q0\td0\tyes\n")
    with pytest.raises(DataError, match="not an integer") as err:
        _load(folder)
    _check(err, "test.tsv", line=1)
    path = tmp_path / "q.tsv"
    path.write_text("a\tb\tc\nonly-one-field\n", encoding="utf-8")
    with pytest.raises(DataError, match="1 field") as err:
        list(iter_tsv(path, min_fields=3))
    _check(err, "q.tsv", line=2, expected="at least 3")


def test_unknown_language_in_record(tmp_path):
    folder = _beir(tmp_path / "b", corpus=[json.dumps({"_id": "d0", "text": "a", "language": "xx"})])
    with pytest.raises(DataError, match="unknown language code 'xx'") as err:
        _load(folder)
    _check(err, "corpus.jsonl", line=1, record="d0", expected="ISO 639")


def test_unknown_language_option(tmp_path, data_dir):
    with pytest.raises(UnknownLanguageError, match="unknown language code 'klingon'|malformed"):
        _load(_beir(tmp_path / "b"), language="klingon")
    with pytest.raises(ConfigError, match="unknown language code 'qq'"):
        load_collection("xquad-r", data_dir=data_dir, languages=["qq"])


def test_bitext_language_given_twice(tmp_path):
    """NTREX ships ``deu``; a second file that also normalises to ``de`` must not silently win."""
    from xlir.data.loaders.ntrex import ntrex_languages

    folder = tmp_path / "ntrex-128"
    folder.mkdir()
    for code in ("eng", "deu", "de"):
        (folder / f"newstest2019-ref.{code}.txt").write_text("a\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"language 'de' given by two files") as err:
        ntrex_languages(tmp_path)
    assert err.value.expected == "one file per language variant"


def test_unknown_language_weighting():
    from xlir.data.schema import TrainingPair
    from xlir.training.samplers import build_sampler

    pairs = [TrainingPair(query=f"q{i}", positive=f"p{i}", group=str(i), query_language="en",
                          positive_language="de") for i in range(4)]
    # the sampler's typed Options name the sampler, the option and the choices
    with pytest.raises(ConfigError, match="sampler 'xy': weighting: Input should be 'uniform' or 'propor"):
        build_sampler("xy", pairs, 2, weighting="even")


# ---- issue 11, defect 7: malformed records that used to crash with a raw exception -------------------

def _squad_file(tmp_path, *, answers=None, question="Which one?", sentences=None, breaks=None, qid="1"):
    para = {"context": "First one. Second one.",
            "qas": [{"id": qid, "question": question,
                     "answers": [{"text": "one", "answer_start": 6}] if answers is None else answers}]}
    if sentences is not None:
        para["sentences"] = sentences
    if breaks is not None:
        para["sentence_breaks"] = breaks
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"data": [{"title": "t", "paragraphs": [para]}]}), encoding="utf-8")
    return path


def _two_sentences(text, lang):
    return [(0, 10), (11, len(text))]


@pytest.mark.parametrize(("answers", "message"), [
    (["308"], r"answers\[0\] is a str"),          # was AttributeError
    ([None], r"answers\[0\] is a NoneType"),      # was AttributeError
    ([{"text": 308, "answer_start": 6}], r"answers\[0\]\.text is a int"),
    ([{"text": "one", "answer_start": True}], r"bad answers\[0\]\.answer_start True"),
    ([{"text": "one", "answer_start": "6"}], r"bad answers\[0\]\.answer_start '6'"),
])
def test_malformed_answers_name_the_question(tmp_path, answers, message):
    with pytest.raises(DataError, match=message) as err:
        read_squad(_squad_file(tmp_path, answers=answers), splitter=_two_sentences)
    _check(err, "s.json", record="data[0].paragraphs[0].qas[0]")


@pytest.mark.parametrize(("question", "qid"), [(["a", "b"], "1"), ({"t": "x"}, "1"), (7, "1"),
                                              ("ok?", ["1"]), ("ok?", 1.5), ("ok?", True)])
def test_question_and_id_must_be_scalars_not_stringified(tmp_path, question, qid):
    """A list question used to become the text "['a', 'b']" and be evaluated as such."""
    with pytest.raises(DataError, match="question|id") as err:
        read_squad(_squad_file(tmp_path, question=question, qid=qid), splitter=_two_sentences)
    _check(err, "s.json", record="data[0].paragraphs[0].qas[0]")
    assert read_squad(_squad_file(tmp_path, qid=308), splitter=_two_sentences)[0].qas[0][0] == "308"


@pytest.mark.parametrize(("breaks", "message"), [
    ([5, 7], r"sentence_breaks\[0\] is 5"),                     # was TypeError
    ([[0, 10], ["a", "b"]], r"sentence_breaks\[1\] is \['a', 'b'\]"),  # was TypeError
    ([[0, 10], [11, 99]], r"sentence_breaks\[1\] is \[11, 99\]"),      # past the context
    ([[0, 10]], "1 entries for 2 sentences"),
    ("0-10", "sentence_breaks: a str"),
])
def test_sentence_breaks_that_do_not_match_the_context(tmp_path, breaks, message):
    path = _squad_file(tmp_path, sentences=["First one.", "Second one."], breaks=breaks)
    with pytest.raises(DataError, match=message) as err:
        read_squad(path)
    _check(err, "s.json", record="data[0].paragraphs[0]", expected="[start, end]")
    ok = _squad_file(tmp_path, sentences=["First one.", "Second one."], breaks=[[0, 10], [11, 22]])
    assert read_squad(ok)[0].starts == [0, 11]


@pytest.mark.parametrize("size", ["abc", None, 1.5, -3, True])
def test_manifest_bytes_of_the_wrong_type(tmp_path, size):
    from xlir.data.manifest import read_manifest

    (tmp_path / "MANIFEST.json").write_text(json.dumps(
        {"files": [{"path": "a.txt", "bytes": size, "sha256": "0" * 64}]}), encoding="utf-8")
    with pytest.raises(DataError, match=r"'bytes' is") as err:  # was ValueError / TypeError
        read_manifest(tmp_path)
    _check(err, "MANIFEST.json", record="files[0] (a.txt)", expected="non-negative integer")
    (tmp_path / "MANIFEST.json").write_text(json.dumps(
        {"files": [{"path": "a.txt", "bytes": 3, "sha256": "xyz"}]}), encoding="utf-8")
    with pytest.raises(DataError, match=r"'sha256' is 'xyz'"):
        read_manifest(tmp_path)


def test_non_utf8_byte_is_reported_on_its_own_line(tmp_path):
    """The decoder works in chunks, so the old reader named line 2824 for a bad byte on line 3001."""
    path = tmp_path / "c.jsonl"
    path.write_bytes(b"".join(b'{"a": %d}\n' % i for i in range(3000)) + b'{"a": "\xff"}\n')
    with pytest.raises(DataError, match="not UTF-8") as err:
        list(iter_jsonl(path))
    _check(err, "c.jsonl", line=3001, expected="UTF-8")
    gz = tmp_path / "c.jsonl.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(DataError) as err:
        list(iter_jsonl(gz))
    assert err.value.line == 3001
    whole = tmp_path / "w.json"
    whole.write_bytes(b'{\n"a": 1,\n"b": "\xff"\n}\n')
    with pytest.raises(DataError, match=r"w\.json:3: not UTF-8 text \(byte 0xff at byte 7"):
        read_json(whole)
    tsv = tmp_path / "t.tsv"
    tsv.write_bytes(b"a\tb\n\x0cc\td\ne\t\xfe\n")  # a form feed does not count as a line break
    with pytest.raises(DataError) as err:
        list(iter_tsv(tsv, min_fields=2))
    assert err.value.line == 3


def test_truncated_gzip_and_folder_instead_of_file(tmp_path):
    path = tmp_path / "c.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(b'{"a": %d}\n' % i for i in range(5000)))[:-40])
    with pytest.raises(DataError, match="truncated or corrupt gzip") as err:  # was EOFError
        list(iter_jsonl(path))
    _check(err, "c.jsonl.gz", expected="complete gzip")
    with pytest.raises(DataError, match="truncated or corrupt gzip"):
        read_json(path)
    with pytest.raises(DataError, match="is a folder"):
        read_json(tmp_path)
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DataError, match="nested too deeply"):  # was RecursionError
        read_json(deep)


def test_data_dir_that_is_a_file(tmp_path):
    from xlir.data.datadir import data_dir

    f = tmp_path / "data.txt"
    f.write_text("x")
    with pytest.raises(ConfigError, match="is a file, not a folder"):  # was "does not exist"
        data_dir(f)
    with pytest.raises(XlirError, match="does not exist"):
        data_dir(tmp_path / "nope")


def test_afriqa_and_mldr_refuse_lists_where_text_or_ids_belong(tmp_path):
    """``str(["a", "b"])`` used to become the question "['a', 'b']" (AfriQA) or a docid (MLDR)."""
    base = tmp_path / "afriqa" / "data"
    q = base / "queries" / "hau" / "queries.afriqa.hau.en.dev.json"
    g = base / "gold_passages" / "hau" / "gold_span_passages.afriqa.hau.en.dev.json"
    for p in (q, g):
        p.parent.mkdir(parents=True)
    q.write_text(json.dumps({"id": 1, "question": ["a", "b"], "translated_question": "x"}) + "\n")
    g.write_text(json.dumps({"id": 1, "context": "A passage."}) + "\n")
    with pytest.raises(DataError, match="field 'question' is a list") as err:
        load_collection("afriqa", data_dir=tmp_path, languages=["ha"])
    _check(err, "queries.afriqa.hau.en.dev.json", line=1)
    q.write_text(json.dumps({"id": 1, "question": "Q?", "translated_question": "x"}) + "\n")
    assert len(load_collection("afriqa", data_dir=tmp_path, languages=["ha"]).queries) == 1
    mldr = tmp_path / "mldr" / "de"
    mldr.mkdir(parents=True)
    (mldr / "corpus.jsonl").write_text(json.dumps({"docid": "d1", "text": "t"}) + "\n")
    (mldr / "test.jsonl").write_text(json.dumps({"query_id": "q", "query": "Q?",
                                                 "positive_passages": [{"docid": ["d1"]}]}) + "\n")
    with pytest.raises(DataError, match="without a string 'docid'"):
        load_collection("mldr", data_dir=tmp_path, languages=["de"])


def test_duplicate_judgments_are_refused(tmp_path):
    """A second line for the same (query, document) silently replaced the first grade (as in TREC)."""
    from xlir.data.loaders.miracl import read_qrels

    folder = _beir(tmp_path / "b", qrels="query-id\tcorpus-id\tscore\nq0\td0\t1\nq0\td1\t0\nq0\td0\t0\n")
    with pytest.raises(DataError, match="judges document 'd0' twice") as err:
        _load(folder)
    _check(err, "test.tsv", line=4, record="q0")
    path = tmp_path / "qrels.tsv"
    path.write_text("1 Q0 d0 1\n1 Q0 d0 0\n")
    with pytest.raises(DataError, match="twice") as err:
        read_qrels(path, "sw")
    assert err.value.line == 2
