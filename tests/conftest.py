"""Shared fixtures: synthetic datasets, an isolated runs folder, the real data path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.synthetic import make_dataset

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parents[1]
#: The real dataset, present on the team's machines and in CI (never copied into the repo).
REAL_DATA = Path(os.environ.get("CATDOG_REAL_DATA_DIR", REPO.parent / "shared/datasets/cats_and_dogs_filtered"))
#: MobileNetV2 ImageNet weights for offline use.
SHARED_WEIGHTS = REPO.parent / "shared/keras/models/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"

real_data = pytest.mark.skipif(not (REAL_DATA / "train").is_dir(), reason="real dataset not present")
needs_weights = pytest.mark.skipif(not SHARED_WEIGHTS.is_file(), reason="MobileNetV2 weights file not present")


@pytest.fixture(scope="session")
def synthetic_data(tmp_path_factory) -> Path:
    """A read-only-by-convention synthetic dataset: 8+8 train, 10+10 validation images."""
    return make_dataset(tmp_path_factory.mktemp("data") / "cats_and_dogs_filtered")


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Every test gets its own runs folder and Keras home; no data path from the caller leaks in."""
    monkeypatch.setenv("CATDOG_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv("CATDOG_DATA_DIR", raising=False)
    # page tests train in their own process's thread (a child process per queue would load TensorFlow each time);
    # tests/test_worker.py and the browser tests' servers train in child processes, the dashboard's default
    monkeypatch.setenv("CATDOG_TRAIN_IN_SERVER", "1")
    if SHARED_WEIGHTS.is_file():
        monkeypatch.setenv("CATDOG_MOBILENET_WEIGHTS", str(SHARED_WEIGHTS))
    # the test process's own memory (it trains hundreds of models) must not put the restart advice on pages
    # whose tests expect no warning; the advice has a test of its own
    monkeypatch.setattr("catdog.reporting.MEMORY_NOTE_SHARE", float("inf"))
    yield
