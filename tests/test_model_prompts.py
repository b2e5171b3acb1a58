"""Prompts follow sentence-transformers' names both ways (``query``/``document``; ``passage`` read as alias).

Direction 1: for a folder xlir writes, ``SentenceTransformer(path).encode_query/encode_document`` give
the vectors xlir's evaluator uses. Direction 2: a folder sentence-transformers saved with a ``document``
prompt gets that prefix in xlir. Older xlir folders (``passage``) keep working and share the cache.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from xlir.evaluation.encode import encode_collection
from xlir.models import fingerprint, load_model
from xlir.models.prompts import prefix, role_prompts


@pytest.fixture(scope="module")
def xquad(data_dir):
    """Real German and Thai questions and candidate sentences, a few of each (encoding stays quick)."""
    from types import SimpleNamespace

    from xlir.data import load_collection

    coll = load_collection("xquad-r", data_dir=data_dir, languages=["de", "th"]).subset(limit=3)
    return SimpleNamespace(queries=coll.queries, documents=coll.documents[:12] + coll.documents[-12:])


def _plain(path, **kw):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(path), device="cpu", **kw)


def test_xlir_folder_uses_the_standard_names_and_encode_query_document_match_the_evaluator(
        tiny_model_path, xquad):
    config = json.loads((tiny_model_path / "config_sentence_transformers.json").read_text())
    assert config["prompts"] == {"query": "query: ", "document": "passage: "}
    assert config["default_prompt_name"] == "query"

    q, d, _ = encode_collection(load_model(tiny_model_path), xquad, cache=False, show_progress=False)
    st = _plain(tiny_model_path)
    st_q = st.encode_query([x.text for x in xquad.queries], convert_to_numpy=True)
    st_d = st.encode_document([x.text for x in xquad.documents], convert_to_numpy=True)
    np.testing.assert_allclose(q, st_q, atol=1e-6)
    np.testing.assert_allclose(d, st_d, atol=1e-6)
    # the prefixes really differ: a document encoded as a query (or bare) is another vector
    assert np.abs(d - st.encode_query([x.text for x in xquad.documents])).max() > 1e-3
    assert np.abs(d - st.encode([x.text for x in xquad.documents], prompt="")).max() > 1e-3
    # plain encode applies the default prompt, "query: " (e5's prefix for symmetric tasks)
    np.testing.assert_allclose(st.encode([x.text for x in xquad.queries]), st_q, atol=1e-6)


def test_a_sentence_transformers_document_prompt_is_used_by_xlir(tiny_model_path, tmp_path, xquad):
    theirs = tmp_path / "theirs"
    made = _plain(tiny_model_path, prompts={"query": "Q> ", "document": "D> "})
    made.default_prompt_name = None  # as sentence-transformers writes a model by default
    made.save(str(theirs))
    model = load_model(theirs)
    assert model.prompts["document"] == "D> " and model.default_prompt_name is None  # not an xlir folder
    q, d, _ = encode_collection(model, xquad, cache=False, show_progress=False)
    st = _plain(theirs)
    by_hand = st.encode(["D> " + x.text for x in xquad.documents], prompt="")
    np.testing.assert_allclose(d, by_hand, atol=1e-6)
    np.testing.assert_allclose(q, st.encode(["Q> " + x.text for x in xquad.queries], prompt=""), atol=1e-6)
    # and with plain SentenceTransformer loading (no xlir normalisation) the evaluator does the same
    _, d_plain, _ = encode_collection(st, xquad, cache=False, show_progress=False)
    np.testing.assert_array_equal(d_plain, d)


def test_an_older_xlir_folder_with_passage_keeps_its_prefix_and_fingerprint(tiny_model_path, tmp_path, xquad):
    old = tmp_path / "old"
    shutil.copytree(tiny_model_path, old)
    cfg_file = old / "config_sentence_transformers.json"
    cfg = json.loads(cfg_file.read_text())
    cfg["prompts"] = {"query": "query: ", "passage": "passage: "}
    cfg["default_prompt_name"] = None
    cfg_file.write_text(json.dumps(cfg))

    plain = _plain(old)  # sentence-transformers adds an empty "document" beside "passage"
    assert plain.prompts["document"] == "" and plain.prompts["passage"] == "passage: "
    assert prefix(plain.prompts, "document") == "passage: "  # the alias is not hidden by the empty name

    model = load_model(old)
    assert "passage" not in model.prompts
    assert role_prompts(model.prompts) == {"query": "query: ", "document": "passage: "}
    new = load_model(tiny_model_path)
    assert fingerprint(model) == fingerprint(new) == fingerprint(plain)  # one cache for all three
    a = encode_collection(model, xquad, cache=False, show_progress=False)
    b = encode_collection(new, xquad, cache=False, show_progress=False)
    np.testing.assert_array_equal(a[1], b[1])

    # saved again by xlir: the standard names (what the trainer does with an old base model)
    again = tmp_path / "again"
    model.save(str(again))
    saved = json.loads((again / "config_sentence_transformers.json").read_text())
    assert saved["prompts"] == {"query": "query: ", "document": "passage: "}


def test_unknown_role_is_an_error():
    with pytest.raises(ValueError, match="unknown prompt role"):
        prefix({"query": "q"}, "answer")
