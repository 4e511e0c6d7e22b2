"""Allegro Hand facts and kinematics shared by sim, real hand and teleoperation."""

from dexsim.hand.ik import FingerIKConfig, IKSolution, solve_fingertips
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
from dexsim.hand.kinematics import FINGER_CHAINS, HAND_WRIST, DHChain, fingertip_positions

__all__ = [
    "DHChain",
    "FINGER_CHAINS",
    "FINGER_JOINT_SLICES",
    "FingerIKConfig",
    "HAND_WRIST",
    "IKSolution",
    "JOINT_NAMES",
    "JOINTS",
    "NUM_JOINTS",
    "Finger",
    "Joint",
    "clip_to_limits",
    "fingertip_positions",
    "home_pose",
    "kd_gains",
    "kp_gains",
    "lower_limits",
    "solve_fingertips",
    "torque_limits",
    "upper_limits",
]
