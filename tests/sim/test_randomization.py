"""The randomisation section of SimConfig: presets, and every knob changes what it says, seeded bit for bit."""

import math

import gymnasium as gym
import mujoco
import numpy as np
import pytest

import dexsim  # noqa: F401
from dexsim.hand import home_pose, kd_gains, kp_gains
from dexsim.interface import OBS_JOINT_EFFORTS, OBS_JOINT_POSITIONS
from dexsim.sim.config import PRESETS, SimConfig, sim_config
from dexsim.sim.env import AllegroUnscrewSimEnv
from dexsim.sim.randomization import sample_scene_params
from dexsim.sim.scene import bottle_name


def _env(**overrides) -> AllegroUnscrewSimEnv:
    return AllegroUnscrewSimEnv(config=SimConfig(cameras=(), **overrides))


def _bottle_axis_in_hand(env: AllegroUnscrewSimEnv) -> np.ndarray:
    sim = env.simulation
    axis_world = sim.data.xmat[sim._bottle_body].reshape(3, 3)[:, 2]
    return sim._world_from_hand.T @ axis_world


def test_presets_and_overrides() -> None:
    assert set(PRESETS) == {"nominal", "train", "eval"}
    assert sim_config() == SimConfig()
    train = sim_config("train", image_size=64)
    assert train.image_size == 64 and train.placement_y_m == (-0.02, 0.02) and train.latency_steps == (0, 2)
    assert train.thread_friction_nm[1] == pytest.approx(0.06)
    with pytest.raises(ValueError, match="unknown sim preset 'wild'"):
        sim_config("wild")
    with pytest.raises(ValueError, match="no_such_knob"):
        sim_config("train", no_such_knob=1)
    env = gym.make("AllegroUnscrew-sim", preset="eval", cameras=(), latency_steps=(2, 2))
    assert env.unwrapped.config.latency_steps == (2, 2)
    assert env.unwrapped.config.bottle_yaw_deg == PRESETS["eval"]["bottle_yaw_deg"]
    env.close()
    with pytest.raises(ValueError, match="latency_steps"):
        SimConfig(latency_steps=(0.5, 1))


def test_samples_cover_each_range_of_the_train_preset() -> None:
    config = sim_config("train")
    rng = np.random.default_rng(0)
    draws = [sample_scene_params(config, rng) for _ in range(300)]
    for field, attribute in (("placement_y_m", "placement_y"), ("placement_z_m", "placement_z"),
                             ("bottle_yaw_deg", "bottle_yaw"), ("thread_friction_nm", "thread_friction"),
                             ("contact_friction_scale", "contact_friction_scale"),
                             ("bottle_mass_kg", "bottle_mass"), ("lid_mass_kg", "lid_mass")):
        low, high = getattr(config, field)
        values = np.array([getattr(d, attribute) for d in draws])
        assert values.min() >= low and values.max() <= high, field
        assert values.min() < low + 0.1 * (high - low) and values.max() > high - 0.1 * (high - low), field
    gains = np.array([d.pd_gain_scale for d in draws])
    assert gains.min() >= 0.8 and gains.max() <= 1.2 and gains.std(axis=0).min() > 0.05  # per joint
    assert {d.latency_steps for d in draws} == {0, 1, 2}


def test_placement_and_yaw_move_the_bottle() -> None:
    """As placed (no settling), and still after the bottle has settled in the fingers' cradle."""
    for settle_s in (0.0, 0.3):
        knobs = ({}, {"placement_y_m": (0.015, 0.015)}, {"bottle_yaw_deg": (10.0, 10.0)},
                 {"bottle_yaw_deg": (-10.0, -10.0)})
        base, moved, turned, back = (_env(settle_s=settle_s, **knob) for knob in knobs)
        for env in (base, moved, turned, back):
            env.reset(seed=4)
        offset = moved.simulation.bottle_position_in_hand() - base.simulation.bottle_position_in_hand()
        assert offset[1] == pytest.approx(0.015 - base.simulation.scene_params.placement_y, abs=0.003)
        yaws = [math.degrees(math.atan2(a[2], a[1])) for a in map(_bottle_axis_in_hand, (back, base, turned))]
        if settle_s == 0:
            np.testing.assert_allclose(yaws, [-10.0, 0.0, 10.0], atol=1e-6)
        else:
            assert yaws[0] < yaws[1] - 4 < yaws[2] - 8


