"""One tracked human hand: the 26-joint OpenXR / Unity XR Hands skeleton, and its validation.

Joint order is OpenXR's ``XR_EXT_hand_tracking`` (:class:`HandJoint`): 0 palm, 1 wrist, 2-5 thumb
metacarpal/proximal/distal/tip, 6-10 index metacarpal/proximal/intermediate/distal/tip, 11-15 middle,
16-20 ring, 21-25 little. Unity's ``XRHandJointID.ToIndex()`` swaps the first two (wrist 0, palm 1);
:func:`from_unity_order` converts. Positions are metres in a right-handed frame; Unity's own frame is
left-handed (x right, y up, z forward), :func:`unity_to_right_handed` maps it to x forward, y left, z up
(ROS's convention) with the handedness of the data preserved.

A frame that cannot be trusted (missing joints, NaN/inf, an implausible hand size or bone length, a
degenerate palm) is rejected with reasons by :func:`frame_problems` / :func:`validate_frame` and is never
passed on to the robot.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "HandJoint",
    "NUM_HAND_JOINTS",
    "DIGIT_JOINTS",
    "UNITY_TO_OPENXR",
    "HandFrame",
    "FrameRejected",
    "PlausibilityLimits",
    "from_unity_order",
    "unity_to_right_handed",
    "right_handed_to_unity",
    "to_unity_array",
    "parse_hand_array",
    "frame_problems",
    "validate_frame",
    "require_frame",
    "chirality",
    "cross3",
]


class HandJoint(enum.IntEnum):
    """Joints of ``XR_EXT_hand_tracking`` in OpenXR order."""

    PALM = 0
    WRIST = 1
    THUMB_METACARPAL = 2
    THUMB_PROXIMAL = 3
    THUMB_DISTAL = 4
    THUMB_TIP = 5
    INDEX_METACARPAL = 6
    INDEX_PROXIMAL = 7
    INDEX_INTERMEDIATE = 8
    INDEX_DISTAL = 9
    INDEX_TIP = 10
    MIDDLE_METACARPAL = 11
    MIDDLE_PROXIMAL = 12
    MIDDLE_INTERMEDIATE = 13
    MIDDLE_DISTAL = 14
    MIDDLE_TIP = 15
    RING_METACARPAL = 16
    RING_PROXIMAL = 17
    RING_INTERMEDIATE = 18
    RING_DISTAL = 19
    RING_TIP = 20
    LITTLE_METACARPAL = 21
    LITTLE_PROXIMAL = 22
    LITTLE_INTERMEDIATE = 23
    LITTLE_DISTAL = 24
    LITTLE_TIP = 25


NUM_HAND_JOINTS: Final = len(HandJoint)

DIGIT_JOINTS: Final[dict[str, tuple[HandJoint, ...]]] = {
    "thumb": tuple(HandJoint(i) for i in range(2, 6)),
    "index": tuple(HandJoint(i) for i in range(6, 11)),
    "middle": tuple(HandJoint(i) for i in range(11, 16)),
    "ring": tuple(HandJoint(i) for i in range(16, 21)),
    "little": tuple(HandJoint(i) for i in range(21, 26)),
}
"""Each digit's joints from the wrist end to the tip."""

UNITY_TO_OPENXR: Final = np.array([1, 0] + list(range(2, NUM_HAND_JOINTS)))
"""``openxr[UNITY_TO_OPENXR[i]] = unity[i]``: Unity's index ``i`` holds OpenXR joint ``UNITY_TO_OPENXR[i]``."""

Handedness = Literal["right", "left"]


