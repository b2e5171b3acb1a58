"""FLORES-200 ``test`` as retrieval: each language's sentence finds its English translation.

Built on the SIB-200 copy of FLORES-200 (:mod:`.sib200`). The pre-training stage reads FLORES
``train`` + ``dev`` only (:mod:`xlir.training.pretrain.corpus`), so these 204 sentences per language
are unseen by any pre-trained model: the studies' FLORES evaluation. Queries are ``<lang>/<index_id>``
in index order, candidates the English sentences, one per index (shared by every language).
"""

from __future__ import annotations

from pathlib import Path

from xlir.data.bitext import to_pivot_collection
from xlir.data.loaders.sib200 import aligned_rows, sib_languages
from xlir.data.registry import register_collection
from xlir.data.schema import Collection


def flores_languages(root: Path) -> list[str]:
    """Every FLORES-200 language of SIB-200 except the English pivot."""
    return [lang for lang in sib_languages(root) if lang != "en"]


@register_collection("flores-test", folder="sib-200", languages=flores_languages,
                     sizes="204 sentences x 204 langs -> en",
                     description="FLORES-200 test (from SIB-200) as retrieval: every language -> English")
def load_flores_test(root: Path, *, languages: list[str] | None = None) -> Collection:
    langs = flores_languages(root) if languages is None else list(dict.fromkeys(languages))
    rows = {lang: aligned_rows(root, lang, "en", ("test",)) for lang in langs}
    collection = to_pivot_collection("flores-test", rows, pivot="en", source="flores", meta={"split": "test"})
    collection.documents.sort(key=lambda d: int(d.group))
    return collection
