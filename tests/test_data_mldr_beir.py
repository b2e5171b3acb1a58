"""User-supplied layouts on fixtures written by the tests: MLDR (BGE-M3) and generic BEIR."""

from __future__ import annotations

import gzip
import json

import pytest

from xlir.data import load_collection
from xlir.data.loaders.mldr import mldr_pairs
from xlir.errors import DataError, MissingDataError


def _jsonl(path, rows, gz=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    opener = gzip.open if gz else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


@pytest.fixture
def mldr_root(tmp_path):
    for lang, word in (("de", "Dokument"), ("zh", "文档")):
        folder = tmp_path / "mldr" / lang
        _jsonl(folder / "corpus.jsonl.gz", [{"docid": f"doc-{i}", "text": f"{word} {i} " * 50}
                                            for i in range(6)], gz=True)
        for split in ("test", "train"):
            _jsonl(folder / f"{split}.jsonl", [
                {"query_id": f"q{i}", "query": f"{word} Frage {i}",
                 "positive_passages": [{"docid": f"doc-{i}", "text": "..."}],
                 "negative_passages": [{"docid": f"doc-{(i + 1) % 6}", "text": "..."},
                                       {"docid": f"doc-{(i + 2) % 6}", "text": "..."}]
                 if split == "train" else []}
                for i in range(4)])
    return tmp_path


def test_mldr_collection(mldr_root):
    col = load_collection("mldr", data_dir=mldr_root, languages=["deu", "zho_Hans"])
    assert col.query_counts() == {"de": 4, "zh": 4} and col.document_counts() == {"de": 6, "zh": 6}
    assert col.qrels["zh/q2"] == {"zh/doc-2": 1} and col.meta["negatives"] == {}
    train = load_collection("mldr", data_dir=mldr_root, languages=["de"], split="train")
    assert train.meta["negatives"]["de/q0"] == ["de/doc-1", "de/doc-2"]
    pairs = mldr_pairs(mldr_root, "de", max_negatives=1)
    assert len(pairs) == 4 and len(pairs.pairs[0].negatives) == 1
    assert pairs.pairs[0].positive.startswith("Dokument 0")


def test_mldr_errors(mldr_root):
    with pytest.raises(MissingDataError, match="Shitao/MLDR"):
        load_collection("mldr", data_dir=mldr_root, languages=["fr"])
    _jsonl(mldr_root / "mldr" / "de" / "test.jsonl",
           [{"query_id": "q0", "query": "x", "positive_passages": [{"docid": "nope"}]}])
    with pytest.raises(DataError, match="not in the corpus") as err:
        load_collection("mldr", data_dir=mldr_root, languages=["de"])
    assert "test.jsonl:1" in str(err.value)


@pytest.fixture
def beir_dir(tmp_path):
    folder = tmp_path / "mybeir"
    _jsonl(folder / "corpus.jsonl", [{"_id": f"d{i}", "title": f"T{i}", "text": f"text {i}"}
                                     for i in range(5)])
    _jsonl(folder / "queries.jsonl", [{"_id": f"q{i}", "text": f"query {i}"} for i in range(3)])
    (folder / "qrels").mkdir()
    (folder / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\nq0\td0\t1\nq0\td1\t2\nq1\td3\t1\n", encoding="utf-8")
    return folder


def test_beir_layout(beir_dir):
    col = load_collection("beir", data_dir=beir_dir.parent, path="mybeir", language="swh_Latn")
    assert [q.id for q in col.queries] == ["q0", "q1"]  # q2 has no judgment in the split
    assert col.qrels == {"q0": {"d0": 1, "d1": 2}, "q1": {"d3": 1}}
    assert len(col.documents) == 5 and col.documents[2].title == "T2"
    assert col.query_languages == ["sw"] and col.name == "mybeir"


def test_languages_on_a_loader_without_the_option_slices_the_loaded_collection(beir_dir):
    """BEIR folders are read whole; ``languages=`` still works, by :meth:`Collection.subset`."""
    kept = load_collection("beir", data_dir=beir_dir.parent, path="mybeir", language="sw", languages="swa")
    assert [q.id for q in kept.queries] == ["q0", "q1"] and kept.meta["subset"]["languages"] == ["sw"]
    empty = load_collection("beir", data_dir=beir_dir.parent, path="mybeir", language="sw",
                            languages=["de"])
    assert empty.queries == [] and empty.documents == []
