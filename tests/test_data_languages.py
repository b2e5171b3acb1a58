"""Language codes meet across schemes; unknown codes fail clearly."""

from __future__ import annotations

import pytest

from xlir.data.languages import (
    UnknownLanguageError,
    known_languages,
    language_name,
    normalize,
    same_language,
)


@pytest.mark.parametrize("codes, expected", [
    (["sw", "swa", "swh", "swh_Latn", "SW", "sw-TZ"], "sw"),
    (["zh", "zho", "cmn", "zho_Hans", "zh_cn", "zh-CN", "chi"], "zh"),
    (["zho_Hant", "zh_tw", "zh_hk", "zh-Hant"], "zh-Hant"),
    (["ar", "ara", "arb", "arb_Arab"], "ar"),
    (["fa", "fas", "per", "pes_Arab"], "fa"),
    (["en", "eng", "eng_Latn", "eng-GB"], "en"),
    (["he", "heb", "iw"], "he"),
    (["yo", "yor", "yor_Latn"], "yo"),
    (["bem", "bem_Latn"], "bem"),
    (["ar-Latn", "arb_Latn"], "ar-Latn"),
    (["sr", "srp_Cyrl", "srp-Cyrl"], "sr"),
])
def test_codes_meet(codes, expected):
    assert {normalize(c) for c in codes} == {expected}


def test_regions_and_names():
    assert normalize("por-BR", keep_region=True) == "pt-BR" and normalize("por-BR") == "pt"
    assert language_name("swh_Latn") == "Swahili" and language_name("zho_Hant") == "Chinese (Hant)"
    assert same_language("deu", "de-AT") and not same_language("zh", "zh-Hant")


@pytest.mark.parametrize("bad", ["xx", "klingon", "", "e1", "en_Latn_US_extra!"])
def test_unknown_codes_raise(bad):
    with pytest.raises(UnknownLanguageError, match="language code") as err:
        normalize(bad)
    assert "docs/languages.md" in str(err.value)


def test_table_is_consistent():
    langs = known_languages()
    codes = [lang.code for lang in langs]
    assert len(codes) == len(set(codes)) > 230
    for lang in langs:
        assert len(lang.code) == 2 or lang.code == lang.iso639_3, lang
        assert lang.script and lang.name
        assert normalize(lang.iso639_3) == lang.code


def test_every_dataset_language_is_known(data_dir):
    """MKQA's 26 keys (incl. zh_cn / zh_hk / zh_tw) and AfriQA's codes all normalise."""
    import gzip
    import json

    with gzip.open(data_dir / "mkqa-sample" / "test_mkqa.jsonl.gz", "rt", encoding="utf-8") as fh:
        keys = set(json.loads(fh.readline())["queries"])
    assert len(keys) == 26
    codes = {k: normalize(k) for k in keys}
    assert codes["zh_cn"] == "zh" and codes["zh_tw"] == codes["zh_hk"] == "zh-Hant"
    assert {normalize(c) for c in ("bem", "fon", "hau", "ibo", "kin", "swa", "twi", "wol", "yor",
                                   "zul")} == {"bem", "fon", "ha", "ig", "rw", "sw", "tw", "wo", "yo", "zu"}
