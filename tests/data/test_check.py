"""``check_dataset``: clean datasets pass; corrupted files and foreign entries are named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from synthetic_episodes import record_synthetic

from dexsim.data import DatasetStore, Recorder, check_dataset


def test_clean_dataset(store: DatasetStore, recorder: Recorder) -> None:
    for seed in range(2):
        record_synthetic(recorder, 8, seed)
    report = check_dataset(store.root)
    assert report.clean and report.episodes_checked == 2 and report.frames_checked == 16


def test_problems_are_found_and_named(store: DatasetStore, recorder: Recorder, tmp_path: Path) -> None:
    for seed in range(3):
        record_synthetic(recorder, 8, seed)
    shard = store.episodes_dir / "episode_000001.zarr" / "top_image" / "c" / "0" / "0" / "0" / "0"
    shard.write_bytes(shard.read_bytes()[:-100])
    (store.episodes_dir / "episode_000002.zarr" / "zarr.json").write_text("{not json")
    report = check_dataset(store.root)
    assert not report.ok and report.episodes_checked == 2  # episode 2 could not even be opened
    messages = [str(p) for p in report.problems]
    assert any("episode_000001.zarr" in m and "top_image" in m and "truncated or corrupted" in m for m in messages)
    assert any("episode_000002.zarr" in m and "zarr.json" in m for m in messages)


def test_non_finite_values_and_foreign_entries(store: DatasetStore, recorder: Recorder) -> None:
    record_synthetic(recorder, 8, 0)
    import zarr

    array = zarr.open_array(store.episodes_dir / "episode_000000.zarr" / "joint_efforts", mode="r+")
    values = array[:]
    values[3, 2] = np.nan
    array[:] = values
    (store.episodes_dir / "stray").mkdir()
    report = check_dataset(store.root)
    messages = [str(p) for p in report.problems]
    assert any("'joint_efforts' has non-finite values at frames [3]" in m for m in messages)
    assert any(m.startswith("error: ") and m.endswith("stray: not an episode (foreign entry in episodes/)")
               for m in messages)
