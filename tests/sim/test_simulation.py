"""The thread of the lid: stiff screw coupling, self-locking load-dependent friction, release, tightening bound."""

import math

import mujoco
import numpy as np
import pytest

from dexsim.sim.config import SimConfig
from dexsim.sim.scene import bottle_name
from dexsim.sim.simulation import UnscrewSimulation


def _turn_lid(sim: UnscrewSimulation, torque: float, seconds: float, stop_at: float | None = None,
              max_speed: float = 1e9) -> None:
    """Apply a torque about the lid's hinge (a motor on the thread axis, off above ``max_speed`` rad/s),
    optionally until an angle is passed."""
    for _ in range(int(round(seconds / sim.model.opt.timestep))):
        fast = abs(sim.data.qvel[sim._twist_dof]) > max_speed
        sim.data.qfrc_applied[sim._twist_dof] = 0.0 if fast else torque
        sim.step_physics(sim.model.opt.timestep)
        if stop_at is not None and abs(sim.lid_state().angle) >= stop_at:
            break
    sim.data.qfrc_applied[sim._twist_dof] = 0.0


def _unscrew_gently(sim: UnscrewSimulation) -> None:
    """Turn the lid to just short of the release, let it stop, then ease it over (a slow, finger-like release)."""
    release = sim.config.engaged_turns * 2 * math.pi
    _turn_lid(sim, 0.03, 5.0, stop_at=release + 0.01, max_speed=5.0)


def _bottle_axis(sim: UnscrewSimulation) -> np.ndarray:
    return sim.data.xmat[sim._bottle_body].reshape(3, 3)[:, 2].copy()


@pytest.fixture()
def sim() -> UnscrewSimulation:
    simulation = UnscrewSimulation(SimConfig(cameras=(), thread_friction_nm=(0.01, 0.01)))
    simulation.reset(seed=3)
    return simulation


def test_lift_follows_angle_by_the_pitch(sim: UnscrewSimulation) -> None:
    _turn_lid(sim, 0.03, 0.5, stop_at=3.0)
    sim.step_physics(0.2)
    lid = sim.lid_state()
    assert 2.0 < lid.angle < sim.config.engaged_turns * 2 * math.pi
    assert lid.lift == pytest.approx(lid.angle * sim.config.thread_pitch_m / (2 * math.pi), abs=1e-6)
    assert not lid.released


def test_thread_friction_holds_the_lid_below_its_torque(sim: UnscrewSimulation) -> None:
    _turn_lid(sim, 0.009, 1.0)  # just under the 0.01 N m thread friction
    assert abs(sim.lid_state().angle) < 1e-4
    assert sim.thread.stuck


def test_a_spun_lid_stops_within_its_own_inertia(sim: UnscrewSimulation) -> None:
    """No coasting: once the motor lets go, friction stops the lid as fast as its own inertia allows."""
    _turn_lid(sim, 0.03, 0.5, stop_at=2.0)
    speed = sim.data.qvel[sim._twist_dof]
    angle = sim.lid_state().angle
    sim.step_physics(0.3)
    inertia = sim.model.body_inertia[sim._lid_body][2]
    coast_bound = inertia * speed**2 / (2 * sim.thread.static_friction_nm)  # kinetic energy / friction torque
    assert 0 <= sim.lid_state().angle - angle <= 1.5 * coast_bound + 2e-3
    assert sim.thread.stuck


def test_an_axial_pull_of_50_newton_turns_nothing(sim: UnscrewSimulation) -> None:
    """Self-locking: pulling the lid off the bottle along the axis (bottle pulled back equally) does not unscrew it."""
    axis = _bottle_axis(sim)
    before = sim.lid_state()
    for _ in range(500):  # 1 s
        sim.data.xfrc_applied[sim._lid_body, :3] = 50.0 * axis
        sim.data.xfrc_applied[sim._bottle_body, :3] = -50.0 * axis
        sim.step_physics(sim.model.opt.timestep)
    after = sim.lid_state()
    assert abs(sim.thread.axial_load_n) > 40.0  # the thread carries the pull
    assert abs(after.angle - before.angle) < 1e-4
    assert abs(after.lift - before.lift) < 5e-5
    assert not after.released


