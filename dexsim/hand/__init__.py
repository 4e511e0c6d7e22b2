"""Allegro Hand facts and kinematics shared by sim, real hand and teleoperation."""

from dexsim.hand.joints import (
    FINGER_JOINT_SLICES,
    JOINT_NAMES,
    JOINTS,
    NUM_JOINTS,
    Finger,
    Joint,
    clip_to_limits,
    home_pose,
    kd_gains,
    kp_gains,
    lower_limits,
    torque_limits,
    upper_limits,
)

__all__ = [
    "FINGER_JOINT_SLICES",
    "JOINT_NAMES",
    "JOINTS",
    "NUM_JOINTS",
    "Finger",
    "Joint",
    "clip_to_limits",
    "home_pose",
    "kd_gains",
    "kp_gains",
    "lower_limits",
    "torque_limits",
    "upper_limits",
]
