"""AllegroUnscrew-real against the twin served in a separate process over real DDS on loopback."""

from __future__ import annotations

import subprocess
import sys
import time

import gymnasium as gym
import numpy as np
import pytest

import dexsim  # noqa: F401  (registers the envs)
from dexsim.hand import home_pose, lower_limits, upper_limits
from dexsim.interface import (
    INFO_JOINT_TARGETS,
    INFO_KEYS,
    INFO_LID_ANGLE,
    INFO_SUCCESS,
    INFO_TERMINATION_REASON,
    OBS_JOINT_EFFORTS,
    OBS_JOINT_POSITIONS,
    OBS_TOP_IMAGE,
    ControlConfig,
    make_action_space,
    make_observation_space,
)
from dexsim.real.config import HardwareConfig, load_hardware_config
from dexsim.real.env import INFO_TERMINATION_DETAIL, AllegroUnscrewRealEnv
from dexsim.real.safety import INFO_SAFETY_EVENTS, SafetyConfig
from dexsim.real.transport import QosSpec, open_transport
from dexsim.sim.expert import UnscrewExpert

from .twin_process import next_domain_id, twin_process

pytest.importorskip("cyclonedds")


def _hardware(domain_id: int, profile: str | None = None, **changes: object) -> HardwareConfig:
    changes = {"ready_timeout_s": 30.0, **changes}
    return load_hardware_config(profile, domain_id=domain_id, transport="cyclonedds", **changes)


@pytest.fixture(scope="module")
def twin_domain() -> object:
    """One twin for the tests that leave it running (its startup costs seconds)."""
    domain = next_domain_id()
    with twin_process(domain) as process:
        yield domain, process


def test_episodes_complete_with_the_contract(twin_domain: tuple[int, subprocess.Popen[str]]) -> None:
    domain, _ = twin_domain
    config = ControlConfig(time_limit_s=0.5)
    hardware = _hardware(domain)
    announced: list[str] = []
    listener = open_transport("cyclonedds", domain)
    listener.subscribe(hardware.episode_topic, "std_msgs/String", QosSpec(), lambda m: announced.append(m.data))
    env = gym.make("AllegroUnscrew-real", config=config, hardware=hardware)
    try:
        assert env.observation_space == make_observation_space(config)
        assert env.action_space == make_action_space(config)
        for episode in range(2):
            obs, info = env.reset(seed=episode)
            assert set(INFO_KEYS) <= set(info)
            np.testing.assert_allclose(obs[OBS_JOINT_POSITIONS], home_pose(), atol=0.06)
            steps, truncated, terminated = 0, False, False
            while not (terminated or truncated):
                obs, reward, terminated, truncated, info = env.step(np.zeros(16, np.float32))
                assert env.observation_space.contains(obs), {k: v.dtype for k, v in obs.items()}
                steps += 1
            assert truncated and not terminated
            assert steps == config.max_episode_steps
            assert info[INFO_TERMINATION_REASON] == "time_limit"
            assert np.isnan(info[INFO_LID_ANGLE]) and info[INFO_SUCCESS] is False
            assert obs["top_image"].std() > 1.0  # a rendered scene, not a blank frame
            episode_id = env.unwrapped.episode_id
            deadline = time.monotonic() + 2.0
            while f"end {episode_id} time_limit" not in announced and time.monotonic() < deadline:
                time.sleep(0.02)
            assert f"reset {episode_id} {episode}" in announced and f"end {episode_id} time_limit" in announced
    finally:
        env.close()
        listener.close()


def test_expert_unscrews_the_lid_in_the_twin_over_dds(twin_domain: tuple[int, subprocess.Popen[str]]) -> None:
    domain, _ = twin_domain
    env = AllegroUnscrewRealEnv(ControlConfig(cameras=(), time_limit_s=20.0), _hardware(domain))
    try:
        expert = UnscrewExpert(env)  # no `simulation` on the real env: the expert senses by proprioception
        obs, info = env.reset(seed=1)
        expert.reset(1)
        terminated = truncated = False
        while not (terminated or truncated):
            obs, reward, terminated, truncated, info = env.step(expert.act(obs, info))
        assert info[INFO_TERMINATION_REASON] == "success", info
        assert info[INFO_SUCCESS] and reward == 1.0
    finally:
        env.close()


