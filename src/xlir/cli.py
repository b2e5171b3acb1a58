"""The ``xlir`` command line. Only wiring: each command group lives in :mod:`xlir.commands`."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import typer

from xlir.errors import XlirError

app = typer.Typer(
    name="xlir",
    help="Multilingual dense retrieval: hybrid-batch training and LAReQA-style evaluation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# Each module exposes ``register(app)``; keeping them separate keeps heavy imports (torch) out of
# ``xlir --help`` and lets every command group be read on its own.
COMMAND_MODULES = ["data", "model", "eval", "compare", "train", "merge", "quickstart", "study", "report",
                   "mteb"]


@app.callback()
def _root(
    data_dir: Path | None = typer.Option(
        None, "--data-dir", envvar="XLIR_DATA_DIR",
        help="Dataset folder (default: ../shared/data or ./data).",
    ),
) -> None:
    from xlir.data.datadir import set_data_dir

    set_data_dir(data_dir)


for _name in COMMAND_MODULES:
    importlib.import_module(f"xlir.commands.{_name}").register(app)


def main() -> None:
    try:
        app()
    except XlirError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        sys.exit(2)
