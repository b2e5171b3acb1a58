"""Batch samplers of hybrid-batch training (arXiv 2408.10536), registered by name.

``xx-mono``, ``xy``, ``hybrid`` and ``random``; build one with :func:`build_sampler`.
"""

from xlir.training.samplers import hybrid, random_batches, xx_mono, xy  # noqa: F401  (registration)
from xlir.training.samplers.base import SAMPLERS, Batch, BatchSampler, build_sampler

__all__ = ["SAMPLERS", "Batch", "BatchSampler", "build_sampler"]
