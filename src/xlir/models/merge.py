"""Weight-space interpolation of a fine-tuned model with its base model (WiSE-FT).

Wortsman et al., "Robust fine-tuning of zero-shot models" (CVPR 2022, arXiv 2109.01903), section 3:
the fine-tuned weights θ_trained and the weights they started from, θ_base, are mixed linearly,

    θ(λ) = (1 − λ) · θ_base + λ · θ_trained,      0 ≤ λ ≤ 1,

which on their benchmarks keeps most of the fine-tuning gain while recovering the base model's
robustness. For xlir it is the cheap way to trade multilingual gains (fine-tuning) against
monolingual accuracy (the base model): no training, one pass over the tensors.

Rules, so that a merge never silently mixes things that do not belong together:

* both models must have the same modules and settings (architecture config, pooling, normalisation),
  the same tokenizer, the same prompts, and state dicts with the same keys and shapes; the first
  difference is named in a :class:`~xlir.errors.ModelError`;
* every floating tensor is mixed in fp32 and cast back to the trained model's dtype; non-floating
  tensors (position ids) must be equal and are copied;
* λ must be a finite number in [0, 1] (no extrapolation: outside the segment nothing is known);
  λ = 0 gives the base weights bit for bit, λ = 1 the trained ones (the formula is evaluated as
  written, not as ``base + λ (trained − base)``, which would not round back to the trained weights);
* the merged folder is a copy of the trained model's folder (tokenizer, config, modules, prompts,
  licence files, its ``xlir_training.json``) with the mixed weights, written atomically
  (:func:`xlir.files.atomic_dir`), never over an existing folder without ``overwrite``; it carries
  ``xlir_merge.json`` naming both parents (path, sha256 of their weight files, content fingerprint,
  training sources) and λ. The zero-shot guard reads the union of both parents' training sources
  from it (:func:`xlir.data.provenance.training_sources`).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from collections.abc import Callable
from pathlib import Path

from xlir.data.provenance import MERGE_FILE, RECORD_FILE, read_training_record, training_sources
from xlir.errors import ConfigError, ModelError
from xlir.files import atomic_dir, write_json_atomic

METHOD = "WiSE-FT linear weight interpolation: (1 - weight) * base + weight * trained (arXiv 2109.01903)"


def check_weight(weight: float) -> float:
    """λ as a float, refused unless finite and in [0, 1]."""
    try:
        w = float(weight)
    except (TypeError, ValueError):
        raise ConfigError(f"--weight must be a number in [0, 1], got {weight!r}") from None
    if not math.isfinite(w) or not 0.0 <= w <= 1.0:
        raise ConfigError(f"--weight must be a finite number in [0, 1] (0: the base model, 1: the trained "
                          f"model), got {weight!r}")
    return w + 0.0  # -0.0 -> 0.0: the record and the echo say 0


def _first_difference(a, b, where: str = "") -> str | None:
    """The path of the first place two JSON-like values differ (``None`` when equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                return f"{where}.{k}".lstrip(".") + (" (only in the trained model)" if k not in a
                                                       else " (only in the base model)")
            found = _first_difference(a[k], b[k], f"{where}.{k}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{where or 'modules'} ({len(a)} vs {len(b)} entries)"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None
    return None if a == b else f"{where.lstrip('.')} ({a!r} vs {b!r})"


def check_compatible(base, trained, names: tuple[str, str] = ("base", "trained")) -> None:
    """Refuse (ModelError) two SentenceTransformers that cannot be interpolated, naming the first
    difference: modules and settings, tokenizer, prompts, state-dict keys, shapes."""
    from xlir.models.loading import module_settings, tokenizer_state
    from xlir.models.prompts import role_prompts

    what = f"cannot merge {names[0]} and {names[1]}"
    diff = _first_difference(json.loads(module_settings(base)), json.loads(module_settings(trained)))
    if diff:
        raise ModelError(f"{what}: their architectures differ at {diff}")
    tokenizers = [tokenizer_state(getattr(m, "tokenizer", None)) for m in (base, trained)]
    if tokenizers[0] != tokenizers[1]:
        raise ModelError(f"{what}: their tokenizers differ (vocabulary, normaliser or special tokens)")
    pb, pt = role_prompts(base.prompts), role_prompts(trained.prompts)
    if pb != pt:
        key = next(k for k in sorted(set(pb) | set(pt)) if pb.get(k) != pt.get(k))
        raise ModelError(f"{what}: their {key} prompts differ ({pb.get(key)!r} vs {pt.get(key)!r})")
    sb, st = base.state_dict(), trained.state_dict()
    for key in sorted(set(sb) | set(st)):
        if key not in sb or key not in st:
            side = names[1] if key not in sb else names[0]
            raise ModelError(f"{what}: key {key} is only in the {side} model")
        if sb[key].shape != st[key].shape:
            raise ModelError(f"{what}: key {key} has shape {tuple(sb[key].shape)} in the {names[0]} model "
                             f"and {tuple(st[key].shape)} in the {names[1]} model")


def interpolate_state(base_state: dict, trained_state: dict, weight: float) -> dict:
    """``(1 - weight) * base + weight * trained`` for every floating tensor (in fp32, cast back to the
    trained tensor's dtype); other tensors must be equal and are taken from the trained state."""
    import torch

    w = check_weight(weight)
    out = {}
    for key, t in trained_state.items():
        b = base_state[key]
        if t.is_floating_point():
            mixed = (1.0 - w) * b.detach().to(torch.float32) + w * t.detach().to(torch.float32)
            out[key] = mixed.to(t.dtype)
        else:
            if not torch.equal(b, t):
                raise ModelError(f"cannot merge: the non-floating tensor {key} differs between the models")
            out[key] = t.detach().clone()
    return out


def interpolated(base, trained, weight: float):
    """A copy of ``trained`` (a SentenceTransformer) holding the interpolated weights, in memory: for
    a λ curve without writing folders. ``base`` and ``trained`` are left unchanged."""
    import copy

    check_compatible(base, trained)
    model = copy.deepcopy(trained)
    model.load_state_dict(interpolate_state(base.state_dict(), trained.state_dict(), weight))
    return model


def _parent_info(name: str, path: Path, fp: str) -> dict:
    """What the merge record says of a parent: its name, folder (``path``, resolved), weight files'
    sha256, fingerprint (``fp``), training sources."""
    from xlir.models.loading import weight_files

    files = {}
    if path.is_dir():
        for f in weight_files(path):
            h = hashlib.sha256()
            with open(f, "rb") as fh:
                for chunk in iter(lambda fh=fh: fh.read(1 << 20), b""):
                    h.update(chunk)
            files[str(f.relative_to(path))] = h.hexdigest()
    return {"name": str(name), "path": str(path.resolve()) if path.exists() else str(path),
            "weights_sha256": files, "fingerprint": fp,
            "training_sources": training_sources(path) if path.is_dir() else []}


def merge_models(base: str | Path, trained: str | Path, weight: float, output: str | Path, *,
                 overwrite: bool = False, finish: Callable[[Path], None] | None = None,
                 any_base: bool = False) -> Path:
    """Write the WiSE-FT interpolation of ``base`` and ``trained`` (model names or folders, as
    everywhere in xlir) at ``weight`` into the folder ``output``; returns it.

    WiSE-FT interpolates a fine-tuned model with the model it was fine-tuned from: where the trained
    folder's xlir record names its base (by fingerprint), ``base`` must be that model, unless
    ``any_base`` (interpolating unrelated checkpoints of one architecture, as model soups do); the
    record says which (``lineage``). ``finish(folder)`` runs on the complete temporary folder before
    it is renamed into place (the command writes the model card there).
    """
    from xlir.models.loading import fingerprint, load_model, resolve_model_path

    w = check_weight(weight)
    output = Path(output)
    base_dir, trained_dir = Path(resolve_model_path(base)), Path(resolve_model_path(trained))
    records = {"base": _record(base_dir), "trained": _record(trained_dir)}
    _refuse_merged_parent(trained_dir, records["trained"])
    _refuse_merged_parent(base_dir, records["base"], role="base")
    _refuse_output_over_input(output, {base: base_dir, trained: trained_dir})
    with atomic_dir(output, overwrite=overwrite, what="merged model folder") as tmp:
        base_model = load_model(base)
        trained_model = load_model(trained)
        check_compatible(base_model, trained_model, (f"base {base}", f"trained {trained}"))
        fps = {"base": fingerprint(base_model), "trained": fingerprint(trained_model)}
        lineage = _check_lineage(base, trained, records, fps, any_base)
        parents = {"base": _parent_info(str(base), base_dir, fps["base"]),
                   "trained": _parent_info(str(trained), trained_dir, fps["trained"])}
        trained_model.load_state_dict(
            interpolate_state(base_model.state_dict(), trained_model.state_dict(), w))
        trained_model.save(str(tmp))
        # the card save() carries over describes the trained weights, not these: ``finish`` (the
        # command) writes the merged model's card; without one the folder has none rather than a wrong one
        (tmp / "README.md").unlink(missing_ok=True)
        for extra in ("LICENSE", "NOTICE", "xlir_training.json"):
            if (trained_dir / extra).is_file() and not (tmp / extra).exists():
                shutil.copyfile(trained_dir / extra, tmp / extra)
        sources = sorted({s for p in parents.values() for s in p["training_sources"]})
        write_json_atomic(tmp / MERGE_FILE, {
            "method": METHOD, "weight": w, "lineage": lineage, "base": parents["base"],
            "trained": parents["trained"],
            "sources": sources, "fingerprint": fingerprint(trained_model), "versions": _versions()},
            indent=2, trailing_newline=True)
        if finish is not None:
            finish(tmp)
    return output


def _record(path: Path) -> dict | None:
    """The folder's xlir training record (:func:`~xlir.data.provenance.read_training_record`), or None;
    a ``merge`` entry that is not an object is a DataError (its fields are read below)."""
    record = read_training_record(path)
    if record is not None and not isinstance(record.get("merge") or {}, dict):
        from xlir.errors import DataError

        raise DataError(path / RECORD_FILE, "not an xlir training record", record="merge",
                        expected="an object with an optional 'merge' object")
    return record


def _refuse_merged_parent(path: Path, record: dict | None, role: str = "trained") -> None:
    """A parent (its folder ``path`` and training ``record``) that is itself a merge would be merged
    twice (λ' = λ·λ_before) under a record and card that name one λ (as the trained side), or is not
    the model training started from (as the base): refuse it, naming the folder to use instead."""
    instead = ("merge the trained model it was made from instead (its 'trained' entry names it)"
               if role == "trained" else "the base must be the model the trained one was fine-tuned from")
    if (path / MERGE_FILE).is_file():
        raise ModelError(f"the {role} model {path} is already a WiSE-FT merge ({MERGE_FILE}); {instead}")
    merged = (record or {}).get("merge")
    if merged:
        unmerged = path / str(merged.get("unmerged"))
        raise ModelError(
            f"the {role} model {path} was merged with its base model when its training ended "
            f"(λ = {merged.get('weight')}); " + (
                f"merge its trained weights instead: xlir merge BASE {unmerged} --weight λ -o OUT"
                if role == "trained" else instead))


def _refuse_output_over_input(output: Path, inputs: dict) -> None:
    """The output may not be (or contain) a parent's folder (``inputs``: name -> folder):
    ``--overwrite`` would delete the weights the merge record then names by path and sha256."""
    out = output.resolve()
    for m, path in inputs.items():
        if path.exists() and (out == path.resolve() or out in path.resolve().parents):
            raise ConfigError(f"the merged model folder {output} would replace the input {m}: choose a new "
                              "folder")


def _check_lineage(base, trained, records: dict, fps: dict, any_base: bool) -> str:
    """``checked`` when the trained folder's record names ``base`` (by fingerprint) as the model it was
    fine-tuned from; ``not checked (...)`` without such a record; ``any base (--any-base)`` when the
    user asked to interpolate another model. Refuses the same weights twice, and a base other than the
    recorded one unless ``any_base``. ``records`` and ``fps``: "base"/"trained" -> the parent's
    training record (or None) and fingerprint."""
    base_fp, trained_fp = fps["base"], fps["trained"]
    if base_fp == trained_fp:
        raise ModelError(f"base {base} and trained {trained} hold the same weights (fingerprint {base_fp}): "
                         "a merge would return them unchanged")
    if (records["base"] or {}).get("base_model_fingerprint") == trained_fp:
        raise ModelError(f"base {base} was fine-tuned from trained {trained}: the two arguments look swapped "
                         "(xlir merge BASE TRAINED)")
    record = records["trained"] or {}
    recorded = record.get("base_model_fingerprint")
    if recorded is None:
        return "not checked (the trained folder has no xlir training record)"
    if recorded == base_fp:
        return "checked"
    if any_base:
        return "any base (--any-base)"
    raise ModelError(
        f"{trained} was fine-tuned from {record.get('model')!r} (fingerprint {recorded}), not from {base} "
        f"(fingerprint {base_fp}): WiSE-FT interpolates a model with its own base. Name that base, or pass "
        "--any-base to interpolate unrelated checkpoints anyway")


def _versions() -> dict[str, str]:
    from importlib import metadata

    out = {}
    for pkg in ("xlir", "torch", "transformers", "sentence-transformers"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out
