"""DH forward kinematics against MuJoCo's own kinematics of assets/allegro_right.xml."""

import mujoco
import numpy as np
import pytest

from dexsim.hand import JOINT_NAMES, Finger, lower_limits, upper_limits
from dexsim.hand.kinematics import FINGER_CHAINS, chain_frames, fingertip_positions, flexion_root
from dexsim.sim.scene import HAND_XML


@pytest.fixture(scope="module")
def mujoco_hand():
    model = mujoco.MjModel.from_xml_path(str(HAND_XML))
    data = mujoco.MjData(model)
    qpos = np.array([model.joint(name).qposadr[0] for name in JOINT_NAMES])
    sites = [model.site(f"{f.name.lower()}_tip").id for f in Finger]
    return model, data, qpos, sites


def _mujoco_tips(mujoco_hand, q):
    model, data, qpos, sites = mujoco_hand
    data.qpos[qpos] = q
    mujoco.mj_kinematics(model, data)
    return data.site_xpos[sites].copy()


def test_fk_matches_mujoco_sites_over_random_configurations(mujoco_hand):
    rng = np.random.default_rng(0)
    # Within the joint limits and well beyond them: the DH model must match the geometry, not just the range.
    q_all = np.concatenate(
        [rng.uniform(lower_limits(), upper_limits(), (300, 16)), rng.uniform(-np.pi, np.pi, (200, 16))]
    )
    ours = fingertip_positions(q_all)
    theirs = np.stack([_mujoco_tips(mujoco_hand, q) for q in q_all])
    assert ours.shape == (500, 4, 3)
    assert np.abs(ours - theirs).max() < 1e-4  # < 0.1 mm
    assert np.abs(ours - theirs).max() < 1e-6  # in fact exact up to the quaternion's printed digits


def test_joint_axes_match_mujoco(mujoco_hand):
    model, data, qpos, _ = mujoco_hand
    rng = np.random.default_rng(1)
    q = rng.uniform(lower_limits(), upper_limits())
    data.qpos[qpos] = q
    mujoco.mj_kinematics(model, data)
    frames = chain_frames(q.reshape(4, 4))
    for finger in Finger:
        for i in range(4):
            joint = model.joint(f"{finger.name.lower()}_{i}")
            np.testing.assert_allclose(frames[finger, i, :3, 2], data.xaxis[joint.id], atol=1e-6)


def test_knuckles_of_fingers_lie_on_the_flexion_axes(mujoco_hand):
    model, data, _, _ = mujoco_hand
    mujoco.mj_kinematics(model, data)
    for finger in (Finger.INDEX, Finger.MIDDLE, Finger.RING):
        np.testing.assert_allclose(
            flexion_root(finger), data.xpos[model.body(f"{finger.name.lower()}_proximal").id], atol=1e-7
        )


def test_dh_table_shape_and_bad_input():
    assert FINGER_CHAINS[Finger.THUMB].table().shape == (4, 4)
    with pytest.raises(ValueError, match=r"\(\.\.\., 16\)"):
        fingertip_positions(np.zeros(15))
