"""Zero-shot guard: refuse to evaluate a model on data from a source it was trained on.

Zero-shot transfer is the point of hybrid-batch training (arXiv 2408.10536, section 4: trained on
MLQA / XQuAD-style pairs, evaluated on the *other* set). Training on XQuAD and evaluating on
XQuAD-R would score memorised questions, so evaluation calls :func:`check_zero_shot` with the
sources recorded in the model's ``xlir_training.json`` and the collection's ``source``; it raises
:class:`~xlir.errors.ConfigError` unless the user explicitly overrides it (and the override is then
written into the results by the caller).

This module lives in the data layer so that evaluation can import it without importing training.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from xlir.errors import ConfigError, DataError

RECORD_FILE = "xlir_training.json"
"""The training record a model trained by xlir carries (written by :mod:`xlir.training.record`)."""
MERGE_FILE = "xlir_merge.json"
"""The record of a weight-space merge (:mod:`xlir.models.merge`): its ``sources`` are both parents'."""

# Different names for the same underlying dataset: the -R retrieval forms are built from the QA
# sets, SIB-200 is FLORES-200 text, and folder names carry version suffixes. Every registered
# collection name maps to the source its loader sets, so a claim about a collection can be checked
# by name before loading it (a recipe's zero-shot list, :mod:`xlir.training.recipes`).
SOURCE_ALIASES = {
    "xquad-r": "xquad",
    "mlqa-r": "mlqa",
    "tydiqa-goldp": "tydiqa",
    "tydi": "tydiqa",
    "sib-200": "flores",
    "sib200": "flores",
    "flores-200": "flores",
    "flores-test": "flores",
    "ntrex-128": "ntrex",
    "tatoeba-laser": "tatoeba",
    "tatoeba-en": "tatoeba",
}


# Collections whose queries partly come from another dataset: MIRACL reuses, for 11 of its 18
# languages, the queries of Mr. TyDi, which are TyDi QA questions (Zhang et al., TACL 2023, arXiv
# 2210.09984, section 3). A model trained on TyDi QA has seen that question set's distribution (its
# train split), so MIRACL is not zero-shot for it.
DERIVED_FROM = {"miracl": ("tydiqa",)}


def canonical_source(name: str) -> str:
    """The dataset a source name stands for: ``"xquad-r"`` and ``"XQuAD"`` are both ``"xquad"``."""
    key = name.strip().lower()
    return SOURCE_ALIASES.get(key, key)


def shared_sources(train_sources: Iterable[str], collection_source: str) -> list[str]:
    """Training sources that are the same dataset as ``collection_source`` or one it is built from."""
    target = canonical_source(collection_source)
    if not target:
        return []
    seen = {target, *DERIVED_FROM.get(target, ())}
    return sorted({s for s in train_sources if canonical_source(s) in seen})


def check_zero_shot(train_sources: Iterable[str], collection_source: str, override: bool = False) -> bool:
    """Raise :class:`ConfigError` if the model was trained on the evaluation collection's source.

    Returns ``True`` when the evaluation is zero-shot, ``False`` when it is not but ``override`` was
    given (the caller records that in its results).
    """
    train_sources = list(train_sources)
    clash = shared_sources(train_sources, collection_source)
    if not clash:
        return True
    if override:
        return False
    target = canonical_source(collection_source)
    derived = [s for s in DERIVED_FROM.get(target, ()) if s in map(canonical_source, clash)]
    built = f"{target} (whose queries come from {', '.join(derived)})" if derived else target
    raise ConfigError(
        f"the model was trained on {', '.join(clash)} and the evaluation collection is built from "
        f"{built}: this is not a zero-shot evaluation. Evaluate on a "
        f"collection from another source, or pass the explicit override (--allow-seen-source) to "
        f"evaluate anyway; the override is written into the results."
    )


def read_training_record(model_dir: str | Path) -> dict | None:
    """The record of a model trained by xlir as JSON, or None for any other model (read by training
    and by merges, which is why it lives here, beside :data:`RECORD_FILE`)."""
    path = Path(model_dir) / RECORD_FILE
    if not path.is_file():
        return None
    from xlir.data.io import read_json

    record = read_json(path)
    if not isinstance(record, dict):
        raise DataError(path, "not a JSON object", expected="the record xlir train writes")
    return record


def training_sources(model: str | Path) -> list[str]:
    """The sources a model folder was trained on, from its ``xlir_training.json`` and, for a merged
    model, the union with both parents' sources in ``xlir_merge.json`` (empty if neither).

    A short name (``e5-small``) or a Hub id is not a folder and has no record: a base model.
    """
    from xlir.data.io import read_json

    found: list[str] = []
    for name in (RECORD_FILE, MERGE_FILE):
        path = Path(model) / name
        if not path.is_file():
            continue
        record = read_json(path)  # a cut or garbled record is a DataError naming it, not a traceback
        sources = record.get("sources", []) if isinstance(record, dict) else None
        if not isinstance(sources, list) or not all(isinstance(x, str) for x in sources):
            raise DataError(path, "no list of training 'sources'", expected="the record xlir writes")
        found += [s for s in sources if s not in found]
    return found
