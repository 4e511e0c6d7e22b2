"""Retargeting steps a-c on hands with known answers, and the whole retargeter."""

import numpy as np
import pytest

from dexsim.hand import Finger, lower_limits, upper_limits
from dexsim.hand.kinematics import HAND_WRIST
from dexsim.teleop.retarget import (
    HUMAN_CHAINS,
    ROBOT_ROOTS,
    ROBOT_SEGMENTS,
    RetargetConfig,
    Retargeter,
    align_to_robot,
    finger_scale,
    hand_plane,
    pinch_weights,
    scale_fingers,
    shift_fingertips,
)
from dexsim.teleop.skeleton import FrameRejected, HandFrame, HandJoint
from dexsim.teleop.synthetic import POSES, interpolate, random_rotation, synthetic_frame


def _robot_shaped_skeleton(rng):
    """A skeleton whose wrist and knuckles are the robot's, with random finger points; robot frame."""
    p = rng.uniform(-0.05, 0.15, (26, 3))
    p[HandJoint.WRIST] = HAND_WRIST
    p[HandJoint.INDEX_PROXIMAL] = ROBOT_ROOTS[Finger.INDEX]
    p[HandJoint.MIDDLE_PROXIMAL] = ROBOT_ROOTS[Finger.MIDDLE]
    p[HandJoint.RING_PROXIMAL] = ROBOT_ROOTS[Finger.RING]
    return p


def test_step_a_undoes_any_rigid_motion_of_a_robot_shaped_hand():
    rng = np.random.default_rng(0)
    for _ in range(20):
        p = _robot_shaped_skeleton(rng)
        rotation, shift = random_rotation(rng), rng.uniform(-1, 1, 3)
        aligned = align_to_robot(p @ rotation.T + shift)
        np.testing.assert_allclose(aligned, p[HUMAN_CHAINS], atol=1e-12)


def test_step_a_aligns_planes_and_middle_roots_and_drops_the_little_finger():
    rng = np.random.default_rng(1)
    frame = synthetic_frame("relaxed", rotation=random_rotation(rng), translation=(0.3, -0.2, 1.1))
    aligned = align_to_robot(frame.positions)
    assert aligned.shape == (4, 4, 3)  # index, middle, ring, thumb; no little finger
    np.testing.assert_allclose(aligned[Finger.MIDDLE, 0], ROBOT_ROOTS[Finger.MIDDLE], atol=1e-12)
    # The rotation that step a applied (recovered from the points by Kabsch) maps the human's plane frame
    # (palm normal, lateral, wrist-to-knuckles) onto the robot's.
    source = frame.positions[HUMAN_CHAINS].reshape(-1, 3)
    target = aligned.reshape(-1, 3)
    u, _, vt = np.linalg.svd((source - source.mean(0)).T @ (target - target.mean(0)))
    rotation = vt.T @ np.diag([1.0, 1.0, np.linalg.det(vt.T @ u.T)]) @ u.T
    p = frame.positions
    human = hand_plane(p[HandJoint.WRIST], p[HandJoint.INDEX_PROXIMAL], p[HandJoint.RING_PROXIMAL])
    robot = hand_plane(HAND_WRIST, ROBOT_ROOTS[Finger.INDEX], ROBOT_ROOTS[Finger.RING])
    np.testing.assert_allclose(rotation @ human, robot, atol=1e-9)
    # Distances within the hand are preserved (a rigid motion).
    np.testing.assert_allclose(
        np.linalg.norm(aligned[Finger.INDEX, 3] - aligned[Finger.THUMB, 3]),
        np.linalg.norm(frame.positions[HandJoint.INDEX_TIP] - frame.positions[HandJoint.THUMB_TIP]),
    )


def test_robot_roots_and_segments():
    np.testing.assert_allclose(ROBOT_SEGMENTS[:3], [[0.054, 0.0384, 0.0267]] * 3, atol=1e-12)
    np.testing.assert_allclose(ROBOT_SEGMENTS[3], [np.linalg.norm([0.027, 0.005, 0.0576]), 0.0514, 0.0423])
    np.testing.assert_allclose(ROBOT_ROOTS[Finger.MIDDLE], [0.0, 0.0, 0.0007 + 0.0164], atol=1e-12)
    np.testing.assert_allclose(ROBOT_ROOTS[Finger.THUMB], [-0.0182, 0.0193, -0.046])


