"""Training: batch samplers, contrastive loss, gradient cache and the trainer (arXiv 2408.10536).

Public entry points: :func:`train` with a :class:`TrainConfig` (lazy imports keep torch out of
``import xlir.training``), :func:`xlir.training.samplers.build_sampler`, :func:`info_nce`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xlir.training.config import TrainConfig

if TYPE_CHECKING:  # pragma: no cover
    from xlir.training.trainer import NonFiniteLossError, TrainResult

__all__ = ["NonFiniteLossError", "TrainConfig", "TrainResult", "train"]


def train(config: TrainConfig, pairs=None, **kwargs):
    """See :func:`xlir.training.trainer.train`."""
    from xlir.training.trainer import train as _train

    return _train(config, pairs, **kwargs)


def __getattr__(name: str):
    if name in ("NonFiniteLossError", "TrainResult", "StepInfo"):
        from xlir.training import trainer

        return getattr(trainer, name)
    raise AttributeError(name)
