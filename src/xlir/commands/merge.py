"""`xlir merge BASE TRAINED --weight λ -o OUT`: WiSE-FT weight interpolation of a fine-tuned model
with its base model (:mod:`xlir.models.merge`); the folder gets the model card of a merged model."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("merge")
    def merge(
        base: str = typer.Argument(..., help="The base model: short name (e5-small, tiny) or folder."),
        trained: str = typer.Argument(..., help="The model fine-tuned from it: a folder (or name)."),
        weight: float = typer.Option(..., "--weight", "-w",
                                     help="λ in [0, 1]: (1 - λ)·base + λ·trained (0: base, 1: trained)."),
        output: Path = typer.Option(..., "--output", "-o", help="The merged model folder to write."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing --output folder."),
        any_base: bool = typer.Option(False, "--any-base",
                                      help="Interpolate even though TRAINED's record names another base "
                                           "model (model soups); recorded as the merge's lineage."),
    ) -> None:
        """Interpolate two models' weights (WiSE-FT, arXiv 2109.01903) into a new model folder."""
        from xlir.models.merge import check_weight, merge_models
        from xlir.training.model_card import write_merged_card

        w = check_weight(weight)
        out = merge_models(base, trained, w, output, overwrite=overwrite, finish=write_merged_card,
                           any_base=any_base)
        typer.echo(f"merged model (λ = {w:g}: {1 - w:g}·{base} + {w:g}·{trained}): {out}")
