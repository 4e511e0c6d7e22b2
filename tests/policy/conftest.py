"""Fixtures of the policy tests: small recorded datasets whose joint targets follow from the observations, and
tiny policy configs that train in seconds on two cores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dexsim.data import DatasetStore, EpisodeMetadata, FrameSchema, Recorder
from dexsim.hand import lower_limits, upper_limits
from dexsim.interface import CAMERA_OBS_KEYS, OBS_JOINT_EFFORTS, OBS_JOINT_POSITIONS, ControlConfig
from dexsim.policy.configuration import PolicyConfig

torch.set_num_threads(1)

IMAGE_SIZE = 32


def record_smooth_dataset(root: Path, episodes: int, length: int, cameras: tuple[str, ...] = ("top", "wrist"),
                          image_size: int = IMAGE_SIZE) -> DatasetStore:
    """Episodes of sinusoidal joint motion inside the joint limits: the joint target of frame t is the measured
    position of frame t + 3, so a chunk of targets is a function of the last two observed frames (learnable);
    images show a square moving with the phase."""
    config = ControlConfig(image_size=image_size, cameras=cameras)
    store = DatasetStore.create(root, FrameSchema.from_config(config))
    recorder = Recorder(store, config)
    joints = np.arange(16)
    middle, span = (lower_limits() + upper_limits()) / 2, upper_limits() - lower_limits()
    for episode in range(episodes):
        phase = 0.7 * episode
        positions = [middle + 0.3 * span * np.sin(0.15 * t + phase + 0.3 * joints) for t in range(length + 3)]
        recorder.start(EpisodeMetadata(seed=episode, operator="test"))
        for t in range(length):
            q = positions[t].astype(np.float32)
            obs = {OBS_JOINT_POSITIONS: q, OBS_JOINT_EFFORTS: (0.1 * np.cos(0.15 * t + phase + 0.3 * joints)
                                                              ).astype(np.float32)}
            for camera in cameras:
                image = np.full((image_size, image_size, 3), 30, np.uint8)
                x = int((np.sin(0.15 * t + phase) + 1) / 2 * (image_size - 6))
                image[8:14, x : x + 6] = (220, 120, 40)
                obs[CAMERA_OBS_KEYS[camera]] = image
            target = positions[t + 3]
            recorder.add(obs, (target - q).astype(np.float32), joint_target=target.astype(np.float32), time=t / 20)
        recorder.stop(success=True, termination_reason="success")
    return store


def tiny_config(cameras: tuple[str, ...] = ("top", "wrist"), **sections: dict) -> PolicyConfig:
    """A policy small enough to train a few hundred steps in seconds."""
    data = {
        "policy": {"name": "tiny"},
        "inputs": {"cameras": list(cameras)},
        "horizon": {"n_obs_steps": 2, "horizon": 8, "n_action_steps": 4},
        "model": {"encoder": "conv", "image_size": IMAGE_SIZE, "conv_channels": [8, 8], "keypoints": 4,
                  "image_feature_dim": 8, "down_dims": [32, 64], "kernel_size": 3, "step_embed_dim": 16},
        "diffusion": {"train_steps": 50, "inference_steps": 8},
        "train": {"batch_size": 16, "warmup_steps": 10, "max_steps": 40, "checkpoint_every": 10, "log_every": 5,
                  "val_windows": 32, "threads": 1},
    }
    for section, values in sections.items():
        data.setdefault(section, {}).update(values)
    return PolicyConfig.from_dict(data, "tiny config")


@pytest.fixture(scope="session")
def smooth_dataset(tmp_path_factory: pytest.TempPathFactory) -> DatasetStore:
    """Four episodes of 40 frames with both cameras at 32 px."""
    return record_smooth_dataset(tmp_path_factory.mktemp("policy") / "smooth", episodes=4, length=40)
