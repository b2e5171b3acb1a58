"""Paragraph clusters of the paired tests, on the real -R collections: XQuAD-R's questions fall into
its 240 paragraphs, the study-1 slice into 35, and collections without paragraphs keep one cluster
per question. The study table round-trips and the reports' phrase says which unit was resampled."""

from __future__ import annotations

from collections import Counter

import pytest

from xlir.data import load_collection
from xlir.data.clusters import question_clusters
from xlir.experiments.run_study import (
    CLUSTERS_FILE,
    clusters_note,
    ensure_question_clusters,
    read_question_clusters,
    write_question_clusters,
)


def test_xquad_r_questions_cluster_by_paragraph(data_dir):
    coll = load_collection("xquad-r", data_dir=data_dir, languages=["en", "de", "zh"])
    full = question_clusters(coll)
    assert len(full) == 1190 and len(set(full.values())) == 240  # XQuAD: 1,190 questions, 240 paragraphs
    first = question_clusters(coll.subset(limit=200))
    assert len(first) == 200 and len(set(first.values())) == 35
    assert max(Counter(first.values()).values()) == 17  # one paragraph holds 17 of the 200
    # a cluster is the paragraph of the gold sentence, the same one in every language loaded
    by_id = {d.id: d.group for d in coll.documents}
    q = coll.queries[0]
    gold_paragraphs = {by_id[doc].split("/", 1)[1] for doc in coll.qrels[q.id]}
    assert len(gold_paragraphs) == 1 and full[q.group].split("/", 1)[1] in gold_paragraphs
    # the unit keyed by the id after the language is the same question id here
    assert question_clusters(coll, "id-tail") == full


def test_mlqa_r_joins_translated_paragraphs_and_afriqa_has_none(data_dir):
    mlqa = question_clusters(load_collection("mlqa-r", data_dir=data_dir))
    sizes = Counter(mlqa.values())
    assert len(mlqa) == 1148 and 900 < len(sizes) < 1148 and max(sizes.values()) <= 10
    afriqa = load_collection("afriqa", data_dir=data_dir)
    clusters = question_clusters(afriqa)
    assert clusters == {u: u for u in clusters}
    assert len(clusters) == len({q.group or q.id for q in afriqa.queries})
    with pytest.raises(ValueError, match="unit"):
        question_clusters(afriqa, "paragraph")


def test_study_cluster_table_round_trips_and_is_written_only_when_a_collection_is_missing(tmp_path, data_dir):
    logged = []
    write_question_clusters(tmp_path, ["xquad-r", "no-such-collection"], "group", data_dir, log=logged.append)
    table = read_question_clusters(tmp_path)
    assert set(table) == {"xquad-r"} and len(set(table["xquad-r"].values())) == 240
    assert logged and "no-such-collection left out" in logged[0]
    stamp = (tmp_path / CLUSTERS_FILE).stat().st_mtime_ns
    ensure_question_clusters(tmp_path, ["xquad-r"], "group", data_dir)  # nothing missing: untouched
    assert (tmp_path / CLUSTERS_FILE).stat().st_mtime_ns == stamp
    ensure_question_clusters(tmp_path, ["xquad-r", "mlqa-r", "afriqa"], "group", data_dir)
    table = read_question_clusters(tmp_path)
    assert set(table) == {"xquad-r", "mlqa-r", "afriqa"}
    assert table["afriqa"] == {}  # no paragraphs: one marker row, every question its own cluster
    assert clusters_note({}, ["1"]) == "questions as the resampling unit (the collection has no paragraphs)"
    assert read_question_clusters(tmp_path / "nowhere") == {}
    first = sorted(table["xquad-r"])[:10]
    assert clusters_note(None, first).startswith("questions as the resampling unit (no paragraph table")
    note = clusters_note(table["xquad-r"], sorted(table["xquad-r"]))
    assert note.startswith("paragraphs as the resampling unit (1190 questions in 240 paragraphs")


def test_a_collection_missing_here_keeps_its_rows_and_the_bytes_are_stable(tmp_path, data_dir):
    """A report built where a collection's files are absent must not drop its paragraphs (its questions
    would silently count as independent again), and rewriting the same table changes no byte."""
    write_question_clusters(tmp_path, ["xquad-r"], "group", data_dir)
    before = (tmp_path / CLUSTERS_FILE).read_bytes()
    elsewhere = tmp_path / "data-elsewhere"
    (elsewhere / "mlqa-r").mkdir(parents=True)
    ensure_question_clusters(tmp_path, ["xquad-r", "mlqa-r"], "group", elsewhere, log=lambda _: None)
    table = read_question_clusters(tmp_path)
    assert len(set(table["xquad-r"].values())) == 240  # kept although xquad-r does not load there
    assert "mlqa-r" not in table  # not loadable there and not in the table before: left out
    write_question_clusters(tmp_path, ["xquad-r"], "group", data_dir)
    assert (tmp_path / CLUSTERS_FILE).read_bytes() == before


def test_a_query_without_group_is_keyed_by_its_id_as_the_pipeline_does():
    from xlir.data.clusters import unit_of

    assert unit_of("sw/12", None, "group") == "sw/12" and unit_of("sw/12", "q12", "group") == "q12"
    assert unit_of("sw/12", "q12", "id-tail") == "12"


@pytest.mark.parametrize("name", ["xquad-r", "mlqa-r", "xquad", "afriqa", "flores-test"])
def test_the_registry_knows_without_loading_which_collections_have_paragraphs(name, data_dir):
    from xlir.data.clusters import has_paragraphs, is_paragraph_form

    assert has_paragraphs(name) is is_paragraph_form(load_collection(name, data_dir=data_dir))
    assert has_paragraphs("bitext:tatoeba") is None and has_paragraphs("miracl") is False


def test_a_study_table_marks_registered_collections_without_paragraphs_without_loading_them(tmp_path):
    write_question_clusters(tmp_path, ["tatoeba-en", "miracl"], "group", tmp_path / "no-data-here")
    assert read_question_clusters(tmp_path) == {"tatoeba-en": {}, "miracl": {}}
