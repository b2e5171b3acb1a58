"""Long documents: windows fit the model, MaxP finds text in the last window, FirstP does not."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from xlir.evaluation.faiss_search import faiss_search
from xlir.evaluation.long_docs import (
    aggregate,
    encode_windows,
    search_documents,
    split_windows,
    window_budget,
    windows_to_documents,
)


def _sentences(data_dir, lang, n):
    with gzip.open(data_dir / "xquad-r" / f"{lang}.json.gz", "rt", encoding="utf-8") as fh:
        data = json.load(fh)
    out = [s for art in data["data"] for p in art["paragraphs"] for s in p["sentences"]]
    return out[:n]


@pytest.fixture(scope="module")
def model(tiny_model_path):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(tiny_model_path), device="cpu")


@pytest.fixture(scope="module")
def corpus(data_dir):
    de, zh = _sentences(data_dir, "de", 140), _sentences(data_dir, "zh", 20)
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
