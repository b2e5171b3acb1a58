"""The training record ``xlir_training.json`` written next to a trained model.

It says how the model was made (config, sources, pair counts, software versions, steps, wall time)
and, through ``sources``, lets evaluation refuse a non-zero-shot run
(:func:`xlir.data.provenance.check_zero_shot`). :func:`read_training_record` is what evaluation
calls on a model folder; a folder without a record (a base model) has no training sources.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path

from xlir.data.provenance import RECORD_FILE, training_sources  # noqa: F401  (re-exported)
from xlir.errors import DataError
from xlir.files import write_json_atomic as _write_json

LOG_FILE = "training_log.jsonl"


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for pkg in ("xlir", "torch", "transformers", "sentence-transformers", "tokenizers"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def write_json_atomic(path: Path, obj: dict) -> None:
    """The training record's JSON form (indent 2, trailing newline), written atomically."""
    _write_json(path, obj, indent=2, default=str, allow_nan=True, trailing_newline=True)


def read_training_record(model_dir: str | Path) -> dict | None:
    """The record of a model trained by xlir, or None for any other model (name, Hub id, folder)."""
    path = Path(model_dir) / RECORD_FILE
    if not path.is_file():
        return None
    from xlir.data.io import read_json

    record = read_json(path)
    if not isinstance(record, dict):
        raise DataError(path, "not a JSON object", expected="the record xlir train writes")
    return record


def read_log(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a kill: drop it
                continue
    return rows