def test_eq1_scale_is_the_mean_ratio_of_segment_lengths():
    chains = np.zeros((4, 4, 3))
    ratios = np.array([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0], [0.5, 1.0, 1.5], [1.0, 1.0, 4.0]])
    human_lengths = ROBOT_SEGMENTS / ratios
    chains[:, 1:, 2] = np.cumsum(human_lengths, axis=1)  # straight fingers along z
    np.testing.assert_allclose(finger_scale(chains), [2.0, 2.0, 1.0, 2.0])


def test_step_b_moves_roots_and_scales_each_finger():
    rng = np.random.default_rng(2)
    chains = rng.uniform(-0.1, 0.1, (4, 4, 3))
    scaled, scale = scale_fingers(chains)
    np.testing.assert_allclose(scaled[:, 0], ROBOT_ROOTS)
    np.testing.assert_allclose(scaled - scaled[:, :1], scale[:, None, None] * (chains - chains[:, :1]))


def test_step_c_shifts():
    tips = np.array([[0.05, 0.04, 0.05], [0.005, 0.0, 0.12], [-0.03, -0.04, 0.1], [0.06, 0.05, 0.05]])
    shifted = shift_fingertips(tips, thumb_shift=0.02, finger_shift=0.01)
    # Thumb: 2 cm straight towards the wrist point.
    before, after = np.linalg.norm(tips[3] - HAND_WRIST), np.linalg.norm(shifted[3] - HAND_WRIST)
    assert before - after == pytest.approx(0.02)
    np.testing.assert_allclose(np.cross(shifted[3] - HAND_WRIST, tips[3] - HAND_WRIST), 0.0, atol=1e-12)
    normal = hand_plane(HAND_WRIST, ROBOT_ROOTS[Finger.INDEX], ROBOT_ROOTS[Finger.RING])[:, 0]
    height = (tips[:3] - HAND_WRIST) @ normal
    new_height = (shifted[:3] - HAND_WRIST) @ normal
    np.testing.assert_allclose(new_height, [height[0] - 0.01, 0.0, height[2] + 0.01], atol=1e-12)
    # Only the normal component changes.
    np.testing.assert_allclose(np.cross(shifted[:3] - tips[:3], normal), 0.0, atol=1e-12)


def test_retargeter_is_invariant_to_hand_size_and_placement():
    # Outside the pinch band (human tip gaps > pinch_release, where step d works in absolute mm) the result
    # depends on neither the hand's size nor its placement.
    rng = np.random.default_rng(3)
    frames = [
        synthetic_frame("relaxed", scale, rotation=random_rotation(rng), translation=rng.normal(size=3))
        for scale in (0.8, 1.0, 1.25)
    ]
    assert all(not pinch_weights(f.positions, 0.012, 0.035).any() for f in frames)
    results = [Retargeter()(frame) for frame in frames]
    for result in results[1:]:
        np.testing.assert_allclose(result.joint_targets, results[0].joint_targets, atol=1e-9)
        np.testing.assert_allclose(result.fingertip_targets, results[0].fingertip_targets, atol=1e-9)


def test_open_hand_stretches_and_fist_closes_the_robot_fingers():
    retargeter = Retargeter()
    open_q = retargeter(synthetic_frame("open")).joint_targets
    closed_q = retargeter(synthetic_frame(interpolate(POSES["open"], POSES["fist"], 0.9))).joint_targets
    flexion = np.r_[1:4, 5:8, 9:12]
    assert (np.abs(open_q[flexion].reshape(3, 3).sum(axis=1)) < 0.5).all()  # rad of total curl per finger
    closure = closed_q[flexion].reshape(3, 3).sum(axis=1) / upper_limits()[1:4].sum()
    assert (closure > 0.9).all()
    for q in (open_q, closed_q):
        assert ((q >= lower_limits()) & (q <= upper_limits())).all()
    np.testing.assert_array_equal(open_q[[0, 4, 8]], 0.0)


