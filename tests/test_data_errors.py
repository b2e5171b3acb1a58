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
    with pytest.raises(ConfigError, match="unknown language weighting 'even'"):
        build_sampler("xy", pairs, 2, weighting="even")
