"""``AllegroUnscrew-sim``: Gymnasium compliance, determinism, input validation, cameras."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import dexsim  # noqa: F401
from dexsim.interface import INFO_KEYS, OBS_JOINT_EFFORTS, OBS_JOINT_POSITIONS, OBS_TOP_IMAGE, OBS_WRIST_IMAGE
from dexsim.sim.config import SimConfig
from dexsim.sim.env import NoDisplayError


@pytest.fixture(scope="module")
def env():
    environment = gym.make("AllegroUnscrew-sim", image_size=64)
    yield environment
    environment.close()


def test_check_env_passes_on_a_made_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Through gym.make (with a spec, so check_env also makes the env in each declared render mode), headless."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    environment = gym.make("AllegroUnscrew-sim", image_size=48, render_size=48)
    assert environment.spec is not None and environment.metadata["render_modes"] == ["rgb_array"]
    try:
        check_env(environment)
    finally:
        environment.close()
    rgb = gym.make("AllegroUnscrew-sim", image_size=48, render_size=48, render_mode="rgb_array")
    try:
        check_env(rgb.unwrapped)
    finally:
        rgb.close()


def test_human_rendering_without_a_display_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """MuJoCo's viewer ends the process when GLFW cannot start; the env raises a catchable error instead."""
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(NoDisplayError, match="needs a display"):
        gym.make("AllegroUnscrew-sim", cameras=(), render_mode="human")
    monkeypatch.setenv("DISPLAY", ":97")  # set, but no X server behind it: GLFW fails when the viewer opens
    environment = gym.make("AllegroUnscrew-sim", cameras=(), render_mode="human")
    try:
        with pytest.raises(NoDisplayError, match="GLFW could not open a window"):
            environment.reset(seed=0)
    finally:
        environment.close()


def test_observation_matches_the_contract(env) -> None:
    obs, info = env.reset(seed=0)
    assert set(obs) == {OBS_JOINT_POSITIONS, OBS_JOINT_EFFORTS, OBS_TOP_IMAGE, OBS_WRIST_IMAGE}
    assert obs[OBS_TOP_IMAGE].shape == (64, 64, 3) and obs[OBS_TOP_IMAGE].dtype == np.uint8
    assert obs[OBS_WRIST_IMAGE].std() > 5  # a real picture, not a blank frame
    assert env.observation_space.contains(obs)
    assert set(INFO_KEYS) <= set(info) and "scene_params" in info


def test_deterministic_under_seed(env) -> None:
    actions = np.random.default_rng(0).uniform(-0.3, 0.3, size=(15, 16)).astype(np.float32)

    def rollout():
        obs, _ = env.reset(seed=42)
        trace = [obs[OBS_JOINT_POSITIONS]]
        for a in actions:
            obs, *_ = env.step(a)
            trace.append(obs[OBS_JOINT_POSITIONS])
        return np.array(trace), obs[OBS_TOP_IMAGE]

    (q1, img1), (q2, img2) = rollout(), rollout()
    np.testing.assert_array_equal(q1, q2)
    np.testing.assert_array_equal(img1, img2)


def test_action_is_clipped_to_bound_and_limits(env) -> None:
    obs, _ = env.reset(seed=1)
    q = obs[OBS_JOINT_POSITIONS].astype(np.float64)
    _, _, _, _, info = env.step(np.full(16, 5.0, dtype=np.float32))
    targets = info["joint_targets"]
    bound = env.unwrapped.config.max_joint_delta
    assert np.all(targets <= q + bound + 1e-6)
    assert np.all(targets <= dexsim.hand.upper_limits() + 1e-12)


@pytest.mark.parametrize("bad", [np.zeros(15), np.zeros((2, 16)), np.full(16, np.nan), np.r_[np.zeros(15), np.inf],
                                 "sixteen"])
def test_bad_actions_raise_value_error(env, bad) -> None:
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action"):
        env.step(bad)


def test_state_only_config_and_time_limit() -> None:
    environment = gym.make("AllegroUnscrew-sim", cameras=(), time_limit_s=0.5)
    obs, _ = environment.reset(seed=0)
    assert set(obs) == {OBS_JOINT_POSITIONS, OBS_JOINT_EFFORTS}
    steps = 0
    terminated = truncated = False
    while not (terminated or truncated) and steps < 100:
        obs, reward, terminated, truncated, info = environment.step(np.zeros(16, dtype=np.float32))
        steps += 1
    assert truncated and not terminated and steps == 10
    assert info["termination_reason"] == "time_limit"
    environment.close()


def test_rgb_array_render_shows_both_views() -> None:
    environment = gym.make("AllegroUnscrew-sim", cameras=(), render_mode="rgb_array", render_size=80)
    environment.reset(seed=0)
    frame = environment.render()
    assert frame.shape == (80, 160, 3) and frame.dtype == np.uint8
    environment.close()


@pytest.mark.parametrize("field,value", [("control_hz", 0.0), ("image_size", 4), ("cameras", ("side",)),
                                         ("physics_dt", 0.003), ("bottle_radius_m", (0.04, 0.03))])
def test_bad_config_raises(field, value) -> None:
    with pytest.raises(ValueError, match=field.split("_")[0]):
        SimConfig(**{field: value})


def _lid_past_the_release(environment, drop_bottle: bool) -> dict:
    """Put the lid just past its release angle (stuck there) and, optionally, the bottle out of the hand; step."""
    environment.reset(seed=0)
    sim = environment.unwrapped.simulation
    angle = sim.config.engaged_turns * 2 * np.pi + 0.01
    sim.data.qpos[sim._twist_qpos] = angle
    sim.data.qpos[sim._lift_qpos] = angle * sim.config.thread_pitch_m / (2 * np.pi)
    sim.thread.reset()
    if drop_bottle:
        sim.data.qpos[sim._bottle_qpos + 2] -= 0.2  # 20 cm below the palm
    *_, terminated, _, info = environment.step(np.zeros(16, dtype=np.float32))
    assert terminated and sim.lid_state().released
    return info


def test_release_in_hand_is_success_but_release_with_a_drop_is_not() -> None:
    environment = gym.make("AllegroUnscrew-sim", cameras=())
    info = _lid_past_the_release(environment, drop_bottle=False)
    assert info["success"] and info["termination_reason"] == "success"
    info = _lid_past_the_release(environment, drop_bottle=True)
    assert not info["success"] and info["bottle_dropped"] and info["termination_reason"] == "bottle_dropped"
    environment.close()
