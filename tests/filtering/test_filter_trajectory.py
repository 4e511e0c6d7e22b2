"""Low-dimensional window descriptors and the action-jerk baseline (dexsim.filtering.trajectory)."""

from __future__ import annotations

import numpy as np

from dexsim.data.schema import KEY_ACTION, KEY_JOINT_TARGET
from dexsim.filtering.trajectory import action_jerk, window_descriptors
from dexsim.interface import OBS_JOINT_EFFORTS, OBS_JOINT_POSITIONS


def _trajectory(length: int, noise: float = 0.0, seed: int = 0) -> dict[str, np.ndarray]:
    t = np.arange(length)[:, None] / 20.0
    q = 0.3 * np.sin(2 * np.pi * 0.5 * t + np.arange(16)) + np.random.default_rng(seed).normal(0, noise, (length, 16))
    return {OBS_JOINT_POSITIONS: q, OBS_JOINT_EFFORTS: 0.1 * q, KEY_ACTION: np.gradient(q, axis=0),
            KEY_JOINT_TARGET: q}


def test_window_descriptors_sample_every_stride_and_carry_no_length():
    frames, short = window_descriptors(_trajectory(80), stride=10, window=20, control_hz=20.0)
    assert frames.tolist() == list(range(0, 80, 10)) and short.shape == (8, 80)
    _, long = window_descriptors(_trajectory(160), stride=10, window=20, control_hz=20.0)
    # the same periodic motion (period 40 frames) one period later, in an episode twice as long: same descriptors
    np.testing.assert_allclose(long[6:10], short[2:6], atol=1e-9)


def test_jitter_raises_the_jerk_features_and_the_baseline():
    _, calm = window_descriptors(_trajectory(100), stride=10, window=20, control_hz=20.0)
    _, shaky = window_descriptors(_trajectory(100, noise=0.02), stride=10, window=20, control_hz=20.0)
    assert shaky[:, 64:].mean() > calm[:, 64:].mean() + 1.0
    assert action_jerk(_trajectory(100, noise=0.02), 20.0) > 10 * action_jerk(_trajectory(100), 20.0)
    assert action_jerk(_trajectory(3), 20.0) == 0.0
