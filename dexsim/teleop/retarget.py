"""Human-to-Allegro retargeting (paper Sec. III, Fig. 3): three steps, then per-finger IK.

a) :func:`align_to_robot` drops the little finger, rotates the human hand so that the plane through its wrist
   and index/ring knuckles coincides with the robot's plane through the same points (and the in-plane
   wrist-to-knuckles direction with the robot's), and translates it so that the middle-finger roots coincide.
b) :func:`scale_fingers` moves each finger's root onto the Allegro finger's root and scales the finger by
   eq. (1), :func:`finger_scale`::

       s_f = (1 / n) * sum_{i=1..n} L_robot[f, i] / L_human[f, i]        (n = 3 segments per finger)

   the mean ratio of robot to human segment lengths; human points become ``root_robot + s_f (p - root_human)``.
c) :func:`shift_fingertips` moves the thumb tip ``thumb_shift`` towards the robot's wrist point and each
   index/middle/ring tip ``finger_shift`` towards the hand plane (without crossing it).

:class:`Retargeter` chains the steps with the IK of :mod:`dexsim.hand.ik`, warm-started from its last
solution. Every position is in the robot hand frame (see :mod:`dexsim.hand.kinematics`), m.

Finger correspondence (Allegro order): index, middle, ring from the human MCP (``*_PROXIMAL``) through
PIP, DIP to the tip; thumb from the human CMC (``THUMB_METACARPAL``) through MCP, IP to the tip. Robot roots:
the index/middle/ring knuckles (joint 1) and the thumb's joint-0 pivot (origin of body ``thumb_base``); robot
segment lengths: 54 / 38.4 / 26.7 mm for the fingers; 63.8 mm (pivot to joint 2), 51.4, 42.3 mm for the thumb.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from time import perf_counter
from typing import Final

import numpy as np
from numpy.typing import NDArray

from dexsim._kernels import optional_kernels
from dexsim.hand.ik import FingerIKConfig, IKSolution, load_compiled, solve_fingertips
from dexsim.hand.joints import Finger, home_pose
from dexsim.hand.kinematics import FINGER_CHAINS, HAND_WRIST, chain_frames, flexion_root
from dexsim.teleop import skeleton
from dexsim.teleop.skeleton import HandFrame, HandJoint, PlausibilityLimits, cross3, require_frame, validate_frame

# The compiled validation + steps a-d where numba is installed (the `fast` extra), else numpy; its module is imported
# at first use (dexsim._kernels).
_compiled = optional_kernels("dexsim.teleop._retarget_numba")

__all__ = [
    "HUMAN_CHAINS",
    "ROBOT_ROOTS",
    "ROBOT_SEGMENTS",
    "RetargetConfig",
    "RetargetResult",
    "Retargeter",
    "align_to_robot",
    "finger_scale",
    "scale_fingers",
    "shift_fingertips",
    "hand_plane",
    "rotate_thumb",
    "pinch_weights",
    "apply_pinch",
    "retarget_fingertips",
]

HUMAN_CHAINS: Final = np.array(
    [
        [HandJoint.INDEX_PROXIMAL, HandJoint.INDEX_INTERMEDIATE, HandJoint.INDEX_DISTAL, HandJoint.INDEX_TIP],
        [HandJoint.MIDDLE_PROXIMAL, HandJoint.MIDDLE_INTERMEDIATE, HandJoint.MIDDLE_DISTAL, HandJoint.MIDDLE_TIP],
        [HandJoint.RING_PROXIMAL, HandJoint.RING_INTERMEDIATE, HandJoint.RING_DISTAL, HandJoint.RING_TIP],
        [HandJoint.THUMB_METACARPAL, HandJoint.THUMB_PROXIMAL, HandJoint.THUMB_DISTAL, HandJoint.THUMB_TIP],
    ]
)
"""(4 fingers in Allegro order, 4 points root -> tip): OpenXR joints each Allegro finger follows."""


def _robot_roots() -> NDArray[np.float64]:
    roots = np.stack([flexion_root(f) for f in (Finger.INDEX, Finger.MIDDLE, Finger.RING)])
    roots = np.vstack([roots, FINGER_CHAINS[Finger.THUMB].base[:3, 3]])
    roots.setflags(write=False)
    return roots


def _robot_segments() -> NDArray[np.float64]:
    frames = chain_frames(np.zeros((4, 4)))
    origins = frames[:, :, :3, 3]  # (4, 5, 3)
    segments = np.empty((4, 3))
    segments[:3] = np.linalg.norm(np.diff(origins[:3, 1:], axis=1), axis=-1)  # joint 1 -> 2 -> 3 -> tip
    thumb = np.vstack([_robot_roots()[3], origins[3, 2:]])  # pivot -> joint 2 -> joint 3 -> tip
    segments[3] = np.linalg.norm(np.diff(thumb, axis=0), axis=-1)
    segments.setflags(write=False)
    return segments


ROBOT_ROOTS: Final = _robot_roots()
"""(4, 3) Allegro finger roots, hand frame, m: index/middle/ring knuckles, thumb joint-0 pivot."""
ROBOT_SEGMENTS: Final = _robot_segments()
"""(4, 3) Allegro segment lengths root -> tip, m (the L_robot of eq. (1))."""


def hand_plane(
    wrist: NDArray[np.floating], index_root: NDArray[np.floating], ring_root: NDArray[np.floating]
) -> NDArray[np.float64]:
    """Orthonormal frame (3, 3) of a hand, columns (palm normal, lateral, wrist-to-knuckles).

    The palm normal is ``(index - wrist) x (ring - wrist)`` normalised: for a right hand it points out of the
    palm (the robot's +x). The third column is the in-plane direction from the wrist to the midpoint of the
    knuckles; the second completes a right-handed frame (towards the index side).
    """
    a = np.asarray(index_root, dtype=np.float64) - wrist
    b = np.asarray(ring_root, dtype=np.float64) - wrist
    normal = cross3(a, b)
    normal /= np.sqrt(normal @ normal)
    along = 0.5 * (a + b)
    along -= normal * (along @ normal)
    along /= np.sqrt(along @ along)
    frame = np.empty((3, 3))
    frame[:, 0], frame[:, 1], frame[:, 2] = normal, cross3(along, normal), along
    return frame


_ROBOT_PLANE: Final = hand_plane(HAND_WRIST, ROBOT_ROOTS[Finger.INDEX], ROBOT_ROOTS[Finger.RING])
_ROBOT_NORMAL: Final = _ROBOT_PLANE[:, 0].copy()
_HUMAN_PINCH_TIPS: Final = np.array([HandJoint.INDEX_TIP, HandJoint.MIDDLE_TIP, HandJoint.RING_TIP])


def align_to_robot(positions: NDArray[np.floating]) -> NDArray[np.float64]:
    """Step a: the human right hand moved onto the robot hand, little finger dropped.

    Args:
        positions: (26, 3) human joint positions (OpenXR order), any right-handed tracking frame, m.

    Returns:
        (4, 4, 3) finger chains in Allegro order (:data:`HUMAN_CHAINS`), rotated so the human
        wrist/index-knuckle/ring-knuckle plane matches the robot's and translated so the middle-finger roots
        coincide, robot hand frame, m.
    """
    p = np.asarray(positions, dtype=np.float64)
    human = hand_plane(p[HandJoint.WRIST], p[HandJoint.INDEX_PROXIMAL], p[HandJoint.RING_PROXIMAL])
    rotation = _ROBOT_PLANE @ human.T
    chains = p[HUMAN_CHAINS]
    return (chains - p[HandJoint.MIDDLE_PROXIMAL]) @ rotation.T + ROBOT_ROOTS[Finger.MIDDLE]


def finger_scale(chains: NDArray[np.floating]) -> NDArray[np.float64]:
    """Eq. (1): per finger, the mean over its n = 3 segments of robot length / human length, (4,)."""
    chains = np.asarray(chains, dtype=np.float64)
    segments = chains[..., 1:, :] - chains[..., :-1, :]
    human = np.sqrt((segments * segments).sum(axis=-1))  # (4, 3)
    return (ROBOT_SEGMENTS / human).sum(axis=-1) / ROBOT_SEGMENTS.shape[-1]


def scale_fingers(chains: NDArray[np.floating]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Step b: each finger's root onto the robot's, its segments scaled by :func:`finger_scale`.

    Args:
        chains: (4, 4, 3) aligned finger chains from :func:`align_to_robot`, m.

    Returns:
        ``(scaled chains (4, 4, 3), scale factors (4,))``.
    """
    chains = np.asarray(chains, dtype=np.float64)
    scale = finger_scale(chains)
    scaled = ROBOT_ROOTS[:, None] + scale[:, None, None] * (chains - chains[:, :1])
    return scaled, scale


def shift_fingertips(tips: NDArray[np.floating], thumb_shift: float, finger_shift: float) -> NDArray[np.float64]:
    """Step c: thumb tip towards the robot wrist, index/middle/ring tips towards the hand plane.

    Args:
        tips: (4, 3) fingertip positions in Allegro order, robot hand frame, m.
        thumb_shift: Distance the thumb tip moves towards :data:`~dexsim.hand.kinematics.HAND_WRIST`, m.
        finger_shift: Distance the other tips move towards the plane through the robot's wrist and
            index/ring knuckles, m; a tip closer to the plane than that ends on the plane.
    """
    tips = np.array(tips, dtype=np.float64)
    to_wrist = HAND_WRIST - tips[Finger.THUMB]
    length = float(np.sqrt(to_wrist @ to_wrist))
    if length > 0:
        tips[Finger.THUMB] += to_wrist * (min(thumb_shift, length) / length)
    height = (tips[:3] - HAND_WRIST) @ _ROBOT_NORMAL
    tips[:3] -= (np.sign(height) * np.minimum(np.abs(height), finger_shift))[:, None] * _ROBOT_NORMAL
    return tips


def rotate_thumb(chains: NDArray[np.floating], angle: float) -> NDArray[np.float64]:
    """Step b': the scaled thumb chain turned ``angle`` rad about the palm normal through its robot root.

    The Allegro thumb, stretched, points sideways and down from its low root (its tip 40 mm below the root);
    a stretched human thumb points up towards the fingers. Turning the thumb about the palm normal (positive:
    from the fingers' direction towards the thumb side, +z towards +y) lines the two rest directions up while
    keeping how far the thumb stands out of the palm (its opposition, the +x component) unchanged.

    Args:
        chains: (4, 4, 3) scaled chains (:func:`scale_fingers`), Allegro order, m.
        angle: Rotation about the robot's palm normal, rad.
    """
    chains = np.array(chains, dtype=np.float64)
    root = chains[Finger.THUMB, 0]
    chains[Finger.THUMB] = (chains[Finger.THUMB] - root) @ _thumb_turn(float(angle)) + root
    return chains


@functools.lru_cache(maxsize=8)
def _thumb_turn(angle: float) -> NDArray[np.float64]:
    """The transpose of :func:`rotate_thumb`'s rotation (points are rows), (3, 3)."""
    c, s = np.cos(angle), np.sin(angle)
    a = _ROBOT_PLANE  # columns: normal, lateral (index side), along the fingers
    turn = (a @ np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]]) @ a.T).T
    turn.setflags(write=False)
    return turn


