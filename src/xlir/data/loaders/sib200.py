"""SIB-200: 1,004 FLORES-200 sentences in 205 language varieties, with topic labels.

Source: Adelani et al., "SIB-200: A Simple, Inclusive, and Big Evaluation Dataset for Topic
Classification in 200+ Languages and Dialects" (EACL 2024, arXiv 2309.07445),
github.com/dadelani/sib-200; sentences from FLORES-200 (NLLB Team, 2022). Files:
``sib-200/data/annotated/<lang_Script>/{train,dev,test}.tsv`` with header
``index_id<TAB>category<TAB>text``; ``index_id`` aligns sentences across languages (701/99/204).
Codes are normalised: ``zho_Hans`` -> ``zh``, ``zho_Hant`` -> ``zh-Hant``, ``arb_Latn`` -> ``ar-Latn``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from xlir.data.bitext import index_by_language, pairs_to_collection, resolve
from xlir.data.io import find_file, iter_tsv
from xlir.data.languages import normalize
from xlir.data.registry import register_bitext, register_collection
from xlir.data.schema import Collection
from xlir.errors import ConfigError, DataError, MissingDataError

SPLITS = ("train", "dev", "test")


@lru_cache(maxsize=8)
def _folders(base: Path) -> dict[str, Path]:
    if not base.is_dir():
        raise MissingDataError(f"SIB-200 not found at {base}: clone github.com/dadelani/sib-200 "
                               "and copy data/annotated/ there")
    folders = sorted(p for p in base.iterdir() if p.is_dir() and "_" in p.name)
    return index_by_language(((normalize(f.name), f) for f in folders), kind="folder")


def sib_languages(root: Path) -> list[str]:
    return sorted(_folders(root / "sib-200" / "data" / "annotated"))


def read_split(folder: Path, split: str) -> list[tuple[str, str, str]]:
    """``(index_id, category, text)`` rows of one language's split."""
    path = find_file(folder / f"{split}.tsv")
    rows = []
    for line, f in iter_tsv(path, min_fields=3, skip_header=True):
        if not f[2].strip():
            raise DataError(path, "empty text", line=line, record=f[0], expected="a sentence")
        rows.append((f[0], f[1], f[2]))
    return rows


def _aligned_rows(root: Path, a: str, b: str, split: str) -> list[tuple[str, str, str]]:
    """``(index_id, text_a, text_b)`` in ``a``'s file order; every index of ``a`` must be in ``b``."""
    if split not in (*SPLITS, "all"):
        raise ConfigError(f"sib200: split must be one of train, dev, test, all; not {split!r}")
    folders = _folders(root / "sib-200" / "data" / "annotated")
    rows = []
    for sp in SPLITS if split == "all" else (split,):
        rows_b = {idx: text for idx, _, text in read_split(folders[b], sp)}
        for idx, _, text in read_split(folders[a], sp):
            if idx not in rows_b:
                raise DataError(folders[b] / f"{sp}.tsv", f"no sentence with index_id {idx}",
                                expected=f"the same index_ids as {folders[a].name}")
            rows.append((idx, text, rows_b[idx]))
    return rows


def _aligned(root: Path, a: str, b: str, split: str) -> list[tuple[str, str]]:
    return [(ta, tb) for _, ta, tb in _aligned_rows(root, a, b, split)]


def aligned_rows(root: Path, lang: str, pivot: str, splits=SPLITS) -> list[tuple[str, str, str]]:
    """``(index_id, text, pivot_text)`` of ``lang`` aligned with ``pivot``, each split in index order
    (the files are in topic order; index order is what the FLORES slices of the studies take), texts
    stripped (a few FLORES lines start with a space)."""
    folders = _folders(root / "sib-200" / "data" / "annotated")
    a, b = resolve(lang, folders, "sib200"), resolve(pivot, folders, "sib200")
    return [(idx, text.strip(), ptext.strip()) for split in splits
            for idx, text, ptext in sorted(_aligned_rows(root, a, b, split), key=lambda r: int(r[0]))]


@register_bitext("sib200", folder="sib-200", languages=sib_languages,
                 sizes="1,004 sentences (701/99/204) x 205",
                 description="SIB-200 / FLORES-200: 1,004 sentences x 205 varieties (n-way)")
def load_sib200_pairs(root: Path, src: str, tgt: str, *, split: str = "all") -> list[tuple[str, str]]:
    folders = _folders(root / "sib-200" / "data" / "annotated")
    return _aligned(root, resolve(src, folders, "sib200"), resolve(tgt, folders, "sib200"), split)


@register_collection("sib200", folder="sib-200", languages=sib_languages,
                     description="SIB-200 / FLORES-200 as bitext retrieval: src -> tgt sentences")
def load_sib200(root: Path, *, src: str = "en", tgt: str = "de", split: str = "all") -> Collection:
    folders = _folders(root / "sib-200" / "data" / "annotated")
    a, b = resolve(src, folders, "sib200"), resolve(tgt, folders, "sib200")
    return pairs_to_collection("sib200", a, b, _aligned(root, a, b, split), source="flores",
                               meta={"split": split})
