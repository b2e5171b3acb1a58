"""A resumable grid runner: one folder per cell, a cell is done when its ``result.json`` exists.

Why this shape
    A study is many independent runs (cells). Long grids get killed (a laptop lid, an OOM, a
    scheduler), so the only durable state is on disk and every write is atomic (write a temporary
    file, then ``os.replace``): after a kill, a cell either has its complete ``result.json`` or
    none, and a rerun starts exactly the cells without one. Nothing is kept in memory between cells.

Layout::

    <study_dir>/study.json                 name, preset, command, cell ids
    <study_dir>/cells/<id>/config.json     the cell's pydantic config (what the id hashes)
    <study_dir>/cells/<id>/result.json     {"rows": [...], "wall_s": ..., ...}  -- written last
    <study_dir>/cells/<id>/error.json      the traceback of a failed attempt (retried on rerun)
    <study_dir>/cells/<id>/lock            pid of the process running it (stale locks are taken over)
    <study_dir>/cells/<id>/work/           scratch (model weights); removed once the cell is done
    <study_dir>/results.csv                the tidy table: one row per (cell, result row)

Cell ids are a hash of the cell's canonical JSON, so the same config always lands in the same
folder, and adding cells to a study (more seeds) reuses every finished one.

Parallel cells run in ``spawn``-ed worker processes (torch and ``fork`` do not mix); each worker
gets ``cores // jobs`` torch threads and, on Linux, dies with its parent (``PR_SET_PDEATHSIG``),
so a SIGKILL of the runner does not leave orphans finishing cells behind its back. A worker
killed on its own (out of memory) fails its cell, not the grid (:func:`_run_in_workers`).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import socket
import time
import traceback
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import ConfigDict, PrivateAttr

from xlir.config import TomlConfig
from xlir.errors import ConfigError, DataError
from xlir.files import atomic_write, check_output_dir
from xlir.files import write_json_atomic as _write_json

RunCell = Callable[[Any, Path], dict]
"""``run_cell(config, work_dir) -> {"rows": [dict, ...], ...}``; must be a module-level function."""


class CellConfig(TomlConfig):
    """Base class of every study cell: frozen, no unknown fields, and a stable id; like every config,
    ``from_toml(path, overrides)`` reads one (the id hashes the fields only)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    table_exclude: ClassVar[frozenset[str]] = frozenset()
    """Config fields left out of the result table (bulky ones; config.json keeps everything)."""
    id_optional: ClassVar[frozenset[str]] = frozenset()
    """Fields added after cells were committed (``name`` or ``config.name`` for a nested config's): left
    out of the id while they hold their default, so the cells of an older preset keep their ids (and
    their finished folders) when a field is added."""
    id_defaults: ClassVar[dict[str, object]] = {}
    """For an ``id_optional`` field whose default has changed since: the default the ids were made
    with (the id must not move when a library default does; a cell holding the old default keeps its
    old id, one holding the new default gets it spelled out)."""

    def table_fields(self) -> dict:
        """The flattened config columns every result row of this cell carries in ``results.csv``."""
        out: dict = {}
        _flatten(
            "", {k: v for k, v in self.model_dump(mode="json").items() if k not in self.table_exclude}, out
        )
        return out

    def canonical_json(self) -> str:
        data = self.model_dump(mode="json")
        for path in self.id_optional:  # "field" or "field.subfield" (a field of a nested config)
            *parents, name = path.split(".")
            obj, where = self, data
            for part in parents:
                obj, where = getattr(obj, part), where[part]
            default = (self.id_defaults[path] if path in self.id_defaults
                       else type(obj).model_fields[name].get_default(call_default_factory=True))
            if getattr(obj, name) == default:
                where.pop(name, None)
        return json.dumps(data, sort_keys=True, separators=(",", ":"))

    _fit_group: str = PrivateAttr("")
    """Set by a study's ``build_cells`` (not part of the id or the table); see :meth:`fit_group`."""

    def fit_group(self) -> str:
        """The design point this cell belongs to when a preset is fitted to a time budget: a group's
        cells are kept or left out together (:func:`xlir.experiments.estimate.fit_to_budget`)."""
        return self._fit_group or self.cell_id

    @property
    def cell_id(self) -> str:
        """``<label>-<hash>``: readable in ``ls``, stable across runs and machines."""
        digest = hashlib.sha256((type(self).__name__ + self.canonical_json()).encode()).hexdigest()[:10]
        label = self.label()
        return f"{label}-{digest}" if label else digest

    def label(self) -> str:
        """A short human-readable prefix of the cell id (override in subclasses)."""
        return ""


