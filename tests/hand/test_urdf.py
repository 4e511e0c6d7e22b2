"""The generated URDF: same kinematics as the DH model, and the committed file is the generator's output."""

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

from dexsim.hand import JOINT_NAMES, Finger, lower_limits, torque_limits, upper_limits
from dexsim.hand.kinematics import fingertip_positions
from dexsim.hand.urdf import allegro_urdf, main, rpy_from_matrix, tip_link

COMMITTED = Path(__file__).resolve().parents[2] / "hardware" / "allegro_right.urdf"


def _rpy_matrix(roll, pitch, yaw):
    cr, sr, cp, sp, cy, sy = np.cos(roll), np.sin(roll), np.cos(pitch), np.sin(pitch), np.cos(yaw), np.sin(yaw)
    rx = np.array([[1, 0, 0], [0, cr, -sr], [0, sr, cr]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _urdf_fk(text, q_by_name, link):
    """Pose of ``link`` from the URDF text alone (a minimal URDF interpreter: revolute about z, fixed)."""
    joints = {j.find("child").get("link"): j for j in ET.fromstring(text).iter("joint")}
    chain = []
    while link in joints:
        chain.append(joints[link])
        link = joints[link].find("parent").get("link")
    pose = np.eye(4)
    for joint in reversed(chain):
        origin = joint.find("origin")
        step = np.eye(4)
        step[:3, :3] = _rpy_matrix(*map(float, origin.get("rpy").split()))
        step[:3, 3] = list(map(float, origin.get("xyz").split()))
        pose = pose @ step
        if joint.get("type") == "revolute":
            assert joint.find("axis").get("xyz") == "0 0 1"
            angle = q_by_name[joint.get("name")]
            turn = np.eye(4)
            turn[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
            pose = pose @ turn
    return pose


def test_urdf_fingertips_match_the_dh_model():
    text = allegro_urdf()
    rng = np.random.default_rng(0)
    for q in rng.uniform(lower_limits(), upper_limits(), (20, 16)):
        names = dict(zip(JOINT_NAMES, q, strict=True))
        tips = np.array([_urdf_fk(text, names, tip_link(f))[:3, 3] for f in Finger])
        np.testing.assert_allclose(tips, fingertip_positions(q), atol=1e-7)


def test_urdf_limits_come_from_the_joint_table():
    joints = {j.get("name"): j for j in ET.fromstring(allegro_urdf()).iter("joint") if j.get("type") == "revolute"}
    assert list(joints) == list(JOINT_NAMES)
    for i, name in enumerate(JOINT_NAMES):
        limit = joints[name].find("limit")
        assert float(limit.get("lower")) == lower_limits()[i]
        assert float(limit.get("upper")) == upper_limits()[i]
        assert float(limit.get("effort")) == torque_limits()[i]


def test_rpy_round_trip_including_gimbal_lock():
    rng = np.random.default_rng(1)
    rotations = [_rpy_matrix(*rng.uniform(-np.pi, np.pi, 3)) for _ in range(50)] + [_rpy_matrix(0.3, np.pi / 2, 0.0)]
    for rotation in rotations:
        np.testing.assert_allclose(_rpy_matrix(*rpy_from_matrix(rotation)), rotation, atol=1e-9)


def test_committed_urdf_is_the_generators_output(tmp_path):
    assert COMMITTED.read_text(encoding="utf-8") == allegro_urdf(), (
        "hardware/allegro_right.urdf is stale: run python -m dexsim.hand.urdf hardware/allegro_right.urdf"
    )
    out = tmp_path / "hand.urdf"
    assert main([str(out)]) == 0
    assert out.read_text(encoding="utf-8") == allegro_urdf()