@dataclass(frozen=True)
class HandFrame:
    """One tracked hand at one instant.

    Attributes:
        positions: (26, 3) joint positions in OpenXR order, m, right-handed frame; a missing joint is NaN.
        timestamp: Capture time, s (any fixed origin; streams use seconds since their start).
        handedness: ``"right"`` (drives the robot) or ``"left"`` (gestures).
        orientations: Optional (26, 4) joint orientations as unit quaternions (w, x, y, z).
    """

    positions: NDArray[np.float64]
    timestamp: float = 0.0
    handedness: Handedness = "right"
    orientations: NDArray[np.float64] | None = field(default=None)

    def __post_init__(self) -> None:
        positions = np.asarray(self.positions, dtype=np.float64)
        if positions.shape != (NUM_HAND_JOINTS, 3):
            raise ValueError(f"hand frame positions must have shape (26, 3), got {positions.shape}")
        object.__setattr__(self, "positions", positions)
        if self.handedness not in ("right", "left"):
            raise ValueError(f"handedness must be 'right' or 'left', got {self.handedness!r}")
        if self.orientations is not None:
            orientations = np.asarray(self.orientations, dtype=np.float64)
            if orientations.shape != (NUM_HAND_JOINTS, 4):
                raise ValueError(f"hand frame orientations must have shape (26, 4), got {orientations.shape}")
            object.__setattr__(self, "orientations", orientations)

    def joint(self, joint: HandJoint) -> NDArray[np.float64]:
        """Position of one joint, m."""
        return self.positions[joint]


class FrameRejected(ValueError):
    """A hand frame failed validation; ``reasons`` lists every problem found."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("hand frame rejected: " + "; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class PlausibilityLimits:
    """What a human hand may look like before a frame is rejected.

    Attributes:
        hand_length: Allowed wrist-to-middle-knuckle distance, m (adults ~0.08-0.11; children and large
            hands fit inside the default range).
        bone_length: Allowed length of each bone (consecutive joints of a digit), m.
        palm_from_wrist: Largest palm-to-wrist distance, m.
        min_palm_area: Smallest area of the triangle wrist / index knuckle / ring knuckle, m^2 (below it
            the palm plane is undefined).
        min_chirality: Lowest :func:`chirality` score accepted for the frame's stated handedness (a mirror
            image of the stated hand scores below it; ``None`` disables the check).
    """

    hand_length: tuple[float, float] = (0.05, 0.15)
    bone_length: tuple[float, float] = (0.004, 0.12)
    palm_from_wrist: float = 0.12
    min_palm_area: float = 2e-4
    min_chirality: float | None = -0.02


def from_unity_order(values: NDArray[np.floating]) -> NDArray[np.float64]:
    """Reorder per-joint rows (26, ...) from Unity's ``XRHandJointID.ToIndex()`` order into OpenXR order."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape[:1] != (NUM_HAND_JOINTS,):
        raise ValueError(f"expected 26 joints in the first axis, got shape {values.shape}")
    out = np.empty_like(values)
    out[UNITY_TO_OPENXR] = values
    return out


def unity_to_right_handed(positions: NDArray[np.floating]) -> NDArray[np.float64]:
    """Unity (x right, y up, z forward; left-handed) to x forward, y left, z up (right-handed), (..., 3)."""
    positions = np.asarray(positions, dtype=np.float64)
    return np.stack([positions[..., 2], -positions[..., 0], positions[..., 1]], axis=-1)


def right_handed_to_unity(positions: NDArray[np.floating]) -> NDArray[np.float64]:
    """Inverse of :func:`unity_to_right_handed`: x forward, y left, z up to Unity's x right, y up, z forward."""
    positions = np.asarray(positions, dtype=np.float64)
    return np.stack([-positions[..., 1], positions[..., 2], positions[..., 0]], axis=-1)


def to_unity_array(frame: HandFrame) -> NDArray[np.float32]:
    """The flat float32 array a Unity app would stream for ``frame`` (inverse of :func:`parse_hand_array`):
    78 floats (positions) in Unity's joint order and frame (orientations are not converted)."""
    unity = right_handed_to_unity(require_frame(frame).positions)
    return unity[UNITY_TO_OPENXR].astype(np.float32).ravel()


