"""`xlir data` commands: list the datasets, verify the data directory, show a collection."""

from __future__ import annotations

import json
from pathlib import Path

import typer

_DATA_DIR_HELP = "Dataset folder (overrides the global --data-dir)."
data_app = typer.Typer(help="Datasets: what is there, whether it is intact, what a loader gives.",
                       no_args_is_help=True)


def _root(data_dir: Path | None) -> Path:
    from xlir.data.datadir import data_dir as resolve

    return resolve(data_dir)


@data_app.command("list")
def list_datasets(
    data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Show each dataset: its languages, size on disk, and whether its files are present.

    Fast: nothing is parsed, only folders are looked at (sizes come from the files' stat).
    """
    from xlir.data.registry import dataset_listing
    from xlir.reports.console import dataset_table

    root = _root(data_dir)
    rows = dataset_listing(root)
    typer.echo(json.dumps(rows, indent=1, ensure_ascii=False) if as_json
               else "\n".join(dataset_table(rows, root)))


@data_app.command("verify")
def verify_data(
    data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
    only: str | None = typer.Option(None, "--only", help="Check only files under this folder (xquad-r)."),
) -> None:
    """Check every file listed in MANIFEST.json (sha256 and size); exit 1 if any is missing or differs."""
    from xlir.data.manifest import read_manifest, verify
    from xlir.reports.console import fmt_bytes

    root = _root(data_dir)
    entries = read_manifest(root)
    if only:
        entries = [e for e in entries if e.path == only or e.path.startswith(only.rstrip("/") + "/")]
        if not entries:
            raise typer.BadParameter(f"no manifest entry under {only!r}", param_hint="--only")
    total = sum(e.bytes for e in entries)
    with typer.progressbar(length=total, label=f"verifying {len(entries)} files", file=None) as bar:
        report = verify(root, entries, progress=bar.update)
    for path in report.missing:
        typer.secho(f"MISSING   {path}", fg=typer.colors.RED)
    for path, why in report.mismatched:
        typer.secho(f"MISMATCH  {path}: {why}", fg=typer.colors.RED)
    typer.echo(f"{report.ok}/{report.checked} files ok, {len(report.missing)} missing, "
               f"{len(report.mismatched)} mismatched ({fmt_bytes(total)} checked in {root})")
    if not report.passed:
        raise typer.Exit(1)


@data_app.command("show")
def show_collection(
    name: str = typer.Argument(..., help="Collection name (see `xlir data list`)."),
    languages: str | None = typer.Option(None, "--languages", "-l", help="Comma-separated codes."),
    option: list[str] = typer.Option([], "--option", "-o", help="Loader option KEY=VALUE (repeatable)."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help=_DATA_DIR_HELP),
) -> None:
    """Load a collection and print its counts per language (queries, documents, judgments)."""
    from xlir.data.registry import load_collection
    from xlir.reports.console import collection_lines

    opts: dict = {key.strip(): {"true": True, "false": False}.get(value.lower(), value)
                  for key, _, value in (item.partition("=") for item in option)}
    if languages is not None:
        from xlir.data.languages import parse_language_list

        opts["languages"] = parse_language_list(languages)
    col = load_collection(name, data_dir=_root(data_dir), **opts)
    typer.echo("\n".join(collection_lines(col)))


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
