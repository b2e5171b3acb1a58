"""Long-document evaluation (``EvalConfig.doc_windows``) on an MLDR-layout collection.

The fixture writes a small MLDR folder (``mldr/de/corpus.jsonl`` + ``test.jsonl``, the layout of
:mod:`xlir.data.loaders.mldr`) from real XQuAD-R sentences: German filler documents several times
longer than the tiny model's 128 tokens, one of which ends with three Chinese sentences. The query
"needle" is those Chinese sentences, so its relevant document matches it only at the very end:
truncation ("none") never sees that text, MaxP finds it in the last window. A distractor document
opens with other Chinese sentences, so under truncation it looks more like the query than the
German-only start of the relevant one. Two more queries have their text at a document's start.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import pytrec_eval

from xlir.evaluation import EvalConfig, evaluate, read_qrels, read_run

MEASURES = {"map", "ndcg_cut_10", "recall_100", "P_1", "recip_rank"}
PAIRS = [("AP", "map"), ("nDCG@10", "ndcg_cut_10"), ("R@100", "recall_100"), ("P@1", "P_1"),
         ("RR@10", "recip_rank")]


def _sentences(data_dir, lang):
    with gzip.open(data_dir / "xquad-r" / f"{lang}.json.gz", "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    return [s for art in data["data"] for p in art["paragraphs"] for s in p["sentences"]]


@pytest.fixture(scope="module")
def mldr_root(data_dir, tmp_path_factory):
    de, zh = _sentences(data_dir, "de")[:200], _sentences(data_dir, "zh")[:40]
    needle = " ".join(zh[:3])
    docs = {
        "long": " ".join(de[0:30]) + " " + needle,
        "lure": " ".join(zh[10:13]) + " " + " ".join(de[30:60]),  # Chinese up front, not the needle
        "d1": " ".join(de[60:90]),
        "d2": " ".join(de[90:120]),
        "d3": " ".join(de[120:150]),
        "d4": de[150],  # one window
    }
    queries = [("needle", needle, "long"), ("head1", " ".join(de[60:62]), "d1"),
               ("head2", de[150], "d4")]
    root = tmp_path_factory.mktemp("data")
    folder = root / "mldr" / "de"
    folder.mkdir(parents=True)
    with open(folder / "corpus.jsonl", "w", encoding="utf-8") as fh:
        for did, text in docs.items():
            fh.write(json.dumps({"docid": did, "text": text}, ensure_ascii=False) + "\n")
    with open(folder / "test.jsonl", "w", encoding="utf-8") as fh:
        for qid, text, pos in queries:
            fh.write(json.dumps({"query_id": qid, "query": text, "positive_passages": [{"docid": pos}],
                                 "negative_passages": []}, ensure_ascii=False) + "\n")
    return root


@pytest.fixture(scope="module")
def collection(mldr_root):
    from xlir.data import load_collection

    return load_collection("mldr", data_dir=mldr_root, mldr_dir=mldr_root / "mldr", languages=["de"])


@pytest.fixture(scope="module")
def model(tiny_model_path):
    from xlir.models import load_model

    m = load_model(str(tiny_model_path))
    assert m.max_seq_length == 128
    return m


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("emb-cache")


def _eval(model, collection, cache_dir, mode, **kw):
    cfg = EvalConfig(doc_windows=mode, settings="mono", run_depth=100, cache_dir=str(cache_dir),
                     show_progress=False, **kw)
    return evaluate(model, collection, cfg, model_name="tiny")


def test_documents_really_are_long(collection, model):
    tok = model.tokenizer
    lengths = {d.id: len(tok(d.text)["input_ids"]) for d in collection.documents}
    assert lengths["de/long"] > 4 * model.max_seq_length and lengths["de/d4"] < model.max_seq_length


def test_maxp_ranks_the_document_with_the_text_at_its_end_first_and_truncation_does_not(
        model, collection, cache_dir, tmp_path):
    maxp = _eval(model, collection, cache_dir, "maxp")
    none = _eval(model, collection, cache_dir, "none")
    key = "mono/de-de"
    assert maxp.runs[key].doc_ids[maxp.runs[key].query_ids.index("de/needle")][0] == "de/long"
    assert none.runs[key].doc_ids[none.runs[key].query_ids.index("de/needle")][0] != "de/long"
    assert maxp.per_query[key]["P@1"]["de/needle"] == 1.0
    assert none.per_query[key]["P@1"]["de/needle"] == 0.0
    assert none.per_query[key]["AP"]["de/needle"] < 1.0
    # text at a document's start is found either way
    for qid in ("de/head1", "de/head2"):
        assert maxp.per_query[key]["P@1"][qid] == 1.0 == none.per_query[key]["P@1"][qid]
    n_windows = maxp.encoding["windows"]
    assert n_windows > 5 * len(collection.documents)
    assert maxp.encoding["unique"] == len(collection.queries) + n_windows
    # a second run of the same model and mode is all cache hits, with identical figures
    again = _eval(model, collection, cache_dir, "maxp")
    assert again.encoding["encoded"] == 0 and again.encoding["cache_hits"] == maxp.encoding["unique"]
    assert again.per_query == maxp.per_query
    # firstp and mean are the documented aggregates; firstp loses the needle like truncation does
    firstp = _eval(model, collection, cache_dir, "firstp")
    mean = _eval(model, collection, cache_dir, "mean")
    assert firstp.encoding["encoded"] == 0 and mean.encoding["encoded"] == 0
    assert firstp.per_query[key]["P@1"]["de/needle"] == 0.0
    s_max = dict(zip(maxp.runs[key].doc_ids[0], maxp.runs[key].scores[0], strict=True))
    s_first = dict(zip(firstp.runs[key].doc_ids[0], firstp.runs[key].scores[0], strict=True))
    s_mean = dict(zip(mean.runs[key].doc_ids[0], mean.runs[key].scores[0], strict=True))
    assert maxp.runs[key].query_ids[0] == "de/needle"
    for did in s_max:
        assert s_max[did] >= s_mean[did] - 1e-6 and s_max[did] >= s_first[did] - 1e-6
    assert s_max["de/long"] > s_mean["de/long"] + 1e-3


def test_window_metrics_equal_pytrec_eval_on_the_written_run(model, collection, cache_dir, tmp_path):
    result = _eval(model, collection, cache_dir, "maxp", window_stride=40)
    run_dir = result.save(tmp_path)
    checked = 0
    for key in result.settings:
        run = read_run(run_dir / "runs" / f"{key}.trec")
        qrels = read_qrels(run_dir / "runs" / f"{key}.qrels.txt")
        assert all(len(docs) == len(collection.documents) for docs in run.values())
        ref = pytrec_eval.RelevanceEvaluator(qrels, MEASURES).evaluate(run)
        assert set(ref) == set(result.per_query[key]["AP"])
        for qid, values in ref.items():
            for ours, theirs in PAIRS:
                assert result.per_query[key][ours][qid] == pytest.approx(values[theirs], abs=1e-9)
            checked += 1
    assert checked == 3
    assert result.config["doc_windows"] == "maxp" and result.config["window_stride"] == 40


def test_maxp_on_faiss_equals_exact(model, collection, cache_dir):
    exact = _eval(model, collection, cache_dir, "maxp")
    flat = _eval(model, collection, cache_dir, "maxp", backend="faiss")
    key = "mono/de-de"
    assert flat.runs[key].doc_ids == exact.runs[key].doc_ids
    np.testing.assert_allclose(flat.runs[key].scores, exact.runs[key].scores, atol=1e-5)
    for m in ("AP", "nDCG@10", "P@1"):
        assert flat.per_query[key][m] == pytest.approx(exact.per_query[key][m], abs=1e-9)


def test_eval_command_accepts_doc_windows(mldr_root, tiny_model_path, cache_dir, tmp_path):
    from typer.testing import CliRunner

    from xlir.cli import app

    base = ["--data-dir", str(mldr_root), "eval", "--model", str(tiny_model_path), "--dataset", "mldr",
            "--languages", "de", "--settings", "mono", "--quiet", "--cache-dir", str(cache_dir)]
    res = CliRunner().invoke(app, [*base, "--doc-windows", "maxp", "--window-stride", "40",
                                   "--output", str(tmp_path / "run")])
    assert res.exit_code == 0, res.output
    meta = json.loads((tmp_path / "run" / "results.json").read_text())
    assert meta["config"]["doc_windows"] == "maxp" and meta["config"]["window_stride"] == 40
    assert meta["encoding"]["windows"] > 5 * 6
    bad = CliRunner().invoke(app, [*base, "--doc-windows", "maxq"])
    assert bad.exit_code != 0 and "doc-windows" in str(bad.exception or bad.output)
