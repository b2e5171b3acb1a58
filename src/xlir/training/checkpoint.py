"""Checkpoints written atomically and loaded without unpickling, so a run resumes from a complete one.

Each checkpoint is a folder ``step-XXXXXXXX`` holding

- ``tensors.safetensors``: trainable weights and optimizer tensors (raw bytes, no code);
- ``state.json``: everything else (step, config, scheduler, sampler positions, history, the
  optimizer's structure), tensors referenced by key (:mod:`xlir.training.state_codec`);
- ``rng-rank{r}.json``: each process's torch, Python and NumPy generator states, so dropout and any
  sampling continue exactly;
- ``checkpoint.json``, written last: the format, the step and the size and sha256 of every other file.

Nothing is unpickled on load (a crafted ``state.pt`` could run code on ``--resume``), and every file
is checked against ``checkpoint.json`` first, so a truncated or altered file is named in a
:class:`CheckpointError` instead of surfacing as a library error. :func:`load_latest` then falls back
to the previous complete checkpoint with a warning (keep more than one with ``keep_checkpoints``).

A checkpoint is written under a temporary name and renamed into place: a rename within one
filesystem is atomic, so a reader sees either no checkpoint or a whole one. Older checkpoints are
pruned only after the new one is in place. Only trainable weights are stored: frozen ones (the word
embeddings) are reloaded from the base model, which keeps e5-small checkpoints at a fifth of the
model's size.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import torch

from xlir.errors import DataError
from xlir.training.state_codec import CodecError, decode, encode

_NAME = re.compile(r"^step-(\d{8})$")
FORMAT = "xlir-checkpoint/2"
MANIFEST = "checkpoint.json"
TENSORS = "tensors.safetensors"
STATE = "state.json"


class CheckpointError(DataError):
    """A checkpoint file is missing, truncated, altered or not in xlir's format."""


def checkpoint_root(output: str | Path) -> Path:
    """Where a training run keeps its checkpoints: ``<output>.checkpoints/``, beside the model folder,
    so that the model folder holds only what is published (``SentenceTransformer(path)``, the model
    card, the training record). A run begun before this layout keeps its ``<output>/checkpoints/``."""
    output = Path(output)
    legacy = output / "checkpoints"
    if list_checkpoints(legacy):
        return legacy
    return output.with_name(output.name + ".checkpoints")


def checkpoint_name(step: int) -> str:
    return f"step-{step:08d}"


def list_checkpoints(root: Path) -> list[tuple[int, Path]]:
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _NAME.match(p.name))]
    return sorted(found)


def latest_checkpoint(root: Path) -> Path | None:
    """The newest complete checkpoint folder under ``root`` (temporary folders are ignored)."""
    found = list_checkpoints(Path(root))
    return found[-1][1] if found else None


