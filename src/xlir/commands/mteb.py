"""`xlir mteb run|data|export`: MTEB both ways, offline.

`run` evaluates a model on an MTEB retrieval task whose data is in a local folder
(:func:`xlir.evaluation.mteb_run.run_task`); `data` writes an xlir collection in that folder layout
(:func:`xlir.data.mteb_layout.write_retrieval_dataset`); `export` turns an `xlir eval` run folder into
MTEB results JSON (:func:`xlir.evaluation.mteb_export.export_run`). See docs/mteb.md.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    mteb_app = typer.Typer(help="MTEB both ways: run an MTEB task offline, export xlir results to MTEB's "
                                "results JSON.", no_args_is_help=True)
    app.add_typer(mteb_app, name="mteb")

    @mteb_app.command("run")
    def run(
        task: str = typer.Option(..., "--task", "-t", help="MTEB retrieval task name, e.g. XQuADRetrieval."),
        data: Path = typer.Option(..., "--data", help="Local copy of the task's dataset (Hub layout: "
                                                     "README.md configs <subset>-corpus/-queries/-qrels)."),
        model: str = typer.Option("e5-small", "--model", "-m", help="Short name, folder or HF id."),
        subsets: str | None = typer.Option(None, "--subsets", help="Comma-separated subsets (default: all)."),
        split: str | None = typer.Option(None, "--split", help="Split to read from the folder "
                                                               "(default: the task's evaluation split)."),
        output: Path | None = typer.Option(None, "--output", "-o",
                                           help="Also keep MTEB's results JSON in this folder."),
    ) -> None:
        """Run an MTEB retrieval task offline on local data, with the model's query/document prompts."""
        from xlir.evaluation.mteb_run import mean_main_score, run_task
        from xlir.models import load_model

        names = [s.strip() for s in subsets.split(",") if s.strip()] if subsets else None
        scores = run_task(load_model(model), task, data, subsets=names, split=split, output_dir=output)
        typer.echo(f"{task} ({model}): main_score per subset")
        for subset, row in sorted(scores.items()):
            typer.echo(f"  {subset:12s} {row['main_score']:.4f}")
        typer.echo(f"  {'mean':12s} {mean_main_score(scores):.4f}")

    @mteb_app.command("data")
    def data_cmd(
        dataset: str = typer.Argument(..., help="xlir collection name (xlir data list)."),
        out: Path = typer.Argument(..., help="New folder for the MTEB-layout dataset."),
        languages: str | None = typer.Option(None, "--languages", "-l", help="Comma-separated languages."),
        unit: str | None = typer.Option(None, "--unit", help="sentence or passage (SQuAD-style sources)."),
        split: str = typer.Option("test", "--split",
                                  help="Split name to write (XQuADRetrieval: validation)."),
        titles: bool = typer.Option(False, "--titles/--no-titles",
                                    help="Write document titles (MTEB then encodes 'title text')."),
    ) -> None:
        """Write an xlir collection as an MTEB retrieval dataset folder (one subset per language)."""
        from xlir.data import load_collection
        from xlir.data.languages import parse_language_list
        from xlir.data.mteb_layout import write_retrieval_dataset

        options = {"unit": unit} if unit else {}
        langs = parse_language_list(languages)
        if langs:
            options["languages"] = langs
        counts = write_retrieval_dataset(load_collection(dataset, **options), out, split=split, titles=titles)
        for subset, c in counts.items():
            typer.echo(f"{subset:8s} {c['queries']:6d} queries {c['documents']:7d} documents")
        typer.echo(f"wrote {out}")

    @mteb_app.command("export")
    def export(
        run_dir: Path = typer.Argument(..., help="An `xlir eval` run folder."),
        out: Path = typer.Argument(..., help="MTEB results folder (written under <model>/<fingerprint>/)."),
        main_metric: str = typer.Option("AP", "--main-metric",
                                        help="xlir metric reported as main_score (LAReQA: AP)."),
    ) -> None:
        """Write an xlir evaluation as MTEB results JSON, one task per setting (mono, cross, multi)."""
        from xlir.evaluation.mteb_export import export_run

        for path in export_run(run_dir, out, main_metric=main_metric):
            typer.echo(f"wrote {path}")
