"""The converted multilingual-e5-small: retrieval quality, weight coverage, ST parity, fingerprints.

The converted folder comes from :func:`ensure_converted` (default cache, or ``XLIR_CACHE_DIR``):
converted once (about 15-30 s on 2 cores), a cache hit afterwards. The coverage and parity checks
compare the folder against the ``.bin`` itself, so they test the conversion even on a cache hit.
"""

from __future__ import annotations

import functools
import gzip
import json
import time
from pathlib import Path

import numpy as np
import pytest

from xlir.errors import ModelError
from xlir.models import convert as conv
from xlir.models import fingerprint, load_model
from xlir.models.assets import e5_weights_file
from xlir.models.e5_q4 import read_e5_q4

N_QUESTIONS = 200


@pytest.fixture(scope="session")
def e5_small_path() -> Path:
    return conv.ensure_converted()


@pytest.fixture(scope="module")
def e5_model(e5_small_path):
    return load_model("e5-small")


@pytest.fixture(scope="module")
def e5_file():
    return read_e5_q4(e5_weights_file())


def _xquad_questions(data_dir: Path, lang: str) -> dict[str, str]:
    with gzip.open(data_dir / "xquad" / f"xquad.{lang}.json.gz", "rt", encoding="utf-8") as fh:
        spec = json.load(fh)
    return {qa["id"]: qa["question"]
            for art in spec["data"] for par in art["paragraphs"] for qa in par["qas"]}


def _accuracy_at_1(model, queries: list[str], candidates: list[str]) -> float:
    # Both sides are questions, so both get the e5 "query: " prefix (the model card's advice for
    # symmetric tasks such as bitext mining / paraphrase retrieval).
    q = model.encode(queries, prompt_name="query", batch_size=64, convert_to_numpy=True)
    c = model.encode(candidates, prompt_name="query", batch_size=64, convert_to_numpy=True)
    top = (q @ c.T).argmax(axis=1)
    # XQuAD repeats a few questions word for word (3 of the first 200 German ones): identical texts
    # have identical embeddings, so a hit is the gold *text*, not the gold position.
    return float(np.mean([candidates[j] == candidates[i] for i, j in enumerate(top)]))


def _english_and_translations(data_dir: Path, lang: str) -> tuple[list[str], list[str]]:
    """The first N_QUESTIONS English XQuAD questions and their ``lang`` versions, aligned by id."""
    en = _xquad_questions(data_dir, "en")
    other = _xquad_questions(data_dir, lang)
    ids = list(en)[:N_QUESTIONS]
    queries, candidates = [en[i] for i in ids], [other[i] for i in ids]
    assert len(candidates) == N_QUESTIONS and len(set(candidates)) >= 195
    return queries, candidates


