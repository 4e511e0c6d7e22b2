"""A camera that falls behind its bound ends the episode even while joint states keep coming."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dexsim.interface import INFO_TERMINATION_REASON, ControlConfig
from dexsim.real.config import load_hardware_config
from dexsim.real.env import INFO_IMAGE_AGES, INFO_STATE_AGE, INFO_TERMINATION_DETAIL, AllegroUnscrewRealEnv

from .twin_process import twin_process

pytest.importorskip("cyclonedds")


def test_a_slow_camera_ends_the_episode_with_its_own_reason(domain_id: int) -> None:
    hardware = load_hardware_config(None, domain_id=domain_id, transport="cyclonedds", ready_timeout_s=30.0)
    bound = hardware.cameras["top"].timeout_s
    # frames every 0.5 s against a 0.3 s bound; joint states still at 100 Hz
    with twin_process(domain_id, "--camera-hz", "2", "--image-size", "32"):
        env = AllegroUnscrewRealEnv(ControlConfig(cameras=("top",), image_size=32), hardware)
        try:
            env.reset()
            started = time.monotonic()
            terminated, steps = False, 0
            while not terminated:
                _, _, terminated, truncated, info = env.step(np.zeros(16, np.float32))
                steps += 1
                assert not truncated and time.monotonic() - started < 3.0
        finally:
            env.close()
    assert info[INFO_TERMINATION_REASON] == "stale_top_image", info[INFO_TERMINATION_DETAIL]
    assert "/top_camera/image_raw" in info[INFO_TERMINATION_DETAIL]
    assert bound <= info[INFO_IMAGE_AGES]["top"] < bound + 0.1  # it waited out the bound, no longer
    assert info[INFO_STATE_AGE] < hardware.state_timeout_s  # the joint states were fine
    assert steps <= 12  # within the first frame gaps (~10 steps at 20 Hz per 0.5 s frame period)
