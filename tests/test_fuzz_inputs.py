"""Property-based tests of every reader that takes a user's file (issue 11, "make the classes impossible").

For each format a strategy builds a small valid dataset, which must load with the counts it was built
with; then the same dataset is damaged, either as data (a field replaced by any JSON value, deleted or
duplicated) or as bytes (cut, a byte changed, bytes inserted, gzip cut short), and loading must either
succeed or raise :class:`DataError` / :class:`ConfigError` (an :class:`XlirError`) -- never another
exception type, which is what a user would see as a traceback.

Example counts come from the hypothesis profile registered in tests/conftest.py: small in the
default suite, ``pytest --hypothesis-profile=long tests/test_fuzz_inputs.py`` for a deeper search.
"""

from __future__ import annotations

import copy
import gzip
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from xlir.data import load_collection
from xlir.data.registry import load_bitext
from xlir.errors import ConfigError, DataError, XlirError

ALLOWED = (DataError, ConfigError, XlirError)

# ---- strategies ---------------------------------------------------------------------------------

WORD = (
    st.text(alphabet=st.sampled_from("abcdefgxyzéßα中ع "), min_size=1, max_size=8).map(str.strip).filter(bool)
)
SENTENCE = st.lists(WORD, min_size=1, max_size=5).map(lambda ws: " ".join(ws).capitalize() + ".")
IDENT = st.text(alphabet=st.sampled_from("abcxyz0123456789-_#"), min_size=1, max_size=8)
ODD_SCALARS = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        1,
        10**20,
        1.5,
        float("nan"),
        float("inf"),
        "",
        " ",
        "\x00",
        "\ud7ff",
        "a\tb",
        "a\nb",
        "%",
        "../x",
        "/abs",
    ]
)
JSON_VALUES = st.recursive(
    ODD_SCALARS | st.integers(-1000, 1000) | st.text(max_size=6) | st.floats(allow_nan=False),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5), c, max_size=3),
    max_leaves=5,
)


def _paths(obj, prefix=()):
    yield prefix
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _paths(v, (*prefix, i))


@st.composite
def damaged_tree(draw, doc):
    """``doc`` with 1-3 random edits: a value replaced, a key or item deleted, an item duplicated."""
    doc = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(doc))))
        op = draw(st.sampled_from(["replace", "replace", "delete", "duplicate"]))
        if not path:
            if op == "replace":
                doc = draw(JSON_VALUES)
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if op == "replace":
            parent[key] = draw(JSON_VALUES)
        elif op == "delete":
            del parent[key]
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
    return doc


@st.composite
def damaged_bytes(draw, data: bytes):
    """``data`` cut, with a byte changed, or with bytes inserted, at a random place."""
    op = draw(st.sampled_from(["cut", "change", "insert"]))
    i = draw(st.integers(0, max(len(data) - 1, 0)))
    if op == "cut":
        return data[:i]
    if op == "change" and data:
        return data[:i] + bytes([draw(st.integers(0, 255))]) + data[i + 1 :]
    return data[:i] + draw(st.binary(min_size=1, max_size=4)) + data[i:]


def _jsonl(rows) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def _expect_clean_failure(fn):
    """Run a loader on damaged input: success or an xlir error; anything else fails the test."""
    try:
        return fn()
    except ALLOWED:
        return None


@st.composite
def damage(draw, files: dict[str, bytes], trees: dict[str, object] | None = None):
    """Damage one of ``files`` (relative path -> bytes): its JSON tree, or its bytes, or gzip it cut."""
    name = draw(st.sampled_from(sorted(files)))
    out = dict(files)
    how = draw(
        st.sampled_from(["tree", "bytes", "gzip-cut"] if trees and name in trees else ["bytes", "gzip-cut"])
    )
    if how == "tree":
        tree = draw(damaged_tree(trees[name]))
        rows = tree if name.endswith(".jsonl") and isinstance(tree, list) else None
        out[name] = _jsonl(rows) if rows is not None else json.dumps(tree, ensure_ascii=False).encode()
    elif how == "bytes":
        out[name] = draw(damaged_bytes(files[name]))
    else:
        packed = gzip.compress(files[name])
        out[name] = packed[: draw(st.integers(0, len(packed) - 1))]
    return out


def _write(root: Path, files: dict[str, bytes]) -> Path:
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def _in_tmp(files, fn):
    with tempfile.TemporaryDirectory() as tmp:
        return fn(_write(Path(tmp), files))


# ---- LAReQA -R JSON (xquad-r layout) and the SQuAD -> -R builder ----------------------------------