def _bag_of_tokens_accuracy(tokenizer, queries: list[str], candidates: list[str]) -> float:
    """acc@1 of Jaccard overlap between subword-id sets: what pure lexical matching achieves."""
    q = [set(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in queries]
    c = [set(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in candidates]
    top = [max(range(len(c)), key=lambda j, a=a: len(a & c[j]) / len(a | c[j])) for a in q]
    return float(np.mean([candidates[j] == candidates[i] for i, j in enumerate(top)]))


def test_retrieves_german_translation_of_english_questions(data_dir, e5_model, e5_small_path):
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertModel

    queries, candidates = _english_and_translations(data_dir, "de")

    acc = _accuracy_at_1(e5_model, queries, candidates)

    random_model = SentenceTransformer(str(e5_small_path), device="cpu")
    torch.manual_seed(0)
    fresh = BertModel(random_model[0].auto_model.config)
    random_model[0].auto_model.load_state_dict(fresh.state_dict())
    w = "embeddings.word_embeddings.weight"
    assert not torch.equal(random_model[0].auto_model.state_dict()[w], e5_model[0].auto_model.state_dict()[w])
    acc_random = _accuracy_at_1(random_model, queries, candidates)

    lexical = _bag_of_tokens_accuracy(random_model.tokenizer, queries, candidates)

    print(f"\nXQuAD en->de, {N_QUESTIONS} candidates, acc@1: converted e5-small {acc:.3f}, "
          f"random same-shape {acc_random:.3f}, bag-of-tokens Jaccard {lexical:.3f}")
    assert acc >= 0.90
    # The issue asks for random <= 0.05, which does not hold for en->de: names and numbers share
    # subword ids across the two languages, a random encoder keeps token identity through its
    # residual stream, so it matches on that overlap (seed 0: 0.26; a pure bag-of-tokens Jaccard
    # scores 0.355). What we can assert: the random model is no better than lexical overlap, and
    # far below the trained weights.
    assert acc_random <= lexical + 0.02
    assert acc - acc_random >= 0.5


@pytest.fixture(scope="module")
def random_e5(e5_small_path, e5_model):
    """The converted folder with every weight re-drawn from BERT's initialisation (seed 0)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from transformers import BertModel

    model = SentenceTransformer(str(e5_small_path), device="cpu")
    torch.manual_seed(0)
    model[0].auto_model.load_state_dict(BertModel(model[0].auto_model.config).state_dict())
    w = "embeddings.word_embeddings.weight"
    assert not torch.equal(model[0].auto_model.state_dict()[w], e5_model[0].auto_model.state_dict()[w])
    return model


def test_retrieves_thai_translation_of_english_questions(data_dir, e5_model, random_e5):
    """Cross-script check: English questions -> their Thai translations, same 200 XQuAD questions.

    Thai shares no script with English, so (unlike en->de) almost no subword id is common to a
    question and its translation, and only learned cross-lingual meaning retrieves it: here the
    issue's bound for a random model holds. Measured (2 CPU cores, torch 2.13): converted e5-small
    0.880, random same-shape model 0.040 (seeds 1 and 2: 0.025, 0.045), bag-of-tokens Jaccard 0.040;
    chance is 1/200. (English -> Chinese was also measured: converted 0.850, random 0.050,
    Jaccard 0.090 -- Chinese questions keep more Latin names and digits, so Thai is the cleaner test.)
    """
    queries, candidates = _english_and_translations(data_dir, "th")

    acc = _accuracy_at_1(e5_model, queries, candidates)
    acc_random = _accuracy_at_1(random_e5, queries, candidates)
    print(f"\nXQuAD en->th, {N_QUESTIONS} candidates, acc@1: converted e5-small {acc:.3f}, "
          f"random same-shape {acc_random:.3f}")
    assert acc >= 0.85
    assert acc_random <= 0.05


def test_state_dict_covers_every_weight(e5_small_path, e5_file):
    """Every saved tensor equals its tensor in the .bin (pooler: documented zeros); none is at init."""
    import torch
    from safetensors.torch import load_file
    from transformers import BertConfig, BertModel

    saved = load_file(str(e5_small_path / "model.safetensors"))
    from_file = {conv.hf_name(name): name for name in e5_file.tensors}
    assert set(saved) == set(from_file) | set(conv.ZEROED_KEYS)
    for key, name in from_file.items():
        assert torch.equal(saved[key], torch.from_numpy(e5_file.tensor(name))), key
    for key in conv.ZEROED_KEYS:
        assert not saved[key].any()

    config = BertConfig.from_pretrained(str(e5_small_path))
    assert (config.vocab_size, config.num_hidden_layers, config.layer_norm_eps) == (250037, 12, 1e-12)
    torch.manual_seed(0)
    init = BertModel(config).state_dict()
    left_at_init = [k for k in from_file if torch.equal(saved[k], init[k])]
    assert left_at_init == []


def test_build_bert_refuses_an_incomplete_file(e5_file):
    class Partial:
        """The real file with one tensor hidden from the converter."""

        header, tokenizer, path = e5_file.header, e5_file.tokenizer, e5_file.path
        tensors = {k: v for k, v in e5_file.tensors.items() if k != "l7.fo.b"}

        def tensor(self, name):
            return e5_file.tensor(name)

    with pytest.raises(ModelError, match=r"encoder\.layer\.7\.output\.dense\.bias"):
        conv.build_bert(Partial())


def _numpy_e5(e5, t, ids: list[int]) -> np.ndarray:
    """The encoder exactly as the format documents it (post-norm BERT, erf GELU, mean pool, L2).

    ``t(name)`` returns a tensor of the file; float64 throughout, independent of torch.
    """
    from scipy.special import erf

    h = e5.header

    def ln(x, w, b):
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + h.eps) * t(w) + t(b)

    ids_arr = np.asarray(ids)
    x = t("emb.word")[ids_arr].astype(np.float64) + t("emb.pos")[: len(ids)] + t("emb.type")[0]
    x = ln(x, "emb.ln.w", "emb.ln.b")
    hd = h.hidden // h.heads
    for layer in range(h.layers):
        def lin(v, key, layer=layer):
            return v @ t(f"l{layer}.{key}.w").T + t(f"l{layer}.{key}.b")
        q, k, v = (lin(x, key).reshape(len(ids), h.heads, hd).transpose(1, 0, 2) for key in "qkv")
        s = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        p = np.exp(s - s.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        ctx = (p @ v).transpose(1, 0, 2).reshape(len(ids), h.hidden)
        x = ln(x + lin(ctx, "ao"), f"l{layer}.aln.w", f"l{layer}.aln.b")
        f = lin(x, "fi")
        f = 0.5 * f * (1 + erf(f / np.sqrt(2)))
        x = ln(x + lin(f, "fo"), f"l{layer}.oln.w", f"l{layer}.oln.b")
    e = x.mean(0)
    return e / np.linalg.norm(e)


TEXTS = ["Wann starb Nikola Tesla?", "What year did Tesla die?", "특허는 언제 만료되나요?",
         "Le traité de Versailles fut signé en 1919, après la guerre."]


def test_sentence_transformers_folder_matches_xlir_and_the_file_math(e5_small_path, e5_model, e5_file):
    from sentence_transformers import SentenceTransformer

    plain = SentenceTransformer(str(e5_small_path), device="cpu")
    assert plain.prompts["query"] == "query: " and plain.prompts["document"] == "passage: "
    assert "passage" not in plain.prompts and plain.default_prompt_name == "query"
    for prompt in ("query", "document"):
        ours = e5_model.encode(TEXTS, prompt_name=prompt, convert_to_numpy=True)
        theirs = plain.encode(TEXTS, prompt_name=prompt, convert_to_numpy=True)
        np.testing.assert_allclose(ours, theirs, atol=1e-5)
        # the prompt is really applied: same as writing the prefix by hand, different from none
        by_hand = plain.encode([e5_model.prompts[prompt] + s for s in TEXTS], prompt="",
                               convert_to_numpy=True)
        np.testing.assert_allclose(ours, by_hand, atol=1e-5)
        assert np.abs(ours - plain.encode(TEXTS, prompt="", convert_to_numpy=True)).max() > 1e-2

    tok = e5_model.tokenizer
    # float64 copies, decoded once (the word embedding stays float32: it is 96M weights)
    tensor = functools.cache(lambda n: e5_file.tensor(n).astype(np.float32 if n == "emb.word" else float))
    queries = e5_model.encode(TEXTS, prompt_name="query", convert_to_numpy=True)
    worst = 0.0
    for text, got in zip(TEXTS, queries, strict=True):
        ids = tok("query: " + text)["input_ids"]
        assert ids[0] == 0 and ids[-1] == 2
        reference = _numpy_e5(e5_file, tensor, ids)
        worst = max(worst, float(np.abs(got - reference).max()))
    print(f"\nconverted model vs numpy forward of the .bin: max |diff| {worst:.2e}")
    assert worst < 1e-6


def test_folder_carries_licence_and_provenance(e5_small_path):
    meta = json.loads((e5_small_path / "xlir_model.json").read_text(encoding="utf-8"))
    assert meta["source_sha256"] == conv.file_sha256(e5_weights_file())
    assert e5_small_path.name == f"e5-small-{meta['source_sha256'][:12]}-v{conv.CONVERSION_VERSION}"
    assert meta["conversion_version"] == conv.CONVERSION_VERSION
    assert meta["vocab_check"]["mismatched_pieces"] == 0
    notice = (e5_small_path / "NOTICE").read_text()
    assert "MIT" in notice and "Intfloat" in notice
    assert "Permission is hereby granted" in (e5_small_path / "LICENSE").read_text()


def test_fingerprint_tracks_weights(e5_model, e5_small_path):
    import torch

    before = fingerprint(e5_model)
    assert fingerprint(load_model(str(e5_small_path))) == before  # reloaded copy, named by path
    param = e5_model[0].auto_model.encoder.layer[5].output.dense.bias
    saved = param.detach().clone()
    with torch.no_grad():
        param[3] += 1e-4
        changed = fingerprint(e5_model)
        param.copy_(saved)
    assert changed != before
    assert fingerprint(e5_model) == before


def test_second_call_is_a_cache_hit(e5_small_path):
    start = time.perf_counter()
    assert conv.ensure_converted() == e5_small_path
    assert time.perf_counter() - start < 1.0


def test_conversion_is_atomic_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("XLIR_CACHE_DIR", str(tmp_path))
    calls = []

    def crashing(source, dest, tokenizer_dir=None, log=None):
        (dest / "model.safetensors").write_bytes(b"half")
        raise RuntimeError("killed mid-conversion")

    def working(source, dest, tokenizer_dir=None, log=None):
        calls.append(dest)
        log("  [1/4] step")
        (dest / "modules.json").write_text("[]")
        (dest / conv.MARKER).write_text(json.dumps({"conversion_version": conv.CONVERSION_VERSION}))
        return dest

    monkeypatch.setattr(conv, "convert", crashing)
    with pytest.raises(RuntimeError):
        conv.ensure_converted(log=lambda msg: None)
    models = tmp_path / "models"
    assert [p.name for p in models.iterdir() if not p.name.endswith(".lock")] == []

    monkeypatch.setattr(conv, "convert", working)
    said: list[str] = []
    first = conv.ensure_converted(log=said.append)
    assert first == conv.converted_dir() and (first / "modules.json").is_file()
    # a first use says what it is doing, shows its steps and how long it took; a cache hit says nothing
    assert said[0].startswith("first use of e5-small: converting") and "once" in said[0]
    assert said[1] == "  [1/4] step" and said[-1].startswith("converted ") and said[-1].endswith(" s")
    said.clear()
    conv.ensure_converted(log=said.append)
    assert said == []
    assert conv.ensure_converted() == first and len(calls) == 1  # cache hit

    # a folder from an older conversion version is rebuilt in place
    (first / conv.MARKER).write_text(json.dumps({"conversion_version": conv.CONVERSION_VERSION - 1}))
    assert conv.ensure_converted(log=said.append) == first and len(calls) == 2
    assert sorted(p.name for p in models.iterdir() if not p.name.endswith(".lock")) == [first.name]