def pinch_weights(positions: NDArray[np.floating], full: float, release: float) -> NDArray[np.float64]:
    """How much each index/middle/ring tip pinches with the thumb: 1 at a human tip gap <= ``full`` m, 0 at
    >= ``release`` m, a smoothstep in between (continuous, flat at both ends), (3,)."""
    p = np.asarray(positions, dtype=np.float64)
    gaps = p[_HUMAN_PINCH_TIPS] - p[HandJoint.THUMB_TIP]
    distance = np.sqrt((gaps * gaps).sum(axis=-1))
    x = np.minimum(np.maximum((release - distance) / (release - full), 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def apply_pinch(
    tips: NDArray[np.floating], human_gaps: NDArray[np.floating], weights: NDArray[np.floating]
) -> NDArray[np.float64]:
    """Step d (after DexPilot's pinch terms): pinching tips move towards a shared pinch point.

    For each finger ``f`` with weight ``w_f > 0`` the pinch point is the midpoint of its tip and the thumb tip;
    the pair's targets become that point -/+ half the *human* (unscaled) thumb-to-finger vector, blended with
    weight ``w_f`` against the step-c targets. The thumb takes the weighted mean of its pinch targets when it
    pinches several fingers.

    Args:
        tips: (4, 3) step-c targets, Allegro order, robot hand frame, m.
        human_gaps: (3, 3) human thumb-tip to index/middle/ring-tip vectors, rotated into the robot frame, m.
        weights: (3,) from :func:`pinch_weights`.
    """
    tips = np.array(tips, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if not weights.any():
        return tips
    thumb = tips[Finger.THUMB].copy()
    centres = 0.5 * (tips[:3] + thumb) - 0.5 * np.asarray(human_gaps)  # where the thumb goes per pair
    tips[:3] += weights[:, None] * ((centres + human_gaps) - tips[:3])
    total = float(weights.sum())
    thumb_goal = (weights[:, None] * centres).sum(axis=0) / total
    tips[Finger.THUMB] = thumb + min(total, 1.0) * (thumb_goal - thumb)
    return tips


@dataclass(frozen=True)
class RetargetConfig:
    """Settings of :class:`Retargeter`.

    Attributes:
        thumb_rotation: Step b', rad about the palm normal (:func:`rotate_thumb`). Default 1.0 rad: a stretched
            human thumb then maps onto a stretched Allegro thumb (joints 2 and 3 below 0.3 of their range;
            docs/retargeting.md has the sweep).
        thumb_shift: Step c i), m towards the wrist (default 0: a shift towards the wrist bends thumb joint 3).
        finger_shift: Step c ii), m towards the hand plane. Default 20 mm: a fist closed to 90 % then
            closes the Allegro fingers as far as a full fist does (docs/retargeting.md has the sweep).
        pinch_full: Human thumb-to-fingertip gap at or below which step d makes the pair meet, m.
        pinch_release: Gap at or above which step d leaves the pair alone, m (> ``pinch_full``).
        pinch_passes: Extra IK passes that move a pinching pair's shared point into reach of both fingers (pairs
            with a pinch weight >= 0.5, i.e. human gaps below the middle of the blend band).
        pinch_tolerance: A pass is needed only while a pinching pair's reached tips are farther apart than their
            targets by more than this, m.
        ik: The per-finger IK settings (fixed abduction etc.). Default: 2 damped-least-squares polish steps
            instead of the solver's 6 (thumb targets of a stretched hand lie outside the thumb's workspace; the
            closest-point error was the same to 0.1 mm on the benchmark streams, at a third less time).
        limits: Frame plausibility limits.
    """

    thumb_rotation: float = 1.0
    thumb_shift: float = 0.0
    finger_shift: float = 0.020
    pinch_full: float = 0.012
    pinch_release: float = 0.035
    pinch_passes: int = 3
    pinch_tolerance: float = 0.003
    ik: FingerIKConfig = field(default_factory=lambda: FingerIKConfig(polish_iterations=2))
    limits: PlausibilityLimits = field(default_factory=PlausibilityLimits)

    def __post_init__(self) -> None:
        if not -np.pi <= self.thumb_rotation <= np.pi:
            raise ValueError(f"thumb_rotation must be in [-pi, pi] rad, got {self.thumb_rotation}")
        if not 0.0 <= self.thumb_shift <= 0.1:
            raise ValueError(f"thumb_shift must be in [0, 0.1] m, got {self.thumb_shift}")
        if not 0.0 <= self.finger_shift <= 0.08:
            raise ValueError(f"finger_shift must be in [0, 0.08] m, got {self.finger_shift}")
        if not 0.0 <= self.pinch_full < self.pinch_release <= 0.1:
            raise ValueError(
                f"need 0 <= pinch_full < pinch_release <= 0.1 m, got {self.pinch_full}, {self.pinch_release}"
            )
        if self.pinch_passes < 0 or self.pinch_tolerance <= 0:
            raise ValueError(
                f"need pinch_passes >= 0 and pinch_tolerance > 0, got {self.pinch_passes}, {self.pinch_tolerance}"
            )


@dataclass(frozen=True)
class RetargetResult:
    """One retargeted frame.

    Attributes:
        joint_targets: (16,) joint targets in Allegro order, rad, within the joint limits.
        fingertip_targets: (4, 3) retargeted fingertip positions after step c, robot hand frame, m.
        fingertip_error: (4,) distance from the IK solution's fingertips to those targets, m.
        scale: (4,) eq. (1) factors used.
    """

    joint_targets: NDArray[np.float64]
    fingertip_targets: NDArray[np.float64]
    fingertip_error: NDArray[np.float64]
    scale: NDArray[np.float64]


def retarget_fingertips(positions: NDArray[np.floating], config: RetargetConfig) -> tuple[NDArray, NDArray]:
    """Steps a-d on one validated skeleton: ``(fingertip targets (4, 3), scale factors (4,))``."""
    targets, scale, _, _ = _targets(positions, config)
    return targets, scale


def _targets(positions: NDArray[np.floating], config: RetargetConfig) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Steps a-d: targets, scale factors, pinch weights (3,) and human thumb-to-finger vectors (3, 3)."""
    aligned = align_to_robot(positions)
    scaled, scale = scale_fingers(aligned)
    scaled = rotate_thumb(scaled, config.thumb_rotation)
    tips = shift_fingertips(scaled[:, -1], config.thumb_shift, config.finger_shift)
    weights = pinch_weights(positions, config.pinch_full, config.pinch_release)
    gaps = aligned[:3, -1] - aligned[Finger.THUMB, -1]
    return apply_pinch(tips, gaps, weights), scale, weights, gaps


_KERNEL_JOINTS: Final = np.array(
    [HandJoint.WRIST, HandJoint.PALM, HandJoint.INDEX_PROXIMAL, HandJoint.MIDDLE_PROXIMAL, HandJoint.RING_PROXIMAL,
     HandJoint.THUMB_TIP, *_HUMAN_PINCH_TIPS]
)
_KERNEL_INDICES: Final = (
    _KERNEL_JOINTS,
    np.ascontiguousarray(HUMAN_CHAINS),
    np.stack([skeleton._BONE_START, skeleton._BONE_END]),
    np.ascontiguousarray(skeleton._PALMAR_JOINTS),
)


@functools.lru_cache(maxsize=8)
def _kernel_constants(config: RetargetConfig) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The ``robot`` and ``settings`` arrays of :func:`dexsim.teleop._retarget_numba.frame_targets` for a config."""
    robot = np.vstack([_ROBOT_PLANE, _thumb_turn(float(config.thumb_rotation)), ROBOT_ROOTS, ROBOT_SEGMENTS,
                       HAND_WRIST, _ROBOT_NORMAL])
    limits = config.limits
    chirality = -np.inf if limits.min_chirality is None else limits.min_chirality
    settings = np.array([config.thumb_shift, config.finger_shift, config.pinch_full, config.pinch_release,
                         *limits.hand_length, *limits.bone_length, limits.palm_from_wrist, limits.min_palm_area,
                         chirality], dtype=np.float64)
    return robot, settings


def _checked_targets(frame: HandFrame, config: RetargetConfig) -> tuple[NDArray, NDArray, NDArray, NDArray]:
    """Frame validation (raises :class:`~dexsim.teleop.skeleton.FrameRejected`) and steps a-d, compiled where
    numba is installed: a frame the compiled checks do not clearly accept goes through the numpy ones."""
    if _compiled is not None and (frame.orientations is None or np.isfinite(frame.orientations).all()):
        accepted, tips, scale, weights, gaps = _compiled.frame_targets(
            np.ascontiguousarray(frame.positions), *_KERNEL_INDICES, *_kernel_constants(config)
        )
        if accepted:
            return tips, scale, weights, gaps
    validate_frame(frame, config.limits)
    return _targets(frame.positions, config)


def warm_up() -> None:
    """Load (or, the first time after installing, compile: a few seconds) the compiled retargeting kernels now,
    so the first live frame does not wait for them. Without numba this does nothing."""
    load_compiled()
    if _compiled is not None:
        _compiled.frame_targets(np.zeros((26, 3)), *_KERNEL_INDICES, *_kernel_constants(RetargetConfig()))


class Retargeter:
    """Human right-hand frames to Allegro joint targets, warm-started from the previous frame.

    Args:
        config: Retargeting settings.
    """

    def __init__(self, config: RetargetConfig | None = None) -> None:
        self.config = config or RetargetConfig()
        warm_up()
        self._q = home_pose().copy()
        self.timings = (0.0, 0.0)
        """Seconds the last call spent in (validation + steps a-d, IK including the pinch passes)."""

    @property
    def last_targets(self) -> NDArray[np.float64]:
        """The most recent joint targets (the home pose before the first frame), rad."""
        return self._q.copy()

    def reset(self, q: NDArray[np.floating] | None = None) -> None:
        """Forget the warm start; continue from ``q`` (default the home pose)."""
        self._q = (home_pose() if q is None else np.asarray(q, dtype=np.float64)).copy()

    def __call__(self, frame: HandFrame) -> RetargetResult:
        """Retarget one right-hand frame.

        Raises:
            TypeError: ``frame`` is not a :class:`HandFrame` (e.g. a raw array: use ``parse_hand_array``).
            FrameRejected: The frame is not a plausible right hand (reasons attached, a mirror image among
                them); the warm start is kept.
            ValueError: ``frame`` is a left hand.
        """
        require_frame(frame)
        if frame.handedness != "right":
            raise ValueError("the robot is driven by the right hand; got a left-hand frame")
        start = perf_counter()
        tips, scale, weights, gaps = _checked_targets(frame, self.config)
        steps_done = perf_counter()
        solution: IKSolution = solve_fingertips(tips, self._q, self.config.ik)
        pinching = np.flatnonzero(weights >= 0.5)  # the passes matter where the pair should (nearly) touch
        if pinching.size and self.config.pinch_passes:
            solution = self._reach_pinch(tips, gaps, weights, pinching, solution)
        self._q = solution.q
        self.timings = (steps_done - start, perf_counter() - steps_done)
        return RetargetResult(solution.q.copy(), tips, solution.error, scale)

    def _reach_pinch(
        self,
        tips: NDArray[np.float64],
        gaps: NDArray[np.float64],
        weights: NDArray[np.float64],
        pinching: NDArray[np.int64],
        solution: IKSolution,
    ) -> IKSolution:
        """Move each pinching pair's shared point into the region both fingers reach (updates ``tips``).

        The pair's point ``c`` (the thumb's pinch target) moves by the sum of both fingers' misses,
        ``c += (reached_thumb - thumb_goal) + (reached_finger - finger_goal)``: a simultaneous projection onto the
        two workspaces, which a fixed-abduction finger (a plane) and the thumb (a volume) satisfy in a few passes.
        Passes stop once every pair's reached gap is within ``pinch_tolerance`` of its target gap.
        """
        for _ in range(self.config.pinch_passes):
            reached = solution.fingertips()
            wanted = np.linalg.norm(tips[pinching] - tips[Finger.THUMB], axis=-1)
            got = np.linalg.norm(reached[pinching] - reached[Finger.THUMB], axis=-1)
            if (got <= wanted + self.config.pinch_tolerance).all():
                break
            miss = reached - tips
            thumb_goal = np.zeros(3)
            for f in pinching:
                centre = tips[Finger.THUMB] + miss[Finger.THUMB] + miss[f]
                tips[f] += weights[f] * (centre + gaps[f] - tips[f])
                thumb_goal += weights[f] * centre
            total = float(weights[pinching].sum())
            tips[Finger.THUMB] += min(total, 1.0) * (thumb_goal / total - tips[Finger.THUMB])
            solution = solve_fingertips(tips, solution.q, self.config.ik)
        return solution
