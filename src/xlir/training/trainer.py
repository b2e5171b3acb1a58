"""The training loop: hybrid batches, InfoNCE over the global batch, resumable and scalable.

One call, :func:`train`, fine-tunes a sentence-transformers model on query-passage pairs the way
arXiv 2408.10536 does (section 3): each step a sampler picks a batch (monolingual with probability
alpha under ``hybrid``), both sides are encoded with the model's e5 prompts, and InfoNCE with
in-batch negatives is minimised with AdamW, linear warmup and decay, and gradient clipping.
The loss is the configured objective's (:mod:`xlir.training.objectives`: ``info-nce`` for
fine-tuning; ``translation-ranking`` and ``mlm`` for the pre-training stage of
:mod:`xlir.training.pretrain`, which is a run of this trainer), the batches the sampler's
(:mod:`xlir.training.samplers`); everything else here is shared by all of them.

Scale-out uses ``torch.distributed`` directly: launched by ``torchrun --nproc-per-node N``, every
process joins the group, trains on its slice of each global batch, gathers the embeddings of all
processes (with gradient) as negatives, and averages gradients, so N processes reproduce one
process with the same global batch (tested on CPU with gloo). ``chunk_size`` switches on the
gradient cache (:mod:`xlir.training.grad_cache`) for batches larger than memory allows;
``bucket_tokens`` runs each drawn batch as length-sorted micro-chunks (less padding, same batch and
loss; :func:`xlir.models.batching.bucketed_embeddings`).

Robustness: checkpoints (atomic folders, :mod:`xlir.training.checkpoint`) hold everything needed to
continue bit for bit on CPU after a kill, including sampler and RNG state; a non-finite loss or
gradient stops the run with :class:`NonFiniteLossError` naming the step and batch, before the bad
update touches the weights, so the last checkpoint stays good.

The run reads as four steps: :func:`_set_up` (data, model, optimiser, sampler), :func:`_resume`
(latest checkpoint, log cut back), :func:`_step` (one update) inside :func:`_loop` (log, checkpoints),
and :func:`_finish` (model folder and record).

Output folder::

    <output>/                     sentence-transformers model (SentenceTransformer(path) loads it)
    <output>/xlir_training.json   the training record (config, sources, versions, steps, wall time)
    <output>/training_log.jsonl   one line per logged step: loss, lr, grad norm, batch kind, pairs/s
    <output>/README.md            the model card (base model, data, sampler, steps, licence, citations)
    <output>.checkpoints/step-N/  the latest checkpoint(s), beside the publishable folder
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xlir.data.schema import PairSet, TrainingPair
from xlir.errors import ConfigError, XlirError
from xlir.files import check_output_dir
from xlir.models.attention import attention_implementations, restore_attention, training_attention
from xlir.training.config import TrainConfig
from xlir.training.model_card import write_model_card
from xlir.training.recipes import recipe_provenance
from xlir.training.record import LOG_FILE, RECORD_FILE, PairsSummary, TrainingRecord, read_log, versions

LICENSE_FILES = ("LICENSE", "NOTICE")
# Config fields a resumed run may change: they do not change what is computed (thread count can
# change float rounding, not the math; ``recipe`` names where the settings came from, not what they
# are, and checkpoints made before it existed lack it).
RESUMABLE_CHANGES = {"resume", "progress", "num_threads", "checkpoint_every", "keep_checkpoints",
                     "log_every", "output", "recipe", "merge_weight"}


class NonFiniteLossError(XlirError):
    """The loss or the gradient became NaN or infinite; the weights were not updated."""


@dataclass
class StepInfo:
    """What :func:`train` passes to its ``on_step`` callback after each step."""

    step: int
    loss: float
    kind: str
    model: object = None


@dataclass
class TrainResult:
    model_dir: Path
    record: TrainingRecord
    losses: list[float] = field(default_factory=list)  # per step, 1..steps (including resumed steps)


def _describe_batch(batch, pairs: list[TrainingPair], global_indices: list[int]) -> str:
    kind = f"{batch.kind} {batch.language}" if batch.language else batch.kind
    groups = [pairs[i].group for i in global_indices[:5]]
    more = f" and {len(global_indices) - 5} more" if len(global_indices) > 5 else ""
    return f"{kind} batch of {len(global_indices)} pairs, groups {', '.join(groups)}{more}"


def _check_resume_config(saved: dict, config: TrainConfig, device: str = "cpu") -> None:
    from xlir.models.precision import resolve_precision

    now = config.model_dump(mode="json")

    def same(k: str) -> bool:
        if k == "precision":  # the same products on this device: "auto" here = fp32 or bf16 explicitly
            # (before 2026-11-28 the default was fp32, and a checkpoint without the field ran fp32)
            old, new = saved.get(k) or "fp32", now.get(k) or "fp32"
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # bf16 on a CPU without it: said once, when training runs
                return old == new or resolve_precision(old, device) == resolve_precision(new, device)
        return saved.get(k) == now.get(k)

    diff = sorted(k for k in set(saved) | set(now) if k not in RESUMABLE_CHANGES and not same(k))
    if diff:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in diff)
        hint = (" (the default precision is auto since 2026-11-28; a run started before then was fp32: "
                "resume it with --precision fp32)" if "precision" in diff and saved.get("precision") in
                (None, "fp32") and now.get("precision") == "auto" else "")
        raise ConfigError(f"cannot resume: the checkpoint was made with other settings ({details}){hint}; "
                          f"resume with the same settings or train into a new --output")


@dataclass
class _Run:
    """Everything set-up builds for one run; resume, step and finish read and update it."""

    config: TrainConfig
    dist: object
    device: object
    pairs: PairSet
    data_fp: str
    model: object
    base_fp: str
    saved_max_length: int
    frozen: int
    named: list
    objective: object
    optimizer: object
    scheduler: object
    sampler: object
    t_start: float
    start: int = 0
    loop_t0: float = 0.0
    history: dict = field(default_factory=lambda: {"wall_time_s": 0.0, "resumed_from": []})
    log_rows: list = field(default_factory=list)  # the log so far (rank 0); checkpoints carry a copy
    precision: dict = field(default_factory=dict)  # describe_precision(): asked, used, hardware
    bucket_tokens: int = 0  # the micro-chunk budget used (resolve_bucket_tokens; 0: whole batches)
    # the attention kernels the model was loaded with, restored before saving (None: unchanged);
    # xlir.models.attention.training_attention
    attention_before: list | None = None

    @property
    def output(self) -> Path:
        return Path(self.config.output)

    @property
    def ckpt_dir(self) -> Path:
        from xlir.training.checkpoint import checkpoint_root

        return checkpoint_root(self.output)

    @property
    def log_path(self) -> Path:
        return self.output / LOG_FILE

    @property
    def params(self) -> list:
        return [p for _, p in self.named]


@dataclass
class _StepOut:
    """What one optimisation step reports to the loop (for the log, the progress bar, ``on_step``)."""

    loss: float
    grad_norm: float
    lr: float
    batch: object


def train(config: TrainConfig, pairs: PairSet | None = None, *,
          on_step: Callable[[StepInfo], None] | None = None) -> TrainResult:
    """Train ``config.model`` on ``pairs`` (default: ``load_pairs(config.sources, ...)``).

    Returns the output model folder and the training record. ``on_step`` is called on every process
    after each step (after its checkpoint is written), e.g. for custom logging or early stopping.
    """
    import torch

    t_start = time.perf_counter()
    threads_before = torch.get_num_threads()
    # XLIR_THREADS is the project-wide knob (evaluation honours it too): on an oversubscribed CPU,
    # one OpenMP thread per process is several times faster than two that spin against each other.
    threads = config.num_threads or int(os.environ.get("XLIR_THREADS", "0") or 0)
    if threads:
        torch.set_num_threads(threads)
    try:
        run = _set_up(config, pairs, t_start)
        _resume(run)
        train_s = _loop(run, on_step)
        return _finish(run, train_s)
    finally:
        torch.set_num_threads(threads_before)


# ---- set-up ------------------------------------------------------------------------------------
def _training_pairs(config: TrainConfig, pairs: PairSet | None) -> PairSet:
    """The pairs to train on: given, or loaded from ``config.sources``; pairs short of hard negatives
    are dropped (a paragraph too short to give k of them cannot be used)."""
    from xlir.data.pairs import load_pairs

    if pairs is None:
        extra = {"bitext_languages": config.bitext_languages} if config.bitext_languages else {}
        pairs = load_pairs(config.sources, languages=config.languages, unit=config.unit,
                           hard_negatives=config.hard_negatives, max_groups=config.max_groups, **extra)
    if config.hard_negatives:
        k = config.hard_negatives
        _refuse_sources_without_hard_negatives(pairs, k)
        keep = [p for p in pairs.pairs if len(p.negatives) >= k]
        pairs = PairSet(pairs.name, keep, pairs.sources,
                        {**pairs.meta, "dropped_without_hard_negatives": len(pairs.pairs) - len(keep)})
    if not pairs.pairs:
        raise ConfigError(f"no training pairs from {', '.join(config.sources)}")
    return pairs


def _refuse_sources_without_hard_negatives(pairs: PairSet, k: int) -> None:
    """A source none of whose pairs has ``k`` hard negatives (AfriQA's single-document passages,
    bitext) would be dropped whole, and the run would train on the other sources while its record
    still names it: a :class:`ConfigError` instead. Sources come from ``load_pairs``' per-source
    counts (in order); pairs handed in without them are not checked."""
    counts = pairs.meta.get("counts") or {}
    if sum(counts.values()) != len(pairs.pairs):
        return
    start = 0
    for name, n in counts.items():
        if n and not any(len(p.negatives) >= k for p in pairs.pairs[start:start + n]):
            raise ConfigError(f"no {name} pair has {k} hard negative{'s' if k > 1 else ''} (other sentences "
                              f"of the answer's paragraph): with hard_negatives = {k} all {n} of its pairs "
                              f"would be dropped; leave {name} out or set hard_negatives = 0")
        start += n


def _set_up(config: TrainConfig, pairs: PairSet | None, t_start: float) -> _Run:
    """Seed, load pairs and model, build optimiser, schedule and sampler (nothing written yet)."""
    import numpy as np
    import torch

    from xlir.data.pairs import pairs_fingerprint
    from xlir.models.batching import resolve_bucket_tokens
    from xlir.models.loading import fingerprint, load_model
    from xlir.training import checkpoint as ckpt
    from xlir.training.distributed import init_from_env
    from xlir.training.objectives import build_objective
    from xlir.training.optim import (
        build_optimizer,
        build_scheduler,
        freeze_word_embeddings,
        set_dropout,
        trainable_parameters,
    )
    from xlir.training.samplers import build_sampler

    dist = init_from_env()
    output = check_output_dir(config.output, "training output folder")
    started = ckpt.list_checkpoints(ckpt.checkpoint_root(output)) or (output / RECORD_FILE).exists()
    if not config.resume and started:
        raise ConfigError(f"{output} already holds a training run: pass --resume to continue it, "
                          f"or choose another --output")
    pairs = _training_pairs(config, pairs)

    torch.manual_seed(config.seed + dist.rank)
    random.seed(config.seed + dist.rank)
    np.random.seed(config.seed + dist.rank)
    device = torch.device(f"cuda:{dist.local_rank}" if torch.cuda.is_available() else "cpu")
    model = load_model(config.model, device=str(device))
    base_fp = fingerprint(model)
    saved_max_length = model.max_seq_length
    model.max_seq_length = config.max_length
    frozen = freeze_word_embeddings(model) if config.freeze_word_embeddings else 0
    if config.dropout is not None:
        set_dropout(model, config.dropout)
    attention_before = training_attention(model, str(device))
    objective = build_objective(config.objective, **config.objective_settings())
    if config.chunk_size and not objective.uses_grad_cache:
        raise ConfigError(f"objective {config.objective!r} does not use the gradient cache: drop chunk_size")
    if config.bucket_tokens and not objective.uses_bucketing:
        raise ConfigError(f"objective {config.objective!r} does not encode text batches: drop bucket_tokens")
    bucketing = objective.uses_bucketing
    bucket_tokens = resolve_bucket_tokens(config.bucket_tokens, str(device)) if bucketing else 0
    named = trainable_parameters(model)
    for prefix, module in objective.modules(model).items():  # an MLM head: trained and checkpointed
        named += [(f"objective.{prefix}.{n}", p) for n, p in trainable_parameters(module)]
    optimizer = build_optimizer(named, lr=config.lr, weight_decay=config.weight_decay)
    scheduler = build_scheduler(optimizer, warmup=config.warmup, total=config.steps)
    sampler = build_sampler(config.sampler, pairs.pairs, config.batch_size, seed=config.seed,
                            rank=dist.rank, world_size=dist.world_size, **config.sampler_settings())
    from xlir.models.precision import describe_precision

    precision = describe_precision(config.precision, str(device))
    if not objective.uses_precision and precision["used"] != "fp32":  # what ran, not what was asked
        precision = {**precision, "used": "fp32",
                     "note": f"objective {config.objective!r} runs its own forward pass in fp32"}
    return _Run(config, dist, device, pairs, pairs_fingerprint(pairs), model, base_fp, saved_max_length,
                frozen, named, objective, optimizer, scheduler, sampler, t_start,
                precision=precision, bucket_tokens=bucket_tokens, attention_before=attention_before)


# ---- resume ------------------------------------------------------------------------------------
def _resume(run: _Run) -> None:
    """Restore the latest checkpoint when resuming; cut the log back to the steps it holds."""
    from xlir.training import checkpoint as ckpt
    from xlir.training.distributed import barrier

    found = ckpt.load_latest(run.ckpt_dir, run.dist.rank, set_aside=run.dist.is_main) \
        if run.config.resume else None
    resumed_from: list[int] = []
    if found is not None:
        _load_checkpoint(run, *found)
        resumed_from = [*run.history.get("resumed_from", []), run.start]
    run.history["resumed_from"] = resumed_from
    if run.dist.is_main:
        run.output.mkdir(parents=True, exist_ok=True)
        ckpt.clean_temporaries(run.ckpt_dir)
        # the log keeps only the steps the weights actually went through; the checkpoint's copy of
        # it wins over the file, which a kill or a full disk may have cut (losses, final_loss)
        on_disk = [r for r in read_log(run.log_path) if r.get("step", 0) <= run.start] if run.start else []
        saved = run.history.pop("log", None)
        kept = saved if isinstance(saved, list) else on_disk
        if run.start and on_disk != kept:
            import warnings

            warnings.warn(f"{run.log_path} did not match checkpoint step {run.start} (cut or edited): "
                          f"rewritten from the checkpoint's copy of the log", stacklevel=2)
        run.log_rows = list(kept)
        run.log_path.write_text("".join(json.dumps(r) + "\n" for r in kept), encoding="utf-8")
    barrier()


def _load_checkpoint(run: _Run, path: Path, state: dict, rng: dict | None) -> None:
    """Check that checkpoint ``path`` belongs to this run, then restore weights, optimiser, schedule,
    sampler and random generators from it."""
    import torch

    from xlir.training import checkpoint as ckpt

    _check_resume_config(state["config"], run.config, str(run.device))
    if state["pairs_fingerprint"] != run.data_fp:
        raise ConfigError(f"cannot resume from {path}: the training pairs differ from the ones it "
                          f"was trained on (fingerprint {state['pairs_fingerprint']} vs {run.data_fp})")
    current = dict(run.named)
    missing = sorted(set(current) - set(state["model"]))
    if missing:
        raise ConfigError(f"cannot resume from {path}: no weights for {', '.join(missing[:3])}")
    try:  # the files passed their checksums; a state that still does not fit is named, not a traceback
        with torch.no_grad():
            for name, tensor in state["model"].items():
                current[name].copy_(tensor)
        run.optimizer.load_state_dict(state["optimizer"])
        run.scheduler.load_state_dict(state["scheduler"])
        run.sampler.load_state_dict(state["sampler"])
        if rng is not None:
            ckpt.set_rng_state(rng)
    except (KeyError, IndexError, TypeError, ValueError, RuntimeError) as exc:
        raise ckpt.CheckpointError(path, f"does not fit this run ({type(exc).__name__}: {exc})",
                                   expected="a checkpoint written by this training configuration") from None
    run.start = int(state["step"])
    run.history = state.get("history", run.history)


def _save_checkpoint(run: _Run, step: int, history: dict) -> None:
    """Rank 0 prepares the temporary folder, every rank adds its RNG state, rank 0 commits."""
    from xlir.training import checkpoint as ckpt
    from xlir.training.distributed import barrier

    if run.dist.is_main:
        ckpt.begin(run.ckpt_dir, step)
    barrier()
    ckpt.write_rng(run.ckpt_dir, step, run.dist.rank)
    barrier()
    if run.dist.is_main:
        state = {"step": step, "model": {n: p.detach().cpu().clone() for n, p in run.named},
                 "optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
                 "sampler": run.sampler.state_dict(), "config": run.config.model_dump(mode="json"),
                 "pairs_fingerprint": run.data_fp, "history": history}
        ckpt.commit(run.ckpt_dir, step, state, keep=run.config.keep_checkpoints)
    barrier()


# ---- one step ----------------------------------------------------------------------------------
def _step(run: _Run, step: int, ctx) -> _StepOut:
    """One update: draw the global batch, let the objective compute this rank's loss and gradients,
    average gradients over ranks, clip, and step, unless the loss or gradient is not finite (then
    nothing is updated)."""
    import torch

    from xlir.models.precision import shared_weight_casts
    from xlir.training.distributed import average_gradients, mean_over_ranks

    config = run.config
    batch = run.sampler.next_global()
    mine = batch.shard(run.dist.rank, run.dist.world_size)
    run.optimizer.zero_grad(set_to_none=True)
    ctx.step = step
    # one bf16 cast of each weight per step, not one per length bucket / per text list
    # (the gradient cache's no_grad pass must not share casts with its differentiated one)
    shared = run.objective.uses_bucketing and not config.chunk_size
    with shared_weight_casts(run.precision["used"] if shared else "fp32", str(run.device)):
        loss = run.objective.backward(run.model, [run.pairs.pairs[i] for i in mine.indices], ctx)
    loss_value = mean_over_ranks(float(loss.item()))
    params = run.params
    average_gradients(params)
    if config.max_grad_norm:
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm))
    else:
        grad_norm = float(torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(p.grad) for p in params if p.grad is not None])))
    if not (math.isfinite(loss_value) and math.isfinite(grad_norm)):
        _stop_non_finite(run, step, batch, loss_value, grad_norm)
    lr = run.optimizer.param_groups[0]["lr"]
    run.optimizer.step()
    run.scheduler.step()
    return _StepOut(loss_value, grad_norm, lr, batch)


def _stop_non_finite(run: _Run, step: int, batch, loss_value: float, grad_norm: float) -> None:
    """Write the offending batch beside the output and raise :class:`NonFiniteLossError`."""
    from xlir.training import checkpoint as ckpt

    pair_list = run.pairs.pairs
    last = ckpt.latest_checkpoint(run.ckpt_dir)
    what = "loss" if not math.isfinite(loss_value) else "gradient norm"
    bad = run.output / f"nonfinite-step-{step}.json"
    if run.dist.is_main:
        bad.write_text(json.dumps({"step": step, "kind": batch.kind, "language": batch.language,
                                   "loss": str(loss_value), "grad_norm": str(grad_norm),
                                   "pairs": [pair_list[i].__repr__() for i in batch.indices]},
                                  ensure_ascii=False, indent=1), encoding="utf-8")
    raise NonFiniteLossError(
        f"non-finite {what} ({loss_value if what == 'loss' else grad_norm}) at step {step} "
        f"on a {_describe_batch(batch, pair_list, batch.indices)} (written to {bad}); the "
        f"weights were not updated. Last good checkpoint: "
        f"{last if last else 'none yet'}. Try a lower --lr or a higher temperature, then "
        f"--resume.")


# ---- the loop ----------------------------------------------------------------------------------
def _loop(run: _Run, on_step) -> float:
    """Steps ``start + 1 .. steps``: log, progress bar, checkpoints, ``on_step``; returns seconds."""
    from xlir.training.distributed import gather_with_grad
    from xlir.training.objectives import StepContext, embed

    config, dist = run.config, run.dist
    used = run.precision["used"]
    bucket = run.bucket_tokens or None
    ctx = StepContext(lambda texts: embed(run.model, texts, run.device, used, bucket), run.start, dist.rank,
                      gather_with_grad if dist.enabled else None, config.chunk_size, bucket)
    progress = None
    if config.progress and dist.is_main:
        from tqdm.auto import tqdm

        progress = tqdm(total=config.steps, initial=run.start, desc="train", unit="step", dynamic_ncols=True)
    run_t0 = run.loop_t0 = time.perf_counter()
    window_t0, window_pairs = run_t0, 0
    log_file = open(run.log_path, "a", encoding="utf-8") if dist.is_main else None  # noqa: SIM115
    run.model.train()
    try:
        for step in range(run.start + 1, config.steps + 1):
            out = _step(run, step, ctx)
            window_pairs += out.batch.global_size
            now = time.perf_counter()
            if dist.is_main and (step % config.log_every == 0 or step == config.steps):
                rate = window_pairs / max(now - window_t0, 1e-9)
                row = {"step": step, "loss": out.loss, "lr": out.lr,
                       "grad_norm": out.grad_norm, "kind": out.batch.kind, "language": out.batch.language,
                       "pairs_per_s": round(rate, 3), "elapsed_s": round(now - run_t0, 3)}
                log_file.write(json.dumps(row) + "\n")
                log_file.flush()
                run.log_rows.append(row)
                window_t0, window_pairs = now, 0
                if progress is not None:
                    progress.set_postfix(loss=f"{out.loss:.4f}", pairs_s=f"{rate:.1f}", kind=out.batch.kind)
            if progress is not None:
                progress.update(1)
            if step % config.checkpoint_every == 0 or step == config.steps:
                hist = {**run.history, "wall_time_s": run.history.get("wall_time_s", 0.0) + now - run_t0,
                        "log": run.log_rows}
                _save_checkpoint(run, step, hist)
            if on_step is not None:
                on_step(StepInfo(step, out.loss, out.batch.kind, run.model))
    finally:
        if progress is not None:
            progress.close()
        if log_file is not None:
            log_file.close()
    return time.perf_counter() - run_t0


# ---- finish ------------------------------------------------------------------------------------
def _save_model_folder(model, folder: Path, record: TrainingRecord, base_dir: Path) -> None:
    """A trained model's folder: weights and modules, its base model's licence files (a fine-tuned
    model carries its base model's licence terms), the training record, the model card (replacing
    sentence-transformers' stock card)."""
    model.save(str(folder))
    for name in LICENSE_FILES:
        if (base_dir / name).is_file():
            shutil.copyfile(base_dir / name, folder / name)
    record.write(folder)
    write_model_card(folder, record.model_dump(mode="json"), base_dir=base_dir)


UNMERGED_DIR = "unmerged"
"""Where a run with ``merge_weight`` keeps its trained weights before the merge (a model folder)."""


def _save_unmerged_then_merge(run: _Run, record: TrainingRecord, base_dir: Path) -> dict:
    """WiSE-FT at the end of training: write the trained model to ``<output>/unmerged`` (its own
    record and card: ``xlir merge BASE <output>/unmerged --weight λ`` draws other points of the λ
    curve), then replace the weights of ``run.model`` in memory by (1 − λ)·base + λ·trained; the
    caller saves that as the model. Returns the record's ``merge`` entry."""
    from xlir.models.loading import load_model
    from xlir.models.merge import METHOD, interpolate_state

    config, model = run.config, run.model
    _save_model_folder(model, run.output / UNMERGED_DIR, record, base_dir)
    trained_state = model.state_dict()
    base = load_model(config.model, device=str(run.device))
    merged = interpolate_state(base.state_dict(), trained_state, config.merge_weight)
    model.load_state_dict(merged)
    del base
    return {"weight": config.merge_weight, "method": METHOD, "base": config.model,
            "base_fingerprint": run.base_fp, "unmerged": UNMERGED_DIR}


def _finish(run: _Run, train_s: float) -> TrainResult:
    """Write the model folder (with its base model's licence files) and the training record."""
    from xlir.models.loading import resolve_model_path
    from xlir.training.distributed import barrier
    from xlir.training.optim import optimizer_implementation

    config, dist, pairs = run.config, run.dist, run.pairs
    wall = run.history.get("wall_time_s", 0.0) + train_s
    log = read_log(run.log_path) if dist.is_main else []
    losses = [r["loss"] for r in log]
    record = TrainingRecord(
        model=config.model, base_model_fingerprint=run.base_fp, sources=list(pairs.sources),
        pairs=PairsSummary(name=pairs.name, count=len(pairs.pairs), fingerprint=run.data_fp,
                           groups=len({p.group for p in pairs.pairs}), meta=pairs.meta,
                           language_pairs={f"{a}-{b}": n for (a, b), n in pairs.language_pairs().items()}),
        config=config.model_dump(mode="json"), sampler=run.sampler.describe(),
        objective=run.objective.describe(), steps=config.steps, world_size=dist.world_size,
        frozen_parameters=run.frozen, trainable_parameters=sum(p.numel() for p in run.params),
        wall_time_s=round(wall, 3), setup_s=round(run.loop_t0 - run.t_start, 3),
        pairs_per_s=round((config.steps - run.start) * config.batch_size / max(1e-9, train_s), 3),
        resumed_from=run.history["resumed_from"], final_loss=losses[-1] if losses else None,
        loss_curve=[(r["step"], r["loss"]) for r in log],
        batch_kinds={k: sum(1 for r in log if r["kind"] == k) for k in sorted({r["kind"] for r in log})},
        versions=versions(), device=str(run.device),
        precision=str(run.params[0].dtype).replace("torch.", "") if run.params else "float32",
        compute_precision=run.precision, recipe=recipe_provenance(config), command=list(sys.argv),
        bucket_tokens=run.bucket_tokens, attention=attention_implementations(run.model),
        optimizer=optimizer_implementation(run.optimizer),
    )
    if dist.is_main:
        model, output = run.model, run.output
        model.max_seq_length = run.saved_max_length
        if run.attention_before is not None:  # the saved model encodes with the kernel it came with
            restore_attention(model, run.attention_before)
        base_dir = Path(resolve_model_path(config.model))
        if (base_dir / "xlir_model.json").is_file():
            from xlir.data.io import read_json

            try:  # provenance of the base model: a damaged file must not cost the trained model
                record.base_model_record = read_json(base_dir / "xlir_model.json")
            except XlirError as exc:
                import warnings

                warnings.warn(f"base model record not copied: {exc}", stacklevel=2)
                record.base_model_record = {"unreadable": str(exc)}
        if config.merge_weight is not None and config.merge_weight < 1.0:  # λ = 1: the trained weights
            record.merge = _save_unmerged_then_merge(run, record, base_dir)
        elif (output / UNMERGED_DIR).is_dir():  # a resumed run that no longer merges: no stale copy
            shutil.rmtree(output / UNMERGED_DIR)
        _save_model_folder(model, output, record, base_dir)
        model.max_seq_length = config.max_length
    barrier()
    return TrainResult(run.output, record, losses)
