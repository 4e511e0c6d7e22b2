"""The safety layer, alone and wrapped around the twin."""

from __future__ import annotations

import numpy as np
import pytest

from dexsim.hand import home_pose, lower_limits, torque_limits, upper_limits
from dexsim.real.safety import INFO_SAFETY_EVENTS, SafetyConfig, SafetyLayer, SafetyWrapper, wanted_target

HOME = home_pose().copy()


def _layer(**changes: float | str) -> SafetyLayer:
    return SafetyLayer(SafetyConfig(**changes), HOME, now=0.0)


def test_targets_are_clamped_to_the_joint_limits_and_the_step_bound() -> None:
    layer = _layer(max_step_delta=0.2)
    goal = layer.request(HOME + 0.3, HOME, now=0.0)
    np.testing.assert_allclose(goal, np.minimum(HOME + 0.2, upper_limits()))
    assert layer.drain_events() == ["step_delta_clamped"]
    goal = layer.request(np.full(16, -9.0), lower_limits() + 0.01, now=0.0)
    np.testing.assert_allclose(goal, lower_limits())
    assert "joint_limit_clamped" in layer.drain_events()
    assert layer.drain_events() == []


def test_the_setpoint_moves_no_faster_than_the_velocity_cap() -> None:
    layer = _layer(max_velocity=2.0)
    layer.request(HOME + 0.3, HOME, now=0.0)
    setpoint = layer.tick(0.05)
    np.testing.assert_allclose(np.abs(setpoint - HOME).max(), 0.1)
    assert "velocity_limited" in layer.drain_events()
    for t in (0.10, 0.15, 0.20):
        setpoint = layer.tick(t)
    np.testing.assert_allclose(setpoint, layer.goal)


def test_a_late_tick_moves_no_more_than_one_nominal_period() -> None:
    """At 100 Hz a tick 28 ms late must not send one 0.34 rad jump (12 rad/s x 28 ms) to the driver."""
    layer = SafetyLayer(SafetyConfig(max_velocity=12.0), HOME, now=0.0, tick_period_s=0.01)
    layer.request(HOME - 0.5, HOME, now=0.0)
    setpoint = layer.tick(0.028)
    np.testing.assert_allclose(np.abs(setpoint - HOME).max(), 0.12)  # 12 rad/s x the 10 ms period
    previous = setpoint
    for t in (0.038, 0.048, 0.1, 0.5):  # on time, on time, late, very late: never more than 0.12 rad per command
        setpoint = layer.tick(t)
        assert np.abs(setpoint - previous).max() <= 0.12 + 1e-12
        previous = setpoint
    unbounded = _layer(max_velocity=12.0)  # without a nominal period the step follows the actual gap
    unbounded.request(HOME - 0.5, HOME, now=0.0)
    np.testing.assert_allclose(np.abs(unbounded.tick(0.028) - HOME).max(), 0.336)
    with pytest.raises(ValueError, match="tick_period_s"):
        SafetyLayer(SafetyConfig(), HOME, now=0.0, tick_period_s=0.0)


def test_non_finite_targets_are_rejected_or_held() -> None:
    wanted = HOME.copy()
    wanted[2] = np.nan
    with pytest.raises(ValueError, match=r"joints \[2\]"):
        _layer().request(wanted, HOME, now=0.0)
    layer = _layer(non_finite="hold")
    layer.request(HOME + 0.1, HOME, now=0.0)
    goal = layer.request(wanted, HOME, now=0.01)
    assert goal[2] == pytest.approx(HOME[2] + 0.1) and np.all(np.isfinite(goal))
    assert "non_finite_held" in layer.drain_events()
    action = np.zeros(16)
    action[0] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        wanted_target(action, HOME, 0.5, "reject")
    assert np.isnan(wanted_target(action, HOME, 0.5, "hold")[0])


def test_joints_over_the_effort_bound_are_held_where_measured() -> None:
    layer = _layer(effort_fraction=0.5)
    layer.request(HOME + 0.2, HOME, now=0.0)
    measured = HOME + 0.05
    effort = np.zeros(16)
    effort[5] = 0.6 * torque_limits()[5]
    setpoint = layer.tick(0.01, measured, effort)
    assert setpoint[5] == pytest.approx(measured[5]) and layer.goal[5] == pytest.approx(measured[5])
    assert setpoint[4] > HOME[4]  # the others keep going
    assert "effort_hold" in layer.drain_events()


def test_the_watchdog_freezes_the_setpoint_until_a_new_request() -> None:
    layer = _layer(max_velocity=1.0, watchdog_timeout_s=0.2)
    layer.request(HOME + 0.5, HOME, now=0.0)
    for t in np.arange(0.01, 0.21, 0.01):
        layer.tick(float(t))
    frozen = layer.tick(0.25)
    assert "watchdog_hold" in layer.drain_events()
    np.testing.assert_allclose(layer.tick(1.0), frozen)
    assert np.all(frozen < HOME + 0.5)
    layer.request(HOME + 0.5, frozen, now=1.0)
    assert np.all(layer.tick(1.05) > frozen)


def test_estop_latches_a_hold_until_reset() -> None:
    layer = _layer()
    layer.request(HOME + 0.2, HOME, now=0.0)
    held = layer.estop()
    layer.request(HOME - 0.2, HOME, now=0.1)
    np.testing.assert_allclose(layer.tick(0.5), held)
    assert layer.estopped and "estop" in layer.drain_events()
    layer.reset(HOME, now=1.0)
    assert not layer.estopped


def test_the_wrapper_applies_the_layer_to_the_twin() -> None:
    from dexsim.sim.config import SimConfig
    from dexsim.sim.env import AllegroUnscrewSimEnv

    env = SafetyWrapper(AllegroUnscrewSimEnv(SimConfig(cameras=())), SafetyConfig(max_velocity=1.0))
    try:
        obs, info = env.reset(seed=0)
        assert info[INFO_SAFETY_EVENTS] == []
        q0 = np.clip(obs["joint_positions"], lower_limits(), upper_limits())
        obs, _, _, _, info = env.step(np.full(16, 0.8, np.float32))
        assert "velocity_limited" in info[INFO_SAFETY_EVENTS]
        assert np.all(info["joint_targets"] - q0 <= 1.0 * env.unwrapped.config.control_dt + 1e-5)
    finally:
        env.close()
