"""Non-finite embeddings or out-of-range figures stop an evaluation (issue 11, defect 1).

A model with NaN weights, or a cached vector file with NaN rows, once made `xlir eval` report mono
AP 1.0, multilingual AP 6.0 and P@1 11.0 with exit status 0.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from xlir.cli import app
from xlir.errors import DataError


def _eval(data_dir, model, out, cache):
    return CliRunner().invoke(app, ["--data-dir", str(data_dir), "eval", "--model", str(model),
                                    "--dataset", "xquad-r", "--languages", "de,en", "--limit", "4",
                                    "--quiet", "--no-runs", "--cache-dir", str(cache), "--output", str(out)])


@pytest.fixture(scope="module")
def nan_model(tiny_model_path, tmp_path_factory):
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(tiny_model_path), device="cpu")
    with torch.no_grad():
        next(p for n, p in model.named_parameters() if "LayerNorm.weight" in n)[0] = float("nan")
    path = tmp_path_factory.mktemp("models") / "tiny-nan"
    model.save(str(path))
    return path


def test_model_with_nan_weights_stops_the_evaluation(data_dir, nan_model, tmp_path):
    res = _eval(data_dir, nan_model, tmp_path / "run", tmp_path / "cache")
    assert isinstance(res.exception, DataError), res.output
    msg = str(res.exception)
    assert str(nan_model) in msg and "non-finite" in msg and " of " in msg and "texts" in msg
    assert not (tmp_path / "run" / "results.json").exists()
    assert not list((tmp_path / "cache").rglob("*.npy"))  # nothing poisoned the cache


def test_cached_vectors_with_nan_rows_stop_the_evaluation(data_dir, tiny_model_path, tmp_path):
    cache = tmp_path / "cache"
    assert _eval(data_dir, "tiny", tmp_path / "run1", cache).exit_code == 0
    shard = next(cache.rglob("*.vecs.npy"))
    vecs = np.load(shard)
    vecs[:3] = np.nan
    np.save(shard, vecs)
    res = _eval(data_dir, "tiny", tmp_path / "run2", cache)
    assert isinstance(res.exception, DataError), res.output
    msg = str(res.exception)
    assert str(shard) in msg and "3 of the" in msg and "not finite" in msg


def test_evaluate_embeddings_refuses_nan_vectors(data_dir):
    from xlir.data.registry import load_collection
    from xlir.evaluation import EvalConfig, evaluate_embeddings

    coll = load_collection("xquad-r", data_dir=data_dir, languages=["de", "en"]).subset(limit=3)
    rng = np.random.default_rng(0)
    q = rng.normal(size=(len(coll.queries), 8)).astype(np.float32)
    d = rng.normal(size=(len(coll.documents), 8)).astype(np.float32)
    d[[5, 9]] = np.nan
    with pytest.raises(DataError, match="2 of .* texts have non-finite"):
        evaluate_embeddings(q, d, coll, EvalConfig(show_progress=False))


@pytest.mark.parametrize(("measure", "value"), [("AP", 1.5), ("P@1", 11.0), ("AP", float("nan")),
                                                 ("nDCG@10", -0.1), ("rank_distance", -1.0)])
def test_every_figure_is_checked_where_results_are_assembled(measure, value):
    from xlir.evaluation.results import EvalResult

    setting = {"kind": "multi", "query_language": "de", "doc_language": None, "n_queries": 2}
    pq = {"multi/de": {"AP": {"de/1": 0.5, "de/2": 1.0}, "P@1": {"de/1": 0.0, "de/2": 1.0},
                       "nDCG@10": {"de/1": 0.3, "de/2": 0.0}}}
    bias = {"multi/de": {"rank_distance": {"de/1": 3.0, "de/2": 0.0}}}
    EvalResult({}, {}, {}, {"multi/de": setting}, pq, bias)  # in range: fine
    table = bias if measure == "rank_distance" else pq
    table["multi/de"][measure]["de/2"] = value
    with pytest.raises(DataError, match=f"{measure} of query 'de/2'"):
        EvalResult({}, {}, {}, {"multi/de": setting}, pq, bias)


def test_loading_a_run_folder_with_impossible_figures_names_the_file(data_dir, tiny_model_path, tmp_path):
    assert _eval(data_dir, "tiny", tmp_path / "run", tmp_path / "cache").exit_code == 0
    path = tmp_path / "run" / "per_query.json"
    data = json.loads(path.read_text())
    qid = next(iter(data["per_query"]["mono/de-de"]["P@1"]))
    data["per_query"]["mono/de-de"]["P@1"][qid] = 11.0
    path.write_text(json.dumps(data))
    from xlir.evaluation import EvalResult

    with pytest.raises(DataError, match=f"{path}.*P@1 of query '{qid}'"):
        EvalResult.load(tmp_path / "run")
