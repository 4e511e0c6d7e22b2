"""Synthetic 26-joint human hands for tests and benchmarks: sizes, poses and motions.

A small parametric hand model. In its local frame (the same convention as the robot's hand frame) the wrist
is at the origin, fingers point along +z, the palm faces +x and the index finger is at +y for a right hand;
a left hand is the mirror image (y -> -y). Each finger flexes in the plane of its rest direction and the palm
normal (MCP, PIP, DIP angles, rad) and spreads about the palm normal; the thumb has an opposition angle, an
elevation towards the fingers and two flexion angles. Bone lengths are those of a medium adult hand (wrist to
middle knuckle 93 mm) times ``scale``. Frames can be placed anywhere in a tracking ("world") frame and get
Gaussian tracking noise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

from dexsim.teleop.skeleton import NUM_HAND_JOINTS, Handedness, HandFrame, HandJoint

__all__ = [
    "HandPose",
    "POSES",
    "MOTIONS",
    "hand_positions",
    "interpolate",
    "random_rotation",
    "synthetic_frame",
    "synthetic_stream",
    "gesture_stream",
]

_FINGERS = ("index", "middle", "ring", "little")
# Medium adult right hand, m (scale 1.0).
_METACARPAL_BASE = np.array([[0.0, 0.010, 0.025], [0.0, 0.0, 0.025], [0.0, -0.010, 0.024], [0.0, -0.019, 0.022]])
_KNUCKLE = np.array([[0.0, 0.024, 0.090], [0.0, 0.003, 0.093], [0.0, -0.016, 0.088], [0.0, -0.033, 0.080]])
_PHALANGES = np.array([[0.040, 0.024, 0.022], [0.045, 0.028, 0.023], [0.042, 0.027, 0.023], [0.033, 0.019, 0.021]])
_THUMB_CMC = np.array([0.008, 0.020, 0.030])
_THUMB_BONES = np.array([0.045, 0.032, 0.028])
_PALM = np.array([0.0, 0.0, 0.05])
_THUMB_FLEX_TOWARDS = np.array([0.45, -1.0, 0.0]) / np.hypot(0.45, 1.0)


@dataclass(frozen=True)
class HandPose:
    """Joint angles of the synthetic hand, rad.

    Attributes:
        flexion: (4, 3) MCP, PIP, DIP flexion of index, middle, ring, little (towards the palm).
        spread: (4,) rotation of each finger about the palm normal (positive towards the index side).
        thumb: (opposition, elevation, MCP flexion, IP flexion): opposition 0 keeps the thumb in the palm plane,
            pi/2 points it out of the palm; elevation tilts it towards the fingers.
    """

    flexion: tuple[tuple[float, float, float], ...]
    spread: tuple[float, float, float, float]
    thumb: tuple[float, float, float, float]

    def as_vector(self) -> NDArray[np.float64]:
        """All 20 angles in one vector (flexion, spread, thumb)."""
        return np.concatenate([np.ravel(self.flexion), self.spread, self.thumb])

    @staticmethod
    def from_vector(vector: NDArray[np.floating]) -> HandPose:
        """Inverse of :meth:`as_vector`."""
        v = np.asarray(vector, dtype=np.float64)
        return HandPose(
            tuple(tuple(row) for row in v[:12].reshape(4, 3)),
            tuple(v[12:16]),
            tuple(v[16:20]),  # type: ignore[arg-type]
        )


def _fingers(values: tuple[float, float, float]) -> tuple[tuple[float, float, float], ...]:
    return (values,) * 4


POSES: Final[dict[str, HandPose]] = {
    "open": HandPose(_fingers((0.05, 0.05, 0.05)), (0.12, 0.0, -0.1, -0.2), (0.4, 0.6, 0.1, 0.1)),
    "relaxed": HandPose(_fingers((0.3, 0.4, 0.2)), (0.08, 0.0, -0.06, -0.12), (0.7, 0.7, 0.3, 0.2)),
    "fist": HandPose(_fingers((1.5, 1.75, 1.1)), (0.0, 0.0, 0.0, 0.0), (1.0, 0.5, 0.9, 0.8)),
    "pinch": HandPose(
        ((0.75, 0.85, 0.45), (0.35, 0.45, 0.25), (0.35, 0.45, 0.25), (0.4, 0.5, 0.3)),
        (0.05, 0.0, -0.06, -0.12),
        (0.9, 0.9, 0.6, 0.1),
    ),
}
"""Named poses."""

MOTIONS: Final = ("open_close", "pinch", "twist")
"""Motions :func:`synthetic_stream` can generate."""


def interpolate(a: HandPose, b: HandPose, weight: float) -> HandPose:
    """The pose ``weight`` of the way from ``a`` to ``b`` (angles interpolated linearly)."""
    return HandPose.from_vector((1.0 - weight) * a.as_vector() + weight * b.as_vector())


def _rotate(vectors: NDArray[np.float64], axis: NDArray[np.float64], angle: float) -> NDArray[np.float64]:
    """Rodrigues rotation of (..., 3) vectors about a unit axis."""
    c, s = np.cos(angle), np.sin(angle)
    return vectors * c + np.cross(axis, vectors) * s + np.outer(vectors @ axis, axis).reshape(vectors.shape) * (1 - c)


def hand_positions(pose: HandPose, scale: float = 1.0, handedness: Handedness = "right") -> NDArray[np.float64]:
    """Joint positions (26, 3) of the hand in its local frame, m, OpenXR order."""
    if not 0.3 <= scale <= 3.0:
        raise ValueError(f"hand scale must be in [0.3, 3], got {scale}")
    p = np.zeros((NUM_HAND_JOINTS, 3))
    p[HandJoint.PALM] = _PALM
    x_axis = np.array([1.0, 0.0, 0.0])
    flexion = np.asarray(pose.flexion, dtype=np.float64)
    for f, name in enumerate(_FINGERS):
        first = HandJoint[f"{name.upper()}_METACARPAL"]
        p[first] = _METACARPAL_BASE[f]
        p[first + 1] = _KNUCKLE[f]
        rest = _rotate(np.array([0.0, 0.0, 1.0]), x_axis, -pose.spread[f])  # +spread towards +y
        cumulative = 0.0
        for j in range(3):
            cumulative += flexion[f, j]
            direction = np.cos(cumulative) * rest + np.sin(cumulative) * x_axis
            p[first + 2 + j] = p[first + 1 + j] + _PHALANGES[f, j] * direction
    opposition, elevation, mcp, ip = pose.thumb
    direction = np.array(
        [np.cos(elevation) * np.sin(opposition), np.cos(elevation) * np.cos(opposition), np.sin(elevation)]
    )
    axis = np.cross(direction, _THUMB_FLEX_TOWARDS)
    axis /= np.linalg.norm(axis)
    p[HandJoint.THUMB_METACARPAL] = _THUMB_CMC
    p[HandJoint.THUMB_PROXIMAL] = _THUMB_CMC + _THUMB_BONES[0] * direction
    direction = _rotate(direction, axis, mcp)
    p[HandJoint.THUMB_DISTAL] = p[HandJoint.THUMB_PROXIMAL] + _THUMB_BONES[1] * direction
    direction = _rotate(direction, axis, ip)
    p[HandJoint.THUMB_TIP] = p[HandJoint.THUMB_DISTAL] + _THUMB_BONES[2] * direction
    p *= scale
    if handedness == "left":
        p[:, 1] *= -1.0
    return p


def random_rotation(rng: np.random.Generator) -> NDArray[np.float64]:
    """A uniformly random rotation matrix."""
    q = rng.normal(size=4)
    w, x, y, z = q / np.linalg.norm(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def synthetic_frame(
    pose: HandPose | str,
    scale: float = 1.0,
    handedness: Handedness = "right",
    rotation: NDArray[np.floating] | None = None,
    translation: Sequence[float] = (0.0, 0.0, 0.0),
    timestamp: float = 0.0,
    noise: float = 0.0,
    rng: np.random.Generator | None = None,
) -> HandFrame:
    """One :class:`HandFrame` of the synthetic hand placed in a tracking frame.

    Args:
        pose: A :class:`HandPose` or a name in :data:`POSES`.
        scale: Hand size relative to a medium adult hand.
        handedness: Right or left hand.
        rotation: (3, 3) orientation of the hand's local frame in the tracking frame; default identity.
        translation: Wrist position in the tracking frame, m.
        timestamp: Frame time, s.
        noise: Standard deviation of Gaussian noise added to every coordinate, m (needs ``rng``).
        rng: Random generator for the noise.
    """
    if isinstance(pose, str):
        if pose not in POSES:
            raise ValueError(f"unknown pose {pose!r}; known: {sorted(POSES)}")
        pose = POSES[pose]
    local = hand_positions(pose, scale, handedness)
    rotation = np.eye(3) if rotation is None else np.asarray(rotation, dtype=np.float64)
    positions = local @ rotation.T + np.asarray(translation, dtype=np.float64)
    if noise > 0:
        if rng is None:
            raise ValueError("noise needs a random generator (rng)")
        positions = positions + rng.normal(scale=noise, size=positions.shape)
    return HandFrame(positions, timestamp, handedness)


def _twist_pose(phase: float) -> HandPose:
    """Index fingertip and thumb circling as in an unscrewing stroke; middle and ring hold a grasp."""
    base = POSES["relaxed"]
    flexion = np.array(base.flexion)
    flexion[1:3] = (1.0, 1.1, 0.7)
    flexion[0] = (0.55 + 0.35 * np.sin(phase), 0.7 + 0.3 * np.cos(phase), 0.4 + 0.15 * np.cos(phase))
    spread = np.array(base.spread)
    spread[0] = 0.05 + 0.15 * np.cos(phase)
    thumb = (1.0 + 0.2 * np.sin(phase), 0.8, 0.45 - 0.2 * np.cos(phase), 0.35)
    return HandPose(tuple(map(tuple, flexion)), tuple(spread), thumb)  # type: ignore[arg-type]


def synthetic_stream(
    motion: str,
    duration_s: float = 4.0,
    rate_hz: float = 60.0,
    scale: float = 1.0,
    seed: int = 0,
    noise: float = 0.0,
    period_s: float = 2.0,
) -> list[HandFrame]:
    """A right-hand stream: the hand drifts and turns slowly in the tracking frame while it moves.

    Args:
        motion: ``"open_close"`` (open -> fist -> open), ``"pinch"`` (open -> index-thumb pinch) or
            ``"twist"`` (index and thumb circling over a held grasp).
        duration_s: Stream length, s.
        rate_hz: Frame rate, Hz.
        scale: Hand size.
        seed: Seeds the hand's placement and the noise.
        noise: Tracking noise per coordinate, m.
        period_s: Period of the motion, s.
    """
    if motion not in MOTIONS:
        raise ValueError(f"unknown motion {motion!r}; known: {MOTIONS}")
    if duration_s <= 0 or rate_hz <= 0 or period_s <= 0:
        raise ValueError("duration_s, rate_hz and period_s must be positive")
    rng = np.random.default_rng(seed)
    rotation = random_rotation(rng)
    origin = rng.uniform(-0.3, 0.3, 3) + np.array([0.0, 0.0, 1.2])
    drift_axis = rng.normal(size=3)
    drift_axis /= np.linalg.norm(drift_axis)
    frames = []
    for t in np.arange(0.0, duration_s, 1.0 / rate_hz):
        phase = 2 * np.pi * t / period_s
        weight = 0.5 - 0.5 * np.cos(phase)
        if motion == "open_close":
            pose = interpolate(POSES["open"], POSES["fist"], weight)
        elif motion == "pinch":
            pose = interpolate(POSES["open"], POSES["pinch"], weight)
        else:
            pose = _twist_pose(phase)
        turn = _rotate(rotation.T, drift_axis, 0.3 * np.sin(0.5 * phase)).T
        wrist = origin + 0.05 * np.array([np.sin(0.3 * phase), np.cos(0.2 * phase), 0.0])
        frames.append(synthetic_frame(pose, scale, "right", turn, wrist, float(t), noise, rng))
    return frames


def gesture_stream(
    script: Sequence[tuple[str, float]],
    rate_hz: float = 60.0,
    scale: float = 1.0,
    transition_s: float = 0.15,
    seed: int = 0,
    noise: float = 0.0,
) -> list[HandFrame]:
    """A left-hand stream that holds named poses in turn, e.g. ``[("open", 1.0), ("fist", 0.6), ...]``.

    Args:
        script: (pose name, hold time in s) pairs; consecutive poses blend over ``transition_s``.
        rate_hz: Frame rate, Hz.
        scale: Hand size.
        transition_s: Blend time between poses, s.
        seed: Seeds the placement and noise.
        noise: Tracking noise per coordinate, m.
    """
    rng = np.random.default_rng(seed)
    rotation = random_rotation(rng)
    origin = rng.uniform(-0.3, 0.3, 3)
    frames: list[HandFrame] = []
    t = 0.0
    previous = POSES[script[0][0]] if script else POSES["open"]
    for name, hold in script:
        if name not in POSES:
            raise ValueError(f"unknown pose {name!r} in gesture script; known: {sorted(POSES)}")
        start = t
        while t < start + hold:
            weight = min(1.0, (t - start) / transition_s) if transition_s > 0 else 1.0
            pose = interpolate(previous, POSES[name], weight)
            frames.append(synthetic_frame(pose, scale, "left", rotation, origin, t, noise, rng))
            t += 1.0 / rate_hz
        previous = POSES[name]
    return frames
