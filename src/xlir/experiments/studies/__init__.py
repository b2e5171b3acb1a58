"""The studies of issue 5, registered by CLI name: each is one :class:`Study` in its own module.

A study bundles its presets, the grid of cells a preset gives, the function that runs one cell
and the columns its result table must have; the report that turns the table into text is
registered under the same name in :mod:`xlir.reports.studies` (the reports layer sits above this
one). Adding a study is adding one module here and one there.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from xlir.registry import Registry


@dataclass(frozen=True)
class Study:
    """One study: ``build_cells(preset, **options)`` -> cells; ``run_cell(cell, work_dir)`` -> rows."""

    name: str
    presets: dict[str, dict]
    build_cells: Callable[..., list]
    run_cell: Callable
    required_columns: tuple[str, ...]
    """Columns ``results.csv`` must have for the report (checked before building it)."""
    options: tuple[str, ...] = ()
    """Options of ``build_cells`` beyond the preset that the command line may set (``objective``)."""
    question_unit: str = "group"
    """The per-question key of its cells (:func:`~xlir.experiments.pipeline.evaluate_specs`)."""


STUDIES: Registry[Study] = Registry("study")


def study_names() -> list[str]:
    """Every registered study (each module of this package registers one on import)."""
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    return STUDIES.names()


def get_study(name: str) -> Study:
    study_names()
    return STUDIES.get(name)
