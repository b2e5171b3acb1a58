"""The one atomic writer (concurrent savers never collide) and the output-folder check."""

from __future__ import annotations

import json
import multiprocessing as mp
import os

import pytest

from xlir.errors import ConfigError
from xlir.files import atomic_dir, atomic_write, check_output_dir, write_json_atomic


def _save_many(path: str, writer: int, n: int) -> None:
    for i in range(n):
        write_json_atomic(path, {"writer": writer, "i": i, "pad": "x" * 2000})


def test_concurrent_writers_into_one_file_never_collide(tmp_path):
    """Four processes save the same results.json 75 times each: with a fixed temporary name
    (the old ``results.json.tmp``) a saver renamed another's file away (FileNotFoundError)."""
    path = tmp_path / "results.json"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_save_many, args=(str(path), w, 75)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    final = json.loads(path.read_text())
    assert final["i"] == 74 and final["writer"] in range(4)
    assert sorted(os.listdir(tmp_path)) == ["results.json"]  # no temporary file left behind


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "a.json"
    write_json_atomic(path, {"v": 1})
    with pytest.raises(ValueError):
        write_json_atomic(path, {"v": float("nan")})  # allow_nan=False by default
    with pytest.raises(RuntimeError), atomic_write(path) as fh:
        fh.write("half")
        raise RuntimeError("killed mid-write")
    assert json.loads(path.read_text()) == {"v": 1}
    assert os.listdir(tmp_path) == ["a.json"]


def test_written_file_has_ordinary_permissions(tmp_path):
    from xlir.files import _UMASK

    path = write_json_atomic(tmp_path / "b.json", [1])
    assert path.stat().st_mode & 0o777 == 0o666 & ~_UMASK  # not mkstemp's private 0600


@pytest.mark.parametrize("case", ["file", "under-file", "sys"])
def test_check_output_dir_refuses_unwritable_paths(tmp_path, case):
    f = tmp_path / "results.json"
    f.write_text("{}")
    path = {"file": f, "under-file": f / "run", "sys": "/sys/xlir-run"}[case]
    with pytest.raises(ConfigError) as exc:
        check_output_dir(path, "run folder")
    assert str(path) in str(exc.value) and "\n" not in str(exc.value)


def test_check_output_dir_creates_nothing(tmp_path):
    assert check_output_dir(tmp_path / "new" / "run") == tmp_path / "new" / "run"
    assert os.listdir(tmp_path) == []


def test_atomic_dir_replaces_a_folder_whole_or_not_at_all(tmp_path):
    """A model folder (xlir merge) appears complete or not at all; an existing one is kept unless
    overwrite, and a failed write leaves it untouched and no temporary folder behind."""
    target = tmp_path / "model"
    with atomic_dir(target) as tmp:
        (tmp / "a.txt").write_text("one")
    assert (target / "a.txt").read_text() == "one"
    with pytest.raises(ConfigError, match="already exists and is not empty.*--overwrite"):
        with atomic_dir(target):
            pass
    with pytest.raises(RuntimeError), atomic_dir(target, overwrite=True) as tmp:
        (tmp / "a.txt").write_text("half")
        raise RuntimeError("killed mid-write")
    assert (target / "a.txt").read_text() == "one"
    with atomic_dir(target, overwrite=True) as tmp:
        (tmp / "b.txt").write_text("two")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # no temporary or old folder left
