"""The FAISS backends agree with exact search on random vectors and on real (tiny-model) encodings."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pytest

from xlir.evaluation.faiss_search import SEARCH_BACKENDS, faiss_search, get_search_backend


def _reference(q, d, k, doc_ids):
    """Exhaustive ranking, score desc then doc id desc (pytrec_eval's order), in float64."""
    s = q.astype(np.float64) @ d.astype(np.float64).T
    ids = np.asarray(doc_ids)
    idx = np.stack([sorted(range(len(ids)), key=lambda j, r=row: (-r[j], tuple(-ord(c) for c in ids[j])))[:k]
                    for row in s])
    return np.take_along_axis(s, idx, 1), idx


def _unit(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def _exact_search():
    from xlir.evaluation.search import search

    return search


def test_flat_faiss_matches_exact_search_on_random_unit_vectors():
    rng = np.random.default_rng(0)
    docs, queries = _unit(rng.normal(size=(3000, 64))), _unit(rng.normal(size=(50, 64)))
    doc_ids = [f"d{i}" for i in range(len(docs))]
    s_f, i_f = faiss_search(queries, docs, 100, doc_ids)
    s_e, i_e = _exact_search()(queries, docs, 100, doc_ids)
    assert s_f.shape == (50, 100) and i_f.shape == (50, 100)
    np.testing.assert_array_equal(i_f, i_e)
    np.testing.assert_allclose(s_f, s_e, atol=1e-5)
    s_r, i_r = _reference(queries, docs, 100, doc_ids)
    np.testing.assert_array_equal(i_f, i_r)
    np.testing.assert_allclose(s_f, s_r, atol=1e-5)


def test_ties_are_broken_by_doc_id_descending_even_across_the_cutoff():
    rng = np.random.default_rng(1)
    base = _unit(rng.normal(size=(1, 16)))
    # 30 copies of one vector tie exactly; a 5-deep cut must keep the 5 largest ids among them
    docs = np.vstack([_unit(rng.normal(size=(20, 16))), np.repeat(base, 30, axis=0)])
    doc_ids = [f"x{i:03d}" for i in range(len(docs))]
    s, i = faiss_search(base, docs, 5, doc_ids)
    assert [doc_ids[j] for j in i[0]] == ["x049", "x048", "x047", "x046", "x045"]
    np.testing.assert_allclose(s[0], 1.0, atol=1e-6)


def test_flat_faiss_matches_exact_search_on_tiny_model_encodings(tiny_model, data_dir):
    texts, questions = [], []
    for lang in ("de", "en", "zh"):
        with gzip.open(data_dir / "xquad-r" / f"{lang}.json.gz", "rt", encoding="utf-8") as fh:
            para = json.load(fh)["data"][0]["paragraphs"]
        for p in para[:3]:
            texts += p["sentences"]
            questions += [qa["question"] for qa in p["qas"][:3]]
    model = tiny_model
    docs = model.encode(texts, normalize_embeddings=True, batch_size=64)
    queries = model.encode(questions, normalize_embeddings=True, batch_size=64)
    doc_ids = [f"s{i}" for i in range(len(texts))]
    k = 10
    s_f, i_f = faiss_search(queries, docs, k, doc_ids)
    s_e, i_e = _exact_search()(queries, docs, k, doc_ids)
    assert len(texts) > 30 and len(questions) == 27
    np.testing.assert_array_equal(i_f, i_e)
    np.testing.assert_allclose(s_f, s_e, atol=1e-5)


def test_approximate_indexes_have_high_recall_and_exact_scores():
    rng = np.random.default_rng(2)
    centers = _unit(rng.normal(size=(40, 32)))
    docs = _unit(np.repeat(centers, 100, axis=0) + 0.3 * rng.normal(size=(4000, 32)))
    queries = _unit(centers[:20] + 0.3 * rng.normal(size=(20, 32)))
    doc_ids = [f"d{i}" for i in range(len(docs))]
    _, i_ref = faiss_search(queries, docs, 10, doc_ids)
    for name in ("faiss-ivf", "faiss-hnsw"):
        s, i = get_search_backend(name)(queries, docs, 10, doc_ids)
        recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(i, i_ref, strict=True)])
        assert recall >= 0.9, (name, recall)
        # whatever an approximate index returns, its scores are the true inner products
        valid = i >= 0
        true = np.einsum("qd,qkd->qk", queries, docs[np.where(valid, i, 0)])
        np.testing.assert_allclose(s[valid], true[valid], atol=1e-5)
    # probing every IVF cell is an exhaustive search: identical to the flat index
    s_all, i_all = faiss_search(queries, docs, 10, doc_ids, index="ivf", nlist=50, nprobe=50)
    np.testing.assert_array_equal(i_all, i_ref)


def test_backend_registry_names():
    assert set(SEARCH_BACKENDS.names()) >= {"exact", "faiss", "faiss-ivf", "faiss-hnsw"}
    with pytest.raises(Exception, match="unknown search backend"):
        get_search_backend("annoy")