# ---- atomic files ------------------------------------------------------------------------------
def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON so that readers see either the old file, or the complete new one
    (:func:`xlir.files.write_json_atomic`; sorted keys, indent 2, as the committed studies are)."""
    _write_json(path, obj, indent=2, sort_keys=True, default=str, ensure_ascii=True, allow_nan=True)


def read_json(path: Path) -> Any:
    """A file of the grid, parsed; a cut or garbled one is a DataError naming it."""
    from xlir.data.io import read_json as read

    return read(path)


def read_result(cdir: Path, *, warn: bool = False) -> dict | None:
    """The cell's ``result.json`` when it is complete, else None.

    The file is written atomically, but a disk that filled up or a copy cut short can still leave a
    partial one; such a cell is run again (``warn``: say so) rather than trusted or crashing the table.
    """
    path = cdir / "result.json"
    if not path.is_file():
        return None
    try:
        result = read_json(path)
    except DataError as exc:
        result = exc
    if not isinstance(result, dict) or not isinstance(result.get("rows"), list):
        if warn:
            why = result if isinstance(result, DataError) else "no rows"
            warnings.warn(f"{path} is cut or malformed ({why}): the cell is not counted as done and "
                          f"runs again", stacklevel=2)
        return None
    return result


# ---- per-cell state ----------------------------------------------------------------------------
def cell_dir(study_dir: Path, cell: CellConfig) -> Path:
    return Path(study_dir) / "cells" / cell.cell_id


def is_done(study_dir: Path, cell: CellConfig, *, warn: bool = False) -> bool:
    return read_result(cell_dir(study_dir, cell), warn=warn) is not None


def _pid_alive(pid: int) -> bool:
    """Whether a lock's owner still runs. A zombie counts as gone: a worker killed with its runner
    stays a zombie until some ancestor reaps it, which in containers can take a while (or never)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no procfs (macOS) or the process just went: trust kill(0)
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _started_after(pid: int, when: float) -> bool:
    """Whether process ``pid`` started after ``when`` (epoch seconds), i.e. it cannot be the one that
    wrote a file at ``when``: pids are reused (``pid_max`` is 32768 in many containers, and a day of
    runs wraps it), so a lock whose pid now names another process is stale. False when unknown."""
    try:
        ticks = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[19])
        boot = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines()
                    if line.startswith("btime "))
        return boot + ticks / os.sysconf("SC_CLK_TCK") > when + 2  # btime is whole seconds
    except (OSError, ValueError, IndexError, StopIteration):
        return False


def _abandoned_empty(lock: Path) -> bool:
    """An empty lock a minute old: its runner died between creating and writing it (a lock is
    written at once), and no owner can ever be read from it."""
    try:
        st = lock.stat()
    except OSError:
        return False
    return st.st_size == 0 and time.time() - st.st_mtime > 60


