"""AfriQA (cross-lingual) and the bitext sets (NTREX-128, SIB-200, Tatoeba) on the real files."""

from __future__ import annotations

import pytest

from xlir.data import load_bitext, load_collection
from xlir.data.registry import bitext_languages
from xlir.errors import ConfigError

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
