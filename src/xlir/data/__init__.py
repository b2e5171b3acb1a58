"""Data layer: typed retrieval collections and training pairs, and a loader per dataset.

Every loader returns a :class:`~xlir.data.schema.Collection` (for evaluation) or a
:class:`~xlir.data.schema.PairSet` (for training); nothing downstream knows file formats.
Load by name with :func:`load_collection` (and :func:`load_bitext` for aligned sentence pairs).
"""

from xlir.data.registry import COLLECTIONS, discover, load_bitext, load_collection
from xlir.data.schema import Collection, Document, PairSet, Query, TrainingPair

discover()  # each loader module registers itself on import

__all__ = ["COLLECTIONS", "Collection", "Document", "PairSet", "Query", "TrainingPair",
           "load_bitext", "load_collection"]
