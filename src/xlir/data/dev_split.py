"""A fixed development slice of a parallel collection, and the rest of it for the reported test.

Choosing a training recipe on the test questions and then reporting those questions would report a
tuned number. The recipe search (:mod:`xlir.experiments.studies.recipe`) therefore decides on a
*dev* slice of XQuAD-R's questions and the headline is reported on the full set *and* on the
questions outside the slice (``test``: every question minus the dev ones), so a reader sees both.

The rule, fixed here and in ``docs/recipes.md``: take the collection's question groups (the question
ids shared by all translations), rank them by ``sha256("xlir-dev-v1:" + id)`` (hex digest, ascending)
and keep the first :data:`DEV_QUESTIONS` (120 of XQuAD-R's 1,190, about 10%). The same ids are kept
in every language (a group is kept or dropped whole), the candidate pool stays whole (13,014 sentences
for XQuAD-R), and the choice depends on nothing but the ids: not on file order, the machine, a random
generator or the languages loaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from xlir.data.schema import Collection
from xlir.errors import ConfigError

DEV_SALT = "xlir-dev-v1"
DEV_QUESTIONS = 120
PARTS = ("all", "dev", "test")
"""``all``: every question; ``dev``: the fixed dev slice; ``test``: every question minus the dev slice."""


def dev_groups(groups: Iterable[str], n: int = DEV_QUESTIONS, salt: str = DEV_SALT) -> list[str]:
    """The ``n`` groups with the smallest ``sha256(salt + ":" + group)``, in that order."""
    unique = sorted(set(groups))
    if n < 1 or n >= len(unique):
        raise ConfigError(f"a dev slice of {n} questions needs more than {n} questions; the collection "
                          f"has {len(unique)}")
    return sorted(unique, key=lambda g: hashlib.sha256(f"{salt}:{g}".encode()).hexdigest())[:n]


def question_groups(collection: Collection) -> list[str]:
    """Every question group of ``collection`` (the query id where a query has no group), sorted."""
    return sorted({q.group or q.id for q in collection.queries})


def split_questions(collection: Collection, part: str, n: int = DEV_QUESTIONS) -> Collection:
    """``collection`` cut to the ``part`` of its questions (:data:`PARTS`), the pool left whole.

    The dev ids are drawn from the groups of the collection as loaded; XQuAD-R is fully parallel
    (every question in all 11 languages), so its dev ids do not depend on the languages loaded.
    """
    if part not in PARTS:
        raise ConfigError(f"questions must be one of {', '.join(PARTS)}, not {part!r}")
    if part == "all":
        return collection
    dev = dev_groups(question_groups(collection), n)
    cut = (collection.subset(groups=dev) if part == "dev" else collection.subset(exclude_groups=dev))
    # its own meta key, so that later cuts (limit, languages) keep it; results.json records it
    cut.meta["questions"] = {"part": part, "dev_rule": f"sha256({DEV_SALT}:id) ascending, first {n} of "
                                                      f"{len(question_groups(collection))} question ids"}
    return cut
