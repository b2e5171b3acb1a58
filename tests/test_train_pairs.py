"""Training pairs from parallel QA data, the pairs file format, and the zero-shot guard."""

from __future__ import annotations

from collections import defaultdict

import pytest

from xlir.data.pairs import build_pairs, load_pairs, pairs_fingerprint, read_pairs, write_pairs
from xlir.data.provenance import canonical_source, check_zero_shot
from xlir.data.registry import load_collection
from xlir.errors import ConfigError


@pytest.fixture(scope="module")
def mlqa(data_dir):
    return load_collection("mlqa-r", data_dir=data_dir)


def test_every_language_version_with_every_gold_version(mlqa):
    ps = build_pairs(mlqa)
    assert ps.sources == ["mlqa"]
    by_group = defaultdict(set)
    for p in ps.pairs:
        by_group[p.group].add((p.query_language, p.positive_language))
    langs_of = defaultdict(set)
    for q in mlqa.queries:
        langs_of[q.group].add(q.language)
    assert len(by_group) == 1148  # every MLQA-R question
    full = sum(len(by_group[g]) == len(langs_of[g]) ** 2 for g in by_group)
    assert full / len(by_group) > 0.98  # a few questions share a gold sentence text: deduplicated
    q = next(q for q in mlqa.queries if len(langs_of[q.group]) == 4)
    gold_docs = {d.id: d for d in mlqa.documents}
    golds = {gold_docs[d].text for d in mlqa.qrels[q.id]}
    mine = {p.positive for p in ps.pairs if p.query == q.text}
    assert mine == golds and len(golds) == 4


def test_paragraph_unit_and_hard_negatives(mlqa):
    sent = build_pairs(mlqa)
    para = build_pairs(mlqa, unit="paragraph")
    s0 = sent.pairs[0]
    p0 = next(p for p in para.pairs if p.query == s0.query and p.positive_language == s0.positive_language)
    assert s0.positive in p0.positive and len(p0.positive) > len(s0.positive)
    hard = build_pairs(mlqa, hard_negatives=2)
    h0 = hard.pairs[0]
    assert len(h0.negatives) == 2 and all(n != h0.positive and n in p0.positive for n in h0.negatives)
    with pytest.raises(ConfigError):
        build_pairs(mlqa, unit="paragraph", hard_negatives=1)


def test_load_pairs_filters_limits_and_round_trips(tmp_path, data_dir):
    ps = load_pairs("mlqa", data_dir=data_dir, languages=["de", "en"], max_groups=50)
    assert {p.query_language for p in ps.pairs} == {"de", "en"}
    assert len({p.group for p in ps.pairs}) == 50
    path = write_pairs(ps, tmp_path / "pairs.jsonl")
    back = read_pairs(path)
    assert back.pairs == ps.pairs and back.sources == ["mlqa"]
    assert pairs_fingerprint(back) == pairs_fingerprint(ps)
    assert load_pairs([str(path)]).pairs == ps.pairs
    with pytest.raises(ConfigError, match="unknown training source"):
        load_pairs(["nosuchset"], data_dir=data_dir)


def test_afriqa_and_bitext_pairs(data_dir):
    afr = load_pairs(["afriqa"], data_dir=data_dir)
    assert afr.sources == ["afriqa"]
    by_group = defaultdict(set)
    for p in afr.pairs:
        by_group[p.group].add(p.query_language)
    # each question comes in its African language and in the pivot-language translation
    both = sum(len(v) == 2 and bool({"en", "fr"} & v) for v in by_group.values())
    assert both / len(by_group) > 0.95
    nt = load_pairs(["ntrex"], data_dir=data_dir, bitext_languages=["de-en", "zh-en"])
    assert nt.sources == ["ntrex"] and len({p.group for p in nt.pairs}) == 1997
    g = nt.pairs[0].group
    assert {(p.query_language, p.positive_language) for p in nt.pairs if p.group == g} == {
        ("de", "en"), ("en", "de"), ("zh", "en"), ("en", "zh")}  # one English sentence, one group


def test_zero_shot_guard(tmp_path):
    from xlir.data.provenance import training_sources

    (tmp_path / "xlir_training.json").write_text('{"sources": ["mlqa"]}')
    assert training_sources(tmp_path) == ["mlqa"] and training_sources("e5-small") == []
    assert canonical_source("XQuAD-R") == "xquad"
    assert check_zero_shot(["mlqa"], "xquad") is True
    with pytest.raises(ConfigError, match="not a zero-shot evaluation"):
        check_zero_shot(["mlqa", "ntrex"], "mlqa")
    with pytest.raises(ConfigError):
        check_zero_shot(["xquad-r"], "xquad")
    assert check_zero_shot(["xquad"], "xquad", override=True) is False
    # MIRACL's queries are TyDi QA questions (through Mr. TyDi): not zero-shot after TyDi training
    with pytest.raises(ConfigError, match=r"built from miracl \(whose queries come from tydiqa\)"):
        check_zero_shot(["mlqa", "tydiqa-goldp"], "miracl")
    assert check_zero_shot(["mlqa"], "miracl") is True and check_zero_shot(["tydiqa"], "xquad-r") is True