def _try_lock(cdir: Path) -> bool:
    """Take the cell's lock; a stale lock (its runner was killed) is taken over.

    Stale: a lock of this host whose pid is dead, or alive but started after the lock was written
    (the pid was reused by another process), or one left empty."""
    lock = cdir / "lock"
    me = f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                host, pid = lock.read_text().split()
                owner, written = int(pid), lock.stat().st_mtime
            except (OSError, ValueError):
                host, owner, written = "", 0, 0.0
            if (host == socket.gethostname()
                    and (not _pid_alive(owner) or _started_after(owner, written))) or _abandoned_empty(lock):
                lock.unlink(missing_ok=True)
                continue
            return False
        with os.fdopen(fd, "w") as fh:
            fh.write(me)
        return True
    return False


def _unlock(cdir: Path) -> None:
    (cdir / "lock").unlink(missing_ok=True)


def _die_with_parent() -> None:
    """Linux: deliver SIGKILL to this worker when the runner dies, so no orphan keeps running."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _worker_init(threads: int) -> None:
    _die_with_parent()
    os.environ["XLIR_THREADS"] = str(threads)  # read by xlir.evaluation.encode.configure_threads
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:  # pragma: no cover - torch is a dependency
        pass


def execute_cell(run_cell: RunCell, cell: CellConfig, study_dir: Path, keep_work: bool = False) -> str:
    """Run one cell under its lock; return "done", "skipped", "busy" or "failed"."""
    cdir = cell_dir(study_dir, cell)
    cdir.mkdir(parents=True, exist_ok=True)
    if read_result(cdir) is not None:
        return "skipped"
    if not _try_lock(cdir):
        return "busy"
    try:
        if read_result(cdir) is not None:  # finished by another runner between check and lock
            return "skipped"
        write_json_atomic(
            cdir / "config.json",
            {
                "type": type(cell).__name__,
                "config": cell.model_dump(mode="json"),
                "table": cell.table_fields(),
            },
        )
        work = cdir / "work"
        work.mkdir(exist_ok=True)
        t0 = time.time()
        try:
            out = run_cell(cell, work)
        except Exception as exc:  # noqa: BLE001 - recorded, the grid goes on with other cells
            write_json_atomic(
                cdir / "error.json",
                {"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()},
            )
            return "failed"
        if not isinstance(out, dict) or not isinstance(out.get("rows"), list):
            raise TypeError(f"run_cell must return a dict with a 'rows' list, got {type(out).__name__}")
        out = {
            **out,
            "cell_id": cell.cell_id,
            "wall_s": round(time.time() - t0, 3),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        write_json_atomic(cdir / "result.json", out)
        (cdir / "error.json").unlink(missing_ok=True)
        if not keep_work:
            shutil.rmtree(work, ignore_errors=True)
        return "done"
    finally:
        _unlock(cdir)


@dataclass
class GridSummary:
    total: int
    done_before: int
    ran: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    """Cells not started because they would not finish before ``--max-minutes`` ran out."""
    table: Path | None = None

    @property
    def finished(self) -> int:
        """Cells with a result (before this run or by it): a report can be built once one exists."""
        return self.done_before + len(self.ran)

    @property
    def complete(self) -> bool:
        return not self.failed and not self.busy and self.done_before + len(self.ran) == self.total


def format_duration(seconds: float) -> str:
    """``42 s``, ``7.5 min``, ``3.2 h``: a progress line never claims "0 min" left for 20 seconds."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.1f} min" if seconds < 600 else f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def run_grid(
    cells: Iterable[CellConfig],
    run_cell: RunCell,
    study_dir: str | Path,
    *,
    jobs: int = 1,
    meta: dict | None = None,
    keep_work: bool = False,
    log: Callable[[str], None] = print,
    deadline: float | None = None,
    cell_seconds: Callable[[CellConfig], float] | None = None,
    fill: bool = False,
) -> GridSummary:
    """Run every unfinished cell (``jobs`` at a time), then write ``results.csv``.

    Safe to call again after any interruption: finished cells are skipped, a cell that was
    running when its runner died is started afresh.

    ``deadline`` (a ``time.monotonic()`` value) stops the grid cleanly between cells: a cell whose
    estimate (``cell_seconds``, scaled by how the cells of this run compared with their estimates)
    would not finish before it is not started, and neither is any later one; finished cells stay
    finished, so the same call resumes with them later. With ``fill`` a later cell that does fit runs
    instead (the end of a sitting then does shorter cells out of order; the skipped ones stay first in
    line for the next call).
    """
    cells = list(cells)
    ids = [c.cell_id for c in cells]
    if len(set(ids)) != len(ids):
        raise ConfigError("the study has duplicate cells (identical configs)")
    if jobs < 1:
        raise ConfigError(f"--jobs must be at least 1, got {jobs}")
    study_dir = check_output_dir(study_dir, "study folder")
    (study_dir / "cells").mkdir(parents=True, exist_ok=True)
    write_json_atomic(study_dir / "study.json", {**(meta or {}), "cells": ids})
    pending = [c for c in cells if not is_done(study_dir, c, warn=True)]
    summary = GridSummary(total=len(cells), done_before=len(cells) - len(pending))
    log(f"grid: {len(cells)} cells, {summary.done_before} already done, {len(pending)} to run, {jobs} job(s)")
    started = time.monotonic()

    def record(cell: CellConfig, status: str, i: int) -> None:
        {"done": summary.ran, "failed": summary.failed, "busy": summary.busy}.get(status, []).append(
            cell.cell_id
        )
        extra = f" (see {cell_dir(study_dir, cell) / 'error.json'})" if status == "failed" else ""
        elapsed = time.monotonic() - started
        left = len(pending) - i
        eta = f", about {format_duration(elapsed / i * left)} left at this pace" if left else ""
        log(f"[{i}/{len(pending)}] {cell.cell_id}: {status}{extra} ({format_duration(elapsed)} elapsed{eta})")

    parallel = jobs > 1 and len(pending) > 1
    pace = _Pace(cell_seconds, floor=cell_slowdown(jobs) if parallel else 1.0)

    skipped: list[str] = []

    def may_start(cell: CellConfig, running: int = 0) -> bool:
        if deadline is None:
            return True
        left = deadline - time.monotonic()
        need = pace.seconds(cell)
        if need <= left and left > 0:
            return True
        if fill:
            if cell.cell_id not in skipped:
                skipped.append(cell.cell_id)
                log(f"--max-minutes: skipping {cell.cell_id} (needs about {format_duration(need)}, "
                    f"{format_duration(max(left, 0))} left); --fill tries the cells after it")
            return False
        rest = [c.cell_id for c in pending if c.cell_id not in done_ids]
        summary.stopped = rest[running:]
        log(f"--max-minutes: stopping before {cell.cell_id} (needs about {format_duration(need)}, "
            f"{format_duration(max(left, 0))} left); {len(summary.stopped)} cell(s) not started. "
            "Finished cells are kept: rerun the same command to resume.")
        return False

    done_ids: set[str] = set()
    finished = 0

    def finish(cell: CellConfig, seconds: float, status: str) -> None:
        nonlocal finished
        finished += 1
        pace.observe(cell, seconds, status)
        done_ids.add(cell.cell_id)
        record(cell, status, finished)

    if not parallel:
        for cell in pending:
            if not may_start(cell):
                if fill:
                    continue
                break
            t0 = time.monotonic()
            status = execute_cell(run_cell, cell, study_dir, keep_work)
            finish(cell, time.monotonic() - t0, status)
    else:
        _run_in_workers(pending, run_cell, study_dir, keep_work, jobs, may_start, finish, fill=fill)
    if fill and skipped:
        summary.stopped = [c.cell_id for c in pending if c.cell_id not in done_ids]
        log(f"--max-minutes: {len(summary.stopped)} cell(s) not started. Finished cells are kept: "
            "rerun the same command to resume.")
    summary.table = write_table(study_dir, cells)
    return summary