def test_friction_mass_gain_and_thread_knobs_are_written_into_the_model() -> None:
    env = _env(contact_friction_scale=(0.5, 0.5), bottle_mass_kg=(0.2, 0.2), lid_mass_kg=(0.015, 0.015),
               pd_gain_scale=(0.7, 0.7), thread_friction_nm=(0.05, 0.05))
    nominal = _env()
    env.reset(seed=1)
    nominal.reset(seed=1)
    sim, m = env.simulation, env.simulation.model
    lid = m.geom(bottle_name("lid")).id
    assert m.geom_friction[lid, 0] == pytest.approx(0.5 * nominal.simulation.model.geom_friction[lid, 0])
    floor = m.geom("floor").id
    assert m.geom_friction[floor, 0] == nominal.simulation.model.geom_friction[floor, 0]
    assert m.body_mass[sim._bottle_body] == pytest.approx(0.2)
    assert m.body_mass[sim._lid_body] == pytest.approx(0.015)
    np.testing.assert_allclose(m.actuator_gainprm[sim._actuators, 0], 0.7 * kp_gains())
    np.testing.assert_allclose(m.actuator_biasprm[sim._actuators, 2], -0.7 * kd_gains())
    assert sim.thread.static_friction_nm == pytest.approx(0.05)
    # ... and they act: the PD loops command 0.7x the torque for the same state and error.
    for s in (sim, nominal.simulation):
        s.data.qpos[s._hand_qpos] = home_pose()
        s.data.qvel[:] = 0.0
        s.set_joint_targets(home_pose() + 0.05)
        mujoco.mj_forward(s.model, s.data)
    np.testing.assert_allclose(sim.joint_efforts(), 0.7 * nominal.simulation.joint_efforts(), rtol=1e-9)


def test_latency_delays_targets_by_whole_control_steps() -> None:
    for latency in (0, 1, 2):
        env = _env(latency_steps=(latency, latency))
        obs, _ = env.reset(seed=0)
        home = env.simulation.joint_targets()
        applied = []
        for k in range(4):
            action = np.zeros(16, dtype=np.float32)
            if k == 0:
                action[5] = 0.5
            obs, *_ = env.step(action)
            applied.append(env.simulation.joint_targets()[5] - home[5])
        moved = [abs(a) > 0.3 for a in applied]
        assert moved.index(True) == latency, (latency, applied)


def test_observation_noise_has_the_configured_spread() -> None:
    env = _env(joint_position_noise_rad=0.01, joint_effort_noise_nm=0.02)
    quiet = _env()
    obs, _ = env.reset(seed=2)
    position_error, effort_error = [], []
    for _ in range(30):
        obs, *_ = env.step(np.zeros(16, dtype=np.float32))
        position_error.append(obs[OBS_JOINT_POSITIONS] - env.simulation.joint_positions())
        effort_error.append(obs[OBS_JOINT_EFFORTS] - env.simulation.joint_efforts())
    assert np.std(position_error) == pytest.approx(0.01, rel=0.25)
    assert np.std(effort_error) == pytest.approx(0.02, rel=0.35)  # a little lower: clipped at the torque limits
    obs, _ = quiet.reset(seed=2)
    np.testing.assert_array_equal(obs[OBS_JOINT_POSITIONS], quiet.simulation.joint_positions().astype(np.float32))


def test_train_preset_is_seeded_bit_for_bit() -> None:
    actions = np.random.default_rng(0).uniform(-0.3, 0.3, size=(12, 16)).astype(np.float32)

    def rollout(seed: int):
        env = gym.make("AllegroUnscrew-sim", preset="train", image_size=32)
        obs, info = env.reset(seed=seed)
        trace = [info["scene_params"]]
        for action in actions:
            obs, _, _, _, info = env.step(action)
            trace.append((obs[OBS_JOINT_POSITIONS].tobytes(), obs[OBS_JOINT_EFFORTS].tobytes(),
                          obs["top_image"].tobytes(), obs["wrist_image"].tobytes(), info["lid_angle"]))
        env.close()
        return trace

    first, again, other = rollout(7), rollout(7), rollout(8)
    assert first == again
    assert first[0] != other[0] and first[1:] != other[1:]
