"""LAReQA -R sets: XQuAD-R (11 languages) and MLQA-R (7 languages), as released.

Source: Roy et al., "LAReQA: Language-agnostic answer retrieval from a multilingual pool"
(EMNLP 2020, arXiv 2004.05484), github.com/google-research-datasets/lareqa. Format: SQuAD v1.1 JSON,
one file per language (``<folder>/<lang>.json[.gz]``), each paragraph with two added fields:
``sentences`` (the candidates) and ``sentence_breaks`` (their character spans). Question ids are
shared by translations. See :mod:`xlir.data.rform` for the id and relevance conventions.

Counts (PROVENANCE.md / LAReQA README): XQuAD-R 1,190 questions per language and 13,014 candidate
sentences in all; MLQA-R questions ar 517, de 512, en 1148, es 500, hi 507, vi 511, zh 504.
"""

from __future__ import annotations

from pathlib import Path

from xlir.data.io import find_file
from xlir.data.registry import register_collection
from xlir.data.rform import build_r_collection, read_squad
from xlir.data.schema import Collection
from xlir.errors import ConfigError

XQUAD_R_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ru", "th", "tr", "vi", "zh")
MLQA_R_LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")


def load_r_folder(root: Path, *, name: str, folder: str, available: tuple[str, ...], source: str,
                  languages: list[str] | None = None) -> Collection:
    langs = list(available) if languages is None else list(dict.fromkeys(languages))
    unknown = [x for x in langs if x not in available]
    if unknown:
        raise ConfigError(f"{name} has no language {', '.join(unknown)}; it has {', '.join(available)}")
    hint = f"{name} ships as {folder}/<lang>.json in the data directory (see PROVENANCE.md)"
    paragraphs = {lang: read_squad(find_file(root / folder / f"{lang}.json", hint=hint))
                  for lang in langs}
    return build_r_collection(name, paragraphs, source=source, parallel=True,
                              meta={"format": "lareqa-r", "folder": folder})


@register_collection("xquad-r", folder="xquad-r", languages=XQUAD_R_LANGUAGES,
                     sizes="1,190 q/lang; 13,014 sentences",
                     description="LAReQA XQuAD-R: 1,190 parallel questions x 11 languages, "
                                 "sentence candidates", paragraphs=True)
def load_xquad_r(root: Path, *, languages: list[str] | None = None) -> Collection:
    return load_r_folder(root, name="xquad-r", folder="xquad-r", available=XQUAD_R_LANGUAGES,
                         source="xquad", languages=languages)


@register_collection("mlqa-r", folder="mlqa-r", languages=MLQA_R_LANGUAGES,
                     sizes="4,199 q; 20,534 sentences",
                     description="LAReQA MLQA-R (dev): 7 languages, questions parallel in 2-4 of them",
                     paragraphs=True)
def load_mlqa_r(root: Path, *, languages: list[str] | None = None) -> Collection:
    return load_r_folder(root, name="mlqa-r", folder="mlqa-r", available=MLQA_R_LANGUAGES,
                         source="mlqa", languages=languages)
