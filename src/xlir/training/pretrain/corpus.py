"""Pre-training text: language-English bitext from FLORES-200 (SIB-200), NTREX-128 and Tatoeba.

Every language is paired with English (the pivot, as in LaBSE's translation ranking pre-training,
Feng et al. 2022, section 3). Each pair carries a group: the pivot sentence's source and line, so
the batcher keeps translations of one English sentence (FLORES and NTREX are multi-parallel) out of
one batch, where they would be false negatives. :func:`bitext_pair_set` turns the bitext into the
trainer's training pairs; the ``round-robin`` sampler spreads a budget evenly over the languages.

Bitext comes from the data layer: :func:`xlir.data.load_bitext` for NTREX and Tatoeba, the SIB-200
loader's aligned rows (with their ``index_id``) for FLORES. FLORES has splits: the studies pre-train
on ``train`` + ``dev`` and keep ``test`` for the FLORES retrieval evaluation, so that evaluation never
sees a pre-training sentence. Tatoeba is, by default, reserved for evaluation for the same reason.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from xlir.data.schema import PairSet, TrainingPair
from xlir.errors import ConfigError

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


def flores_languages(root: Path) -> list[str]:
    """xlir codes of every FLORES-200 language in SIB-200 (English excluded)."""
    from xlir.data.loaders.flores import flores_languages as languages

    return languages(root)


def flores_pairs(root: Path, lang: str, splits=PRETRAIN_FLORES_SPLITS) -> list[tuple[str, str, str]]:
    """(text, english, index_id) from SIB-200's split files, aligned on ``index_id``."""
    from xlir.data.loaders.sib200 import aligned_rows

    return [(text, english, idx) for idx, text, english in aligned_rows(root, lang, "en", splits)]


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


def bitext_pair_set(per_language: dict[str, list[BitextPair]], sources) -> PairSet:
    """Bitext as training pairs for the trainer: the query is the sentence, the positive its English
    translation, the group the pivot sentence's. A pair whose two sides are the same string (a name,
    a number) teaches nothing and could never share a batch under the text constraint: left out."""
    pairs = [TrainingPair(p.text, p.english, p.language, "en", p.group)
             for lang in sorted(per_language) for p in per_language[lang] if p.text != p.english]
    if not pairs:
        raise ConfigError("no pre-training pairs for the chosen languages")
    total = sum(len(v) for v in per_language.values())
    return PairSet("bitext:" + "+".join(sorted(per_language)), pairs, list(sources),
                   {"languages": sorted(per_language), "dropped_identical": total - len(pairs)})