def test_retargeter_rejects_bad_frames_and_keeps_its_warm_start():
    retargeter = Retargeter(RetargetConfig(finger_shift=0.01))
    good = retargeter(synthetic_frame("relaxed"))
    broken = synthetic_frame("relaxed").positions.copy()
    broken[HandJoint.RING_TIP] = np.nan
    with pytest.raises(FrameRejected, match="ring_tip"):
        retargeter(HandFrame(broken))
    np.testing.assert_array_equal(retargeter.last_targets, good.joint_targets)
    with pytest.raises(ValueError, match="left"):
        retargeter(synthetic_frame("relaxed", handedness="left"))
    with pytest.raises(ValueError, match="thumb_shift"):
        RetargetConfig(thumb_shift=-0.01)


# --- Fidelity on hands generated independently of dexsim.teleop.synthetic (tests/teleop/_human_hands.py) ---

import _human_hands as human  # noqa: E402

from dexsim.hand.kinematics import fingertip_positions  # noqa: E402
from dexsim.teleop.gestures import GestureDetector, hand_curl  # noqa: E402
from dexsim.teleop.skeleton import chirality, frame_problems, validate_frame  # noqa: E402


@pytest.mark.parametrize("finger", ["index", "middle"])
def test_human_pinches_land_as_robot_pinches(finger):
    rng = np.random.default_rng(20 + len(finger))
    slot = {"index": 0, "middle": 1}[finger]
    for _ in range(5):
        hand = human.random_hand(rng)
        local = human.pinch(hand, finger, rng.uniform(0.003, 0.010))
        gap = np.linalg.norm(local[human.TIP[finger]] - local[human.TIP["thumb"]])
        assert gap <= 0.0105  # the generator really made a pinch
        q = Retargeter()(HandFrame(human.place(local, rng))).joint_targets
        tips = fingertip_positions(q)
        assert np.linalg.norm(tips[slot] - tips[Finger.THUMB]) <= 0.015
        assert ((q >= lower_limits()) & (q <= upper_limits())).all()


def test_wide_human_gaps_stay_apart_on_the_robot():
    rng = np.random.default_rng(5)
    hand = human.random_hand(rng)
    q = Retargeter()(HandFrame(human.place(human.pinch(hand, "index", 0.06), rng))).joint_targets
    tips = fingertip_positions(q)
    assert np.linalg.norm(tips[Finger.INDEX] - tips[Finger.THUMB]) > 0.04


def test_open_human_hand_gives_an_open_robot_thumb_and_fingers():
    rng = np.random.default_rng(6)
    lo, hi = lower_limits(), upper_limits()
    for _ in range(6):
        q = Retargeter()(HandFrame(human.place(human.open_hand(human.random_hand(rng)), rng))).joint_targets
        fraction = (q - lo) / (hi - lo)
        assert fraction[14] < 0.4 and fraction[15] < 0.4  # thumb joints 2 and 3 (flexion)
        assert np.abs(q[np.r_[1:4, 5:8, 9:12]]).max() < 0.35


def test_mirrored_hands_are_rejected_and_true_hands_accepted():
    rng = np.random.default_rng(7)
    for _ in range(4):
        hand = human.random_hand(rng)
        for local in (human.open_hand(hand), human.pinch(hand, "index", 0.005), human.fist(hand, 0.6)):
            validate_frame(HandFrame(human.place(local, rng), handedness="right"))
            mirrored = human.place(human.mirror(local), rng)
            with pytest.raises(FrameRejected, match="mirror image"):
                Retargeter()(HandFrame(mirrored, handedness="right"))
            # The same skeleton labelled as what it is (a left hand) is fine.
            assert frame_problems(HandFrame(mirrored, handedness="left")) == []
            assert chirality(mirrored, "left") > 0 > chirality(mirrored, "right")


