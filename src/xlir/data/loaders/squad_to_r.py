"""Any SQuAD-format QA set turned into the LAReQA -R retrieval form by sentence splitting.

Datasets (SQuAD v1.1 JSON, ``{"data": [{"title", "paragraphs": [{"context", "qas": [...]}]}]}``):

* ``xquad``  - XQuAD (Artetxe et al., 2020, arXiv 1910.11856), ``xquad/xquad.<lang>.json``, 12
  languages (the 11 of XQuAD-R plus Romanian); question ids shared across languages -> parallel.
* ``mlqa``   - MLQA v1 dev (Lewis et al., 2020, arXiv 1910.07475),
  ``mlqa/MLQA_V1/dev/dev-context-<l>-question-<l>.json``, 7 languages; ids shared -> parallel.
* ``tydiqa`` - TyDi QA GoldP (Clark et al., 2020, TACL), ``tydiqa-goldp/tydiqa-goldp-v1.1-<split>/
  tydiqa.goldp.<lang>.<split>.json``; monolingual (ids are per language).

Paragraphs are split by :mod:`xlir.data.sentences`; the gold candidate is the sentence holding the
answer start (:mod:`xlir.data.rform`). Rebuilding MLQA-R this way gives per-language candidate
counts within 2% of the released MLQA-R and the same gold sentence for >= 95% of questions
(tests/test_data_squad_to_r.py prints the figures).

The TyDi GoldP dev copy in the shared data has its answers blanked (``text == ""``, start 0), so
no gold sentence can be found there: ``unit="passage"`` (the default when answers are missing)
makes each gold passage one candidate instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from xlir.data.discover import languages_in_files
from xlir.data.io import find_file
from xlir.data.registry import register_collection
from xlir.data.rform import RParagraph, build_r_collection, read_squad
from xlir.data.schema import Collection
from xlir.data.sentences import split_spans
from xlir.errors import ConfigError, DataError, MissingDataError

XQUAD_LANGUAGES = ("ar", "de", "el", "en", "es", "hi", "ro", "ru", "th", "tr", "vi", "zh")
MLQA_LANGUAGES = ("ar", "de", "en", "es", "hi", "vi", "zh")
TYDIQA_LANGUAGES = {"dev": ("ar", "en", "fi", "id", "ko", "ru", "sw"), "train": ("en", "ko", "sw")}
_TYDI_NAMES = {"ar": "arabic", "en": "english", "fi": "finnish", "id": "indonesian", "ko": "korean",
               "ru": "russian", "sw": "swahili", "bn": "bengali", "te": "telugu"}


def squad_to_r(files: Mapping[str, str | Path], *, name: str, source: str, parallel: bool,
               unit: str = "sentence", positional_ids: bool = False,
               meta: dict | None = None) -> Collection:
    """Build an -R collection from one SQuAD file per language (``{lang: path}``).

    ``unit="sentence"`` splits paragraphs into sentence candidates (LAReQA); ``"passage"`` keeps
    each paragraph whole as one candidate (no answers needed). ``positional_ids`` replaces question
    ids that repeat within a file by ``"<paragraph>.<question>"`` positions (XTREME's TyDi GoldP
    train copy numbers questions per article, so ``"0"`` appears 1,651 times in English).
    """
    if unit not in ("sentence", "passage"):
        raise ConfigError(f"{name}: unit must be 'sentence' or 'passage', not {unit!r}")
    splitter: Callable = split_spans if unit == "sentence" else (lambda text, lang: [(0, len(text))])
    paragraphs: dict[str, list[RParagraph]] = {
        lang: read_squad(path, splitter=splitter, language=lang, need_answers=unit == "sentence")
        for lang, path in files.items()
    }
    renamed = []
    if positional_ids:
        for lang, paras in paragraphs.items():
            ids = [qid for p in paras for qid, _, _ in p.qas]
            if len(set(ids)) < len(ids):
                renamed.append(lang)
                for pi, p in enumerate(paras):
                    p.qas = [(f"{pi}.{k}", q, s) for k, (_, q, s) in enumerate(p.qas)]
    if renamed:
        meta = {**(meta or {}), "positional_ids": renamed}
    return build_r_collection(name, paragraphs, source=source, parallel=parallel,
                              meta={"format": "squad", "unit": unit, **(meta or {})})


def _pick(name: str, available: tuple[str, ...], languages: list[str] | None) -> list[str]:
    langs = list(available) if languages is None else list(dict.fromkeys(languages))
    unknown = [x for x in langs if x not in available]
    if unknown:
        raise ConfigError(f"{name} has no language {', '.join(unknown)}; it has {', '.join(available)}")
    return langs


@register_collection("xquad", folder="xquad", languages=XQUAD_LANGUAGES,
                     sizes="1,190 q/lang; 14,156 sentences",
                     description="XQuAD made into -R form by our sentence splitter (12 languages, "
                                 "incl. ro)", paragraphs=True)
def load_xquad(root: Path, *, languages: list[str] | None = None, unit: str = "sentence") -> Collection:
    hint = "XQuAD ships as xquad/xquad.<lang>.json (github.com/google-deepmind/xquad)"
    files = {lang: find_file(root / "xquad" / f"xquad.{lang}.json", hint=hint)
             for lang in _pick("xquad", XQUAD_LANGUAGES, languages)}
    return squad_to_r(files, name="xquad", source="xquad", parallel=True, unit=unit)


@register_collection("mlqa", folder="mlqa", languages=MLQA_LANGUAGES,
                     sizes="4,199 q; 20,452 sentences",
                     description="MLQA v1 dev made into -R form by our sentence splitter (7 languages)",
                     paragraphs=True)
def load_mlqa(root: Path, *, languages: list[str] | None = None, split: str = "dev",
              unit: str = "sentence") -> Collection:
    hint = ("MLQA ships as mlqa/MLQA_V1/<split>/<split>-context-<l>-question-<l>.json "
            "(github.com/facebookresearch/MLQA)")
    files = {lang: find_file(root / "mlqa" / "MLQA_V1" / split /
                             f"{split}-context-{lang}-question-{lang}.json", hint=hint)
             for lang in _pick("mlqa", MLQA_LANGUAGES, languages)}
    return squad_to_r(files, name="mlqa", source="mlqa", parallel=True, unit=unit,
                      meta={"split": split})


def _has_answers(path: Path) -> bool:
    try:
        read_squad(path, splitter=lambda text, lang: [(0, len(text))], need_answers=True)
    except DataError:
        return False
    return True


def _tydi_languages(root: Path, split: str = "dev") -> list[str]:
    """The languages whose GoldP files are in the data folder (``xlir data list`` shows these)."""
    folder = root / "tydiqa-goldp" / f"tydiqa-goldp-v1.1-{split}"
    return languages_in_files(folder, rf"tydiqa\.goldp\.(?P<lang>[a-z]{{2,3}})\.{split}\.json")


@register_collection("tydiqa", folder="tydiqa-goldp", languages=_tydi_languages,
                     sizes="dev 4,295 q/passages; train 8,076 q",
                     description="TyDi QA GoldP (monolingual): dev ar en fi id ko ru sw, train en ko sw",
                     paragraphs=True)
def load_tydiqa(root: Path, *, languages: list[str] | None = None, split: str = "dev",
                unit: str | None = None) -> Collection:
    if split not in ("dev", "train"):
        raise ConfigError(f"tydiqa: split must be one of dev, train, not {split!r}")
    hint = ("TyDi QA GoldP ships as tydiqa-goldp/tydiqa-goldp-v1.1-<split>/"
            "tydiqa.goldp.<lang>.<split>.json (XTREME's copy)")
    folder = root / "tydiqa-goldp" / f"tydiqa-goldp-v1.1-{split}"
    # the languages whose files are there (TyDi GoldP also has bn and te: add their files and they load)
    present = tuple(_tydi_languages(root, split))
    if not present:
        raise MissingDataError(f"no TyDi QA GoldP {split} file in {folder}: {hint}")
    files = {lang: find_file(folder / f"tydiqa.goldp.{lang}.{split}.json", hint=hint)
             for lang in _pick(f"tydiqa {split} (files in {folder})", present, languages)}
    if unit is None:
        unit = "sentence" if all(_has_answers(p) for p in files.values()) else "passage"
    return squad_to_r(files, name=f"tydiqa-{split}", source="tydiqa", parallel=False, unit=unit,
                      positional_ids=True, meta={"split": split})
