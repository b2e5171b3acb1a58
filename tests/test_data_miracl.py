"""MIRACL: real topics and qrels, with a small corpus written by the test (the passages are not
shipped); and the clear error when the corpus is missing."""

from __future__ import annotations

import gzip
import json

import pytest

from xlir.data import load_collection
from xlir.data.loaders.miracl import read_qrels, read_topics, topic_counts
from xlir.errors import DataError, MissingDataError

YO_DEV = (119, 1188)  # queries, judgments in qrels.miracl-v1.0-yo-dev.tsv


def _write_corpus(folder, docids, extra=3, drop=None):
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / "docs-0.jsonl.gz", "wt", encoding="utf-8") as fh:
        for i, d in enumerate(sorted(docids)):
            if d == drop:
                continue
            fh.write(json.dumps({"docid": d, "title": f"Title {i}", "text": f"Passage {d} text"}) + "\n")
        for i in range(extra):
            fh.write(json.dumps({"docid": f"999999#{i}", "title": "", "text": "unjudged"}) + "\n")


@pytest.fixture(scope="module")
def yo_docids(data_dir):
    qrels = read_qrels(data_dir / "miracl/qrels/qrels.miracl-v1.0-yo-dev.tsv.gz", "yo")
    return {d.split("/", 1)[1] for judged in qrels.values() for d in judged}


def test_shipped_counts(data_dir):
    dev, train = topic_counts(data_dir, "dev"), topic_counts(data_dir, "train")
    assert sum(q for q, _ in dev.values()) == 13495 and sum(j for _, j in dev.values()) == 130408
    assert sum(q for q, _ in train.values()) == 40203 and sum(j for _, j in train.values()) == 343177
    assert dev["yo"] == YO_DEV and len(dev) == 18 and len(train) == 16
    topics = read_topics(data_dir / "miracl/topics/topics.miracl-v1.0-yo-dev.tsv.gz", "yo")
    assert topics[0].id == "yo/10020#0" and topics[0].language == "yo"


def test_corpus_dir_fixture(data_dir, tmp_path, yo_docids):
    _write_corpus(tmp_path / "corpus" / "yo", yo_docids)
    col = load_collection("miracl", data_dir=data_dir, languages=["yor"],
                          corpus_dir=tmp_path / "corpus")
    assert len(col.queries) == YO_DEV[0]
    assert sum(len(v) for v in col.qrels.values()) == YO_DEV[1]
    assert len(col.documents) == len(yo_docids) + 3
    assert all(any(g > 0 for g in v.values()) for v in col.qrels.values())
    assert col.documents[0].title == "Title 0" and col.source == "miracl"
    judged = load_collection("miracl", data_dir=data_dir, languages=["yo"],
                             corpus_dir=tmp_path / "corpus", judged_only=True)
    assert len(judged.documents) == len(yo_docids)


def test_default_corpus_location(data_dir, tmp_path, yo_docids):
    """``<data_dir>/miracl/corpus/<lang>/`` is found without options (real topics/qrels linked in)."""
    (tmp_path / "miracl").mkdir()
    for sub in ("topics", "qrels"):
        (tmp_path / "miracl" / sub).symlink_to(data_dir / "miracl" / sub)
    _write_corpus(tmp_path / "miracl" / "corpus" / "yo", yo_docids, extra=0)
    col = load_collection("miracl", data_dir=tmp_path, languages=["yo"])
    assert len(col.queries) == YO_DEV[0] and len(col.documents) == len(yo_docids)


def test_missing_corpus_says_where(data_dir):
    with pytest.raises(MissingDataError) as err:
        load_collection("miracl", data_dir=data_dir, languages=["sw"])
    msg = str(err.value)
    assert "miracl/corpus/sw" in msg and "miracl-corpus" in msg and "docid, title, text" in msg


def test_corpus_missing_a_judged_passage(data_dir, tmp_path, yo_docids):
    dropped = sorted(yo_docids)[0]
    _write_corpus(tmp_path / "c" / "yo", yo_docids, drop=dropped)
    with pytest.raises(DataError, match="unknown document id") as err:
        load_collection("miracl", data_dir=data_dir, languages=["yo"], corpus_dir=tmp_path / "c")
    assert dropped in str(err.value)