def test_thread_friction_grows_with_axial_load(sim: UnscrewSimulation) -> None:
    """A torque that turns the unloaded lid is held once the lid is pressed onto the thread."""
    axis = _bottle_axis(sim)
    for _ in range(500):
        sim.data.xfrc_applied[sim._lid_body, :3] = -20.0 * axis  # pressed down onto the bottle
        sim.data.xfrc_applied[sim._bottle_body, :3] = 20.0 * axis
        sim.data.qfrc_applied[sim._twist_dof] = 0.04  # 4x the unloaded friction
        sim.step_physics(sim.model.opt.timestep)
    assert sim.thread.friction_torque_nm > 0.04
    assert abs(sim.lid_state().angle) < 1e-3
    sim.data.xfrc_applied[:] = 0.0
    _turn_lid(sim, 0.04, 0.2)
    assert sim.lid_state().angle > 0.5


def test_release_after_the_engaged_length_frees_the_lid(sim: UnscrewSimulation) -> None:
    _unscrew_gently(sim)
    lid = sim.lid_state()
    assert lid.released
    assert lid.turns >= sim.config.engaged_turns
    assert not sim.thread.engaged
    for name in ("thread", "thread_lock", "lid_seat_x", "lid_seat_y", "lid_seat_tilt_x", "lid_seat_tilt_y"):
        assert sim.data.eq_active[sim.model.equality(bottle_name(name)).id] == 0


def test_released_lid_slides_off_the_neck_and_falls(sim: UnscrewSimulation) -> None:
    """Held lid-down (gravity along the bottle axis, bottle pinned), a released lid falls off; a threaded one stays."""
    def hold_lid_down(seconds: float) -> None:
        bottle_qpos = sim.data.qpos[sim._bottle_qpos:sim._bottle_qpos + 7].copy()
        sim.model.opt.gravity[:] = 9.81 * _bottle_axis(sim)
        for _ in range(int(seconds / sim.model.opt.timestep)):
            sim.data.qpos[sim._bottle_qpos:sim._bottle_qpos + 7] = bottle_qpos
            sim.data.qvel[sim._bottle_dof:sim._bottle_dof + 6] = 0.0
            sim.step_physics(sim.model.opt.timestep)

    start = sim.lid_position_in_hand()
    hold_lid_down(0.5)
    assert np.linalg.norm(sim.lid_position_in_hand() - start) < 1e-4  # threaded: stays put
    sim.model.opt.gravity[:] = (0.0, 0.0, -9.81)
    _unscrew_gently(sim)
    assert sim.lid_state().released
    released_at = sim.lid_position_in_hand()
    hold_lid_down(0.5)
    travelled = np.linalg.norm(sim.lid_position_in_hand() - released_at)
    assert travelled > 0.1  # off the 14 mm of neck and falling (to the floor 0.2 m below)


def test_turning_the_wrong_way_tightens_and_is_bounded(sim: UnscrewSimulation) -> None:
    _turn_lid(sim, -0.05, 2.0)
    lid = sim.lid_state()
    bound = -sim.config.max_tighten_turns * 2 * math.pi
    assert bound - 0.02 <= lid.angle < 0.8 * bound  # went the wrong way, stopped at the bound
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


def test_thread_rows_are_the_thread_and_lock_equalities(sim: UnscrewSimulation) -> None:
    """The thread model reads its forces from the right constraint rows."""
    sim.step_physics(0.01)
    d, thread = sim.data, sim.thread
    eq = mujoco.mjtConstraint.mjCNSTR_EQUALITY
    assert d.efc_type[thread._thread_row] == eq and d.efc_id[thread._thread_row] == thread._thread_eq
    assert thread.stuck
    assert d.efc_type[thread._lock_row] == eq and d.efc_id[thread._lock_row] == thread._lock_eq