def rng_state() -> dict:
    return {"torch": torch.get_rng_state(), "python": random.getstate(), "numpy": np.random.get_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _json_bytes(obj) -> bytes:
    return (json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n").encode()


def temp_dir(root: Path, step: int) -> Path:
    return root / f".tmp-{checkpoint_name(step)}"


def rng_file(rank: int) -> str:
    return f"rng-rank{rank}.json"


def write_rng(root: Path, step: int, rank: int) -> None:
    """Each process writes its own generator state into the temporary folder (made by rank 0)."""
    _write(temp_dir(root, step) / rng_file(rank), _json_bytes(encode(rng_state(), None)))


def begin(root: Path, step: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir(root, step)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def commit(root: Path, step: int, state: dict, *, keep: int = 1) -> Path:
    """Write the state and the manifest into the temporary folder, rename it into place, prune."""
    from safetensors.torch import save as save_tensors

    tmp = temp_dir(root, step)
    tensors: dict[str, torch.Tensor] = {}
    tree = encode(state, tensors)
    _write(tmp / TENSORS, save_tensors(tensors))
    _write(tmp / STATE, _json_bytes(tree))
    files = {}
    for p in sorted(tmp.iterdir()):
        data = p.read_bytes()
        files[p.name] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    # no trailing newline: any truncation of the manifest leaves invalid JSON
    _write(tmp / MANIFEST, _json_bytes({"format": FORMAT, "step": step, "files": files}).rstrip())
    _fsync_dir(tmp)
    final = root / checkpoint_name(step)
    if final.exists():  # the same step saved before (a resume past a broken one): the new one is whole
        old = root / f".tmp-old-{checkpoint_name(step)}"
        shutil.rmtree(old, ignore_errors=True)
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, final)
    _fsync_dir(root)
    for _, path in list_checkpoints(root)[:-keep]:
        shutil.rmtree(path, ignore_errors=True)
    return final


def _read_json(path: Path, data: bytes | None = None):
    try:
        return json.loads(data if data is not None else path.read_bytes())
    except FileNotFoundError:
        raise CheckpointError(path, "missing") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(path, f"not valid JSON ({e})") from None


def verify(path: Path) -> dict[str, bytes]:
    """The bytes of every file of checkpoint ``path``, each checked against its manifest entry."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        if (path / "state.pt").exists():
            raise CheckpointError(path / "state.pt", "is a pickle checkpoint of an older xlir; it is not "
                                  "loaded, since unpickling a file can run code",
                                  expected="a checkpoint with checkpoint.json (retrain into a new --output)")
        raise CheckpointError(manifest_path, "missing: the checkpoint is incomplete")
    manifest = _read_json(manifest_path)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or not isinstance(manifest.get("files"), dict):
        raise CheckpointError(manifest_path, "not an xlir checkpoint manifest",
                              expected=f'{{"format": "{FORMAT}", "files": {{...}}}}')
    out: dict[str, bytes] = {}
    for name, entry in manifest["files"].items():
        if not isinstance(name, str) or "/" in name or name.startswith(".") or not isinstance(entry, dict):
            raise CheckpointError(manifest_path, f"bad file entry {name!r}")
        file = path / name
        try:
            data = file.read_bytes()
        except FileNotFoundError:
            raise CheckpointError(file, "missing (listed in checkpoint.json)") from None
        if len(data) != entry.get("bytes"):
            raise CheckpointError(file, f"truncated or altered: {len(data)} bytes, the checkpoint wrote "
                                  f"{entry.get('bytes')}")
        if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
            raise CheckpointError(file, "altered: its sha256 differs from the one the checkpoint wrote")
        out[name] = data
    for name in (STATE, TENSORS):
        if name not in out:
            raise CheckpointError(manifest_path, f"does not list {name}")
    return out


_STATE_FIELDS = {"step": int, "model": dict, "optimizer": dict, "scheduler": dict, "sampler": dict,
                 "config": dict, "pairs_fingerprint": str, "history": dict}


def _check_state(state, file: Path) -> None:
    """The fields the trainer reads, with their types (a hand-made state.json fails here, named)."""
    if not isinstance(state, dict):
        raise CheckpointError(file, "is not an object", expected="the state xlir's trainer writes")
    for name, kind in _STATE_FIELDS.items():
        if not isinstance(state.get(name), kind) or isinstance(state.get(name), bool):
            raise CheckpointError(file, f"field {name!r} is {type(state.get(name)).__name__}",
                                  expected=f"a {kind.__name__} {name!r}, as xlir's trainer writes")
    if state["step"] < 0 or not all(isinstance(t, torch.Tensor) for t in state["model"].values()):
        raise CheckpointError(file, "bad step or weights", expected="step >= 0 and a tensor per weight")


def load(path: Path, rank: int = 0) -> tuple[dict, dict | None]:
    """``(state, rng_state_of_this_rank or None)`` of a checkpoint folder; :class:`CheckpointError`
    naming the file when anything is missing, truncated or malformed."""
    from safetensors.torch import load as load_tensors

    path = Path(path)
    files = verify(path)
    try:
        tensors = load_tensors(files[TENSORS])
    except Exception as e:  # safetensors raises its own error types for a malformed header
        raise CheckpointError(path / TENSORS, f"not a readable safetensors file ({e})") from None
    try:
        state = decode(_read_json(path / STATE, files[STATE]), tensors)
    except CodecError as e:
        raise CheckpointError(path / STATE, str(e)) from None
    _check_state(state, path / STATE)
    rng = None
    if rng_file(rank) in files:
        try:
            rng = decode(_read_json(path / rng_file(rank), files[rng_file(rank)]))
        except CodecError as e:
            raise CheckpointError(path / rng_file(rank), str(e)) from None
        if not isinstance(rng, dict) or not {"torch", "python", "numpy"} <= set(rng):
            raise CheckpointError(path / rng_file(rank), "lacks the torch, python and numpy states")
    return state, rng


def load_latest(root: Path, rank: int = 0, *, set_aside: bool = False
                ) -> tuple[Path, dict, dict | None] | None:
    """The newest checkpoint under ``root`` that loads, as ``(path, state, rng)``; None if there is none.

    A newer checkpoint that fails :func:`verify` (a truncated file) is skipped with a warning naming
    the file, and with ``set_aside`` (rank 0) renamed to ``.broken-step-N`` so that later pruning
    cannot keep it over a good one. When every checkpoint is broken, the error of the newest is raised.
    """
    root = Path(root)
    found = list_checkpoints(root)
    first_error: CheckpointError | None = None
    for i, (_, path) in enumerate(reversed(found)):
        try:
            state, rng = load(path, rank)
        except CheckpointError as e:
            first_error = first_error or e
            continue
        if i:
            warnings.warn(f"checkpoint {found[-1][1]} is not usable ({first_error}); resuming from the "
                          f"previous complete one, {path}", stacklevel=2)
            if set_aside:
                for _, broken in found[len(found) - i:]:
                    os.replace(broken, broken.with_name(f".broken-{broken.name}"))
        return path, state, rng
    if first_error is not None:
        raise CheckpointError(first_error.path, f"{first_error.problem}; no earlier complete checkpoint "
                              f"under {root} to fall back to (keep_checkpoints > 1 keeps one)",
                              expected="a complete checkpoint, or a new --output to train from scratch")
    return None


def clean_temporaries(root: Path) -> None:
    """Remove folders left by a run killed while writing (they were never complete)."""
    if root.is_dir():
        for p in root.iterdir():
            if p.is_dir() and p.name.startswith(".tmp-"):
                shutil.rmtree(p, ignore_errors=True)