def test_raw_arrays_where_a_hand_frame_is_expected_raise_type_error():
    positions = synthetic_frame("relaxed").positions
    with pytest.raises(TypeError, match="HandFrame"):
        Retargeter()(positions)
    for call in (validate_frame, frame_problems, hand_curl, GestureDetector().update):
        with pytest.raises(TypeError, match="HandFrame"):
            call(positions)
    with pytest.raises(TypeError, match="HandFrame"):
        Retargeter()(list(positions.ravel()))


def _compiled_front_end_frames():
    """Right hands of many shapes and placements (pinches, fists, open), a non-contiguous array among them."""
    rng = np.random.default_rng(31)
    frames = []
    for _ in range(6):
        hand = human.random_hand(rng)
        for local in (human.open_hand(hand), human.pinch(hand, "middle", 0.006), human.fist(hand, 0.8),
                      human.pinch(hand, "ring", 0.02)):
            frames.append(HandFrame(human.place(local, rng)))
    wide = np.zeros((26, 6))
    wide[:, ::2] = frames[0].positions  # a strided view: the compiled path must not need contiguous input
    frames.append(HandFrame(wide[:, ::2]))
    return frames


def test_compiled_front_end_matches_numpy_steps_and_checks(monkeypatch):
    # With numba (the `fast` extra) validation + steps a-d run compiled: the same targets, scales, pinch weights and
    # gaps as the numpy functions to rounding, and every frame the numpy checks reject is still rejected with their
    # reasons (the compiled checks only ever accept clearly valid frames).
    pytest.importorskip("numba")
    from dexsim.teleop import retarget, skeleton
    from dexsim.teleop.skeleton import PlausibilityLimits

    config, kernel = RetargetConfig(), retarget._compiled
    for frame in _compiled_front_end_frames():
        got = retarget._checked_targets(frame, config)
        want = retarget._targets(frame.positions, config)
        for a, b in zip(got, want, strict=True):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)
    relaxed = synthetic_frame("relaxed").positions
    broken = {"ring_tip": relaxed.copy(), "mirror image": relaxed * np.array([1.0, -1.0, 1.0]),
              "hand size": relaxed * 3.0}
    broken["ring_tip"][HandJoint.RING_TIP] = np.nan
    orientations = np.tile([1.0, 0.0, 0.0, 0.0], (26, 1))
    orientations[3] = np.inf
    for compiled in (kernel, None):
        monkeypatch.setattr(retarget, "_compiled", compiled)
        for reason, positions in broken.items():
            with pytest.raises(FrameRejected, match=reason):
                retarget._checked_targets(HandFrame(positions), config)
        with pytest.raises(FrameRejected, match="orientations"):
            retarget._checked_targets(HandFrame(relaxed, orientations=orientations), config)
    # A bone right at the limit is referred to the numpy checks, which decide.
    bones = np.linalg.norm(relaxed[skeleton._BONE_END] - relaxed[skeleton._BONE_START], axis=-1)
    limits = PlausibilityLimits(bone_length=(0.004, float(bones.max())))
    monkeypatch.setattr(retarget, "_compiled", kernel)
    edge = RetargetConfig(limits=limits)
    assert validate_frame(HandFrame(relaxed), limits)
    np.testing.assert_allclose(retarget._checked_targets(HandFrame(relaxed), edge)[0],
                               retarget._targets(relaxed, edge)[0], rtol=0, atol=1e-12)


def test_numpy_fallback_retargets_like_the_compiled_front_end(monkeypatch):
    # Without numba the retargeter runs numpy throughout (CI exercises it here): the same joint targets along a
    # warm-started stream with pinches.
    pytest.importorskip("numba")
    from dexsim.hand import ik
    from dexsim.teleop import retarget

    frames = _compiled_front_end_frames()
    runs = []
    for compiled in ((retarget._compiled, ik._compiled), (None, None)):
        monkeypatch.setattr(retarget, "_compiled", compiled[0])
        monkeypatch.setattr(ik, "_compiled", compiled[1])
        retargeter = Retargeter()
        runs.append(np.array([retargeter(frame).joint_targets for frame in frames]))
    np.testing.assert_allclose(runs[0], runs[1], rtol=0, atol=1e-9)
