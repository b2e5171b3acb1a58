"""Fault suite: cut each file an evaluation writes at random points; the next run must either recover
with the same numbers or stop with a message naming the file -- never report a different number.

(Checkpoints, the training-side files, are cut the same way in tests/test_train_checkpoint.py,
including a real resume that falls back to the previous checkpoint and ends bit-identical.)
Issue 11, "make the classes impossible".
"""

from __future__ import annotations

import json
import random
import shutil

import pytest

from xlir.data import load_collection
from xlir.errors import DataError, XlirError
from xlir.evaluation import EvalConfig, EvalResult, evaluate
from xlir.evaluation.compare import load_per_query
from xlir.models import load_model


def _cuts(path, n=3, seed=0):
    size = path.stat().st_size
    rng = random.Random(f"{path.name}-{seed}")
    return sorted({0, 1, size // 2, size - 1, *rng.sample(range(size), min(n, size))})


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, tiny_model_path, data_dir):
    """One evaluation of the tiny model on a small XQuAD-R slice, with its cache and run folder."""
    model = load_model(str(tiny_model_path))
    collection = load_collection("xquad-r", data_dir=data_dir, languages=["de", "en"]).subset(
        limit=6, pool_per_language=40)
    cache = tmp_path_factory.mktemp("cache")
    config = EvalConfig(cache_dir=str(cache), show_progress=False, run_depth=5)
    result = evaluate(model, collection, config, model_name="tiny")
    run_dir = result.save(tmp_path_factory.mktemp("run") / "r")
    return model, collection, config, result, cache, run_dir


def test_cut_cache_shards_are_encoded_again_with_identical_figures(baseline, tmp_path):
    model, collection, config, result, cache, _ = baseline
    shards = sorted(p for p in cache.rglob("*.npy"))
    assert shards and any(p.name.endswith(".vecs.npy") for p in shards)
    tried = 0
    for shard in shards:
        for cut in _cuts(shard, n=2):
            work = tmp_path / f"c{tried}"
            shutil.copytree(cache, work)
            target = work / shard.relative_to(cache)
            target.write_bytes(target.read_bytes()[:cut])
            again = evaluate(model, collection, config.model_copy(update={"cache_dir": str(work)}),
                             model_name="tiny")
            assert again.per_query == result.per_query, f"{shard.name} cut at {cut}"
            assert again.encoding["encoded"] > 0  # the damaged shard was not trusted
            tried += 1
    assert tried >= 10


def test_cut_results_json_falls_back_or_is_named(baseline, tmp_path):
    *_, result, _, run_dir = baseline
    intact = load_per_query(run_dir)
    for cut in _cuts(run_dir / "results.json"):
        work = tmp_path / f"r{cut}"
        shutil.copytree(run_dir, work)
        (work / "results.json").write_bytes((work / "results.json").read_bytes()[:cut])
        with pytest.raises(DataError, match=r"results\.json"):
            EvalResult.load(work)
        # compare pairs by the per-query file, the source of truth: same numbers as the intact folder
        assert load_per_query(work) == intact


def test_cut_per_query_json_stops_with_the_file_named(baseline, tmp_path):
    *_, run_dir = baseline
    text = (run_dir / "per_query.json").read_bytes()
    for cut in _cuts(run_dir / "per_query.json"):
        work = tmp_path / f"p{cut}"
        shutil.copytree(run_dir, work)
        (work / "per_query.json").write_bytes(text[:cut])
        with pytest.raises(DataError, match=r"per_query\.json"):
            EvalResult.load(work)
        with pytest.raises(DataError, match=r"per_query\.json"):
            load_per_query(work)
    # a cut inside a multi-byte character must not surface as UnicodeDecodeError
    work = tmp_path / "multibyte"
    shutil.copytree(run_dir, work)
    data = json.dumps({"per_query": {"mono/de-de": {"AP": {"dé/1": 1.0}}}}, ensure_ascii=False).encode()
    (work / "per_query.json").write_bytes(data[: data.index("é".encode()) + 1])
    with pytest.raises(DataError, match="not UTF-8"):
        load_per_query(work)


def test_eval_into_a_folder_with_a_cut_results_json_refuses_clearly(baseline, tmp_path):
    from typer.testing import CliRunner

    from xlir.cli import app

    *_, run_dir = baseline
    work = tmp_path / "w"
    shutil.copytree(run_dir, work)
    (work / "results.json").write_bytes((work / "results.json").read_bytes()[:100])
    res = CliRunner().invoke(app, ["eval", "--model", "tiny", "--dataset", "xquad-r", "-l", "de,en",
                                   "--limit", "2", "-o", str(work)])
    assert res.exit_code != 0 and isinstance(res.exception, XlirError), res.output
    assert "unreadable evaluation" in str(res.exception)


def test_quickstart_evaluates_again_after_a_cut_results_json(baseline, tmp_path):
    from xlir.experiments.quickstart import QuickstartConfig, _eval

    model, collection, _, result, _, run_dir = baseline
    work = tmp_path / "q"
    shutil.copytree(run_dir, work)
    (work / "results.json").write_bytes((work / "results.json").read_bytes()[:50])
    with pytest.warns(UserWarning, match=r"results\.json.*evaluating tiny again"):
        again = _eval(model, "tiny", collection, QuickstartConfig(progress=False), work)
    assert again.per_query == result.per_query
    assert EvalResult.load(work).per_query == result.per_query  # and the folder is whole again


def test_cut_training_record_is_named(tmp_path, tiny_model_path):
    from xlir.data.provenance import training_sources
    from xlir.training.record import read_training_record

    folder = tmp_path / "m"
    folder.mkdir()
    record = json.dumps({"sources": ["mlqa"], "steps": 3}).encode()
    for cut in range(1, len(record)):
        (folder / "xlir_training.json").write_bytes(record[:cut])
        with pytest.raises(DataError, match=r"xlir_training\.json"):
            training_sources(folder)
        with pytest.raises(DataError, match=r"xlir_training\.json"):
            read_training_record(folder)


def test_a_pickled_cache_shard_is_never_unpickled(tmp_path):
    """np.load with allow_pickle=False: an object array (pickle inside .npy) is a miss, not code run."""
    import numpy as np

    from xlir.evaluation.cache import EmbeddingCache

    class Evil:
        def __reduce__(self):
            return (open, (str(tmp_path / "PWNED"), "w"))

    cache = EmbeddingCache("m", tmp_path)
    cache.put([b"k" * 32], np.ones((1, 4), np.float32))
    keys = next(cache.dir.glob("*.keys.npy"))
    np.save(keys, np.array([Evil()], dtype=object), allow_pickle=True)
    fresh = EmbeddingCache("m", tmp_path)
    assert len(fresh) == 0 and not (tmp_path / "PWNED").exists()


def _square_cell(cell, work):
    return {"rows": [{"metric": "square", "value": cell.seed ** 2}]}


def test_cut_grid_result_runs_the_cell_again_and_the_table_is_unchanged(tmp_path):
    from xlir.experiments.grid import CellConfig, collect_rows, read_table, run_grid

    class Cell(CellConfig):
        name: str
        seed: int

    cells = [Cell(name="c", seed=i) for i in range(3)]
    assert run_grid(cells, _square_cell, tmp_path, log=lambda m: None).complete
    table = read_table(tmp_path / "results.csv")
    result = tmp_path / "cells" / cells[1].cell_id / "result.json"
    data = result.read_bytes()
    for cut in sorted({1, len(data) // 2, len(data) - 2}):
        result.write_bytes(data[:cut])
        with pytest.raises(DataError, match=r"result\.json: cut or malformed"):
            collect_rows(tmp_path)  # never a table with a cell silently missing
        with pytest.warns(UserWarning, match=r"result\.json is cut or malformed"):
            again = run_grid(cells, _square_cell, tmp_path, log=lambda m: None)
        assert again.ran == [cells[1].cell_id] and again.done_before == 2
        assert read_table(tmp_path / "results.csv") == table
