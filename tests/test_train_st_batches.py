"""xlir's samplers as SentenceTransformerTrainer's batch_sampler: the batches the trainer really trains on.

The trainer's collator is wrapped to record each batch's rows; every batch must be exactly the batch
xlir's own sampler draws for the same pairs, seed and size, and obey the hybrid rules (one language in a
mono batch, cross-lingual rows in a cross batch, no two rows of one group), across an epoch boundary.
"""

from __future__ import annotations

import math

import pytest

from xlir.data.pairs import load_pairs
from xlir.errors import ConfigError, DataError
from xlir.training.samplers import build_sampler
from xlir.training.st_batches import (
    XlirBatchSampler,
    batch_sampler,
    column_prompts,
    pairs_dataset,
    training_dataset,
)

BATCH = 4


@pytest.fixture(scope="module")
def pairs(data_dir):
    # 8 XQuAD questions in de and en: 16 monolingual + 16 cross-lingual pairs, 8 batches of 4 an epoch
    return load_pairs(["xquad"], data_dir=data_dir, languages=["de", "en"], max_groups=8).pairs


class Recorder:
    """Wraps the trainer's collator; keeps each batch's raw rows (before prompts and tokenising)."""

    def __init__(self, inner):
        self.inner, self.batches = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def __call__(self, features):
        self.batches.append([dict(f) for f in features])
        return self.inner(features)


def _train(model_path, pairs, loss_name: str, steps: int, tmp_path, seed: int = 3):
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer import losses

    model = SentenceTransformer(str(model_path), device="cpu")
    train = pairs_dataset(pairs)
    loss = (losses.MultipleNegativesRankingLoss(model) if loss_name == "mnrl"
            else losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=2))
    args = SentenceTransformerTrainingArguments(
        output_dir=str(tmp_path / loss_name), max_steps=steps, per_device_train_batch_size=BATCH,
        batch_sampler=batch_sampler("hybrid", alpha=0.5), prompts=column_prompts(model, train),
        seed=seed, learning_rate=1e-3, save_strategy="no", report_to="none", logging_steps=1,
        disable_tqdm=True, use_cpu=True)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train, loss=loss)
    trainer.data_collator = recorder = Recorder(trainer.data_collator)
    trainer.train()
    losses_seen = [h["loss"] for h in trainer.state.log_history if "loss" in h]
    return recorder.batches, losses_seen


def _check_composition(pairs, rows, batch):
    index = {(p.query, p.positive): i for i, p in enumerate(pairs)}
    got = [pairs[index[(r["anchor"], r["positive"])]] for r in rows]
    assert len({p.group for p in got}) == len(got) == BATCH  # no two translations of one question
    if batch.kind == "mono":
        assert {(p.query_language, p.positive_language) for p in got} == {(batch.language,) * 2}
    elif batch.kind == "cross":
        assert all(p.query_language != p.positive_language for p in got)


@pytest.mark.parametrize("loss_name", ["mnrl", "cached"])
def test_trainer_trains_on_xlirs_hybrid_batches(tiny_model_path, pairs, tmp_path, loss_name):
    steps = 10 if loss_name == "mnrl" else 3  # 10 steps cross into the second epoch (8 batches each)
    recorded, seen = _train(tiny_model_path, pairs, loss_name, steps, tmp_path)
    assert len(seen) == steps and all(math.isfinite(x) and x > 0 for x in seen)
    # accelerate's loader collates one batch ahead, so the last recorded batch may be one not trained on
    assert len(recorded) in (steps, steps + 1)
    assert all(set(rows[0]) == {"anchor", "positive"} for rows in recorded)  # metadata never reaches the loss
    ref = build_sampler("hybrid", pairs, BATCH, seed=3, alpha=0.5)
    kinds = set()
    for rows in recorded:
        batch = ref.next_global()
        assert [(r["anchor"], r["positive"]) for r in rows] == \
            [(pairs[i].query, pairs[i].positive) for i in batch.indices]
        _check_composition(pairs, rows, batch)
        kinds.add(batch.kind)
    assert kinds == {"mono", "cross"}
    if loss_name == "mnrl":  # epoch 2 starts with new batches, not a replay of epoch 1
        assert recorded[8] != recorded[0] and recorded[9] != recorded[1]


def test_len_epochs_and_resume(pairs):
    ds = pairs_dataset(pairs)
    s = XlirBatchSampler(ds, BATCH, seed=5, sampler="hybrid", alpha=0.5)
    assert len(s) == len(pairs) // BATCH == 8
    epoch0, epoch1 = list(s), None
    s.set_epoch(1)
    epoch1 = list(s)
    assert len(epoch0) == len(epoch1) == 8 and epoch0 != epoch1
    ref = build_sampler("hybrid", pairs, BATCH, seed=5, alpha=0.5)
    stream = [ref.next_global().indices for _ in range(16)]
    assert epoch0 + epoch1 == stream
    fresh = XlirBatchSampler(ds, BATCH, seed=5, sampler="hybrid", alpha=0.5)
    fresh.set_epoch(1)  # a run resumed in epoch 1 draws what the uninterrupted one drew
    assert list(fresh) == epoch1
    other = XlirBatchSampler(ds, BATCH, seed=6, sampler="hybrid", alpha=0.5)
    assert list(other) != epoch0
    # every sampler name works and keeps its rule
    for name, kind in (("xx-mono", "mono"), ("xy", "cross"), ("random", "random")):
        mine = list(XlirBatchSampler(ds, BATCH, seed=1, sampler=name))
        ref = build_sampler(name, pairs, BATCH, seed=1)
        for indices in mine:
            batch = ref.next_global()
            assert indices == batch.indices and batch.kind == kind
            _check_composition(pairs, [{"anchor": pairs[i].query, "positive": pairs[i].positive}
                                       for i in indices], batch)


def test_errors_name_the_problem(pairs):
    from datasets import Dataset

    raw = Dataset.from_dict({"anchor": [p.query for p in pairs], "positive": [p.positive for p in pairs],
                             "language": [p.query_language for p in pairs],
                             "group": [p.group for p in pairs]})
    with pytest.raises(ConfigError, match="would be fed to the loss"):
        XlirBatchSampler(raw, BATCH, sampler="random")
    assert training_dataset(raw).format["columns"] == ["anchor", "positive"]
    with pytest.raises(ConfigError, match="lacks column.*group"):
        training_dataset(raw.remove_columns(["group"]))
    bad = raw.map(lambda r, i: {"language": "" if i == 5 else r["language"]}, with_indices=True)
    with pytest.raises(DataError, match="row 5, column 'language'"):
        training_dataset(bad)
    with pytest.raises(ConfigError, match="sampler"):
        batch_sampler("no-such-sampler")
    with pytest.raises(ConfigError, match="make no batch"):
        XlirBatchSampler(training_dataset(raw.select(range(3))), BATCH, sampler="random")
