"""NTREX-128: 1,997 English news sentences (WMT19 newstest) translated into 128 languages.

Source: Federmann et al., "NTREX-128 - News Test References for MT Evaluation of 128 Languages"
(SUMEval 2022), github.com/MicrosoftTranslator/NTREX. Files: ``ntrex-128/NTREX-128/
newstest2019-ref.<code>.txt`` (one sentence per line, line-aligned with
``newstest2019-src.eng.txt``) and ``NTREX-additional/`` (Swiss German variants). Codes are ISO
639-3 with optional script or region (``aze-Latn``, ``eng-GB``, ``zho-TW``); they are normalised
(``az``, ``en-GB``, ``zh-Hant``) and the English source is ``en``. The second Spanish reference
(``newstest2019-ref-2.spa``) is not exposed.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from xlir.data.bitext import index_by_language, pairs_to_collection, resolve
from xlir.data.io import read_lines
from xlir.data.languages import normalize
from xlir.data.registry import register_bitext, register_collection
from xlir.data.schema import Collection
from xlir.errors import DataError, MissingDataError

N_SENTENCES = 1997
_FILE = re.compile(r"newstest2019-(?:ref|src)\.([A-Za-z-]+)\.txt(?:\.gz)?$")


@lru_cache(maxsize=8)
def _files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise MissingDataError(f"NTREX-128 not found at {folder}: clone "
                               "github.com/MicrosoftTranslator/NTREX and copy NTREX-128/ there")
    return index_by_language(((_key(m.group(1)), path) for path in sorted(folder.rglob("newstest2019-*.txt*"))
                              if (m := _FILE.search(path.name))), kind="file")


def _key(code: str) -> str:
    """NTREX's code (``deu``, ``por-BR``, ``zho-CN``) as an xlir key, keeping real regional variants."""
    parts = code.split("-")
    has_region = len(parts) > 1 and len(parts[-1]) == 2 and not parts[0].startswith("zho")
    return normalize(code, keep_region=has_region)


def ntrex_languages(root: Path) -> list[str]:
    return sorted(_files(root / "ntrex-128"))


def _sentences(path: Path) -> list[str]:
    lines = read_lines(path)
    if len(lines) != N_SENTENCES:
        raise DataError(path, f"{len(lines)} lines", expected=f"{N_SENTENCES} line-aligned sentences")
    return lines


@register_bitext("ntrex", folder="ntrex-128", languages=ntrex_languages,
                 sizes="1,997 sentences x 130 variants",
                 description="NTREX-128: 1,997 news sentences, English + 128 languages (n-way)")
def load_ntrex_pairs(root: Path, src: str, tgt: str) -> list[tuple[str, str]]:
    files = _files(root / "ntrex-128")
    a, b = resolve(src, files, "ntrex"), resolve(tgt, files, "ntrex")
    return list(zip(_sentences(files[a]), _sentences(files[b]), strict=True))


@register_collection("ntrex", folder="ntrex-128", languages=ntrex_languages,
                     description="NTREX-128 as bitext retrieval: src sentences -> tgt sentences")
def load_ntrex(root: Path, *, src: str = "en", tgt: str = "de") -> Collection:
    files = _files(root / "ntrex-128")
    a, b = resolve(src, files, "ntrex"), resolve(tgt, files, "ntrex")
    return pairs_to_collection("ntrex", a, b, load_ntrex_pairs(root, a, b), source="ntrex")
