"""Low-dimensional demonstration descriptors (joint positions, efforts, actions) and the simple baselines.

These need no images and no torch; they are what the policy also sees besides the cameras.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from dexsim.data.schema import KEY_ACTION, KEY_JOINT_TARGET
from dexsim.data.store import Episode
from dexsim.filtering.features import sample_frames
from dexsim.interface import OBS_JOINT_EFFORTS, OBS_JOINT_POSITIONS

__all__ = ["TRAJECTORY_KEYS", "read_trajectory", "window_descriptors", "action_jerk", "trajectory_dim"]

TRAJECTORY_KEYS = (OBS_JOINT_POSITIONS, OBS_JOINT_EFFORTS, KEY_ACTION)
"""Per-frame arrays (16 values each) the trajectory descriptors are built from."""


def read_trajectory(episode: Episode) -> dict[str, NDArray[np.float64]]:
    """The episode's :data:`TRAJECTORY_KEYS` and joint targets as float64 (frames, 16) arrays."""
    return {key: episode.read(key).astype(np.float64) for key in (*TRAJECTORY_KEYS, KEY_JOINT_TARGET)}


def trajectory_dim(num_joints: int = 16) -> int:
    """Length of one window descriptor."""
    return 5 * num_joints


def window_descriptors(trajectory: dict[str, NDArray[np.float64]], stride: int, window: int,
                       control_hz: float) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """One descriptor per sampled frame ``t`` (every ``stride``-th), over the frames ``[t - w/2, t + w/2)``.

    Descriptor (16 values each): mean joint positions (rad), mean efforts (N m), mean action (rad), RMS joint
    velocity (rad/s) and RMS joint jerk (rad/s^3, log1p-compressed). A window covers at least ``stride`` frames
    so the windows tile the episode. What matters is what the hand did around ``t``, not how long the episode
    lasted: the frame descriptors carry no time or length.

    Returns:
        (frame indices, descriptors (n, 80)).
    """
    q = trajectory[OBS_JOINT_POSITIONS]
    effort = trajectory[OBS_JOINT_EFFORTS]
    action = trajectory[KEY_ACTION]
    length = len(q)
    velocity = np.gradient(q, axis=0) * control_hz if length > 1 else np.zeros_like(q)
    jerk = np.zeros_like(q)
    if length > 3:
        jerk[3:] = np.diff(q, n=3, axis=0) * control_hz**3
    frames = sample_frames(length, stride)
    half = max(window, stride) / 2
    out = np.empty((len(frames), trajectory_dim(q.shape[1])))
    for row, t in enumerate(frames):
        lo, hi = max(0, int(t - half)), min(length, int(np.ceil(t + half)) or 1)
        hi = max(hi, lo + 1)
        out[row] = np.concatenate([
            q[lo:hi].mean(axis=0),
            effort[lo:hi].mean(axis=0),
            action[lo:hi].mean(axis=0),
            np.sqrt((velocity[lo:hi] ** 2).mean(axis=0)),
            np.log1p(np.sqrt((jerk[lo:hi] ** 2).mean(axis=0))),
        ])
    return frames, out


def action_jerk(trajectory: dict[str, NDArray[np.float64]], control_hz: float) -> float:
    """Baseline score: mean norm of the third time derivative of the commanded joint targets, rad/s^3."""
    target = trajectory[KEY_JOINT_TARGET]
    if len(target) < 4:
        return 0.0
    jerk = np.diff(target, n=3, axis=0) * control_hz**3
    return float(np.linalg.norm(jerk, axis=1).mean())