@st.composite
def squad_docs(draw, with_sentences: bool):
    """Two languages' SQuAD files sharing question ids; -R fields (sentences, breaks) optional."""
    n_par = draw(st.integers(1, 3))
    docs, n_sent, n_q = {}, {}, 0
    shapes = [
        (draw(st.lists(SENTENCE, min_size=1, max_size=3)), draw(st.integers(0, 2))) for _ in range(n_par)
    ]
    for lang in ("de", "en"):
        paragraphs, count = [], 0
        for p, (sentences, nq) in enumerate(shapes):
            context = " ".join(sentences)
            starts = [sum(len(s) + 1 for s in sentences[:k]) for k in range(len(sentences))]
            qas = [
                {
                    "id": f"q{p}-{k}",
                    "question": f"{sentences[k % len(sentences)]}?",
                    "answers": [
                        {
                            "text": sentences[k % len(sentences)][:3],
                            "answer_start": starts[k % len(sentences)],
                        }
                    ],
                }
                for k in range(nq)
            ]
            para = {"context": context, "qas": qas}
            if with_sentences:
                para["sentences"] = sentences
                para["sentence_breaks"] = [[s, s + len(x)] for s, x in zip(starts, sentences, strict=True)]
            paragraphs.append(para)
            count += len(sentences)
        docs[lang] = {"data": [{"title": "T", "paragraphs": paragraphs}], "version": "1.1"}
        n_sent[lang] = count
    n_q = sum(nq for _, nq in shapes)
    return docs, n_sent, n_q


def _r_files(docs):
    return {
        f"xquad-r/{lang}.json": json.dumps(doc, ensure_ascii=False).encode() for lang, doc in docs.items()
    }


@given(squad_docs(with_sentences=True))
def test_lareqa_r_valid_loads(case):
    docs, n_sent, n_q = case
    col = _in_tmp(
        _r_files(docs), lambda root: load_collection("xquad-r", data_dir=root, languages=["de", "en"])
    )
    assert len(col.queries) == 2 * n_q and len(col.documents) == sum(n_sent.values())
    assert all(isinstance(q.text, str) and q.text for q in col.queries)


@given(st.data(), squad_docs(with_sentences=True))
def test_lareqa_r_damaged_fails_cleanly(data, case):
    docs = case[0]
    files = data.draw(damage(_r_files(docs), {f"xquad-r/{k}.json": v for k, v in docs.items()}))
    _in_tmp(
        files,
        lambda root: _expect_clean_failure(
            lambda: load_collection("xquad-r", data_dir=root, languages=["de", "en"])
        ),
    )


def _squad_files(docs):
    return {
        f"xquad/xquad.{lang}.json": json.dumps(doc, ensure_ascii=False).encode() for lang, doc in docs.items()
    }


@given(squad_docs(with_sentences=False))
def test_squad_to_r_valid_loads(case):
    docs, _, n_q = case
    col = _in_tmp(
        _squad_files(docs), lambda root: load_collection("xquad", data_dir=root, languages=["de", "en"])
    )
    assert len(col.queries) == 2 * n_q and col.documents


@given(st.data(), squad_docs(with_sentences=False))
def test_squad_to_r_damaged_fails_cleanly(data, case):
    docs = case[0]
    files = data.draw(damage(_squad_files(docs), {f"xquad/xquad.{k}.json": v for k, v in docs.items()}))
    _in_tmp(
        files,
        lambda root: _expect_clean_failure(
            lambda: load_collection("xquad", data_dir=root, languages=["de", "en"])
        ),
    )


# ---- AfriQA ----------------------------------------------------------------------------------------


@st.composite
def afriqa_rows(draw):
    n = draw(st.integers(1, 4))
    queries = [
        {
            "id": f"hau-{i}",
            "question": draw(SENTENCE),
            "translated_question": draw(SENTENCE),
            "answers": "['x']",
            "lang": "hau",
            "split": "dev",
            "translated_answer": "['x']",
            "translation_type": "human",
        }
        for i in range(n)
    ]
    gold = [
        {
            "id": f"hau-{i}",
            "question_lang": q["question"],
            "question_translated": q["translated_question"],
            "title": "T",
            "context": draw(SENTENCE),
            "answer_pivot": "['x']",
            "answer_lang": "['x']",
        }
        for i, q in enumerate(queries)
    ]
    return queries, gold


_AFRIQA_Q = "afriqa/data/queries/hau/queries.afriqa.hau.en.dev.json"
_AFRIQA_G = "afriqa/data/gold_passages/hau/gold_span_passages.afriqa.hau.en.dev.json"