WORKER_DIED = ("its worker process died abruptly (killed by a signal: out of memory, or a crash in "
               "native code); no traceback exists. The cell runs again on the next start (its work "
               "folder is kept, so fine-tuning resumes from its last checkpoint)")


def _worker_pool(jobs: int):
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    threads = max(1, (os.cpu_count() or 1) // jobs)
    return ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"),
                               initializer=_worker_init, initargs=(threads,))


def _run_in_workers(pending: list[CellConfig], run_cell: RunCell, study_dir: Path, keep_work: bool,
                    jobs: int, may_start: Callable[[CellConfig, int], bool],
                    finish: Callable[[CellConfig, float, str], None], fill: bool = False) -> None:
    """Run ``pending`` ``jobs`` at a time in spawned workers; ``finish(cell, seconds, status)`` each.

    A worker that dies without a word (the OOM killer, a segfault) breaks the whole pool: every cell
    in flight fails with ``BrokenProcessPool``, and which of them killed its worker is unknown. The
    grid then starts a fresh pool and runs those cells again, each alone: one that dies alone is
    recorded as failed (``error.json``), the others finish. Without this the grid would stop with a
    traceback, no table, and the same death at the same place on every rerun.
    """
    from concurrent.futures import FIRST_COMPLETED, wait
    from concurrent.futures.process import BrokenProcessPool

    queue = list(pending)
    suspects: set[str] = set()  # in flight when the pool broke beside another cell: run alone
    running: dict = {}  # future -> (cell, start)
    pool = _worker_pool(jobs)
    try:
        while queue or running:
            while queue and len(running) < jobs:
                if running and (queue[0].cell_id in suspects
                                or any(c.cell_id in suspects for c, _ in running.values())):
                    break
                if not may_start(queue[0], len(running)):
                    if not fill:
                        queue.clear()
                        break
                    later = next((i for i, c in enumerate(queue) if i and c.cell_id not in suspects
                                  and may_start(c, len(running))), None)
                    if later is None:
                        queue.clear()
                        break
                    queue.insert(0, queue.pop(later))
                cell = queue.pop(0)
                running[pool.submit(execute_cell, run_cell, cell, study_dir, keep_work)] = (
                    cell, time.monotonic())
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            if not any(isinstance(f.exception(), BrokenProcessPool) for f in done):
                for fut in done:
                    cell, t0 = running.pop(fut)
                    finish(cell, time.monotonic() - t0, fut.result())
                continue
            # the pool is broken: its other futures fail too; shutting it down also reaps the old
            # workers, so the locks they hold are free (dead pids) before new workers start
            pool.shutdown(wait=True)
            died = []
            for fut, (cell, t0) in running.items():
                if isinstance(fut.exception(), BrokenProcessPool):
                    died.append(cell)
                else:  # finished just before the break
                    finish(cell, time.monotonic() - t0, fut.result())
            running.clear()
            pool = _worker_pool(jobs)
            if len(died) == 1:
                write_json_atomic(cell_dir(study_dir, died[0]) / "error.json",
                                  {"error": f"WorkerDied: {WORKER_DIED}", "traceback": ""})
                finish(died[0], 0.0, "failed")
            else:
                suspects.update(c.cell_id for c in died)
                queue[0:0] = died
    finally:
        pool.shutdown(wait=True)


