"""The screw coupling of the lid: lift follows the twist, release after the engaged length, tightening is bounded."""

import math

import numpy as np
import pytest

from dexsim.sim.config import SimConfig
from dexsim.sim.simulation import UnscrewSimulation


def _turn_lid(sim: UnscrewSimulation, torque: float, seconds: float) -> None:
    """Apply a torque about the lid's hinge (an external motor on the thread axis)."""
    sim.data.qfrc_applied[sim._twist_dof] = torque
    sim.step_physics(seconds)
    sim.data.qfrc_applied[sim._twist_dof] = 0.0


@pytest.fixture()
def sim() -> UnscrewSimulation:
    simulation = UnscrewSimulation(SimConfig(cameras=(), thread_friction_nm=(0.01, 0.01)))
    simulation.reset(seed=3)
    return simulation


def test_lift_follows_angle_by_the_pitch(sim: UnscrewSimulation) -> None:
    _turn_lid(sim, 0.03, 0.3)
    lid = sim.lid_state()
    assert 0.2 < lid.angle < sim.config.engaged_turns * 2 * math.pi
    assert lid.lift == pytest.approx(lid.angle * sim.config.thread_pitch_m / (2 * math.pi), abs=2e-5)
    assert not lid.released


def test_thread_friction_holds_the_lid_below_its_torque(sim: UnscrewSimulation) -> None:
    _turn_lid(sim, 0.005, 1.0)  # half the 0.01 N m thread friction
    assert abs(sim.lid_state().angle) < 0.02


def test_release_after_the_engaged_length(sim: UnscrewSimulation) -> None:
    for _ in range(40):
        _turn_lid(sim, 0.03, 0.1)
        if sim.lid_state().released:
            break
    lid = sim.lid_state()
    assert lid.released
    assert lid.turns >= sim.config.engaged_turns
    assert sim.data.eq_active[sim._thread_eq] == 0


def test_turning_the_wrong_way_tightens_and_is_bounded(sim: UnscrewSimulation) -> None:
    _turn_lid(sim, -0.05, 2.0)
    lid = sim.lid_state()
    bound = -sim.config.max_tighten_turns * 2 * math.pi
    assert bound - 0.05 <= lid.angle < 0.8 * bound  # went the wrong way, stopped at the bound
    assert lid.lift < 0  # tightening pulls the lid down onto the bottle
    assert not lid.released


def test_scene_is_randomised_per_seed_and_reproducible() -> None:
    config = SimConfig(cameras=())
    a, b = UnscrewSimulation(config), UnscrewSimulation(config)
    pa, pb = a.reset(seed=11), b.reset(seed=11)
    assert pa == pb
    np.testing.assert_array_equal(a.data.qpos, b.data.qpos)
    pc = a.reset(seed=12)
    assert pc != pa
    for low_high, value in ((config.placement_y_m, pc.placement_y), (config.bottle_radius_m, pc.bottle_radius),
                            (config.thread_friction_nm, pc.thread_friction)):
        assert low_high[0] <= value <= low_high[1]


def test_bottle_rests_in_the_hand_after_reset(sim: UnscrewSimulation) -> None:
    sim.step_physics(1.0)
    assert not sim.bottle_dropped()
    assert np.linalg.norm(sim.data.qvel[sim._bottle_dof:sim._bottle_dof + 3]) < 0.05
