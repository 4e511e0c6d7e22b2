"""Named episode subsets saved beside a dataset."""

from __future__ import annotations

import json

import pytest
from synthetic_episodes import record_synthetic

from dexsim.data import DatasetError, DatasetStore, Recorder
from dexsim.data.subsets import list_subsets, load_subset, save_subset, subset_path


def _three_episodes(store: DatasetStore, recorder: Recorder) -> None:
    for seed in range(3):
        record_synthetic(recorder, length=4, seed=seed)


def test_round_trip_sorted(store: DatasetStore, recorder: Recorder) -> None:
    _three_episodes(store, recorder)
    path = save_subset(store.root, "keep-75", [2, 0], description="test", source={"cmd": "x"})
    assert path == store.root / "subsets" / "keep-75.json"
    assert load_subset(store.root, "keep-75") == [0, 2]
    assert list_subsets(store.root) == ["keep-75"]
    assert json.loads(path.read_text())["source"] == {"cmd": "x"}


def test_errors_name_the_problem(store: DatasetStore, recorder: Recorder) -> None:
    _three_episodes(store, recorder)
    with pytest.raises(DatasetError, match="no episodes \\[7\\]"):
        save_subset(store.root, "a", [0, 7])
    with pytest.raises(ValueError, match="repeated"):
        save_subset(store.root, "a", [0, 0])
    with pytest.raises(ValueError, match="not valid"):
        save_subset(store.root, "../evil", [0])
    with pytest.raises(DatasetError, match="does not exist"):
        load_subset(store.root, "missing")
    path = subset_path(store.root, "b")
    path.parent.mkdir(exist_ok=True)
    path.write_text(json.dumps({"format": "dexsim-subset", "episode_ids": [0, 9]}))
    with pytest.raises(DatasetError, match="lacks"):
        load_subset(store.root, "b")
    path.write_text("{not json")
    with pytest.raises(DatasetError, match="not readable JSON"):
        load_subset(store.root, "b")