def test_unsafe_actions_are_clamped_or_rejected(twin_domain: tuple[int, subprocess.Popen[str]]) -> None:
    domain, _ = twin_domain
    config = ControlConfig(cameras=(), max_joint_delta=3.0)
    env = AllegroUnscrewRealEnv(config, _hardware(domain, safety=SafetyConfig(max_step_delta=0.3)))
    try:
        obs, _ = env.reset()
        q = obs[OBS_JOINT_POSITIONS].astype(np.float64)
        obs, _, terminated, _, info = env.step(np.full(16, 3.0, np.float32))
        targets = info[INFO_JOINT_TARGETS]
        assert np.all(targets <= upper_limits()) and np.all(targets >= lower_limits())
        assert np.all(targets - q <= 0.3 + 1e-6)
        assert {"joint_limit_clamped", "step_delta_clamped"} <= set(info[INFO_SAFETY_EVENTS])
        with pytest.raises(ValueError, match="non-finite"):
            env.step(np.full(16, np.nan, np.float32))
        assert not terminated
    finally:
        env.close()
    hold = _hardware(domain, safety=SafetyConfig(non_finite="hold"))
    env = AllegroUnscrewRealEnv(ControlConfig(cameras=()), hold)
    try:
        env.reset()
        action = np.zeros(16, np.float32)
        action[3] = np.inf
        _, _, terminated, _, info = env.step(action)
        assert not terminated and "non_finite_held" in info[INFO_SAFETY_EVENTS]
        assert np.all(np.isfinite(info[INFO_JOINT_TARGETS]))
    finally:
        env.close()


def test_watchdog_holds_the_last_safe_target_when_commands_stop(
    twin_domain: tuple[int, subprocess.Popen[str]],
) -> None:
    domain, _ = twin_domain
    hardware = _hardware(domain, safety=SafetyConfig(max_velocity=1.0, watchdog_timeout_s=0.2))
    commands: list[tuple[float, np.ndarray]] = []
    with open_transport("cyclonedds", domain) as listener:  # an independent reader of the command topic
        listener.subscribe(hardware.command_topic, hardware.command_type, QosSpec(),
                           lambda m: commands.append((time.monotonic(), np.array(m.data))))
        env = AllegroUnscrewRealEnv(ControlConfig(cameras=()), hardware)
        try:
            obs, _ = env.reset()
            action = np.zeros(16, np.float32)
            action[5] = 0.8  # middle_1 towards flexion; the setpoint ramps at 1 rad/s
            env.step(action)
            stopped = time.monotonic()
            time.sleep(1.0)  # the "policy" stops sending
            later = [c for t, c in commands if t > stopped + 0.35]
            assert len(later) > 30, "the setpoint must keep streaming while holding"
            # middle_1 is ah_joint21, 10th in the driver's order: it moved, then froze short of the goal
            assert np.ptp(np.array(later)[:, 9]) < 1e-9
            assert 0.05 < later[-1][9] - obs[OBS_JOINT_POSITIONS][5] < 0.6
            _, _, terminated, _, info = env.step(np.zeros(16, np.float32))
            assert "watchdog_hold" in info[INFO_SAFETY_EVENTS]
        finally:
            env.close()


def test_operator_estop_ends_the_episode_and_holds(twin_domain: tuple[int, subprocess.Popen[str]]) -> None:
    domain, _ = twin_domain
    hardware = _hardware(domain)
    env = AllegroUnscrewRealEnv(ControlConfig(cameras=()), hardware)
    try:
        env.reset()
        result = subprocess.run(
            [sys.executable, "-m", "dexsim.cli", "operator", "estop", "--domain-id", str(domain),
             "--transport", "cyclonedds", "--discovery-s", "0.5"],
            capture_output=True, text=True, timeout=30,
        )
        assert result.returncode == 0, result.stderr
        terminated = False
        for _ in range(20):
            _, _, terminated, _, info = env.step(np.full(16, 0.1, np.float32))
            if terminated:
                break
        assert terminated and info[INFO_TERMINATION_REASON] == "estop"
        with pytest.raises(RuntimeError, match="estop"):
            env.step(np.zeros(16, np.float32))
    finally:
        env.close()