def _unity_quaternion_to_right_handed(quaternions: NDArray[np.float64]) -> NDArray[np.float64]:
    # Unity stores (x, y, z, w); a change of handedness negates the rotation angle: axis maps like a point,
    # so (w, v) -> (w, -M v) with M the point map above.
    x, y, z, w = (quaternions[..., i] for i in range(4))
    return np.stack([w, -z, x, -y], axis=-1)


def parse_hand_array(
    values: NDArray[np.floating] | list[float],
    handedness: Handedness = "right",
    timestamp: float = 0.0,
    unity: bool = True,
) -> HandFrame:
    """A :class:`HandFrame` from one flat float array as a Unity app streams it.

    Args:
        values: 78 floats (26 x position) or 182 floats (26 x position + quaternion (x, y, z, w)), m.
        handedness: Which hand the array holds.
        timestamp: Capture time, s.
        unity: The array is in Unity's joint order and left-handed frame (else OpenXR order, right-handed,
            quaternions (w, x, y, z)).

    Raises:
        ValueError: The array has neither 78 nor 182 entries.
    """
    flat = np.asarray(values, dtype=np.float64).ravel()
    if flat.size not in (NUM_HAND_JOINTS * 3, NUM_HAND_JOINTS * 7):
        raise ValueError(f"hand array must hold 78 (positions) or 182 (poses) floats, got {flat.size}")
    rows = flat.reshape(NUM_HAND_JOINTS, -1)
    positions, orientations = rows[:, :3], (rows[:, 3:] if rows.shape[1] == 7 else None)
    if unity:
        positions = unity_to_right_handed(from_unity_order(positions))
        if orientations is not None:
            orientations = _unity_quaternion_to_right_handed(from_unity_order(orientations))
    return HandFrame(positions, float(timestamp), handedness, orientations)


def _bones() -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    starts, ends = [], []
    for joints in DIGIT_JOINTS.values():
        chain = (HandJoint.WRIST, *joints)
        starts += chain[:-1]
        ends += chain[1:]
    return np.array(starts), np.array(ends)


_BONE_START, _BONE_END = _bones()


