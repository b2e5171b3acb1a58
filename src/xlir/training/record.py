"""The training record ``xlir_training.json`` written next to a trained model.

It says how the model was made (config, sources, pair counts, software versions, steps, wall time,
the recipe it started from with that file's text and sha256, the command line) and, through
``sources``, lets evaluation refuse a non-zero-shot run (:func:`xlir.data.provenance.check_zero_shot`).
:class:`TrainingRecord` is its typed form: the trainer builds one, ``TrainingRecord.read(folder)``
reads one back (None for a model xlir did not train), so readers use the field names the trainer
writes (``wall_time_s``) and a misspelt one is an AttributeError, not a silently missing value.
"""

from __future__ import annotations

import json
import platform
import sys
from importlib import metadata
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from xlir.data.provenance import RECORD_FILE, read_training_record, training_sources  # noqa: F401  (re-exported)
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


class PairsSummary(BaseModel):
    """The training pairs a model saw: how many, from where, and their content hash."""

    model_config = ConfigDict(extra="forbid")

    name: str
    count: int
    fingerprint: str
    groups: int
    meta: dict = Field(default_factory=dict)
    language_pairs: dict[str, int] = Field(default_factory=dict)


class TrainingRecord(BaseModel):
    """``xlir_training.json``: how a model was trained (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    model: str
    base_model_fingerprint: str
    sources: list[str]
    pairs: PairsSummary
    config: dict  # TrainConfig.model_dump(mode="json"), kept as written so any version's record reads
    sampler: dict  # the sampler's describe()
    objective: dict | None = None  # the objective's describe() (records before objectives: None)
    steps: int
    world_size: int = 1
    frozen_parameters: int
    trainable_parameters: int
    wall_time_s: float = Field(description="training wall time over all runs of a resumed training")
    setup_s: float = Field(description="loading data and model before the first step (this run)")
    pairs_per_s: float
    resumed_from: list[int] = Field(default_factory=list)
    final_loss: float | None = None
    loss_curve: list[tuple[int, float]] = Field(default_factory=list)
    batch_kinds: dict[str, int] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    device: str = "cpu"
    precision: str = "float32"  # the dtype of the trained weights
    compute_precision: dict = Field(default_factory=dict)  # matrix products: asked, used, hardware
    # padded tokens per length-sorted micro-chunk of a batch (0: whole batches; None: older records)
    bucket_tokens: int | None = None
    # the attention kernel of each transformer while training ran (xlir.models.attention; eager on a
    # CPU since 2026-11-28, sdpa before); None: older records
    attention: list[str] | None = None
    # AdamW's update kernel (xlir.training.optim): 'fused' since 2026-11-28, 'for-loop' on a CPU
    # before (the same update up to float rounding); None: older records
    optimizer: str | None = None
    base_model_record: dict | None = None  # the base model's xlir_model.json, when it has one
    # the packaged recipe the config started from: name, file, sha256, full text, and the settings
    # that differ from it (xlir.training.recipes.recipe_provenance); None for a run from no recipe
    recipe: dict | None = None
    command: list[str] = Field(default_factory=list, description="sys.argv of the training process")
    # WiSE-FT applied when training ended (TrainConfig.merge_weight): weight, method, base model,
    # the folder holding the unmerged weights; None: the saved weights are the trained ones
    merge: dict | None = None

    def write(self, model_dir: str | Path) -> Path:
        path = Path(model_dir) / RECORD_FILE
        data = self.model_dump(mode="json")
        if data["base_model_record"] is None:
            del data["base_model_record"]
        write_json_atomic(path, data)
        return path

    @classmethod
    def read(cls, model_dir: str | Path) -> TrainingRecord | None:
        """The record of a model trained by xlir, or None for any other model (name, Hub id, folder)."""
        data = read_training_record(model_dir)
        if data is None:
            return None
        from pydantic import ValidationError

        from xlir.config import validation_problems

        try:
            return cls(**data)
        except ValidationError as exc:
            raise DataError(Path(model_dir) / RECORD_FILE, validation_problems(exc),
                            expected="a training record written by xlir train") from None


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
