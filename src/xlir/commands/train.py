"""`xlir train`: fine-tune a model with hybrid batches (arXiv 2408.10536).

Options given on the command line override the ``--config`` TOML file, which overrides the
``--recipe`` (a packaged config, :mod:`xlir.training.recipes`; ``--list-recipes`` lists them), which
overrides the defaults of :class:`xlir.training.config.TrainConfig`. Several processes: launch with
``torchrun --nproc-per-node N -m xlir train ...`` (the batch size stays the global batch).
"""

from __future__ import annotations

from pathlib import Path

import typer

from xlir.training.config import help_defaults

D = help_defaults()  # TrainConfig's defaults, shown in --help


def train_command(
    model: str | None = typer.Option(None, "--model", "-m", show_default=D["model"],
                                     help="e5-small, tiny, a folder or a Hub id"),
    sources: str | None = typer.Option(None, "--sources", show_default=D["sources"],
                                       help="comma-separated: mlqa, xquad, tydiqa, afriqa, ntrex, flores, "
                                            "tatoeba, or a pairs .jsonl"),
    sampler: str | None = typer.Option(None, "--sampler", show_default=D["sampler"],
                                       help="hybrid, xx-mono, xy or random"),
    alpha: float | None = typer.Option(None, "--alpha", show_default=D["alpha"],
                                       help="hybrid: share of monolingual batches"),
    weighting: str | None = typer.Option(None, "--weighting", show_default=D["weighting"],
                                         help="uniform or proportional: how batch languages are drawn"),
    steps: int | None = typer.Option(None, "--steps", show_default=D["steps"]),
    batch_size: int | None = typer.Option(None, "--batch-size", show_default=D["batch_size"],
                                          help="global batch (all processes)"),
    lr: float | None = typer.Option(None, "--lr", show_default=D["lr"]),
    temperature: float | None = typer.Option(None, "--temperature", show_default=D["temperature"]),
    max_length: int | None = typer.Option(None, "--max-length", show_default=D["max_length"]),
    chunk_size: int | None = typer.Option(None, "--chunk-size", show_default=D["chunk_size"],
                                          help="gradient cache chunk size"),
    bucket_tokens: int | None = typer.Option(
        None, "--bucket-tokens", show_default="256 on CPU, 0 on GPU", min=0,
        help="encode each batch as length-sorted micro-chunks of at most this many padded tokens "
             "(same batch and loss, less padding); 0: whole batches"),
    hard_negatives: int | None = typer.Option(None, "--hard-negatives", show_default=D["hard_negatives"],
                                              help="per pair: other sentences of the gold paragraph"),
    symmetric: bool | None = typer.Option(
        None, "--symmetric/--one-way", help="add passage->query loss",
        show_default="symmetric" if D["symmetric"] == "True" else "one-way"),
    unit: str | None = typer.Option(None, "--unit", show_default=D["unit"],
                                    help="sentence or paragraph positives"),
    languages: str | None = typer.Option(None, "--languages", show_default=D["languages"],
                                         help="comma-separated language filter"),
    max_groups: int | None = typer.Option(None, "--max-groups", show_default=D["max_groups"],
                                          help="first N questions per source"),
    checkpoint_every: int | None = typer.Option(None, "--checkpoint-every",
                                                show_default=D["checkpoint_every"]),
    seed: int | None = typer.Option(None, "--seed", show_default=D["seed"]),
    precision: str | None = typer.Option(
        None, "--precision", show_default=D["precision"],
        help="auto, fp32 or bf16 (autocast on the transformer; fp32 weights, optimizer, loss); auto = "
             "bf16 where the CPU has avx512_bf16/AMX or the GPU has bf16"),
    merge_weight: float | None = typer.Option(
        None, "--merge-weight", show_default=D["merge_weight"], min=0.0, max=1.0,
        help="WiSE-FT when training ends: save (1 - w)·base + w·trained, the trained weights in "
             "OUTPUT/unmerged (1: keep the trained weights, e.g. over a recipe's merge)"),
    freeze_embeddings: bool | None = typer.Option(
        None, "--freeze-embeddings/--train-embeddings", help="freeze the word embeddings",
        show_default="freeze-embeddings" if D["freeze_word_embeddings"] == "True" else "train-embeddings"),
    threads: int | None = typer.Option(None, "--threads", show_default=D["num_threads"],
                                       help="torch CPU threads per process"),
    output: Path | None = typer.Option(None, "--output", "-o", show_default=D["output"],
                                       help="model folder to write"),
    config: Path | None = typer.Option(None, "--config", "-c", help="TOML file with TrainConfig fields"),
    recipe: str | None = typer.Option(None, "--recipe", "-r",
                                      help="start from a packaged recipe (see --list-recipes)"),
    list_recipes: bool = typer.Option(False, "--list-recipes", help="list the packaged recipes and exit"),
    resume: bool = typer.Option(False, "--resume", help="continue from the latest checkpoint in --output"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
) -> None:
    """Train a retrieval model on query-passage pairs with hybrid batching."""
    from xlir.training.recipes import recipe_table, resolve_config

    if list_recipes:
        typer.echo(recipe_table())
        return

    def split(value: str | None) -> list[str] | None:
        return [x for x in value.replace(",", " ").split() if x] if value is not None else None

    overrides = {
        "model": model, "sources": split(sources), "sampler": sampler, "alpha": alpha,
        "weighting": weighting, "steps": steps,
        "batch_size": batch_size, "lr": lr, "temperature": temperature, "max_length": max_length,
        "chunk_size": chunk_size, "bucket_tokens": bucket_tokens, "hard_negatives": hard_negatives,
        "symmetric": symmetric, "unit": unit,
        "languages": split(languages), "max_groups": max_groups,
        "checkpoint_every": checkpoint_every, "seed": seed, "freeze_word_embeddings": freeze_embeddings,
        "precision": precision, "merge_weight": merge_weight,
        "num_threads": threads, "output": output, "resume": resume or None,
        "progress": False if quiet else None,
    }
    cfg = resolve_config(recipe, config, overrides)

    from xlir.training.distributed import is_main_process
    from xlir.training.trainer import train

    result = train(cfg)
    rec = result.record
    if rec.world_size == 1 or is_main_process():
        typer.echo(f"trained {cfg.model} for {rec.steps} steps on {', '.join(rec.sources)} "
                   f"({rec.pairs.count} pairs): final loss {rec.final_loss:.4f}, "
                   f"{rec.pairs_per_s:.1f} pairs/s, {rec.wall_time_s:.0f} s")
        typer.echo(f"model: {result.model_dir}")


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
