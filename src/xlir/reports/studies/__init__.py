"""Study reports by study name (the studies themselves: :mod:`xlir.experiments.studies`).

Each module registers ``report(study_dir, meta, rows) -> (report Markdown, answer Markdown or None)``
with ``@REPORTS.register(study name)``, built from the study's tables alone.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from xlir.registry import Registry

REPORTS: Registry[Callable] = Registry("study report")


def get_report(name: str) -> Callable:
    """The report of study ``name`` (every module of this package registers one on import)."""
    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    return REPORTS.get(name)