def cell_slowdown(jobs: int) -> float:
    """About how many times longer one cell takes when ``jobs`` run side by side than alone on every
    core: they share the cores at about sqrt(jobs) times the throughput of one, 1.41 per cell for 2 jobs
    on 2 cores (measured, BENCHMARKS.md section 5: training 1.35x, encoding 1.17x, each cell about 1.5x
    longer). A cell alone in a worker is no faster: it still has only its share of the threads."""
    if jobs <= 1:
        return 1.0
    return jobs / min(jobs, os.cpu_count() or 1) ** 0.5


class _Pace:
    """A cell's expected seconds: its estimate times the ratio measured/estimated over the cells this
    run finished, when that ratio is above ``floor`` (the probe of a machine that got busier is off by
    a common factor; the cells say by how much). A ratio below ``floor`` is not trusted: a deadline is
    better kept with a cell left for the next run than overrun. ``floor`` is 1, or with parallel cells
    :func:`cell_slowdown` (estimates are for one cell on every core; the first cells of a run start
    before any has finished to say so). Without estimates every cell counts 0 s, so only an elapsed
    deadline stops the grid."""

    def __init__(self, estimate: Callable[[CellConfig], float] | None, floor: float = 1.0):
        self.estimate = estimate
        self.floor = floor
        self.measured = 0.0
        self.estimated = 0.0

    def seconds(self, cell: CellConfig) -> float:
        if self.estimate is None:
            return 0.0
        ratio = max(self.floor, self.measured / self.estimated) if self.estimated > 0 else self.floor
        return self.estimate(cell) * ratio

    def observe(self, cell: CellConfig, seconds: float, status: str) -> None:
        if self.estimate is not None and status == "done":
            self.measured += seconds
            self.estimated += self.estimate(cell)