@given(afriqa_rows())
def test_afriqa_valid_loads(rows):
    queries, gold = rows
    files = {_AFRIQA_Q: _jsonl(queries), _AFRIQA_G: _jsonl(gold)}
    col = _in_tmp(files, lambda root: load_collection("afriqa", data_dir=root, languages=["ha"]))
    assert len(col.queries) == len(queries)
    assert len(col.documents) == len({g["context"] for g in gold})


@given(st.data(), afriqa_rows())
def test_afriqa_damaged_fails_cleanly(data, rows):
    queries, gold = rows
    files = data.draw(
        damage({_AFRIQA_Q: _jsonl(queries), _AFRIQA_G: _jsonl(gold)}, {_AFRIQA_Q: queries, _AFRIQA_G: gold})
    )
    _in_tmp(
        files,
        lambda root: _expect_clean_failure(
            lambda: load_collection("afriqa", data_dir=root, languages=["ha"])
        ),
    )


# ---- BEIR ------------------------------------------------------------------------------------------


@st.composite
def beir_files(draw):
    docs = draw(st.lists(IDENT, min_size=1, max_size=5, unique=True))
    qids = draw(st.lists(IDENT, min_size=1, max_size=3, unique=True))
    corpus = [{"_id": d, "title": "t", "text": draw(SENTENCE)} for d in docs]
    queries = [{"_id": q, "text": draw(SENTENCE)} for q in qids]
    judged = [(q, draw(st.sampled_from(docs)), draw(st.integers(0, 2))) for q in qids]
    qrels = "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{g}\n" for q, d, g in judged)
    trees = {"b/corpus.jsonl": corpus, "b/queries.jsonl": queries}
    files = {
        "b/corpus.jsonl": _jsonl(corpus),
        "b/queries.jsonl": _jsonl(queries),
        "b/qrels/test.tsv": qrels.encode(),
    }
    return files, trees, len(qids)


@given(beir_files())
def test_beir_valid_loads(case):
    files, _, nq = case
    col = _in_tmp(files, lambda root: load_collection("beir", data_dir=root, path="b"))
    assert len(col.queries) == nq


@given(st.data(), beir_files())
def test_beir_damaged_fails_cleanly(data, case):
    files, trees, _ = case
    files = data.draw(damage(files, trees))
    _in_tmp(
        files, lambda root: _expect_clean_failure(lambda: load_collection("beir", data_dir=root, path="b"))
    )


# ---- MIRACL ----------------------------------------------------------------------------------------


@st.composite
def miracl_files(draw):
    docs = draw(st.lists(IDENT, min_size=1, max_size=5, unique=True))
    qids = draw(st.lists(st.integers(0, 10**6).map(str), min_size=1, max_size=3, unique=True))
    corpus = [{"docid": d, "title": "t", "text": draw(SENTENCE)} for d in docs]
    topics = "".join(f"{q}\t{draw(SENTENCE)}\n" for q in qids)
    qrels = "".join(f"{q} Q0 {draw(st.sampled_from(docs))} 1\n" for q in qids)
    files = {
        "miracl/corpus/sw/docs-0.jsonl": _jsonl(corpus),
        "miracl/topics/topics.miracl-v1.0-sw-dev.tsv": topics.encode(),
        "miracl/qrels/qrels.miracl-v1.0-sw-dev.tsv": qrels.encode(),
    }
    return files, {"miracl/corpus/sw/docs-0.jsonl": corpus}, len(qids)


@given(miracl_files())
def test_miracl_valid_loads(case):
    files, _, nq = case
    col = _in_tmp(files, lambda root: load_collection("miracl", data_dir=root, languages=["sw"]))
    assert len(col.queries) == nq


@given(st.data(), miracl_files())
def test_miracl_damaged_fails_cleanly(data, case):
    files, trees, _ = case
    files = data.draw(damage(files, trees))
    _in_tmp(
        files,
        lambda root: _expect_clean_failure(
            lambda: load_collection("miracl", data_dir=root, languages=["sw"])
        ),
    )


# ---- MLDR ------------------------------------------------------------------------------------------


