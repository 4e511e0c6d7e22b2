"""Recording demonstrations from AllegroUnscrew-real (against the twin over DDS) with the contract-only recorder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dexsim.data.recorder import Recorder, record_episode
from dexsim.data.schema import KEY_ACTION, KEY_JOINT_TARGET, KEY_LID_ANGLE
from dexsim.data.store import DatasetStore
from dexsim.hand import home_pose
from dexsim.interface import OBS_JOINT_POSITIONS, ControlConfig
from dexsim.real.config import load_hardware_config
from dexsim.real.env import AllegroUnscrewRealEnv

from .twin_process import twin_process

pytest.importorskip("cyclonedds")


def test_recorder_saves_an_episode_of_the_real_env(domain_id: int, tmp_path: Path) -> None:
    config = ControlConfig(time_limit_s=0.4, image_size=48)
    hardware = load_hardware_config(None, domain_id=domain_id, transport="cyclonedds", ready_timeout_s=30.0)
    closing = np.zeros(16, np.float32)
    closing[5] = 0.05  # middle_1 flexes a little every step

    with twin_process(domain_id, "--image-size", "48"):
        env = AllegroUnscrewRealEnv(config, hardware)
        try:
            recorder = Recorder.for_env(env, tmp_path / "demos")
            episode_id, info = record_episode(env, lambda obs, info: closing, recorder, seed=3)
        finally:
            env.close()

    assert info["termination_reason"] == "time_limit"
    episode = DatasetStore.open(tmp_path / "demos").episode(episode_id)
    assert episode.summary().length == config.max_episode_steps
    frames = episode.read_all()
    assert np.all(np.isnan(frames[KEY_LID_ANGLE]))  # the real lid is not sensed
    np.testing.assert_allclose(frames[KEY_ACTION], np.tile(closing, (config.max_episode_steps, 1)))
    np.testing.assert_allclose(frames[OBS_JOINT_POSITIONS][0], home_pose(), atol=0.06)
    # each frame's target is its measured position plus the action (the safety layer left it alone)
    np.testing.assert_allclose(frames[KEY_JOINT_TARGET][:, 5], frames[OBS_JOINT_POSITIONS][:, 5] + 0.05, atol=1e-5)
    assert frames["top_image"].shape == (config.max_episode_steps, 48, 48, 3)
    assert frames["top_image"].std() > 1.0 and frames["wrist_image"].std() > 1.0
