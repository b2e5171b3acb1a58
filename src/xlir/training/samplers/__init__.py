"""Batch samplers of hybrid-batch training (arXiv 2408.10536), registered by name.

``xx-mono``, ``xy``, ``hybrid``, ``random`` and ``round-robin`` (pre-training); build one with
:func:`build_sampler`.
"""

from xlir.training.samplers import (  # noqa: F401  (registration)
    hybrid,
    random_batches,
    round_robin,
    xx_mono,
    xy,
)
from xlir.training.samplers.base import SAMPLERS, Batch, BatchSampler, build_sampler

__all__ = ["SAMPLERS", "Batch", "BatchSampler", "build_sampler"]
