"""Shared fixtures: the real shared data folder and a tiny model built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property-based tests (tests/test_fuzz_inputs.py): few, reproducible examples in the default suite;
# `pytest --hypothesis-profile=long` for a deeper random search.
_QUIET = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large]
settings.register_profile("default", max_examples=20, deadline=None, derandomize=True, database=None,
                          suppress_health_check=_QUIET)
settings.register_profile("long", max_examples=600, deadline=None, suppress_health_check=_QUIET)
settings.load_profile("default")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("XLIR_DATA_DIR", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"shared data not found at {SHARED_DATA}; set XLIR_DATA_DIR")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory) -> Path:
    """A 2-layer, width-32 e5-shaped model with the real XLM-R tokenizer (seeded, random)."""
    from xlir.models.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tiny_model(tiny_model_path):
    """The tiny model, loaded once for the tests that only encode with it (a test that trains it or
    changes its weights or mode loads its own copy)."""
    from xlir.models import load_model

    return load_model(str(tiny_model_path))


@pytest.fixture
def one_thread():
    """One intra-op thread for tests that compare float results: on a shared 2-core machine more
    threads only contend, and a fixed count keeps reductions in one order."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
