"""The composed MJCF scene: the hand model follows the joint table and every joint moves within its limits."""

from pathlib import Path

import mujoco
import numpy as np
import pytest

from dexsim.hand import JOINT_NAMES, JOINTS, kp_gains, lower_limits, torque_limits, upper_limits
from dexsim.sim.config import SimConfig
from dexsim.sim.scene import build_scene, compile_scene, hand_name, load_asset
from dexsim.sim.simulation import UnscrewSimulation


@pytest.fixture(scope="module")
def model() -> mujoco.MjModel:
    return compile_scene(build_scene(SimConfig()))


def test_joint_table_is_applied(model: mujoco.MjModel) -> None:
    for joint in JOINTS:
        jnt = model.joint(hand_name(joint.name))
        np.testing.assert_allclose(jnt.range, (joint.lower, joint.upper))
        act = model.actuator(hand_name(joint.name))
        np.testing.assert_allclose(act.forcerange, (-joint.torque_limit, joint.torque_limit))
        assert act.gainprm[0] == pytest.approx(joint.kp)
        assert act.biasprm[1] == pytest.approx(-joint.kp) and act.biasprm[2] == pytest.approx(-joint.kd)


def test_hand_mass_is_realistic(model: mujoco.MjModel) -> None:
    palm = model.body(hand_name("palm")).id
    assert 0.6 < model.body_subtreemass[palm] < 0.7  # the V4 weighs about 0.65 kg


def test_every_joint_reaches_towards_both_limits_and_stays_within() -> None:
    """Drive each joint alone to each limit in free space (no bottle in reach) under its own PD actuator."""
    sim = UnscrewSimulation(SimConfig(cameras=()))
    sim.reset(seed=0)
    sim.data.qpos[sim._bottle_qpos:sim._bottle_qpos + 3] += (0.0, 0.0, -1.0)  # bottle out of the way
    lower, upper = lower_limits(), upper_limits()
    straight = np.clip(np.zeros(16), lower, upper)  # a pose in which no link touches another
    for i, name in enumerate(JOINT_NAMES):
        for bound in (lower, upper):
            target = straight.copy()
            target[i] = bound[i]
            sim.set_joint_targets(target)
            sim.step_physics(1.0)
            q = sim.joint_positions()
            assert lower[i] - 0.02 <= q[i] <= upper[i] + 0.02, name
            # Weak real-hand gains: gravity and friction leave a small steady error, unless a link of the
            # finger is stopped by another part of the hand (the straight thumb swung against the palm).
            if abs(q[i] - bound[i]) >= 0.08:
                finger = name.split("_")[0]
                contacts = sim.data.contact[:sim.data.ncon]
                touching = {sim.model.geom(g).name for c in contacts for g in (c.geom1, c.geom2)}
                assert any(hand_name(finger) in g for g in touching), (name, q[i], bound[i])


def test_efforts_are_the_clamped_pd_torque() -> None:
    sim = UnscrewSimulation(SimConfig(cameras=()))
    sim.reset(seed=0)
    target = upper_limits().copy()
    sim.set_joint_targets(target)
    sim.step_physics(0.002)
    effort = sim.joint_efforts()
    assert np.all(np.abs(effort) <= torque_limits() + 1e-9)
    expected = np.clip(kp_gains() * (target - sim.joint_positions()) - 0 * sim.joint_velocities(), -torque_limits(),
                       torque_limits())
    saturated = np.abs(expected) >= torque_limits() - 1e-9
    np.testing.assert_allclose(effort[saturated], expected[saturated])


def test_missing_asset_names_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.xml"
    with pytest.raises(FileNotFoundError, match="nope.xml"):
        load_asset(missing)
    broken = tmp_path / "broken.xml"
    broken.write_text("<mujoco><worldbody><body></mujoco>")
    with pytest.raises(ValueError, match="broken.xml"):
        load_asset(broken)
