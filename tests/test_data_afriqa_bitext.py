"""AfriQA (cross-lingual) and the bitext sets (NTREX-128, SIB-200, Tatoeba) on the real files."""

from __future__ import annotations

import pytest

from xlir.data import load_bitext, load_collection
from xlir.data.registry import bitext_languages
from xlir.errors import ConfigError, XlirError

AFRIQA_DEV = {"bem": 235, "fon": 271, "ha": 222, "ig": 307, "rw": 230, "tw": 348, "zu": 242}


def test_afriqa_dev(data_dir):
    col = load_collection("afriqa", data_dir=data_dir)
    assert col.query_counts() == AFRIQA_DEV
    assert col.document_counts() == {"en": 1507, "fr": 258}  # gold passages, deduplicated
    assert not col.parallel and col.source == "afriqa"
    assert col.meta["skipped"] == {"questions_without_passage": 2388, "empty_passages": 73,
                                   "empty_questions": 0}
    fon = next(q for q in col.queries if q.language == "fon")
    assert next(iter(col.qrels[fon.id])).startswith("fr/")  # fon and wol pivot to French


def test_afriqa_translated_and_train(data_dir):
    tr = load_collection("afriqa", data_dir=data_dir, translated=True)
    assert tr.query_counts() == {"en": 1584, "fr": 271}
    assert tr.qrels == load_collection("afriqa", data_dir=data_dir).qrels  # same ids, same gold
    train = load_collection("afriqa", data_dir=data_dir, split="train", languages=["yor", "hau"])
    assert train.query_counts() == {"ha": 223, "yo": 247}
    with pytest.raises(ConfigError, match="no language"):
        load_collection("afriqa", data_dir=data_dir, languages=["de"])


def test_ntrex(data_dir):
    langs = bitext_languages("ntrex", data_dir=data_dir)
    assert len(langs) == 130 and {"en", "en-GB", "zh", "zh-Hant", "sr-Latn", "gsw-ZH"} <= set(langs)
    pairs = load_bitext("ntrex", "eng", "swa", data_dir=data_dir)
    assert len(pairs) == 1997 and pairs[0][0] == "Welsh AMs worried about 'looking like muppets'"
    col = load_collection("ntrex", data_dir=data_dir, src="de", tgt="zh_tw")
    assert len(col.queries) == len(col.documents) == 1997
    assert col.qrels["de/5"] == {"zh-Hant/5": 1}


def test_sib200(data_dir):
    langs = bitext_languages("sib200", data_dir=data_dir)
    assert len(langs) == 205 and {"zh", "zh-Hant", "ar", "ar-Latn", "sw"} <= set(langs)
    assert len(load_bitext("sib200", "swh_Latn", "zho_Hans", data_dir=data_dir)) == 1004
    sizes = [len(load_bitext("sib200", "en", "yo", data_dir=data_dir, split=s))
             for s in ("train", "dev", "test")]
    assert sizes == [701, 99, 204]


def test_tatoeba(data_dir):
    langs = bitext_languages("tatoeba", data_dir=data_dir)
    assert len(langs) == 112 and {"zh", "sw", "fa", "ms"} <= set(langs)  # cmn, swh, pes, zsm
    counts = {lang: len(load_bitext("tatoeba", lang, "en", data_dir=data_dir)) for lang in langs}
    assert max(counts.values()) == 1000 and sum(v == 1000 for v in counts.values()) == 72
    de_en = load_bitext("tatoeba", "deu", "eng", data_dir=data_dir)
    en_de = load_bitext("tatoeba", "en", "de", data_dir=data_dir)
    assert en_de[0] == de_en[0][::-1]
    with pytest.raises(ConfigError, match="English"):
        load_bitext("tatoeba", "de", "fr", data_dir=data_dir)
    col = load_collection("tatoeba", data_dir=data_dir, src="sw", tgt="en")
    assert len(col.queries) == counts["sw"] == 390


def test_flores_test_to_english(data_dir):
    """FLORES-200 test from SIB-200: each language's 204 sentences against one English pool."""
    col = load_collection("flores-test", data_dir=data_dir, languages=["swh_Latn", "yor"])
    assert col.query_counts() == {"sw": 204, "yo": 204} and col.document_counts() == {"en": 204}
    ids = [int(q.group) for q in col.queries if q.language == "sw"]
    assert ids == sorted(ids) and [int(d.group) for d in col.documents] == sorted(ids)  # index order
    sw = col.queries[0]
    assert col.qrels[sw.id] == {f"en/{sw.group}": 1} and col.qrels[f"yo/{sw.group}"] == col.qrels[sw.id]
    english = dict(load_bitext("sib200", "sw", "en", data_dir=data_dir, split="test"))
    assert english[sw.text] == next(d.text for d in col.documents if d.group == sw.group)
    sliced = col.subset(limit=3, pool_per_language=0)  # the studies' slice: gold translations only
    assert sliced.query_counts() == {"sw": 3, "yo": 3} and len(sliced.documents) == 3


def test_tatoeba_to_english_skips_missing_languages(data_dir):
    col = load_collection("tatoeba-en", data_dir=data_dir, languages=["sw", "yo", "de"])
    assert col.query_counts() == {"de": 1000, "sw": 390} and col.meta["missing_languages"] == ["yo"]
    assert len(col.documents) == 1390 and col.qrels["sw/sw-0"] == {"en/sw-0": 1}
    assert col.queries[0].text == load_bitext("tatoeba", "sw", "en", data_dir=data_dir)[0][0]
    with pytest.raises(XlirError, match="none of the languages"):
        load_collection("tatoeba-en", data_dir=data_dir, languages=["yo"])
