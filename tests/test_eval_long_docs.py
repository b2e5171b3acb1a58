"""Long documents: windows that fit the model, MaxP / FirstP / mean scoring, and evaluation with
``EvalConfig.doc_windows`` on an MLDR-layout collection.

Unit level: four documents built from XQuAD-R sentences, one ending with the only text the query
matches; MaxP finds it in the last window, FirstP does not.

Evaluation level: the fixture writes a small MLDR folder (``mldr/de/corpus.jsonl`` + ``test.jsonl``,
the layout of :mod:`xlir.data.loaders.mldr`) from real XQuAD-R sentences: German filler documents
several times longer than the tiny model's 128 tokens, one of which ends with three Chinese
sentences. The query "needle" is those Chinese sentences, so its relevant document matches it only
at the very end: truncation ("none") never sees that text, MaxP finds it in the last window. A
distractor document opens with other Chinese sentences, so under truncation it looks more like the
query than the German-only start of the relevant one. Two more queries have their text at a
document's start.
"""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest
import pytrec_eval

from xlir.evaluation import EvalConfig, evaluate, read_qrels, read_run
from xlir.evaluation.faiss_search import faiss_search
from xlir.evaluation.long_docs import (
    aggregate,
    encode_windows,
    search_documents,
    split_windows,
    window_budget,
    windows_to_documents,
)

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
def model(tiny_model):
    assert tiny_model.max_seq_length == 128
    return tiny_model


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


# ---- windows, unit level ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def corpus(data_dir):
    de, zh = _sentences(data_dir, "de")[:140], _sentences(data_dir, "zh")[:20]
    target = " ".join(zh[:3])  # the only text the query matches, at the very end of "long"
    docs = {
        "long": " ".join(de[0:30]) + " " + target,
        "d1": " ".join(de[30:60]),
        "d2": " ".join(de[60:62]) + " " + " ".join(zh[10:13]) + " " + " ".join(de[62:80]),  # zh up front
        "d3": " ".join(de[100:130]),
    }
    return target, list(docs), list(docs.values())


@pytest.fixture(scope="module")
def encoded(model, corpus):
    return encode_windows(model, corpus[2])


def test_windows_fit_the_model_and_cover_every_token(model, corpus):
    _, _, texts = corpus
    budget = window_budget(model)
    n_prompt = len(model.tokenizer(model.prompts["document"], add_special_tokens=False)["input_ids"])
    assert n_prompt >= 2
    assert budget == model.max_seq_length - 2 - n_prompt - 2  # <s> </s>, the prompt, a margin of 2
    w = split_windows(texts, model.tokenizer, budget, stride=budget // 2)
    assert w.n_docs == 4 and len(w) > 4 * 5
    assert list(w.starts) == [int(np.flatnonzero(w.doc == d)[0]) for d in range(4)] + [len(w)]
    for text, d in zip(w.texts, w.doc, strict=True):
        n = len(model.tokenizer(model.prompts["document"] + text)["input_ids"])
        assert n <= model.max_seq_length
        assert text in texts[d]
    for d, text in enumerate(texts):
        mine = [t for t, dd in zip(w.texts, w.doc, strict=True) if dd == d]
        assert text.startswith(mine[0]) and text.endswith(mine[-1])
    # stride = budget: non-overlapping windows except the end-aligned last one
    w2 = split_windows(["a b c d e f g h i j"], model.tokenizer, 4, stride=4)
    assert [len(model.tokenizer(t, add_special_tokens=False)["input_ids"]) for t in w2.texts] == [4, 4, 4]
    assert w2.texts[-1].endswith("i j")


def test_maxp_finds_text_in_the_last_window_and_firstp_does_not(model, corpus, encoded):
    target, ids, _ = corpus
    windows, emb = encoded
    long_windows = [t for t, d in zip(windows.texts, windows.doc, strict=True) if d == 0]
    assert target in long_windows[-1] and target[:20] not in long_windows[0]
    q = model.encode([target], prompt_name="query", normalize_embeddings=True)

    s_max, i_max = search_documents(q, emb, windows, 4, ids, mode="maxp")
    s_first, i_first = search_documents(q, emb, windows, 4, ids, mode="firstp")
    s_mean, i_mean = search_documents(q, emb, windows, 4, ids, mode="mean")
    assert ids[i_max[0, 0]] == "long"
    assert ids[i_first[0, 0]] == "d2" and "long" != ids[i_first[0, 0]]
    # the aggregates are what they claim, checked against the raw window scores
    raw = (q @ emb.T)[0]
    mine = windows.doc == 0
    got = dict(zip(i_max[0], s_max[0], strict=True))
    assert got[0] == pytest.approx(raw[mine].max(), abs=1e-6)
    assert np.argmax(raw[mine]) == mine.sum() - 1  # the best window of "long" is its last
    assert dict(zip(i_first[0], s_first[0], strict=True))[0] == pytest.approx(raw[mine][0], abs=1e-6)
    assert dict(zip(i_mean[0], s_mean[0], strict=True))[0] == pytest.approx(raw[mine].mean(), abs=1e-6)
    np.testing.assert_allclose(aggregate(raw[None, :], windows, "mean")[0, 0], raw[mine].mean(), atol=1e-6)


def test_window_results_from_faiss_map_back_to_maxp_documents(model, corpus, encoded):
    target, ids, _ = corpus
    windows, emb = encoded
    rng = np.random.default_rng(0)
    near = emb[rng.choice(len(emb), 5)] + 0.05 * rng.normal(size=(5, emb.shape[1]))
    q = np.vstack([model.encode([target], prompt_name="query", normalize_embeddings=True), near])
    q = q.astype(np.float32)
    ws, wi = faiss_search(q, emb, len(emb), [f"w{i}" for i in range(len(emb))])
    s, i = windows_to_documents(ws, wi, windows, 4, ids)
    s_ref, i_ref = search_documents(q, emb, windows, 4, ids, mode="maxp")
    np.testing.assert_array_equal(i, i_ref)
    np.testing.assert_allclose(s, s_ref, atol=1e-5)
    # too few windows for 4 distinct documents: the row is padded, never invented
    s3, i3 = windows_to_documents(ws[:, :1], wi[:, :1], windows, 4, ids)
    assert (i3[:, 1:] == -1).all() and np.isneginf(s3[:, 1:]).all()
    assert (i3[:, 0] == i_ref[:, 0]).all()