def test_killing_the_twin_ends_the_episode_within_the_freshness_bound(domain_id: int) -> None:
    hardware = _hardware(domain_id, "classic", state_timeout_s=0.2)  # also the classic JointState interface
    with twin_process(domain_id, "--hardware", "classic") as process:
        env = AllegroUnscrewRealEnv(ControlConfig(), hardware)
        try:
            env.reset()
            for _ in range(3):
                _, _, terminated, truncated, _ = env.step(np.zeros(16, np.float32))
                assert not (terminated or truncated)
            process.kill()
            process.wait(timeout=5)
            killed = time.monotonic()
            terminated = False
            while not terminated:
                _, _, terminated, _, info = env.step(np.zeros(16, np.float32))
                assert time.monotonic() - killed < 2.0
            assert time.monotonic() - killed <= hardware.state_timeout_s + ControlConfig().control_dt + 0.15
            reason, detail = info[INFO_TERMINATION_REASON], info[INFO_TERMINATION_DETAIL]
            assert reason in ("stale_joint_states", "stale_top_image", "stale_wrist_image"), reason
            topic = "/allegroHand_0/joint_states" if reason == "stale_joint_states" else "_camera/image_raw"
            assert topic in detail and "bound" in detail, detail
        finally:
            env.close()


def test_reset_without_a_hand_says_what_is_missing(domain_id: int) -> None:
    env = AllegroUnscrewRealEnv(ControlConfig(cameras=()), _hardware(domain_id, ready_timeout_s=0.6))
    try:
        with pytest.raises(TimeoutError, match="ready"):
            env.reset()
    finally:
        env.close()
    env = AllegroUnscrewRealEnv(
        ControlConfig(cameras=()), _hardware(domain_id, ready_timeout_s=0.6, wait_for_ready=False)
    )
    try:
        with pytest.raises(TimeoutError, match="/joint_states"):
            env.reset()
    finally:
        env.close()


_SIGINT_SCRIPT = """
import os, signal, sys, threading
import numpy as np
from dexsim.interface import ControlConfig
from dexsim.real.config import load_hardware_config
from dexsim.real.env import AllegroUnscrewRealEnv
hardware = load_hardware_config(domain_id=int(sys.argv[1]), transport="cyclonedds", ready_timeout_s=30.0)
env = AllegroUnscrewRealEnv(ControlConfig(cameras=()), hardware)
env.reset()
threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
steps = 0
while True:
    steps += 1
    _, _, terminated, truncated, info = env.step(np.full(16, 0.05, np.float32))
    if terminated or truncated:
        break
env.close()
print("ended", info["termination_reason"], steps, info["joint_targets"].round(4).tolist())
"""


def test_sigint_holds_and_ends_the_episode_cleanly(twin_domain: tuple[int, subprocess.Popen[str]]) -> None:
    domain, _ = twin_domain
    result = subprocess.run([sys.executable, "-c", _SIGINT_SCRIPT, str(domain)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    word, reason, steps, _ = result.stdout.split(" ", 3)
    assert (word, reason) == ("ended", "estop") and 3 <= int(steps) <= 12, result.stdout


def test_gym_make_takes_the_common_settings_directly(domain_id: int) -> None:
    """domain_id, the profile, the transport kind and ControlConfig fields go straight to gym.make."""
    pytest.importorskip("cyclonedds")
    env = gym.make("AllegroUnscrew-real", hardware="classic", domain_id=domain_id, transport="cyclonedds",
                   control_hz=10, cameras=["top"], wait_for_ready=False, handle_sigint=False)
    try:
        real = env.unwrapped
        assert isinstance(real, AllegroUnscrewRealEnv)
        assert real.hardware.domain_id == domain_id and real.hardware.transport == "cyclonedds"
        assert real.hardware.state_topic == load_hardware_config("classic").state_topic
        assert not real.hardware.wait_for_ready
        assert real.config.control_hz == 10 and real.config.cameras == ("top",)
        assert set(env.observation_space.spaces) == {OBS_JOINT_POSITIONS, OBS_JOINT_EFFORTS, OBS_TOP_IMAGE}
    finally:
        env.close()
    with pytest.raises(TypeError, match=r"unknown settings \['domain'\].*domain_id"):
        gym.make("AllegroUnscrew-real", domain=3)
    with pytest.raises(ValueError, match="domain_id must be in"):
        gym.make("AllegroUnscrew-real", domain_id=999)
