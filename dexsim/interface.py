"""The contract shared by ``AllegroUnscrew-sim`` and ``AllegroUnscrew-real``.

Everything that consumes observations or produces actions (recorder, policy
executor, teleoperation, safety layer) depends on this module only, never on a
particular env, so it runs unchanged in the twin and on the hand.

Observation (a ``dict``):

=====================  ===========  ========  =====================================
key                    shape        dtype     meaning
=====================  ===========  ========  =====================================
``joint_positions``    (16,)        float32   measured joint angles, rad, Allegro order
``joint_efforts``      (16,)        float32   torque the hand's PD loop commands, N m,
                                              clamped to the torque limits
``top_image``          (H, W, 3)    uint8     fixed camera looking down at hand + bottle
``wrist_image``        (H, W, 3)    uint8     camera on the hand base, looking at the lid
=====================  ===========  ========  =====================================

Action: ``(16,)`` float32, delta joint positions in rad *relative to the
measured joint positions of the current observation*. The env clips each
component to ``±max_joint_delta`` and the resulting target to the joint limits:
``target = clip(q_measured + clip(a, -d, d), lower, upper)``. Because the real
hand's PD gains are low (kp 0.42-0.83 N m/rad) a finger pressing on an object
needs a target ~0.3-0.7 rad beyond its measured angle to reach its torque
limit, which is why the default bound is 0.8 rad per step, not a few
hundredths; speed limits belong to the safety layer.

Info fields (every ``step`` and ``reset``): see :data:`INFO_KEYS`. Fields a
backend cannot sense are ``nan`` (the real hand does not sense the lid angle).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from dexsim.hand import NUM_JOINTS, lower_limits, torque_limits, upper_limits

__all__ = [
    "OBS_JOINT_POSITIONS",
    "OBS_JOINT_EFFORTS",
    "OBS_TOP_IMAGE",
    "OBS_WRIST_IMAGE",
    "CAMERA_OBS_KEYS",
    "LOW_DIM_OBS_KEYS",
    "INFO_LID_ANGLE",
    "INFO_LID_TURNS",
    "INFO_LID_LIFT",
    "INFO_BOTTLE_DROPPED",
    "INFO_SUCCESS",
    "INFO_JOINT_TARGETS",
    "INFO_TERMINATION_REASON",
    "INFO_TIME",
    "INFO_KEYS",
    "ControlConfig",
    "make_observation_space",
    "make_action_space",
    "validate_action",
    "action_to_target",
    "target_to_action",
    "empty_info",
    "Controller",
    "Policy",
    "env_config",
]

OBS_JOINT_POSITIONS: Final = "joint_positions"
OBS_JOINT_EFFORTS: Final = "joint_efforts"
OBS_TOP_IMAGE: Final = "top_image"
OBS_WRIST_IMAGE: Final = "wrist_image"
LOW_DIM_OBS_KEYS: Final = (OBS_JOINT_POSITIONS, OBS_JOINT_EFFORTS)
CAMERA_OBS_KEYS: Final = {"top": OBS_TOP_IMAGE, "wrist": OBS_WRIST_IMAGE}
"""Camera name -> observation key."""

INFO_LID_ANGLE: Final = "lid_angle"
"""Lid rotation about the bottle axis, rad; positive = unscrewing; nan if not sensed."""
INFO_LID_TURNS: Final = "lid_turns"
"""``lid_angle / 2 pi``."""
INFO_LID_LIFT: Final = "lid_lift"
"""Rise of the lid along the bottle axis, m."""
INFO_BOTTLE_DROPPED: Final = "bottle_dropped"
"""True once the bottle has left the hand."""
INFO_SUCCESS: Final = "success"
"""True once the lid is released from the thread (sim) or the operator says so (real)."""
INFO_JOINT_TARGETS: Final = "joint_targets"
"""Absolute joint position targets sent this step, rad, (16,)."""
INFO_TERMINATION_REASON: Final = "termination_reason"
"""'' while running, else one of 'success', 'bottle_dropped', 'time_limit', or a backend reason."""
INFO_TIME: Final = "time"
"""Seconds since reset."""
INFO_KEYS: Final = (
    INFO_LID_ANGLE,
    INFO_LID_TURNS,
    INFO_LID_LIFT,
    INFO_BOTTLE_DROPPED,
    INFO_SUCCESS,
    INFO_JOINT_TARGETS,
    INFO_TERMINATION_REASON,
    INFO_TIME,
)


@dataclass(frozen=True)
class ControlConfig:
    """Settings both envs share.

    Attributes:
        control_hz: Policy/teleop rate, Hz (the paper's hand: 10-20 Hz is typical).
        max_joint_delta: Per-step bound on each action component, rad.
        image_size: Square camera resolution, px.
        cameras: Camera names to render, subset of ``("top", "wrist")``; empty for state-only.
        time_limit_s: Episode length before truncation, s.
    """

    control_hz: float = 20.0
    max_joint_delta: float = 0.8
    image_size: int = 96
    cameras: tuple[str, ...] = ("top", "wrist")
    time_limit_s: float = 40.0

    def __post_init__(self) -> None:
        if not 1.0 <= self.control_hz <= 500.0:
            raise ValueError(f"control_hz must be in [1, 500] Hz, got {self.control_hz}")
        if not 0.0 < self.max_joint_delta <= 3.2:
            raise ValueError(f"max_joint_delta must be in (0, 3.2] rad, got {self.max_joint_delta}")
        if not 16 <= self.image_size <= 1024:
            raise ValueError(f"image_size must be in [16, 1024] px, got {self.image_size}")
        unknown = set(self.cameras) - set(CAMERA_OBS_KEYS)
        if unknown:
            raise ValueError(f"unknown cameras {sorted(unknown)}; known: {sorted(CAMERA_OBS_KEYS)}")
        if len(set(self.cameras)) != len(self.cameras):
            raise ValueError(f"cameras listed twice: {self.cameras}")
        if self.time_limit_s <= 0:
            raise ValueError(f"time_limit_s must be positive, got {self.time_limit_s}")

    @property
    def control_dt(self) -> float:
        """Seconds per env step."""
        return 1.0 / self.control_hz

    @property
    def max_episode_steps(self) -> int:
        """Env steps before truncation."""
        return int(round(self.time_limit_s * self.control_hz))


def make_observation_space(config: ControlConfig) -> gym.spaces.Dict:
    """The observation space for ``config`` (same for sim and real)."""
    effort = torque_limits().astype(np.float32)
    spaces: dict[str, gym.spaces.Space[Any]] = {
        OBS_JOINT_POSITIONS: gym.spaces.Box(
            lower_limits().astype(np.float32) - np.float32(0.05),
            upper_limits().astype(np.float32) + np.float32(0.05),
            shape=(NUM_JOINTS,),
            dtype=np.float32,
        ),
        OBS_JOINT_EFFORTS: gym.spaces.Box(-effort, effort, shape=(NUM_JOINTS,), dtype=np.float32),
    }
    for camera in config.cameras:
        spaces[CAMERA_OBS_KEYS[camera]] = gym.spaces.Box(
            0, 255, shape=(config.image_size, config.image_size, 3), dtype=np.uint8
        )
    return gym.spaces.Dict(spaces)


def make_action_space(config: ControlConfig) -> gym.spaces.Box:
    """The action space: 16 delta joint positions bounded by ``max_joint_delta``, rad."""
    bound = np.float32(config.max_joint_delta)
    return gym.spaces.Box(-bound, bound, shape=(NUM_JOINTS,), dtype=np.float32)


def env_config(env: gym.Env[Any, Any]) -> ControlConfig:
    """The :class:`ControlConfig` of a dexsim env, wrapped or not (``env.unwrapped.config``).

    Raises:
        ValueError: The env does not expose a ControlConfig (it does not follow this contract).
    """
    config = getattr(env.unwrapped, "config", None)
    if not isinstance(config, ControlConfig):
        raise ValueError(f"{type(env.unwrapped).__name__} has no ControlConfig 'config' attribute")
    return config


def validate_action(action: Any) -> NDArray[np.float64]:
    """Return ``action`` as a float64 (16,) array or raise ``ValueError`` saying what is wrong."""
    try:
        array = np.asarray(action, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"action must be 16 numbers (delta joint positions, rad): {exc}") from None
    if array.shape != (NUM_JOINTS,):
        raise ValueError(f"action must have shape ({NUM_JOINTS},), got {array.shape}")
    bad = ~np.isfinite(array)
    if bad.any():
        joints = np.flatnonzero(bad).tolist()
        raise ValueError(f"action has non-finite values at joints {joints}: {array[bad].tolist()}")
    return array


def action_to_target(
    action: Any, measured_positions: NDArray[np.floating], max_joint_delta: float
) -> NDArray[np.float64]:
    """Absolute joint target for a delta action, clipped to the per-step bound and joint limits."""
    delta = np.clip(validate_action(action), -max_joint_delta, max_joint_delta)
    return np.clip(np.asarray(measured_positions, dtype=np.float64) + delta, lower_limits(), upper_limits())


def target_to_action(
    target: NDArray[np.floating], measured_positions: NDArray[np.floating], max_joint_delta: float
) -> NDArray[np.float32]:
    """The action that moves towards an absolute joint ``target`` from ``measured_positions``."""
    target = np.clip(np.asarray(target, dtype=np.float64), lower_limits(), upper_limits())
    delta = target - np.asarray(measured_positions, dtype=np.float64)
    return np.clip(delta, -max_joint_delta, max_joint_delta).astype(np.float32)


def empty_info() -> dict[str, Any]:
    """An info dict with every field present and 'unknown' values."""
    return {
        INFO_LID_ANGLE: float("nan"),
        INFO_LID_TURNS: float("nan"),
        INFO_LID_LIFT: float("nan"),
        INFO_BOTTLE_DROPPED: False,
        INFO_SUCCESS: False,
        INFO_JOINT_TARGETS: np.full(NUM_JOINTS, np.nan),
        INFO_TERMINATION_REASON: "",
        INFO_TIME: 0.0,
    }





Policy = Callable[[dict[str, NDArray[Any]], dict[str, Any]], NDArray[np.floating]]
"""``policy(observation, info) -> action``: a stateless mapping to 16 delta joint positions, rad."""


@runtime_checkable
class Controller(Protocol):
    """Anything stateful that maps observations to actions: scripted expert, policy executor, teleop source.

    ``reset(seed)`` is called after each ``env.reset``; ``act`` returns 16 delta joint positions, rad.
    """

    def reset(self, seed: int | None = None) -> None: ...

    def act(self, obs: dict[str, NDArray[Any]], info: dict[str, Any] | None = None) -> NDArray[np.floating]: ...
