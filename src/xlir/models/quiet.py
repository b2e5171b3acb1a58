"""Silence transformers' own progress bars ("Loading weights", "Writing model shards") for a while.

A study loads and saves a model in every cell; transformers draws a bar for each, which buries the
grid's one-line-per-cell progress. Our own progress (encoding, training) is unaffected. The
environment variable is set too, so worker processes started inside the block stay quiet.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_ENV = "HF_HUB_DISABLE_PROGRESS_BARS"


@contextmanager
def no_hf_progress_bars() -> Iterator[None]:
    from transformers.utils import logging as hf_logging

    was_on = hf_logging.is_progress_bar_enabled()
    old_env = os.environ.get(_ENV)
    os.environ[_ENV] = "1"
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if old_env is None:
            os.environ.pop(_ENV, None)
        else:
            os.environ[_ENV] = old_env
        if was_on:
            hf_logging.enable_progress_bar()
