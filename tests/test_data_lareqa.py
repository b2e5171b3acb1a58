"""XQuAD-R and MLQA-R as released: counts from PROVENANCE.md and the relevance conventions."""

from __future__ import annotations

import time

import pytest

from xlir.data import COLLECTIONS, load_collection
from xlir.errors import ConfigError

XQUAD_R_CANDIDATES = {"ar": 1222, "de": 1276, "el": 1234, "en": 1180, "es": 1215, "hi": 1244,
                      "ru": 1219, "th": 852, "tr": 1167, "vi": 1209, "zh": 1196}
MLQA_R_QUESTIONS = {"ar": 517, "de": 512, "en": 1148, "es": 500, "hi": 507, "vi": 511, "zh": 504}
MLQA_R_SENTENCES = {"ar": 2545, "de": 2362, "en": 6264, "es": 1787, "hi": 2426, "vi": 2828, "zh": 2322}


@pytest.fixture(scope="module")
def xquad_r(data_dir):
    start = time.perf_counter()
    col = load_collection("xquad-r", data_dir=data_dir)
    col.meta["load_seconds"] = time.perf_counter() - start
    return col


def test_registry_names():
    assert {"xquad-r", "mlqa-r"} <= set(COLLECTIONS.names())


def test_xquad_r_counts(xquad_r):
    assert xquad_r.query_counts() == {lang: 1190 for lang in XQUAD_R_CANDIDATES}
    assert xquad_r.document_counts() == XQUAD_R_CANDIDATES
    assert len(xquad_r.documents) == 13014
    assert xquad_r.parallel and xquad_r.source == "xquad"
    # 11 gold sentences (one per language) for every query
    assert {len(v) for v in xquad_r.qrels.values()} == {11}
    assert xquad_r.meta["load_seconds"] < 5


def test_xquad_r_ids_and_gold(xquad_r):
    docs = {d.id: d for d in xquad_r.documents}
    q = next(q for q in xquad_r.queries if q.id == "en/56beb4343aeaaa14008c925b")
    assert q.group == "56beb4343aeaaa14008c925b" and q.language == "en"
    gold = docs[next(d for d in xquad_r.qrels[q.id] if d.startswith("en/"))]
    assert "308" in gold.text  # the answer "308" is in the gold sentence
    assert gold.id == "en/0/0" and gold.group == "en/0"
    # the same question in German has the same gold set
    assert xquad_r.qrels["de/" + q.group] == xquad_r.qrels[q.id]
    # paragraph index counts over the whole file: the last paragraph is 239
    assert max(int(d.id.split("/")[1]) for d in xquad_r.documents if d.language == "th") == 239


def test_xquad_r_tr_off_by_one_breaks(xquad_r):
    """tr.json paragraph 48 has two spans off by one and a sentence whose text differs from the
    context by one character; the sentence texts stay the candidates and every answer lands in the
    sentence the official sentence_breaks give (sentences 1, 2, 3, 3, 3)."""
    gold = {q: next(d for d in xquad_r.qrels[f"tr/{q}"] if d.startswith("tr/"))
            for q in ("570d47b8b3d812140066d62d", "570d47b8b3d812140066d62e",
                      "570d47b8b3d812140066d62f", "570d47b8b3d812140066d630",
                      "570d47b8b3d812140066d631")}
    assert list(gold.values()) == ["tr/48/1", "tr/48/2", "tr/48/3", "tr/48/3", "tr/48/3"]
    docs = {d.id: d.text for d in xquad_r.documents}
    assert docs["tr/48/3"].startswith("İki turistik demir yolu")


def test_language_filter_and_codes(data_dir):
    col = load_collection("xquad-r", data_dir=data_dir, languages=["deu", "zho_Hans"])
    assert col.query_languages == ["de", "zh"] and len(col.documents) == 1276 + 1196
    assert {len(v) for v in col.qrels.values()} == {2}
    with pytest.raises(ConfigError, match="no language ro"):
        load_collection("xquad-r", data_dir=data_dir, languages=["ro"])
    with pytest.raises(ConfigError, match="unknown option"):
        load_collection("xquad-r", data_dir=data_dir, langs=["de"])


def test_mlqa_r_counts(data_dir):
    col = load_collection("mlqa-r", data_dir=data_dir)
    assert col.query_counts() == MLQA_R_QUESTIONS
    assert col.document_counts() == MLQA_R_SENTENCES
    assert col.source == "mlqa" and col.parallel
    # every question is in English and 1-3 other languages
    sizes = {len(v) for v in col.qrels.values()}
    assert sizes == {2, 3, 4}
    assert all(any(d.startswith("en/") for d in v) for v in col.qrels.values())
