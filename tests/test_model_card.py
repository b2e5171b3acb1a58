"""The model card a trained folder carries: what a reader of a published model needs to know."""

from __future__ import annotations

from xlir.training.model_card import model_card

RECORD = {
    "model": "e5-small", "sources": ["mlqa"], "steps": 120, "world_size": 1, "wall_time_s": 1775.2,
    "final_loss": 0.8123, "device": "cpu", "precision": "float32",
    "base_model_record": {"upstream": "intfloat/multilingual-e5-small (MIT)"},
    "pairs": {"count": 3840, "groups": 1200, "language_pairs": {"de-de": 100, "de-en": 120, "ar-zh": 3}},
    "sampler": {"name": "hybrid", "alpha": 0.5},
    "config": {"sampler": "hybrid", "alpha": 0.5, "weighting": "uniform", "batch_size": 32, "lr": 3e-5,
               "temperature": 0.05, "max_length": 96, "freeze_word_embeddings": True, "seed": 0},
}


def test_card_names_base_model_data_sampler_licence_and_citations():
    card = model_card(RECORD)
    front = card.split("---")[1]
    assert "base_model: intfloat/multilingual-e5-small" in front and "license: mit" in front
    assert "library_name: sentence-transformers" in front
    assert front.split("language:")[1].split() == ["-", "ar", "-", "de", "-", "en", "-", "zh"]
    assert "mlqa — 3840 query–passage pairs from 1200 questions" in card
    assert "hybrid (alpha = 0.5: a batch is monolingual with probability alpha" in card
    assert "**Steps**: 120 of 32 pairs" in card and "word embeddings frozen" in card
    assert "whose licence (MIT) applies" in card
    assert "arXiv:2408.10536" in card and "arXiv:2004.05484" in card
    assert "model.encode_query" in card and "model.encode_document" in card


def test_card_holds_the_evaluation_table_when_one_was_run():
    rows = [{"collection": "xquad-r", "queries": 2200, "mono": 0.776, "cross": 0.693, "multi": 0.565,
             "rank_distance": 234.9}]
    card = model_card(RECORD, rows)
    assert "| xquad-r | 2200 | 0.776 | 0.693 | 0.565 | 234.9 |" in card
    assert "No evaluation was run" not in card
    assert "No evaluation was run" in model_card(RECORD)