# ---- the tidy table ----------------------------------------------------------------------------
def _flatten(prefix: str, obj: Any, out: dict) -> None:
    if isinstance(obj, dict):
        for k, v in obj.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(obj, list | tuple):
        out[prefix] = " ".join(map(str, obj))
    else:
        out[prefix] = obj


def collect_rows(study_dir: str | Path, cells: Iterable[CellConfig] | None = None) -> list[dict]:
    """One dict per result row of every finished cell, with the cell's config fields in front."""
    study_dir = Path(study_dir)
    if cells is not None:
        dirs = [cell_dir(study_dir, c) for c in cells]
    else:
        dirs = sorted(p for p in (study_dir / "cells").glob("*") if p.is_dir())
    rows: list[dict] = []
    for cdir in dirs:
        if not (cdir / "result.json").is_file():
            continue
        result = read_result(cdir)
        if result is None:  # never a table with a cell silently missing
            raise DataError(cdir / "result.json", "cut or malformed", expected="a complete result; "
                            "run the study again to recompute this cell")
        stored = read_json(cdir / "config.json")
        head: dict = {"cell_id": cdir.name}
        if "table" in stored:
            head.update(stored["table"])
        else:
            _flatten("", stored["config"], head)
        for row in result["rows"]:
            rows.append({**head, **row})
    return rows


def write_csv(rows: list[dict], path: str | Path) -> Path:
    """Write rows with the union of their keys as columns (first-seen order), atomically."""
    path = Path(path)
    cols: list[str] = []
    for r in rows:
        cols.extend(k for k in r if k not in cols)
    with atomic_write(path, newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        w.writerows(rows)
    return path


def write_table(study_dir: str | Path, cells: Iterable[CellConfig] | None = None) -> Path:
    return write_csv(collect_rows(study_dir, cells), Path(study_dir) / "results.csv")


def read_table(path: str | Path, required: Iterable[str] = ()) -> list[dict]:
    """Read a results CSV back: numeric-looking cells become floats, empty ones None.

    ``required`` columns must be in the header and filled in every row; otherwise a DataError names
    the file, the line and the column (a truncated or hand-edited table must not end in a KeyError).
    """
    required = tuple(required)
    out = []
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(path, f"no column {', '.join(missing)}", line=1,
                            expected=f"a result table with columns {', '.join(required)}")
        for row in reader:
            empty = [c for c in required if row.get(c) in ("", None)]
            if empty:
                raise DataError(path, f"empty {', '.join(empty)}", line=reader.line_num,
                                expected="every required column filled")
            conv = {}
            for k, v in row.items():
                if v in ("", None):
                    conv[k] = None
                    continue
                try:
                    conv[k] = float(v) if k != "cell_id" else v
                except ValueError:
                    conv[k] = v
            out.append(conv)
    return out
