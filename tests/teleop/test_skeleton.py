"""Hand frames: joint orders, Unity conversion, rejection reasons."""

import numpy as np
import pytest

from dexsim.teleop.skeleton import (
    NUM_HAND_JOINTS,
    FrameRejected,
    HandFrame,
    HandJoint,
    frame_problems,
    from_unity_order,
    parse_hand_array,
    unity_to_right_handed,
    validate_frame,
)
from dexsim.teleop.synthetic import synthetic_frame


def test_openxr_order_and_unity_swap():
    assert NUM_HAND_JOINTS == 26
    assert HandJoint.PALM == 0 and HandJoint.WRIST == 1 and HandJoint.THUMB_TIP == 5
    assert HandJoint.INDEX_METACARPAL == 6 and HandJoint.LITTLE_TIP == 25
    unity = np.arange(26, dtype=float)[:, None] * np.ones((1, 3))
    openxr = from_unity_order(unity)
    assert openxr[HandJoint.WRIST, 0] == 0 and openxr[HandJoint.PALM, 0] == 1
    np.testing.assert_array_equal(openxr[2:], unity[2:])


def test_unity_frame_conversion_keeps_lengths_and_flips_handedness():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=3), rng.normal(size=3)
    ra, rb = unity_to_right_handed(a), unity_to_right_handed(b)
    assert np.linalg.norm(ra - rb) == pytest.approx(np.linalg.norm(a - b))
    # A change of handedness flips cross products relative to the mapped vectors.
    np.testing.assert_allclose(np.cross(ra, rb), -unity_to_right_handed(np.cross(a, b)))
    np.testing.assert_allclose(unity_to_right_handed([1.0, 2.0, 3.0]), [3.0, -1.0, 2.0])


def _rotate(quaternion_wxyz, v):
    w, x, y, z = quaternion_wxyz
    u = np.array([x, y, z])
    return v + 2.0 * np.cross(u, np.cross(u, v) + w * v)


def test_unity_orientations_convert_with_the_positions():
    rng = np.random.default_rng(3)
    q = rng.normal(size=4)
    q /= np.linalg.norm(q)  # Unity order (x, y, z, w)
    unity = np.zeros((26, 7))
    unity[:, 3:] = q
    frame = parse_hand_array(unity.ravel())
    v = rng.normal(size=3)
    # Rotating in Unity's frame, then converting == converting, then rotating with the converted quaternion.
    rotated_in_unity = _rotate([q[3], q[0], q[1], q[2]], v)
    np.testing.assert_allclose(
        unity_to_right_handed(rotated_in_unity), _rotate(frame.orientations[0], unity_to_right_handed(v)), atol=1e-12
    )


def test_parse_flat_arrays():
    frame = synthetic_frame("open")
    # Back to Unity's layout: inverse point map and Unity order.
    p = frame.positions
    unity_positions = np.stack([-p[:, 1], p[:, 2], p[:, 0]], axis=1)[[1, 0] + list(range(2, 26))]
    parsed = parse_hand_array(unity_positions.ravel(), timestamp=1.5)
    np.testing.assert_allclose(parsed.positions, p, atol=1e-12)
    assert parsed.timestamp == 1.5 and parsed.orientations is None
    poses = np.hstack([unity_positions, np.tile([0.0, 0.0, 0.0, 1.0], (26, 1))])
    parsed = parse_hand_array(poses.ravel())
    np.testing.assert_allclose(parsed.orientations, np.tile([1.0, 0.0, 0.0, 0.0], (26, 1)))
    with pytest.raises(ValueError, match="78"):
        parse_hand_array(np.zeros(77))


def test_good_frames_pass():
    for pose in ("open", "fist", "pinch", "relaxed"):
        for scale in (0.75, 1.0, 1.3):
            assert frame_problems(synthetic_frame(pose, scale)) == []


def _broken(**changes):
    p = synthetic_frame("open").positions.copy()
    for joint, value in changes.items():
        p[HandJoint[joint.upper()]] = value
    return HandFrame(p)


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (_broken(index_tip=np.nan), "missing joints (NaN): index_tip"),
        (_broken(wrist=np.inf), "infinite coordinates at joints: wrist"),
        (HandFrame(synthetic_frame("open").positions * 0.35), "implausible hand size"),
        (HandFrame(synthetic_frame("open").positions * 2.0), "implausible hand size"),
        (_broken(middle_tip=[0.0, 0.0, 0.5]), "implausible bone middle_distal->middle_tip"),
        (_broken(palm=[0.5, 0.0, 0.0]), "palm 5"),
        (_broken(ring_proximal=[0.0, 0.024, 0.090], index_proximal=[0.0, 0.024, 0.09]), "degenerate palm"),
    ],
)
def test_bad_frames_are_rejected_with_reasons(frame, reason):
    problems = frame_problems(frame)
    assert any(reason in problem for problem in problems), problems
    with pytest.raises(FrameRejected) as error:
        validate_frame(frame)
    assert error.value.reasons == problems
    assert reason in str(error.value)


def test_frame_shape_checks():
    with pytest.raises(ValueError, match=r"\(26, 3\)"):
        HandFrame(np.zeros((21, 3)))
    with pytest.raises(ValueError, match="handedness"):
        HandFrame(np.zeros((26, 3)), handedness="both")  # type: ignore[arg-type]