@st.composite
def mldr_files(draw):
    docs = draw(st.lists(IDENT, min_size=2, max_size=5, unique=True))
    corpus = [{"docid": d, "text": draw(SENTENCE)} for d in docs]
    queries = [
        {
            "query_id": f"q{i}",
            "query": draw(SENTENCE),
            "positive_passages": [{"docid": draw(st.sampled_from(docs)), "text": "x"}],
            "negative_passages": [{"docid": draw(st.sampled_from(docs)), "text": "y"}],
        }
        for i in range(draw(st.integers(1, 3)))
    ]
    files = {"mldr/de/corpus.jsonl": _jsonl(corpus), "mldr/de/test.jsonl": _jsonl(queries)}
    return files, {"mldr/de/corpus.jsonl": corpus, "mldr/de/test.jsonl": queries}, len(queries)


@given(mldr_files())
def test_mldr_valid_loads(case):
    files, _, nq = case
    col = _in_tmp(files, lambda root: load_collection("mldr", data_dir=root, languages=["de"]))
    assert len(col.queries) == nq


@given(st.data(), mldr_files())
def test_mldr_damaged_fails_cleanly(data, case):
    files, trees, _ = case
    files = data.draw(damage(files, trees))
    _in_tmp(
        files,
        lambda root: _expect_clean_failure(lambda: load_collection("mldr", data_dir=root, languages=["de"])),
    )


# ---- bitext (Tatoeba layout) -------------------------------------------------------------------------


@st.composite
def tatoeba_files(draw):
    pairs = draw(st.lists(st.tuples(SENTENCE, SENTENCE), min_size=1, max_size=6))
    files = {
        "tatoeba-laser/tatoeba.deu-eng.deu": "".join(a + "\n" for a, _ in pairs).encode(),
        "tatoeba-laser/tatoeba.deu-eng.eng": "".join(b + "\n" for _, b in pairs).encode(),
    }
    return files, pairs


@given(tatoeba_files())
def test_bitext_valid_loads(case):
    files, pairs = case
    got = _in_tmp(files, lambda root: load_bitext("tatoeba", "de", "en", data_dir=root))
    assert got == pairs


@given(st.data(), tatoeba_files())
def test_bitext_damaged_fails_cleanly(data, case):
    files = data.draw(damage(case[0]))
    _in_tmp(
        files, lambda root: _expect_clean_failure(lambda: load_bitext("tatoeba", "de", "en", data_dir=root))
    )


# ---- training pairs JSONL ----------------------------------------------------------------------------


@st.composite
def pair_rows(draw):
    head = {"name": "p", "sources": ["mine"], "meta": {}}
    rows = [
        {
            "query": draw(SENTENCE),
            "positive": draw(SENTENCE),
            "query_language": "de",
            "positive_language": "en",
            "group": str(i),
            "negatives": [],
        }
        for i in range(draw(st.integers(1, 4)))
    ]
    return [head, *rows]


@given(st.data(), pair_rows())
def test_pairs_file_valid_and_damaged(data, rows):
    from xlir.data.pairs import read_pairs

    ok = _in_tmp({"p.jsonl": _jsonl(rows)}, lambda root: read_pairs(root / "p.jsonl"))
    assert len(ok.pairs) == len(rows) - 1
    files = data.draw(damage({"p.jsonl": _jsonl(rows)}, {"p.jsonl": rows}))
    got = _in_tmp(files, lambda root: _expect_clean_failure(lambda: read_pairs(root / "p.jsonl")))
    if got is not None:
        assert all(isinstance(x, str) for p in got.pairs for x in (p.query, p.positive, p.group))


# ---- TREC run / qrels --------------------------------------------------------------------------------

TREC_ID = st.text(min_size=1, max_size=6).filter(lambda s: "\x00" not in s)


