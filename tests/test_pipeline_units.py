"""The per-question unit of the studies' paired tests (experiments.pipeline.evaluate_specs): a unit
is one question across its translations, or one query where a collection has no shared ids.
AfriQA's ids are numbers within each language, so keying by the id after the language pooled
unrelated queries of different languages into one unit (1,855 queries into 363 units)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def per_unit(tiny_model, data_dir):
    from xlir.experiments.pipeline import EvalSpec, evaluate_specs

    specs = (EvalSpec(name="afriqa", languages=("ha", "zu"), limit=3, pool_per_language=5),
             EvalSpec(name="xquad-r", languages=("de", "en"), limit=3, pool_per_language=5))
    return {unit: evaluate_specs(tiny_model, specs, data_dir=data_dir, question_unit=unit)[1]
            for unit in ("group", "id-tail")}


def test_afriqa_units_are_queries_and_xquad_units_are_questions(per_unit):
    by_query = per_unit["group"]["afriqa"]["cross"]
    pooled = per_unit["id-tail"]["afriqa"]["cross"]
    assert sorted(by_query) == ["ha/0", "ha/1", "ha/2", "zu/0", "zu/1", "zu/2"]
    assert sorted(pooled) == ["0", "1", "2"]  # the studies' legacy unit: ha/0 and zu/0 in one
    for i in range(3):
        assert pooled[str(i)] == pytest.approx((by_query[f"ha/{i}"] + by_query[f"zu/{i}"]) / 2)
    # a parallel collection's unit is the question in all its languages, whichever key is asked for
    assert per_unit["group"]["xquad-r"] == per_unit["id-tail"]["xquad-r"]
    assert len(per_unit["group"]["xquad-r"]["cross"]) == 3


def test_an_unknown_unit_is_refused():
    from xlir.experiments.pipeline import evaluate_specs

    with pytest.raises(ValueError, match="question_unit"):
        evaluate_specs("tiny", (), question_unit="query")
