"""Data layer: typed retrieval collections and training pairs, and a loader per dataset.

Every loader returns a :class:`~xlir.data.schema.Collection` (for evaluation) or a
:class:`~xlir.data.schema.PairSet` (for training); nothing downstream knows file formats.
"""

from xlir.data.schema import Collection, Document, PairSet, Query, TrainingPair

__all__ = ["Collection", "Document", "PairSet", "Query", "TrainingPair"]
