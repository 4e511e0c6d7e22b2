"""Window sampler: diffusion_policy's edge padding, subsetting, lazy and in-memory images agree."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_episodes import record_synthetic

from dexsim.data import DatasetStore, Recorder, WindowConfig, WindowDataset
from dexsim.data.windows import window_starts


def _reference_windows(length: int, horizon: int, pad_before: int, pad_after: int) -> list[list[int]]:
    """diffusion_policy's create_indices + sample_sequence, restated: buffer slice then edge fill."""
    windows = []
    for idx in range(-pad_before, length - horizon + pad_after + 1):
        buffer_start, buffer_end = max(idx, 0), min(idx + horizon, length)
        sample_start, sample_end = buffer_start - idx, horizon - ((idx + horizon) - buffer_end)
        frames = [0] * horizon
        frames[sample_start:sample_end] = range(buffer_start, buffer_end)
        frames[:sample_start] = [buffer_start] * sample_start
        frames[sample_end:] = [buffer_end - 1] * (horizon - sample_end)
        windows.append(frames)
    return windows


@pytest.fixture
def dataset(store: DatasetStore, recorder: Recorder) -> DatasetStore:
    for seed, length in enumerate((12, 5, 20)):
        record_synthetic(recorder, length, seed)
    return store


def test_edge_padding_matches_diffusion_policy(dataset: DatasetStore) -> None:
    config = WindowConfig(horizon=8, n_obs_steps=3, n_action_steps=4)
    windows = WindowDataset(dataset, config, episode_ids=[0])
    actions = dataset.episode(0).read("action")
    positions = dataset.episode(0).read("joint_positions")
    top = dataset.episode(0).read("top_image")
    reference = _reference_windows(12, 8, pad_before=2, pad_after=3)
    assert len(windows) == len(reference) == 12 - 8 + 2 + 3 + 1
    for i, frames in enumerate(reference):
        sample = windows[i]
        np.testing.assert_array_equal(sample["action"], actions[frames])
        np.testing.assert_array_equal(sample["joint_positions"], positions[frames[:3]])
        np.testing.assert_array_equal(sample["top_image"], top[frames[:3]])
    first, last = windows[0], windows[len(windows) - 1]
    np.testing.assert_array_equal(first["joint_positions"][:2], positions[[0, 0]])  # repeated first frame
    np.testing.assert_array_equal(last["action"][-3:], actions[[11, 11, 11]])  # repeated last frame
    assert windows.window(0) == (0, -2)


def test_short_episodes_subsets_and_shapes(dataset: DatasetStore) -> None:
    config = WindowConfig(horizon=16, n_obs_steps=2, n_action_steps=8, obs_keys=("joint_efforts", "wrist_image"))
    windows = WindowDataset(dataset, config)
    # episode of 5 frames: starts -1 .. 5 - 16 + 7 = -4 -> none; 12 frames: -1..3; 20 frames: -1..11
    assert len(window_starts(5, config)) == 0
    assert len(windows) == 5 + 13
    assert {windows.window(i)[0] for i in range(len(windows))} == {0, 2}
    batch = windows.batch([0, 7, 17])
    assert batch["joint_efforts"].shape == (3, 2, 16) and batch["wrist_image"].shape == (3, 2, 32, 32, 3)
    assert batch["action"].shape == (3, 16, 16) and "top_image" not in batch
    subset = WindowDataset(dataset, config, episode_ids=[2])
    assert len(subset) == 13
    np.testing.assert_array_equal(subset[0]["action"], windows[5]["action"])
    with pytest.raises(KeyError, match=r"no episodes \[9\]"):
        WindowDataset(dataset, config, episode_ids=[9])
    with pytest.raises(IndexError):
        subset[13]


def test_lazy_and_memory_images_agree(dataset: DatasetStore) -> None:
    lazy = WindowDataset(dataset, images="lazy")
    memory = WindowDataset(dataset, images="memory")
    for i in range(0, len(lazy), 3):
        a, b = lazy[i], memory[i]
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="n_obs_steps"):
        WindowConfig(horizon=4, n_obs_steps=5)
    with pytest.raises(ValueError, match="action_key"):
        WindowConfig(action_key="top_image")
    assert WindowConfig(action_key="joint_target").pad_after == 7
