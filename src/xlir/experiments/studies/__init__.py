"""The studies of issue 5, by CLI name: each module has ``PRESETS``, ``build_cells`` and ``run_cell``."""

from __future__ import annotations

import importlib

STUDIES = {
    "batching": "xlir.experiments.studies.batching",
    "pretrain-languages": "xlir.experiments.studies.pretrain_languages",
}


def study_module(name: str):
    from xlir.errors import ConfigError

    if name not in STUDIES:
        raise ConfigError(f"unknown study {name!r}; known: {', '.join(STUDIES)}")
    return importlib.import_module(STUDIES[name])
