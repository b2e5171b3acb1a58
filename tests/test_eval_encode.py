"""Encoding: same vectors as SentenceTransformer.encode, each text once, cached by fingerprint."""

from __future__ import annotations

import numpy as np
import pytest

from xlir.evaluation.cache import EmbeddingCache, text_key
from xlir.evaluation.encode import EncodeStats, encode_texts, encode_unique, model_cache_key, quantize_int8

TEXTS = ["Der Himmel ist blau.", "The sky is blue.", "短い", "a much longer sentence " * 8,
         "The sky is blue.", "El cielo es azul."]


@pytest.fixture(scope="module")
def model():
    from xlir.evaluation.encode import configure_threads
    from xlir.models import load_model

    m = load_model("tiny")
    configure_threads(model=m)  # one thread for the width-32 model (see configure_threads)
    return m


def test_vectors_equal_sentence_transformers_encode(model):
    ours = encode_texts(model, TEXTS, prefix="passage: ", batch_size=2, show_progress=False)
    ref = model.encode(TEXTS, prompt="passage: ", batch_size=4, normalize_embeddings=True)
    assert ours.dtype == np.float32 and ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-6)


def test_cache_roundtrip_shards_and_compaction(tmp_path):
    cache = EmbeddingCache("fp1", tmp_path)
    keys = [text_key("p: ", str(i)) for i in range(40)]
    vecs = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    for start in range(0, 40, 2):  # 20 puts -> more than MAX_SHARDS -> merged
        cache.put(keys[start:start + 2], vecs[start:start + 2])
    fresh = EmbeddingCache("fp1", tmp_path)
    got, hit = fresh.get(keys[::-1] + [text_key("p: ", "new")])
    assert hit.tolist() == [True] * 40 + [False]
    np.testing.assert_array_equal(got[:40], vecs[::-1])  # float32, bit-identical
    assert len(list((tmp_path / "fp1").glob("*.keys.npy"))) < 20
    assert not list((tmp_path / "fp1").glob("*.tmp"))
    assert EmbeddingCache("fp2", tmp_path).get(keys)[0] is None  # another model: nothing shared


def test_encode_unique_dedups_and_hits_cache(model, tmp_path):
    cache = EmbeddingCache(model_cache_key(model), tmp_path)
    st = EncodeStats()
    first = encode_unique(model, TEXTS, prefix="query: ", cache=cache, show_progress=False, stats=st)
    assert (st.texts, st.unique, st.encoded, st.cache_hits) == (6, 5, 5, 0)
    np.testing.assert_array_equal(first[1], first[4])
    st2 = EncodeStats()
    again = encode_unique(model, TEXTS, prefix="query: ", cache=EmbeddingCache(cache.model_key, tmp_path),
                          show_progress=False, stats=st2)
    assert (st2.encoded, st2.cache_hits) == (0, 5)
    np.testing.assert_array_equal(first, again)
    # another prefix is another text
    st3 = EncodeStats()
    encode_unique(model, TEXTS[:2], prefix="passage: ", cache=cache, show_progress=False, stats=st3)
    assert st3.encoded == 2


def test_changed_model_changes_cache_key(model):
    import copy

    import torch

    other = copy.deepcopy(model)
    with torch.no_grad():
        next(other.parameters())[0, 0] += 1e-3
    assert model_cache_key(other) != model_cache_key(model)
    assert model_cache_key(model, quantized=True) == model_cache_key(model) + "+int8pc"


def test_int8_quantized_copy_encodes_close_and_leaves_model_alone(model):
    import torch

    q = quantize_int8(model)
    assert any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in q.modules())
    assert not any(isinstance(m, torch.ao.nn.quantized.dynamic.Linear) for m in model.modules())
    qlinear = [m for m in q.modules() if isinstance(m, torch.ao.nn.quantized.dynamic.Linear)]
    assert qlinear and all(m.weight().q_per_channel_scales().numel() == m.weight().shape[0]
                           for m in qlinear)  # one weight scale per output channel
    a = encode_texts(model, TEXTS, show_progress=False)
    b = encode_texts(q, TEXTS, show_progress=False)
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.9  # int8 weights: close, not identical
    assert not np.array_equal(a, b)


def test_huge_texts_are_cut_by_characters_before_tokenization(model, monkeypatch):
    """A single 50-million-character question once took 150 s and 13.7 GB in `eval`: the whole
    text went to the tokenizer. Now at most char_limit() characters do, with one warning and a count,
    and the vectors equal those of the text cut by hand (the cut lies beyond the kept tokens)."""
    import warnings

    from xlir.evaluation.encode import char_limit

    limit = char_limit(model.tokenizer, model.max_seq_length)
    assert model.max_seq_length * 10 < limit < 10 * model.max_seq_length * 64
    huge = "Der Himmel ist blau und das Meer ist tief. " * 500_000  # 21.5 million characters
    texts = [huge, "The sky is blue.", huge + "x"]
    seen = []
    real_call = type(model.tokenizer).__call__

    def spy(self, batch, *args, **kwargs):
        seen.append(max(len(t) for t in batch))
        return real_call(self, batch, *args, **kwargs)

    monkeypatch.setattr(type(model.tokenizer), "__call__", spy)
    stats = EncodeStats()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        vecs = encode_texts(model, texts, prefix="query: ", show_progress=False, stats=stats)
    assert seen and max(seen) <= limit + len("query: ")
    messages = [str(w.message) for w in caught if "characters" in str(w.message)]
    assert len(messages) == 1 and messages[0].startswith("2 of 3 texts")
    assert stats.truncated == 2
    by_hand = encode_texts(model, [huge[:3000]], prefix="query: ", show_progress=False)
    np.testing.assert_allclose(vecs[0], by_hand[0], atol=1e-6)


def test_cache_key_is_the_same_before_and_after_an_encode():
    """The fast tokenizer's JSON records the last call's truncation settings; the key must not
    (it did: a second evaluation in the same process missed the cache the first one wrote)."""
    from xlir.models import load_model

    fresh = load_model("tiny")
    before = model_cache_key(fresh)
    encode_texts(fresh, TEXTS, max_length=16, show_progress=False)
    assert model_cache_key(fresh) == before
