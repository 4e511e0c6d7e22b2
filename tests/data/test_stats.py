"""Normalisation statistics agree with numpy over the selected episodes."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_episodes import record_synthetic

from dexsim.data import DatasetStore, Recorder, compute_image_stats, compute_stats


def test_low_dim_stats_over_a_subset(store: DatasetStore, recorder: Recorder) -> None:
    for seed, length in enumerate((10, 15, 7)):
        record_synthetic(recorder, length, seed)
    stats = compute_stats(store, episode_ids=[0, 2])
    data = np.concatenate([store.episode(i).read("joint_efforts") for i in (0, 2)]).astype(np.float64)
    s = stats["joint_efforts"]
    assert s.count == 17
    np.testing.assert_allclose(s.mean, data.mean(0))
    np.testing.assert_allclose(s.std, data.std(0))
    np.testing.assert_array_equal(s.min, data.min(0))
    np.testing.assert_array_equal(s.max, data.max(0))
    np.testing.assert_allclose(s.quantiles["q50"], np.median(data, 0))
    assert set(stats) == {"joint_positions", "joint_efforts", "action", "joint_target"}
    assert set(s.to_json()) == {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"}


def test_image_stats_per_channel(store: DatasetStore, recorder: Recorder) -> None:
    record_synthetic(recorder, 10, 0)
    stats = compute_image_stats(store, "top_image", frames_per_episode=100)
    images = store.episode(0).read("top_image").reshape(-1, 3) / 255.0
    assert stats.mean.shape == (3, 1, 1) and stats.count == 10
    np.testing.assert_allclose(stats.mean.ravel(), images.mean(0), rtol=1e-6)
    with pytest.raises(ValueError, match="compute_image_stats"):
        compute_stats(store, keys=("top_image",))
