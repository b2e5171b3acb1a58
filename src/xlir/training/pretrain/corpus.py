"""Pre-training text: language-English bitext from FLORES-200 (SIB-200), NTREX-128 and Tatoeba.

Every language is paired with English (the pivot, as in LaBSE's translation ranking pre-training,
Feng et al. 2022, section 3). Each pair carries a group: the pivot sentence's source and line, so
the batcher keeps translations of one English sentence (FLORES and NTREX are multi-parallel) out of
one batch, where they would be false negatives.

Bitext comes from :func:`xlir.data.load_bitext` when the data layer registers the source; for
FLORES a small built-in reader of the SIB-200 TSV files is kept as a fallback, so the pre-training
stage does not depend on the order in which loaders land. FLORES has splits: the studies pre-train
on ``train`` + ``dev`` and keep ``test`` for the FLORES retrieval evaluation, so that evaluation never
sees a pre-training sentence. Tatoeba is, by default, reserved for evaluation for the same reason.
"""

from __future__ import annotations

import gzip
import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from xlir.errors import ConfigError, MissingDataError

SOURCES = ("flores", "ntrex", "tatoeba")
PRETRAIN_FLORES_SPLITS = ("train", "dev")


@dataclass(frozen=True, slots=True)
class BitextPair:
    text: str
    english: str
    language: str
    group: str


def _registered(name: str) -> bool:
    from xlir.data.registry import BITEXTS, discover

    discover()
    return name in BITEXTS


def _sib_dir(root: Path) -> Path:
    path = root / "sib-200" / "data" / "annotated"
    if not path.is_dir():
        raise MissingDataError(f"SIB-200 (FLORES-200) not found at {path}")
    return path


def flores_languages(root: Path) -> list[str]:
    """xlir codes of every FLORES-200 language in SIB-200 (English excluded)."""
    from xlir.data.languages import normalize

    out = set()
    for d in _sib_dir(root).iterdir():
        if d.is_dir():
            code = normalize(d.name)
            if code != "en":
                out.add(code)
    return sorted(out)


def _sib_folder_for(root: Path, lang: str) -> Path:
    from xlir.data.languages import normalize

    for d in sorted(_sib_dir(root).iterdir()):
        if d.is_dir() and normalize(d.name) == lang:
            return d
    raise MissingDataError(f"no FLORES-200 (SIB-200) folder for language {lang!r}")


def _read_sib(path: Path) -> dict[str, str]:
    out = {}
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        next(fh)
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3 and parts[2].strip():
                out[parts[0]] = parts[2].strip()
    return out


def flores_pairs(root: Path, lang: str, splits=PRETRAIN_FLORES_SPLITS) -> list[tuple[str, str, str]]:
    """(text, english, index_id) from SIB-200's split files, aligned on ``index_id``."""
    folder = _sib_folder_for(root, lang)
    eng = _sib_folder_for(root, "en")
    out = []
    for split in splits:
        a = _read_sib(folder / f"{split}.tsv.gz")
        b = _read_sib(eng / f"{split}.tsv.gz")
        out.extend((a[i], b[i], i) for i in sorted(a, key=int) if i in b)
    return out


def load_language_bitext(
    lang: str, *, sources=("flores", "ntrex"), data_dir=None, flores_splits=PRETRAIN_FLORES_SPLITS
) -> list[BitextPair]:
    """Every lang-English pair of ``sources`` (a source that lacks the language is skipped)."""
    from xlir.data import load_bitext
    from xlir.data.datadir import data_dir as resolve
    from xlir.errors import XlirError

    root = resolve(data_dir)
    out: list[BitextPair] = []
    for source in sources:
        if source not in SOURCES:
            raise ConfigError(f"unknown pre-training bitext source {source!r}; known: {', '.join(SOURCES)}")
        if source == "flores":
            for text, english, idx in flores_pairs(root, lang, flores_splits):
                out.append(BitextPair(text, english, lang, f"flores/{idx}"))
            continue
        if not _registered(source):
            continue
        try:
            rows = load_bitext(source, lang, "en", data_dir=root)
        except XlirError:
            continue  # the source does not cover this language
        for text, english in rows:
            if text.strip() and english.strip():
                key = hashlib.sha1(english.strip().encode()).hexdigest()[:12]
                out.append(BitextPair(text.strip(), english.strip(), lang, f"{source}/{key}"))
    return out


def language_pool(sources=("flores", "ntrex"), data_dir=None) -> list[str]:
    """Languages the pre-training stage can draw from: FLORES-200's (the widest source)."""
    from xlir.data.datadir import data_dir as resolve

    if "flores" not in sources:
        raise ConfigError("the language pool is FLORES-200's; keep 'flores' among the sources")
    return flores_languages(resolve(data_dir))


def balanced_stream(per_language: dict[str, list[BitextPair]], seed: int):
    """An endless stream that cycles languages round-robin, each language's pairs reshuffled per pass.

    Round-robin gives every language the same share of any budget, whatever its data size: a
    language with fewer pairs is repeated rather than under-represented, so only k changes.
    """
    rng = random.Random(seed)
    langs = sorted(lang for lang, pairs in per_language.items() if pairs)
    if not langs:
        raise ConfigError("no pre-training pairs for the chosen languages")
    queues: dict[str, list[BitextPair]] = {lang: [] for lang in langs}
    while True:
        for lang in langs:
            if not queues[lang]:
                queues[lang] = list(per_language[lang])
                rng.shuffle(queues[lang])
            yield queues[lang].pop()
