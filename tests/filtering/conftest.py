"""Fixtures of the filtering tests: small labelled synthetic datasets (32 px, no physics)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))
from synthetic_episodes import SMALL_CONFIG, record_synthetic  # noqa: E402

from dexsim.data import DatasetStore, FrameSchema, Recorder  # noqa: E402

LABELS = ["clean"] * 9 + ["jitter", "aborted", "hesitation"]


def make_dataset(root: Path, labels: list[str | None], length: int = 24, config=SMALL_CONFIG) -> DatasetStore:
    """A dataset with one synthetic episode per label (defective episodes run twice as long)."""
    store = DatasetStore.create(root, FrameSchema.from_config(config))
    recorder = Recorder(store, config)
    for seed, label in enumerate(labels):
        record_synthetic(recorder, length * (2 if label not in (None, "clean") else 1), seed, defect=label)
    return store


@pytest.fixture(scope="session")
def labelled_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 episodes (9 clean, 3 defective), cameras top + wrist at 32 px."""
    root = tmp_path_factory.mktemp("filter") / "ds"
    make_dataset(root, LABELS)
    return root
