"""Fixtures of the dataset tests: a small-image dataset and its recorder."""

from __future__ import annotations

from pathlib import Path

import pytest
from synthetic_episodes import SMALL_CONFIG

from dexsim.data import DatasetStore, FrameSchema, Recorder


@pytest.fixture
def store(tmp_path: Path) -> DatasetStore:
    return DatasetStore.create(tmp_path / "ds", FrameSchema.from_config(SMALL_CONFIG))


@pytest.fixture
def recorder(store: DatasetStore) -> Recorder:
    return Recorder(store, SMALL_CONFIG)
