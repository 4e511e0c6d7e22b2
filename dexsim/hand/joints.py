"""The Allegro Hand V4 (right) joint table: the single source of joint facts.

The MJCF builder (:mod:`dexsim.sim.scene`), the kinematics and IK
(:mod:`dexsim.hand`), the safety layer and the real-hand env all read joint
names, limits, gains, torque limits and the home pose from here.

Order is the classic Allegro order used by the ROS 1 driver and MuJoCo
Menagerie: index 0-3, middle 4-7, ring 8-11, thumb 12-15. The official ROS 2
driver orders the thumb first (``ah_joint00..03``); the real env maps joints by
name from ``hardware/*.yaml`` and never relies on position.

Sources (figures only; see ``docs/architecture.md``):

* joint ranges: the published right-hand model (MuJoCo Menagerie
  ``wonik_allegro/right_hand.xml``), in rad;
* torque limits: Wonik's ROS 2 driver defaults, in N m;
* PD gains: the ROS 2 driver's range, kp 0.42-0.83 N m/rad,
  kd 0.021-0.046 N m s/rad (per-joint values are our choice within it).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "Finger",
    "Joint",
    "JOINTS",
    "JOINT_NAMES",
    "NUM_JOINTS",
    "FINGER_JOINT_SLICES",
    "lower_limits",
    "upper_limits",
    "home_pose",
    "torque_limits",
    "kp_gains",
    "kd_gains",
    "clip_to_limits",
]


class Finger(enum.IntEnum):
    """Fingers in Allegro order; the value is the finger's position in that order."""

    INDEX = 0
    MIDDLE = 1
    RING = 2
    THUMB = 3


@dataclass(frozen=True)
class Joint:
    """One actuated joint of the hand.

    Attributes:
        name: Joint name used in our MJCF and datasets (e.g. ``"index_1"``).
        finger: The finger the joint belongs to.
        index_in_finger: 0 (base/abduction) to 3 (distal).
        lower: Lower position limit, rad.
        upper: Upper position limit, rad.
        home: Home (reset) position, rad.
        torque_limit: Largest torque the PD loop may command, N m.
        kp: Proportional gain of the hand's joint PD loop, N m/rad.
        kd: Derivative gain of the hand's joint PD loop, N m s/rad.
    """

    name: str
    finger: Finger
    index_in_finger: int
    lower: float
    upper: float
    home: float
    torque_limit: float
    kp: float
    kd: float

    def __post_init__(self) -> None:
        if not self.lower < self.upper:
            raise ValueError(f"joint {self.name}: lower {self.lower} >= upper {self.upper}")
        if not self.lower <= self.home <= self.upper:
            raise ValueError(f"joint {self.name}: home {self.home} outside [{self.lower}, {self.upper}]")
        if self.torque_limit <= 0 or self.kp <= 0 or self.kd < 0:
            raise ValueError(f"joint {self.name}: gains and torque limit must be positive")


# Ranges of index, middle and ring (identical fingers), rad.
_FINGER_RANGES = ((-0.47, 0.47), (-0.196, 1.61), (-0.174, 1.709), (-0.227, 1.618))
_THUMB_RANGES = ((0.263, 1.396), (-0.105, 1.163), (-0.189, 1.644), (-0.162, 1.719))
_FINGER_TORQUE = (0.312, 0.562, 0.375, 0.237)
_THUMB_TORQUE = (0.438, 0.338, 0.225, 0.225)
# PD gains within the real driver's range: stiffer at the strong proximal joints.
_FINGER_KP = (0.60, 0.83, 0.70, 0.42)
_FINGER_KD = (0.030, 0.046, 0.035, 0.021)
_THUMB_KP = (0.83, 0.60, 0.50, 0.42)
_THUMB_KD = (0.046, 0.030, 0.025, 0.021)
# Home: fingers half raised over the palm (a cradle: a bottle laid in the palm
# rests against them), thumb rotated under the palm out of the way.
_FINGER_HOME = (0.0, 0.7, 0.4, 0.2)
_THUMB_HOME = (0.263, 0.0, 0.0, 0.0)


def _build_table() -> tuple[Joint, ...]:
    joints: list[Joint] = []
    for finger in Finger:
        is_thumb = finger is Finger.THUMB
        ranges = _THUMB_RANGES if is_thumb else _FINGER_RANGES
        torque = _THUMB_TORQUE if is_thumb else _FINGER_TORQUE
        kp = _THUMB_KP if is_thumb else _FINGER_KP
        kd = _THUMB_KD if is_thumb else _FINGER_KD
        home = _THUMB_HOME if is_thumb else _FINGER_HOME
        for i in range(4):
            joints.append(
                Joint(
                    name=f"{finger.name.lower()}_{i}",
                    finger=finger,
                    index_in_finger=i,
                    lower=ranges[i][0],
                    upper=ranges[i][1],
                    home=home[i],
                    torque_limit=torque[i],
                    kp=kp[i],
                    kd=kd[i],
                )
            )
    return tuple(joints)


JOINTS: tuple[Joint, ...] = _build_table()
"""All 16 joints in Allegro order."""

NUM_JOINTS: int = len(JOINTS)
JOINT_NAMES: tuple[str, ...] = tuple(j.name for j in JOINTS)
FINGER_JOINT_SLICES: dict[Finger, slice] = {f: slice(4 * f.value, 4 * f.value + 4) for f in Finger}
"""Slice of the 16-vector that holds each finger's 4 joints."""


def _column(attr: str) -> NDArray[np.float64]:
    values = np.array([getattr(j, attr) for j in JOINTS], dtype=np.float64)
    values.setflags(write=False)
    return values


def lower_limits() -> NDArray[np.float64]:
    """Lower joint limits, rad, shape (16,), read-only."""
    return _LOWER


def upper_limits() -> NDArray[np.float64]:
    """Upper joint limits, rad, shape (16,), read-only."""
    return _UPPER


def home_pose() -> NDArray[np.float64]:
    """Home joint positions, rad, shape (16,), read-only."""
    return _HOME


def torque_limits() -> NDArray[np.float64]:
    """Per-joint torque limits, N m, shape (16,), read-only."""
    return _TORQUE


def kp_gains() -> NDArray[np.float64]:
    """Per-joint proportional gains, N m/rad, shape (16,), read-only."""
    return _KP


def kd_gains() -> NDArray[np.float64]:
    """Per-joint derivative gains, N m s/rad, shape (16,), read-only."""
    return _KD


def clip_to_limits(q: NDArray[np.floating]) -> NDArray[np.float64]:
    """Clip joint positions (..., 16) to the joint limits."""
    return np.clip(np.asarray(q, dtype=np.float64), _LOWER, _UPPER)


_LOWER = _column("lower")
_UPPER = _column("upper")
_HOME = _column("home")
_TORQUE = _column("torque_limit")
_KP = _column("kp")
_KD = _column("kd")
