"""Where the datasets live.

Order: an explicit ``--data-dir`` (or argument), else ``XLIR_DATA_DIR``, else the first of
``../shared/data`` and ``./data`` that exists (relative to the working directory).
"""

from __future__ import annotations

import os
from pathlib import Path

from xlir.errors import ConfigError, MissingDataError

_override: Path | None = None


def set_data_dir(path: str | Path | None) -> None:
    """Set the process-wide data directory (the CLI's ``--data-dir``)."""
    global _override
    _override = Path(path) if path is not None else None


def candidate_dirs() -> list[Path]:
    return [Path("../shared/data"), Path("data")]


def data_dir(explicit: str | Path | None = None) -> Path:
    if explicit is not None:
        path = Path(explicit)
    elif _override is not None:
        path = _override
    elif env := os.environ.get("XLIR_DATA_DIR"):
        path = Path(env)
    else:
        for path in candidate_dirs():
            if path.is_dir():
                return path.resolve()
        raise MissingDataError(
            "no data directory found: pass --data-dir, set XLIR_DATA_DIR, or place the data in "
            "../shared/data or ./data"
        )
    if path.exists() and not path.is_dir():
        raise ConfigError(f"data directory {path} is a file, not a folder: pass the folder that holds "
                          f"the datasets (--data-dir / XLIR_DATA_DIR)")
    if not path.is_dir():
        raise MissingDataError(f"data directory {path} does not exist")
    return path.resolve()
