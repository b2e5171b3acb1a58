"""Tatoeba bitext (LASER's test set): up to 1,000 English-aligned sentences for 112 languages.

Source: Artetxe & Schwenk, "Massively Multilingual Sentence Embeddings for Zero-Shot Cross-Lingual
Transfer and Beyond" (TACL 2019, arXiv 1812.10464), github.com/facebookresearch/LASER
(data/tatoeba/v1). Files: ``tatoeba-laser/tatoeba.<xxx>-eng.<xxx>`` and ``...-eng.eng``,
line-aligned. Every pair has English on one side, so one of ``src``/``tgt`` must be ``en``.
Codes are normalised (``cmn`` -> ``zh``, ``swh`` -> ``sw``, ``pes`` -> ``fa``, ``zsm`` -> ``ms``).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from xlir.data.bitext import pairs_to_collection, resolve, to_pivot_collection
from xlir.data.io import read_lines
from xlir.data.languages import normalize
from xlir.data.registry import register_bitext, register_collection
from xlir.data.schema import Collection
from xlir.errors import ConfigError, DataError, MissingDataError

_FILE = re.compile(r"tatoeba\.([a-z]{3})-eng\.([a-z]{3})(?:\.gz)?$")


@lru_cache(maxsize=8)
def _pairs_files(folder: Path) -> dict[str, tuple[Path, Path]]:
    if not folder.is_dir():
        raise MissingDataError(f"Tatoeba not found at {folder}: copy LASER's data/tatoeba/v1 there")
    found: dict[str, dict[str, Path]] = {}
    for path in folder.iterdir():
        m = _FILE.match(path.name)
        if m:
            found.setdefault(m.group(1), {})["eng" if m.group(2) == "eng" else "xxx"] = path
    out: dict[str, tuple[Path, Path]] = {}
    for code, sides in sorted(found.items()):
        if set(sides) != {"eng", "xxx"}:
            continue
        key = normalize(code)
        if key in out:
            raise DataError(sides["xxx"], f"language {key!r} given by two file pairs",
                            expected="one tatoeba.<xxx>-eng pair per language")
        out[key] = (sides["xxx"], sides["eng"])
    return out


def tatoeba_languages(root: Path) -> list[str]:
    return sorted(_pairs_files(root / "tatoeba-laser"))


def _read_pair(xxx: Path, eng: Path) -> list[tuple[str, str]]:
    a, b = read_lines(xxx), read_lines(eng)
    if len(a) != len(b):
        raise DataError(xxx, f"{len(a)} lines but {eng.name} has {len(b)}",
                        expected="line-aligned files")
    return list(zip(a, b, strict=True))


@register_bitext("tatoeba", folder="tatoeba-laser", languages=tatoeba_languages,
                 sizes="<=1,000 pairs x 112 langs (with en)",
                 description="Tatoeba (LASER): <=1,000 sentence pairs, 112 languages <-> English")
def load_tatoeba_pairs(root: Path, src: str, tgt: str) -> list[tuple[str, str]]:
    files = {**_pairs_files(root / "tatoeba-laser"), "en": None}
    a, b = resolve(src, files, "tatoeba"), resolve(tgt, files, "tatoeba")
    if a == "en" and b == "en" or "en" not in (a, b):
        raise ConfigError(f"tatoeba pairs every language with English: one of src/tgt must be en "
                          f"(got {a}, {b})")
    other = b if a == "en" else a
    pairs = _read_pair(*files[other])
    return [(e, x) for x, e in pairs] if a == "en" else pairs


@register_collection("tatoeba", folder="tatoeba-laser", languages=tatoeba_languages,
                     description="Tatoeba as bitext retrieval (LASER protocol): src -> tgt")
def load_tatoeba(root: Path, *, src: str = "de", tgt: str = "en") -> Collection:
    files = {**_pairs_files(root / "tatoeba-laser"), "en": None}
    a, b = resolve(src, files, "tatoeba"), resolve(tgt, files, "tatoeba")
    return pairs_to_collection("tatoeba", a, b, load_tatoeba_pairs(root, a, b), source="tatoeba")


@register_collection("tatoeba-en", folder="tatoeba-laser", languages=tatoeba_languages,
                     sizes="<=1,000 pairs x 112 langs -> en",
                     description="Tatoeba (LASER) as retrieval: every language -> its English translations")
def load_tatoeba_en(root: Path, *, languages: list[str] | None = None) -> Collection:
    """Sentences of each language against one pool of all their English translations.

    Languages Tatoeba does not have are skipped and listed in ``meta["missing_languages"]`` (a study
    asks for one fixed target list across collections); none available is an error.
    """
    files = _pairs_files(root / "tatoeba-laser")
    wanted = sorted(files) if languages is None else list(dict.fromkeys(languages))
    have = [lang for lang in wanted if lang in files]
    if not have:
        raise MissingDataError(f"tatoeba has none of the languages {', '.join(wanted)}")
    rows = {lang: [(f"{lang}-{i}", text, english)
                   for i, (text, english) in enumerate(_read_pair(*files[lang]))] for lang in have}
    return to_pivot_collection("tatoeba-en", rows, pivot="en", source="tatoeba",
                               meta={"missing_languages": [x for x in wanted if x not in files]})

