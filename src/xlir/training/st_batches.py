"""xlir's batch samplers inside the sentence-transformers trainer.

``SentenceTransformerTrainer`` takes a ``batch_sampler`` argument (in
``SentenceTransformerTrainingArguments``): a class or callable that gets the training dataset, the
per-device batch size and the trainer's seed, and yields lists of row indices. :func:`batch_sampler`
returns such a callable for any sampler registered in :mod:`xlir.training.samplers` (``hybrid``,
``xx-mono``, ``xy``, ``random``), so a user of ``MultipleNegativesRankingLoss`` or its cached variant
gets hybrid batches (arXiv 2408.10536 §3.1) without leaving the trainer they know::

    train = pairs_dataset(load_pairs(["mlqa"]).pairs)           # or training_dataset(your_dataset)
    args = SentenceTransformerTrainingArguments("out", per_device_train_batch_size=32,
                                                batch_sampler=batch_sampler("hybrid", alpha=0.5),
                                                prompts=column_prompts(model, train))
    SentenceTransformerTrainer(model=model, args=args, train_dataset=train,
                               loss=MultipleNegativesRankingLoss(model)).train()

The batches are the very ones xlir's own trainer draws for the same pairs, seed and batch size (the
sampler object is the same): batch type per step by ``alpha``, no two pairs of one ``group`` (the
translations of one question) in a batch, no repeated text, seeded by the trainer's ``seed``.
``len()`` is the number of whole batches in the dataset (``rows // batch_size``; every batch is full,
whatever ``dataloader_drop_last`` says), and epoch ``e`` yields steps ``e*len .. (e+1)*len - 1`` of the
sampler's stream, so every epoch has new batches and a run resumed mid-way draws what an
uninterrupted one would.

Rows: ``anchor`` (the query), ``positive``, optional hard-negative text columns (any other column
but the ones below, in order, as ``MultipleNegativesRankingLoss`` reads them), ``language`` (of the
anchor), optional ``positive_language`` (default: ``language``, a monolingual pair) and ``group``.
The three metadata columns must not reach the loss (the trainer's collator encodes every column it
is given), so :func:`training_dataset` hides them with the dataset's format; the sampler reads them from
the underlying table. Under several processes (``accelerate``/``torchrun``), accelerate hands each
process whole batches in turn, so every process's batch keeps these guarantees.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

try:  # sentence-transformers >= 6
    from sentence_transformers.base.sampler import DefaultBatchSampler
except ImportError:  # pragma: no cover - 3.x to 5.x
    from sentence_transformers.sampler import DefaultBatchSampler

from xlir.data.schema import TrainingPair
from xlir.errors import ConfigError, DataError
from xlir.models.prompts import prefix

ANCHOR, POSITIVE = "anchor", "positive"
LANGUAGE, POSITIVE_LANGUAGE, GROUP = "language", "positive_language", "group"
META_COLUMNS = (LANGUAGE, POSITIVE_LANGUAGE, GROUP)


def text_columns(dataset) -> list[str]:
    """The columns the loss reads, in order: anchor, positive, then any hard negatives."""
    cols = list(dataset.column_names)
    missing = [c for c in (ANCHOR, POSITIVE, LANGUAGE, GROUP) if c not in cols]
    if missing:
        raise ConfigError(f"the training dataset lacks column(s) {', '.join(missing)}; it needs "
                          f"{ANCHOR}, {POSITIVE}, {LANGUAGE}, {GROUP} (and optionally {POSITIVE_LANGUAGE} "
                          f"and hard-negative text columns); it has {', '.join(cols)}")
    rest = [c for c in cols if c not in (ANCHOR, POSITIVE, *META_COLUMNS)]
    return [ANCHOR, POSITIVE, *rest]


def training_dataset(dataset):
    """``dataset`` (a ``datasets.Dataset`` with the columns above) with its metadata columns hidden
    from the trainer's collator; :class:`XlirBatchSampler` still reads them. Checks every row."""
    columns = text_columns(dataset)
    pairs_from_dataset(dataset)  # fail here, with the row, rather than inside the trainer
    return dataset.with_format(columns=columns)


