"""The output folder of an evaluation: checked before any work, never silently mixed with another run.

``xlir eval -l de,en,es -o X`` and then ``xlir eval -l de,en -o X`` once replaced ``results.json``
and left the ``es`` run files of the first evaluation beside the second's (issue 11, defect 6).
:func:`prepare_run_folder` runs before anything is loaded or encoded:

* the folder must be writable (:func:`xlir.files.check_output_dir`: not a file, not read-only);
* an empty or new folder is fine; so is one holding *the same* evaluation (same model name,
  collection slice and result-affecting settings, see :func:`run_identity`), which is replaced;
* a folder holding a different evaluation, or files that are not an xlir run, is refused unless
  ``overwrite``, which clears it first: but only a folder that looks like an xlir run folder
  (``results.json`` or ``per_query.json`` in it), so a mistyped ``-o .`` never empties a project.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from xlir.errors import ConfigError
from xlir.evaluation.results import PER_QUERY_FILE, PER_QUERY_GZ_FILE, RESULTS_FILE
from xlir.files import check_output_dir

# Settings that change how fast or where, not what is measured.
_NOT_IN_IDENTITY = {"show_progress", "cache", "cache_dir", "num_threads", "max_block_mb", "batch_size",
                    "gzip"}


def run_identity(model_name: str | None, collection: dict, config: dict) -> dict:
    """What makes two evaluations "the same": model name, collection slice, result-affecting settings.

    ``collection`` is the ``collection`` entry of ``results.json`` (``Collection.summary()`` plus
    ``source`` and ``subset``); ``config`` the ``EvalConfig`` dump.
    """
    coll = {k: collection.get(k) for k in ("name", "queries", "documents", "judgments", "subset")}
    conf = {k: v for k, v in sorted(config.items()) if k not in _NOT_IN_IDENTITY}
    # through JSON, as results.json stores it (tuples become lists, paths strings)
    return json.loads(json.dumps({"model": model_name, "collection": coll, "config": conf}, default=str))


def check_cache_dir(config) -> None:
    """With the embedding cache on, its folder must be writable (checked before encoding, so a
    read-only ``--cache-dir`` is a one-line error, not a traceback after the whole encoding)."""
    if not config.cache:
        return
    from xlir.evaluation.cache import default_cache_dir

    check_output_dir(config.cache_dir or default_cache_dir(), "embedding cache folder")


def _stored_identity(run_dir: Path) -> dict | None:
    try:
        meta = json.loads((run_dir / RESULTS_FILE).read_text(encoding="utf-8"))
        return run_identity(meta["model"]["name"], meta["collection"], meta["config"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _differences(old: dict, new: dict) -> list[str]:
    out = []
    for part in ("model", "collection", "config"):
        a, b = old.get(part), new.get(part)
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{k}: {a.get(k)!r} -> {b.get(k)!r}"
                    for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            out.append(f"{part}: {a!r} -> {b!r}")
    return out


def prepare_run_folder(run_dir: str | Path, identity: dict, *, overwrite: bool = False) -> Path:
    """Check (and with ``overwrite`` clear) ``run_dir`` for the evaluation ``identity`` describes.

    Raises a one-line :class:`ConfigError` when the folder cannot be written, or holds something
    else than this evaluation and ``overwrite`` is not given. Creates nothing unless it clears.
    """
    run_dir = check_output_dir(run_dir, "run folder")
    if not run_dir.is_dir() or not any(run_dir.iterdir()):
        return run_dir
    is_run = any((run_dir / n).is_file() for n in (RESULTS_FILE, PER_QUERY_FILE, PER_QUERY_GZ_FILE))
    if overwrite:
        if not is_run:
            raise ConfigError(f"refusing to clear {run_dir}: it is not empty and holds no {RESULTS_FILE} "
                              "(not an xlir run folder); choose an empty or new --output")
        for child in run_dir.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        return run_dir
    stored = _stored_identity(run_dir) if is_run else None
    if stored == identity:
        return run_dir
    if stored is None:
        what = "files that are not an xlir evaluation" if not is_run else "an unreadable evaluation"
        raise ConfigError(f"{run_dir} is not empty and holds {what}: choose an empty or new --output "
                          "(or --overwrite to clear an old run folder)")
    diff = "; ".join(_differences(stored, identity))
    raise ConfigError(f"{run_dir} holds a different evaluation ({diff}): choose another --output, "
                      "or pass --overwrite to replace it")
