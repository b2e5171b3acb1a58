"""Checkpoints written atomically, so a run killed at any instant resumes from a complete one.

Each checkpoint is a folder ``step-XXXXXXXX`` holding ``state.pt`` (trainable weights, optimizer,
scheduler, sampler state, the step) plus one ``rng-rank{r}.pt`` per process (torch, Python and
NumPy generator states, so dropout and any sampling continue exactly). It is written under a
temporary name and renamed into place: a rename within one filesystem is atomic, so a reader sees
either no checkpoint or a whole one, never half of one. Older checkpoints are pruned only after
the new one is in place. Only trainable weights are stored: frozen ones (the word embeddings) are
reloaded from the base model, which keeps e5-small checkpoints at a fifth of the model's size.
"""

from __future__ import annotations

import os
import random
import re
import shutil
from pathlib import Path

import numpy as np
import torch

_NAME = re.compile(r"^step-(\d{8})$")


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


def _save(obj, path: Path) -> None:
    with open(path, "wb") as f:
        torch.save(obj, f)
        f.flush()
        os.fsync(f.fileno())


def temp_dir(root: Path, step: int) -> Path:
    return root / f".tmp-{checkpoint_name(step)}"


def write_rng(root: Path, step: int, rank: int) -> None:
    """Each process writes its own generator state into the temporary folder (made by rank 0)."""
    _save(rng_state(), temp_dir(root, step) / f"rng-rank{rank}.pt")


def begin(root: Path, step: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    tmp = temp_dir(root, step)
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    return tmp


def commit(root: Path, step: int, state: dict, *, keep: int = 1) -> Path:
    """Write ``state.pt`` into the temporary folder, rename it into place, prune older ones."""
    tmp = temp_dir(root, step)
    _save(state, tmp / "state.pt")
    _fsync_dir(tmp)
    final = root / checkpoint_name(step)
    if final.exists():  # the same step saved before a resume: training is deterministic, keep it
        shutil.rmtree(tmp)
    else:
        os.replace(tmp, final)
    _fsync_dir(root)
    for _, path in list_checkpoints(root)[:-keep]:
        shutil.rmtree(path, ignore_errors=True)
    return final


def load(path: Path, rank: int = 0) -> tuple[dict, dict | None]:
    """``(state, rng_state_of_this_rank or None)`` of a checkpoint folder."""
    path = Path(path)
    state = torch.load(path / "state.pt", map_location="cpu", weights_only=False)
    rng_file = path / f"rng-rank{rank}.pt"
    rng = torch.load(rng_file, map_location="cpu", weights_only=False) if rng_file.is_file() else None
    return state, rng


def clean_temporaries(root: Path) -> None:
    """Remove folders left by a run killed while writing (they were never complete)."""
    if root.is_dir():
        for p in root.iterdir():
            if p.is_dir() and p.name.startswith(".tmp-"):
                shutil.rmtree(p, ignore_errors=True)