def pairs_dataset(pairs: Sequence[TrainingPair]):
    """A training dataset (:func:`training_dataset`) of xlir pairs; hard negatives become
    ``negative_1``..``negative_k`` (every pair must have the same number)."""
    from datasets import Dataset

    if not pairs:
        raise ConfigError("no training pairs")
    k = len(pairs[0].negatives)
    if any(len(p.negatives) != k for p in pairs):
        raise ConfigError("pairs have different numbers of hard negatives; the trainer needs one per column")
    data = {ANCHOR: [p.query for p in pairs], POSITIVE: [p.positive for p in pairs]}
    for j in range(k):
        data[f"negative_{j + 1}"] = [p.negatives[j] for p in pairs]
    data[LANGUAGE] = [p.query_language for p in pairs]
    data[POSITIVE_LANGUAGE] = [p.positive_language for p in pairs]
    data[GROUP] = [p.group for p in pairs]
    return training_dataset(Dataset.from_dict(data))


def pairs_from_dataset(dataset) -> list[TrainingPair]:
    """The dataset's rows as :class:`TrainingPair` (whatever its format hides)."""
    columns = text_columns(dataset)
    table = dataset.data  # the Arrow table: every column, regardless of ``with_format``
    if getattr(dataset, "_indices", None) is not None:  # a select()/shuffle() view: materialise it
        table = dataset.flatten_indices().data
    col = {name: table.column(name).to_pylist() for name in (*columns, LANGUAGE, GROUP)}
    col[POSITIVE_LANGUAGE] = (table.column(POSITIVE_LANGUAGE).to_pylist()
                              if POSITIVE_LANGUAGE in table.column_names else col[LANGUAGE])
    pairs = []
    for i in range(table.num_rows):
        for name in (*columns, LANGUAGE, POSITIVE_LANGUAGE, GROUP):
            value = col[name][i]
            if not isinstance(value, str) or not value.strip():
                raise DataError(None, f"row {i}, column {name!r}: {value!r}", record=str(i),
                                expected="a non-empty string")
        pairs.append(TrainingPair(query=col[ANCHOR][i], positive=col[POSITIVE][i],
                                  query_language=col[LANGUAGE][i],
                                  positive_language=col[POSITIVE_LANGUAGE][i], group=col[GROUP][i],
                                  negatives=tuple(col[c][i] for c in columns[2:])))
    return pairs


class XlirBatchSampler(DefaultBatchSampler):
    """A ``SentenceTransformerTrainer`` batch sampler drawing with an xlir sampler (see the module
    docstring). ``sampler`` names it, ``options`` are its own (``alpha``, ``weighting``)."""

    def __init__(self, dataset, batch_size: int, drop_last: bool = True, valid_label_columns=None,
                 generator=None, seed: int = 0, *, sampler: str = "hybrid", **options):
        super().__init__(dataset, batch_size=batch_size, drop_last=drop_last,
                         valid_label_columns=valid_label_columns, generator=generator, seed=seed)
        visible = (dataset.format.get("columns") or dataset.column_names) \
            if hasattr(dataset, "format") else []
        if shown := [c for c in META_COLUMNS if c in visible]:
            raise ConfigError(f"the metadata column(s) {', '.join(shown)} would be fed to the loss as texts; "
                              f"pass xlir.training.st_batches.training_dataset(dataset) as train_dataset")
        from xlir.training.samplers import build_sampler

        self.pairs = pairs_from_dataset(dataset)
        self.sampler_name = sampler
        self.options = dict(options)
        self._build = functools.partial(build_sampler, sampler, self.pairs, batch_size, seed=seed,
                                        **self.options)
        self._stream = self._build()  # fails now (not mid-training) when the data cannot fill a batch
        if len(self) < 1:
            raise ConfigError(f"{len(self.pairs)} rows make no batch of {batch_size}")

    def __len__(self) -> int:
        return len(self.pairs) // self.batch_size

    def __iter__(self):
        start = self.epoch * len(self)
        if self._stream.step != start:  # a resumed run, or an epoch asked for again: replay to it
            self._stream = self._build()
            for _ in range(start):
                self._stream.next_global()
        for _ in range(len(self)):
            yield list(self._stream.next_global().indices)


def batch_sampler(name: str = "hybrid", **options):
    """The ``batch_sampler`` argument for ``SentenceTransformerTrainingArguments``: xlir's ``name``
    sampler with ``options`` (e.g. ``alpha=0.5``, ``weighting="proportional"``). Checked now."""
    from xlir.training.samplers import SAMPLERS

    SAMPLERS.get(name)  # an unknown name fails here, listing the known ones
    return functools.partial(XlirBatchSampler, sampler=name, **options)


def column_prompts(model, dataset) -> dict[str, str]:
    """The ``prompts`` argument of the trainer: the model's query prefix on ``anchor``, its document
    prefix on ``positive`` and every negative column, as xlir's own trainer applies them."""
    query, document = prefix(model.prompts, "query"), prefix(model.prompts, "document")
    return {c: (query if c == ANCHOR else document) for c in text_columns(dataset)}