def _norm(v: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.sqrt((v * v).sum(axis=-1))


def require_frame(frame: object, what: str = "frame") -> HandFrame:
    """``frame`` itself if it is a :class:`HandFrame`, else ``TypeError`` (a raw array has no handedness or
    joint-order convention: build one with :func:`parse_hand_array` or ``HandFrame(positions, ...)``)."""
    if not isinstance(frame, HandFrame):
        raise TypeError(
            f"{what} must be a HandFrame, got {type(frame).__name__}; wrap raw joint arrays with "
            "parse_hand_array(values, handedness) or HandFrame(positions, timestamp, handedness)"
        )
    return frame


_PALMAR_JOINTS: Final = np.array(
    [j for digit in ("index", "middle", "ring", "little") for j in DIGIT_JOINTS[digit][2:]]
    + [HandJoint.THUMB_DISTAL, HandJoint.THUMB_TIP]
)


def chirality(positions: NDArray[np.floating], handedness: Handedness) -> float:
    """How well a skeleton fits the stated hand: positive for that hand, negative for its mirror image.

    A hand only flexes towards its palm, and the thumb works in front of it. The palm side is the direction of
    ``(index knuckle - wrist) x (ring knuckle - wrist)`` for a right hand and the opposite one for a left hand;
    the score is the mean height of the finger joints beyond the knuckles (PIP, DIP, tips) and of the thumb's
    IP joint and tip above the plane through the wrist and the index/ring knuckles, towards that side, divided
    by the wrist-to-middle-knuckle length. A relaxed hand scores about +0.1 to +0.5, a mirrored one as much
    below zero; a perfectly flat hand (0) is its own mirror image but for the thumb.
    """
    p = np.asarray(positions, dtype=np.float64)
    wrist = p[HandJoint.WRIST]
    normal = cross3(p[HandJoint.INDEX_PROXIMAL] - wrist, p[HandJoint.RING_PROXIMAL] - wrist)
    size = float(_norm(normal)) * float(_norm(p[HandJoint.MIDDLE_PROXIMAL] - wrist))
    if size == 0.0:
        return 0.0
    sign = 1.0 if handedness == "right" else -1.0
    return sign * float(((p[_PALMAR_JOINTS] - wrist) @ normal).mean()) / size


def frame_problems(frame: HandFrame, limits: PlausibilityLimits | None = None) -> list[str]:
    """Every reason not to trust ``frame``; empty if it is usable.

    Raises:
        TypeError: ``frame`` is not a :class:`HandFrame`.
    """
    require_frame(frame)
    limits = limits or PlausibilityLimits()
    p = frame.positions
    problems: list[str] = []
    if not np.isfinite(p).all():
        missing = np.isnan(p).any(axis=1)
        if missing.any():
            names = ", ".join(HandJoint(i).name.lower() for i in np.flatnonzero(missing))
            problems.append(f"missing joints (NaN): {names}")
        infinite = np.isinf(p).any(axis=1)
        if infinite.any():
            names = ", ".join(HandJoint(i).name.lower() for i in np.flatnonzero(infinite))
            problems.append(f"infinite coordinates at joints: {names}")
    if frame.orientations is not None and not np.isfinite(frame.orientations).all():
        problems.append("orientations contain NaN/inf")
    if problems:
        return problems
    wrist = p[HandJoint.WRIST]
    length = float(_norm(p[HandJoint.MIDDLE_PROXIMAL] - wrist))
    low, high = limits.hand_length
    if not low <= length <= high:
        problems.append(
            f"implausible hand size: wrist to middle knuckle {length * 1000:.1f} mm, "
            f"allowed {low * 1000:.0f}-{high * 1000:.0f} mm"
        )
    low, high = limits.bone_length
    bones = _norm(p[_BONE_END] - p[_BONE_START])
    for i in np.flatnonzero((bones < low) | (bones > high)) if not low <= bones.min() <= bones.max() <= high else ():
        a, b = HandJoint(_BONE_START[i]).name.lower(), HandJoint(_BONE_END[i]).name.lower()
        problems.append(
            f"implausible bone {a}->{b}: {bones[i] * 1000:.1f} mm, allowed {low * 1000:.0f}-{high * 1000:.0f} mm"
        )
    palm = float(_norm(p[HandJoint.PALM] - wrist))
    if palm > limits.palm_from_wrist:
        problems.append(f"palm {palm * 1000:.1f} mm from the wrist (max {limits.palm_from_wrist * 1000:.0f} mm)")
    a, b = p[HandJoint.INDEX_PROXIMAL] - wrist, p[HandJoint.RING_PROXIMAL] - wrist
    area = 0.5 * float(_norm(cross3(a, b)))
    if area < limits.min_palm_area:
        problems.append(f"degenerate palm: wrist and index/ring knuckles span {area * 1e4:.2f} cm^2")
    elif limits.min_chirality is not None:
        score = chirality(p, frame.handedness)
        if score < limits.min_chirality:
            other = "left" if frame.handedness == "right" else "right"
            problems.append(
                f"mirror image: the skeleton is shaped like a {other} hand but labelled {frame.handedness} "
                f"(chirality {score:+.3f} < {limits.min_chirality:+.3f}; fingers bend away from the palm side)"
            )
    return problems


def cross3(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """Cross product of two 3-vectors (cheaper than ``np.cross`` for single vectors)."""
    return np.array([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]])


def validate_frame(frame: HandFrame, limits: PlausibilityLimits | None = None) -> HandFrame:
    """Return ``frame`` if it is usable, else raise :class:`FrameRejected` with every reason."""
    problems = frame_problems(frame, limits)
    if problems:
        raise FrameRejected(problems)
    return frame
