"""The grid runner: stable cell ids, skip finished cells, retry failed ones, parallel workers,
and resume after SIGKILL with every cell done exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from xlir.experiments.grid import CellConfig, collect_rows, read_table, run_grid

TESTS = Path(__file__).resolve().parent


class SleepCell(CellConfig):
    name: str
    seed: int
    sleep: float = 0.0
    fail: bool = False

    def label(self) -> str:
        return f"{self.name}-s{self.seed}"


def sleep_cell(cell: SleepCell, work: Path) -> dict:
    """Logs each attempt's start and finish next to the cell (work's parent survives the cell)."""
    log = work.parent / "attempts.log"
    with open(log, "a") as fh:
        fh.write(f"start {os.getpid()}\n")
    time.sleep(cell.sleep)
    if cell.fail and not (work.parent / "allow").exists():
        raise RuntimeError("planned failure")
    (work / "weights.bin").write_bytes(b"x" * 10)
    with open(log, "a") as fh:
        fh.write(f"finish {os.getpid()}\n")
    return {
        "rows": [
            {"metric": "score", "value": cell.seed * 10 + len(cell.name)},
            {"metric": "pid", "value": os.getpid()},
        ]
    }


def _cells(n: int, sleep: float = 0.0) -> list[SleepCell]:
    return [SleepCell(name=f"c{i % 3}", seed=i, sleep=sleep) for i in range(n)]


def _attempts(study: Path) -> dict[str, list[str]]:
    out = {}
    for d in (study / "cells").iterdir():
        log = d / "attempts.log"
        out[d.name] = [line.split()[0] for line in log.read_text().splitlines()] if log.exists() else []
    return out


def test_cell_ids_are_stable_and_distinct():
    a = SleepCell(name="x", seed=1)
    assert a.cell_id == SleepCell(name="x", seed=1).cell_id
    assert a.cell_id.startswith("x-s1-")
    assert a.cell_id != SleepCell(name="x", seed=2).cell_id
    assert a.cell_id != SleepCell(name="x", seed=1, sleep=0.5).cell_id
    with pytest.raises(ValueError):
        SleepCell(name="x", seed=1, unknown=3)


def test_runs_skips_and_tabulates(tmp_path):
    cells = _cells(5)
    logs: list[str] = []
    s = run_grid(cells, sleep_cell, tmp_path, log=logs.append)
    assert s.complete and len(s.ran) == 5 and s.done_before == 0
    progress = [m for m in logs if m.startswith("[")]
    # sleep cells take well under a second: seconds, not "0 min"
    assert len(progress) == 5 and progress[0].startswith("[1/5] ") and " s left at this pace" in progress[0]
    assert " s elapsed)" in progress[-1] and "left at this pace" not in progress[-1]
    assert not any("0 min" in m for m in progress)
    for c in cells:
        d = tmp_path / "cells" / c.cell_id
        assert json.loads((d / "config.json").read_text())["config"]["seed"] == c.seed
        assert not (d / "work").exists()  # scratch removed once done
    again = run_grid(cells + _cells(7)[5:], sleep_cell, tmp_path, log=logs.append)
    assert again.done_before == 5 and len(again.ran) == 2  # two more seeds: only those run
    table = read_table(tmp_path / "results.csv")
    assert len(table) == 14
    scores = {(r["name"], r["seed"]): r["value"] for r in table if r["metric"] == "score"}
    assert scores[("c1", 4.0)] == 42.0
    assert all(len(v) == 2 for v in _attempts(tmp_path).values())  # one start + one finish each


def test_failed_cell_is_recorded_and_retried(tmp_path):
    cells = [SleepCell(name="ok", seed=0), SleepCell(name="bad", seed=0, fail=True)]
    s = run_grid(cells, sleep_cell, tmp_path, log=lambda m: None)
    assert s.failed == [cells[1].cell_id] and not s.complete
    err = json.loads((tmp_path / "cells" / cells[1].cell_id / "error.json").read_text())
    assert "planned failure" in err["error"]
    assert len(collect_rows(tmp_path)) == 2
    (tmp_path / "cells" / cells[1].cell_id / "allow").touch()
    s2 = run_grid(cells, sleep_cell, tmp_path, log=lambda m: None)
    assert s2.complete and s2.ran == [cells[1].cell_id]
    assert not (tmp_path / "cells" / cells[1].cell_id / "error.json").exists()


def test_parallel_jobs_use_separate_processes(tmp_path):
    cells = _cells(4, sleep=0.3)
    s = run_grid(cells, sleep_cell, tmp_path, jobs=2, log=lambda m: None)
    assert s.complete
    pids = {r["value"] for r in collect_rows(tmp_path) if r["metric"] == "pid"}
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


_DRIVER = """
import sys
sys.path.insert(0, {tests!r})
from test_grid import _cells, sleep_cell
from xlir.experiments.grid import run_grid
run_grid(_cells(8, sleep=0.4), sleep_cell, {study!r}, jobs=2, log=lambda m: print(m, flush=True))
"""


def _wait_for_lock_owners_to_die(study: Path, timeout: float = 30.0) -> None:
    from xlir.experiments.grid import _pid_alive

    deadline = time.time() + timeout
    while time.time() < deadline:
        owners = []
        for lock in study.glob("cells/*/lock"):
            try:
                owners.append(int(lock.read_text().split()[1]))
            except (OSError, IndexError, ValueError):
                continue
        if not any(_pid_alive(pid) for pid in owners):
            return
        time.sleep(0.05)
    raise AssertionError(f"workers still alive {timeout} s after their runner was killed")


def test_a_zombie_lock_owner_counts_as_gone():
    """A worker killed with its runner is a zombie until reaped; its lock must not block a resume."""
    from xlir.experiments.grid import _pid_alive

    if not Path("/proc/self/stat").exists():
        pytest.skip("needs procfs")
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        deadline = time.time() + 10
        while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z":
            assert time.time() < deadline
            time.sleep(0.01)
        assert not _pid_alive(pid)
    finally:
        os.waitpid(pid, 0)
    assert not _pid_alive(pid)
    assert _pid_alive(os.getpid())


def test_resume_after_sigkill_runs_each_cell_exactly_once(tmp_path):
    study = tmp_path / "study"
    code = _DRIVER.format(tests=str(TESTS), study=str(study))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.time() + 240  # spawned workers import torch: slow on a busy machine
    done = 0
    while time.time() < deadline:
        done = len(list(study.glob("cells/*/result.json")))
        running = [d for d in study.glob("cells/*") if (d / "attempts.log").exists()
                   and not (d / "result.json").exists()]
        if done >= 3 and running:  # kill in the middle of a cell
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 3 <= done < 8, "the runner should be killed in the middle of the grid"
    # workers die with the runner (PR_SET_PDEATHSIG); on a loaded machine that takes a moment
    _wait_for_lock_owners_to_die(study)
    # a cell is finished once its result.json exists: the cell's own "finish" line comes just before
    # the runner writes it, so a kill in between leaves a cell that must (and does) run again
    finished = {d.parent.name for d in study.glob("cells/*/result.json")}
    s = run_grid(_cells(8, sleep=0.4), sleep_cell, study, jobs=2, log=lambda m: None)
    assert s.complete and s.done_before == len(finished), (s.failed, s.busy, s.ran, s.done_before)
    attempts = _attempts(study)
    assert len(attempts) == 8
    assert all(attempts[k] == ["start", "finish"] for k in finished), attempts  # never run again
    assert all(v[-1] == "finish" and v.count("finish") <= v.count("start") for v in attempts.values())
    assert any(v.count("start") == 2 for v in attempts.values()), "some cell was interrupted"
    assert len(read_table(study / "results.csv")) == 16


class DyingCell(SleepCell):
    """A cell whose worker is killed outright (as the OOM killer does) unless ``allow`` exists."""


def dying_cell(cell: DyingCell, work: Path) -> dict:
    if cell.fail and not (work.parent / "allow").exists():
        with open(work.parent / "attempts.log", "a") as fh:
            fh.write(f"start {os.getpid()}\n")
        time.sleep(cell.sleep)
        os.kill(os.getpid(), signal.SIGKILL)
    return sleep_cell(cell, work)


@pytest.mark.slow  # three pools of spawned workers, each importing torch: ~30 s on 2 busy cores
def test_a_killed_worker_fails_its_own_cell_and_the_grid_goes_on(tmp_path):
    """A worker killed outright breaks the whole process pool, and the cell beside it fails with the
    same BrokenProcessPool: the grid runs both again alone, records the one that dies alone as
    failed (error.json), finishes every other cell and writes the table; a rerun retries it."""
    cells = [DyingCell(name="a", seed=0, sleep=0.2), DyingCell(name="slow", seed=0, sleep=2.0),
             DyingCell(name="boom", seed=0, sleep=0.3, fail=True), DyingCell(name="b", seed=0),
             DyingCell(name="c", seed=0)]
    boom = cells[2].cell_id
    s = run_grid(cells, dying_cell, tmp_path, jobs=2, log=lambda m: None)
    assert s.failed == [boom] and sorted(s.ran) == sorted(c.cell_id for c in cells if c.cell_id != boom)
    error = json.loads((tmp_path / "cells" / boom / "error.json").read_text())
    assert "died abruptly" in error["error"]
    assert {r["cell_id"] for r in read_table(tmp_path / "results.csv")} == set(s.ran)
    attempts = _attempts(tmp_path)
    assert attempts[cells[1].cell_id] == ["start", "start", "finish"]  # killed beside boom, run again
    assert attempts[boom] == ["start", "start"]  # beside "slow", then alone
    (tmp_path / "cells" / boom / "allow").touch()
    again = run_grid(cells, dying_cell, tmp_path, jobs=2, log=lambda m: None)
    assert again.complete and again.ran == [boom]


@pytest.mark.parametrize(("seconds", "text"), [(0.4, "0 s"), (20, "20 s"), (89, "89 s"), (90, "1.5 min"),
                                               (450, "7.5 min"), (1800, "30 min"), (7300, "2.0 h")])
def test_durations_read_in_a_sensible_unit(seconds, text):
    from xlir.experiments.grid import format_duration

    assert format_duration(seconds) == text


def test_max_minutes_stops_between_cells_and_the_same_call_resumes(tmp_path):
    """A cell whose estimate does not fit the time left is not started (nor any after it); the cells
    that finished stay finished and a second call runs exactly the rest."""
    cells = [SleepCell(name="c", seed=i, sleep=1.0) for i in range(5)]
    logs: list[str] = []
    # 1 s cells estimated at 1 s, 2.5 s left: two cells fit, the third would end after the deadline
    s = run_grid(cells, sleep_cell, tmp_path, log=logs.append, deadline=time.monotonic() + 2.5,
                 cell_seconds=lambda c: 1.0)
    assert not s.complete and s.ran == [c.cell_id for c in cells[:2]]
    assert s.stopped == [c.cell_id for c in cells[2:]]
    stop = [m for m in logs if m.startswith("--max-minutes: stopping before")]
    assert stop and cells[2].cell_id in stop[0] and "3 cell(s) not started" in stop[0]
    assert len(read_table(tmp_path / "results.csv")) == 4  # the finished cells are tabulated
    assert not (tmp_path / "cells" / cells[2].cell_id).exists()  # never started, nothing half-written
    again = run_grid(cells, sleep_cell, tmp_path, log=lambda m: None)
    assert again.complete and again.done_before == 2 and len(again.ran) == 3
    assert all(v.count("finish") == 1 for v in _attempts(tmp_path).values())


def test_max_minutes_scales_estimates_by_the_measured_pace(tmp_path):
    """Estimates 100x too optimistic (1 ms for a 0.3 s cell): after the first cell the runner knows,
    and a cell that would overrun the deadline is not started."""
    cells = [SleepCell(name="p", seed=i, sleep=0.3) for i in range(4)]
    s = run_grid(cells, sleep_cell, tmp_path, log=lambda m: None, deadline=time.monotonic() + 0.5,
                 cell_seconds=lambda c: 0.001)
    assert len(s.ran) == 1 and len(s.stopped) == 3


def test_ids_ignore_a_field_added_later_while_it_holds_its_default():
    """``id_optional``: adding a field keeps the ids (and finished folders) of the older presets."""
    from typing import ClassVar

    class Later(SleepCell):
        precision: str = "fp32"
        id_optional: ClassVar[frozenset[str]] = frozenset({"precision"})

    old = SleepCell(name="x", seed=1)
    assert Later(name="x", seed=1).canonical_json() == old.canonical_json()
    assert Later(name="x", seed=1, precision="auto").canonical_json() != old.canonical_json()


def test_fit_to_budget_keeps_whole_groups_in_priority_order():
    from xlir.experiments.estimate import fit_to_budget

    class G(SleepCell):
        group: str

        def fit_group(self) -> str:
            return self.group

    cells = [G(name="a", seed=0, group="main"), G(name="a", seed=1, group="main"),
             G(name="b", seed=0, group="sweep"), G(name="c", seed=0, group="cheap")]
    secs = {cells[0].cell_id: 100, cells[1].cell_id: 100, cells[2].cell_id: 300, cells[3].cell_id: 1}
    kept, left = fit_to_budget(cells, secs, 250)
    # "sweep" does not fit; "cheap" would, but never jumps ahead of a higher priority
    assert kept == cells[:2]
    assert left == [{"group": "sweep", "cells": 1, "estimate_s": 300}, {"group": "cheap", "cells": 1,
                                                                          "estimate_s": 1}]
    assert fit_to_budget(cells, secs, 50) == ([], [{"group": "main", "cells": 2, "estimate_s": 200},
                                                   {"group": "sweep", "cells": 1, "estimate_s": 300},
                                                   {"group": "cheap", "cells": 1, "estimate_s": 1}])


def test_max_minutes_counts_parallel_cells_slower_from_the_start(tmp_path):
    """Estimates are for one cell on every core; with --jobs 2 each cell takes ~1.5x longer. The first
    cells start before any has finished to tell, so the runner scales by the expected slowdown:
    1 s cells with 1.2 s left do not start (they would end at ~1.4 s)."""
    from xlir.experiments.grid import cell_slowdown

    cells = [SleepCell(name="j", seed=i) for i in range(3)]
    s = run_grid(cells, sleep_cell, tmp_path, jobs=2, log=lambda m: None,
                 deadline=time.monotonic() + 1.2, cell_seconds=lambda c: 1.0)
    assert s.ran == [] and s.stopped == [c.cell_id for c in cells]
    assert cell_slowdown(1) == 1.0 and 1.3 < cell_slowdown(2) <= 2.0


def test_a_lock_whose_pid_now_names_another_process_is_taken_over(tmp_path):
    """Pids are reused (pid_max 32768 here): a killed worker's pid can belong to some live process at
    the next start. A lock written before its pid's process started is stale, as is one left empty;
    a lock its live owner wrote is respected."""
    import socket

    if not Path("/proc/self/stat").exists():
        pytest.skip("needs procfs")
    cells = [SleepCell(name="lock", seed=i) for i in range(3)]
    me = f"{socket.gethostname()} {os.getpid()}"  # this test process: alive
    locks = [tmp_path / "cells" / c.cell_id / "lock" for c in cells]
    for lock, text in zip(locks, [me, me, ""], strict=True):
        lock.parent.mkdir(parents=True)
        lock.write_text(text)
    hour_ago = time.time() - 3600
    for lock in locks[1:]:  # written an hour ago: before this process started (reused pid), or left empty
        os.utime(lock, (hour_ago, hour_ago))
    s = run_grid(cells, sleep_cell, tmp_path, log=lambda m: None)
    assert s.busy == [cells[0].cell_id]
    assert s.ran == [c.cell_id for c in cells[1:]]


@pytest.mark.parametrize("jobs", [1, 2])
def test_fill_runs_later_cells_that_fit_and_keeps_the_skipped_first_in_line(tmp_path, jobs):
    """--fill: a head cell too long for the time left is skipped, not the end of the sitting; the
    shorter cells after it run, and the next call (no deadline) runs the skipped one."""
    long = SleepCell(name="long", seed=0, sleep=0.2)
    short = [SleepCell(name="short", seed=i, sleep=0.05) for i in range(3)]
    cells = [long, *short]
    est = {long.cell_id: 30.0, **{c.cell_id: 0.05 for c in short}}
    strict = run_grid(cells, sleep_cell, tmp_path / "strict", jobs=jobs, log=lambda m: None,
                      deadline=time.monotonic() + 20, cell_seconds=lambda c: est[c.cell_id])
    assert strict.ran == [] and strict.stopped == [c.cell_id for c in cells]  # the default keeps order
    logs: list[str] = []
    s = run_grid(cells, sleep_cell, tmp_path / "fill", jobs=jobs, log=logs.append, fill=True,
                 deadline=time.monotonic() + 20, cell_seconds=lambda c: est[c.cell_id])
    assert sorted(s.ran) == sorted(c.cell_id for c in short) and s.stopped == [long.cell_id]
    assert sum(m.startswith(f"--max-minutes: skipping {long.cell_id}") for m in logs) == 1
    again = run_grid(cells, sleep_cell, tmp_path / "fill", jobs=jobs, log=lambda m: None)
    assert again.complete and again.ran == [long.cell_id] and again.done_before == 3