@given(
    st.lists(
        st.tuples(
            TREC_ID,
            st.lists(TREC_ID, min_size=1, max_size=4, unique=True),
            st.floats(-1e6, 1e6, allow_nan=False, width=32),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda t: t[0],
    )
)
@example([("\ufeff", ["0"], 0.0)])  # found by the long profile: a leading U+FEFF was read as a BOM
def test_trec_writers_round_trip_any_id(rows):
    import numpy as np

    from xlir.evaluation.results import RunData
    from xlir.evaluation.trec_io import read_qrels, read_run, write_qrels, write_run

    run = RunData(
        [q for q, _, _ in rows],
        [d for _, d, _ in rows],
        np.array([[s] * 4 for _, _, s in rows], dtype=np.float32),
    )
    qrels = {q: {d: 1 for d in docs} for q, docs, _ in rows}

    def check(root):
        write_run(root / "r.trec.gz", run)
        write_qrels(root / "q.txt", qrels)
        back = read_run(root / "r.trec.gz", decode_ids=True)
        assert back == {q: {d: float(np.float32(s)) for d in docs} for q, docs, s in rows}
        assert read_qrels(root / "q.txt", decode_ids=True) == qrels
        for line in (root / "q.txt").read_text(encoding="utf-8").splitlines():
            assert len(line.split()) == 4

    _in_tmp({}, check)


_RUN_TEXT = b"q1 Q0 d1 1 0.5 x\nq1 Q0 d2 2 0.25 x\nq2 Q0 d1 1 0.75 x\n"
_QRELS_TEXT = b"q1 0 d1 1\nq1 0 d2 0\nq2 0 d1 2\n"


@given(st.data())
def test_trec_readers_damaged_fail_cleanly(data):
    import math

    from xlir.evaluation.trec_io import read_qrels, read_run

    files = data.draw(damage({"r.trec": _RUN_TEXT, "q.txt": _QRELS_TEXT}))

    def check(root):
        run = _expect_clean_failure(lambda: read_run(root / "r.trec"))
        qrels = _expect_clean_failure(lambda: read_qrels(root / "q.txt"))
        if run is not None:
            assert all(math.isfinite(s) for docs in run.values() for s in docs.values())
        if qrels is not None:
            assert all(isinstance(g, int) for docs in qrels.values() for g in docs.values())

    _in_tmp(files, check)


# ---- MANIFEST ----------------------------------------------------------------------------------------


@given(st.data())
def test_manifest_damaged_fails_cleanly(data):
    import hashlib

    from xlir.data.manifest import read_manifest, verify

    body = b"hello\n"
    doc = {"files": [{"path": "a/b.txt", "bytes": len(body), "sha256": hashlib.sha256(body).hexdigest()}]}
    files = {"a/b.txt": body, "MANIFEST.json": json.dumps(doc).encode()}

    def check(root):
        entries = read_manifest(root)
        assert verify(root, entries).passed

    _in_tmp(files, check)
    files = data.draw(damage(files, {"MANIFEST.json": doc}))
    _in_tmp(files, lambda root: _expect_clean_failure(lambda: verify(root, read_manifest(root))))


# ---- TOML configs --------------------------------------------------------------------------------------

TOML_VALUE = st.one_of(
    st.integers(-5, 10**6),
    st.floats(allow_nan=True),
    st.booleans(),
    st.text(max_size=6),
    st.lists(st.text(max_size=4), max_size=3),
)


@st.composite
def toml_text(draw, table: str, keys: list[str]):
    def lit(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(str(v), repr(v))
        if isinstance(v, list):
            return "[" + ", ".join(json.dumps(x) for x in v) + "]"
        return json.dumps(v) if isinstance(v, str) else str(v)

    chosen = draw(st.lists(st.sampled_from([*keys, "_where", "unknown_key", table]), max_size=4, unique=True))
    lines = [f"{k} = {lit(draw(TOML_VALUE))}" for k in chosen]
    if draw(st.booleans()):
        lines.insert(0, f"[{table}]")
    text = "\n".join(lines).encode()
    if draw(st.booleans()):
        text = draw(damaged_bytes(text))
    return text


@given(toml_text("train", ["model", "steps", "lr", "alpha", "sampler", "batch_size", "sources"]))
def test_train_toml_fails_cleanly(text):
    from xlir.training.config import TrainConfig

    _in_tmp(
        {"t.toml": text}, lambda root: _expect_clean_failure(lambda: TrainConfig.from_toml(root / "t.toml"))
    )


@given(toml_text("eval", ["dataset", "metrics", "batch_size", "limit", "languages", "run_depth"]))
def test_eval_toml_fails_cleanly(text):
    from xlir.evaluation import EvalConfig

    _in_tmp(
        {"e.toml": text}, lambda root: _expect_clean_failure(lambda: EvalConfig.from_toml(root / "e.toml"))
    )


# ---- checkpoint state (JSON codec) ----------------------------------------------------------------------


@given(JSON_VALUES)
def test_checkpoint_codec_rejects_or_decodes_any_json(value):
    from xlir.training.state_codec import CodecError, decode, encode

    try:
        out = decode(value, {})
    except CodecError:
        return
    assume(isinstance(out, (dict, list, str, int, float, type(None))))
    json.dumps(encode(out, None))  # what decodes can be written again


def test_profiles_are_registered():
    from hypothesis import settings

    assert settings.get_profile("long").max_examples > settings.get_profile("default").max_examples
    with pytest.raises(Exception):  # noqa: B017 (hypothesis raises InvalidArgument)
        settings.get_profile("nonexistent")
