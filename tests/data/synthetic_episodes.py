"""Synthetic episodes with the contract's shapes, for testing the store itself (no physics needed)."""

from __future__ import annotations

from typing import Any

import numpy as np

from dexsim.data import EpisodeMetadata, Recorder
from dexsim.interface import CAMERA_OBS_KEYS, OBS_JOINT_EFFORTS, OBS_JOINT_POSITIONS, ControlConfig

SMALL_CONFIG = ControlConfig(image_size=32, control_hz=20.0)


def synthetic_observation(rng: np.random.Generator, config: ControlConfig, frame: int) -> dict[str, Any]:
    """An observation of the right shapes: smooth joint values, images with a moving square on noise."""
    obs: dict[str, Any] = {
        OBS_JOINT_POSITIONS: (0.3 * np.sin(0.1 * frame + np.arange(16)) + rng.normal(0, 0.01, 16)).astype(np.float32),
        OBS_JOINT_EFFORTS: rng.uniform(-0.2, 0.2, 16).astype(np.float32),
    }
    size = config.image_size
    for camera in config.cameras:
        image = rng.integers(0, 40, (size, size, 3), dtype=np.uint8)
        x = frame % (size - 4)
        image[4:12, x : x + 4] = (200, 50 + frame % 200, 30)
        obs[CAMERA_OBS_KEYS[camera]] = image
    return obs


def record_synthetic(
    recorder: Recorder, length: int, seed: int, **metadata: Any
) -> tuple[int, list[dict[str, Any]], list[np.ndarray]]:
    """Record one synthetic episode; returns (episode id, observations, actions)."""
    rng = np.random.default_rng(seed)
    recorder.start(EpisodeMetadata(seed=seed, operator="test", **metadata))
    observations, actions = [], []
    for frame in range(length):
        obs = synthetic_observation(rng, recorder.config, frame)
        action = rng.uniform(-0.1, 0.1, 16).astype(np.float32)
        recorder.add(obs, action, time=frame / recorder.config.control_hz, lid_angle=0.01 * frame)
        observations.append(obs)
        actions.append(action)
    episode_id = recorder.stop(success=seed % 2 == 0, termination_reason="success" if seed % 2 == 0 else "time_limit")
    return episode_id, observations, actions
