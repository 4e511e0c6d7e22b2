"""``reset()`` brings the hand home no faster than ``home_speed`` (checked on the command topic)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from dexsim.hand import home_pose
from dexsim.interface import OBS_JOINT_POSITIONS, ControlConfig
from dexsim.real.config import load_hardware_config
from dexsim.real.env import AllegroUnscrewRealEnv
from dexsim.real.transport import QosSpec, open_transport
from dexsim.real.wire import read_command

from .twin_process import twin_process

pytest.importorskip("cyclonedds")


def test_reset_moves_home_at_the_configured_speed(domain_id: int) -> None:
    # The twin does not hear this env's episode announcements, so it keeps the flexed pose across the reset.
    hardware = load_hardware_config(None, domain_id=domain_id, transport="cyclonedds", wait_for_ready=False,
                                    ready_timeout_s=30.0, episode_topic="/dexsim/unheard_episode", home_speed=1.0)
    flex = np.zeros(16, np.float32)
    flex[[1, 5, 9]] = 0.3  # index_1, middle_1, ring_1 towards flexion
    commands: list[tuple[float, np.ndarray]] = []
    with twin_process(domain_id), open_transport("cyclonedds", domain_id) as listener:
        listener.subscribe(hardware.command_topic, hardware.command_type, QosSpec(depth=100),
                           lambda m: commands.append((time.monotonic(), read_command(m, hardware))))
        env = AllegroUnscrewRealEnv(ControlConfig(cameras=()), hardware)
        try:
            env.reset()
            for _ in range(15):
                obs, *_ = env.step(flex)
            flexed = obs[OBS_JOINT_POSITIONS].astype(np.float64)
            distance = float(np.max(np.abs(flexed - home_pose())))
            assert distance > 0.3, flexed
            start = time.monotonic()
            obs, _ = env.reset()
            took = time.monotonic() - start
        finally:
            env.close()

    np.testing.assert_allclose(obs[OBS_JOINT_POSITIONS], home_pose(), atol=hardware.home_tolerance + 0.01)
    # the setpoint had to travel `distance` at <= 1 rad/s; allow the last tolerance band to be crossed by the hand
    assert took >= (distance - hardware.home_tolerance) / hardware.home_speed - 0.05, (took, distance)
    homing = [(t, c) for t, c in commands if start <= t <= start + took]
    assert len(homing) > 10
    times = np.array([t for t, _ in homing])
    setpoints = np.array([c for _, c in homing])
    # over any stretch of >= 0.1 s (arrival times jitter), no joint's setpoint moved faster than home_speed
    for i in range(len(times)):
        later = times - times[i] >= 0.1
        if later.any():
            j = int(np.argmax(later))
            speed = np.max(np.abs(setpoints[j] - setpoints[i])) / (times[j] - times[i])
            assert speed <= hardware.home_speed * 1.2 + 0.05, (speed, times[j] - times[i])
