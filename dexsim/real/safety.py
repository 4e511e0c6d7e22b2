"""The safety layer between whatever decides joint targets (policy, teleop, expert) and the hand.

It is plain numpy and works the same on the real hand and in the twin (:class:`SafetyWrapper` puts it on any
env of the contract). Two calls:

* :meth:`SafetyLayer.request` takes a wanted absolute target: non-finite values are rejected (``ValueError``)
  or replaced by the last safe target, the target is clamped to the joint limits and to ``max_step_delta``
  around the measured position. The result is the *goal*.
* :meth:`SafetyLayer.tick` (called at the command rate) moves the *setpoint* sent to the hand towards the goal
  no faster than ``max_velocity``, and by at most ``max_velocity`` x the nominal command period per tick (a late
  tick never sends one large jump); a joint whose effort exceeds its bound is held where it is measured; if no
  request came for ``watchdog_timeout_s`` the setpoint freezes (the hand holds its last safe target); after
  :meth:`SafetyLayer.estop` it holds until :meth:`SafetyLayer.reset`.

What happened is reported as :class:`SafetyEvent` values (drained with :meth:`SafetyLayer.drain_events`).
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from dexsim.hand import NUM_JOINTS, lower_limits, torque_limits, upper_limits
from dexsim.interface import (
    INFO_TIME,
    OBS_JOINT_EFFORTS,
    OBS_JOINT_POSITIONS,
    env_config,
    target_to_action,
    validate_action,
)

__all__ = ["SafetyConfig", "SafetyEvent", "SafetyLayer", "SafetyWrapper", "INFO_SAFETY_EVENTS", "wanted_target"]

INFO_SAFETY_EVENTS = "safety_events"
"""Info key (added by the real env and :class:`SafetyWrapper`): sorted event names of the step."""


class SafetyEvent(str, enum.Enum):
    """Things the safety layer did; the value is the name reported in ``info``."""

    JOINT_LIMIT = "joint_limit_clamped"
    STEP_DELTA = "step_delta_clamped"
    VELOCITY = "velocity_limited"
    NON_FINITE = "non_finite_held"
    EFFORT_HOLD = "effort_hold"
    WATCHDOG_HOLD = "watchdog_hold"
    ESTOP = "estop"


@dataclass(frozen=True)
class SafetyConfig:
    """Bounds of the safety layer.

    Attributes:
        max_step_delta: Largest distance of a goal from the measured position, per joint, rad.
        max_velocity: Largest speed of the setpoint, rad/s.
        effort_fraction: A joint whose ``|effort|`` exceeds this fraction of its torque limit is held (the V4
            reports commanded torque, clamped at the limit, so the default 1.05 only trips on a driver fault;
            lower it to stop pushing at the limit).
        non_finite: ``"reject"``: a NaN/inf request raises ``ValueError``; ``"hold"``: keep the last safe goal.
        watchdog_timeout_s: Without a request for this long the setpoint freezes, s.
    """

    max_step_delta: float = 0.8
    max_velocity: float = 12.0
    effort_fraction: float = 1.05
    non_finite: str = "reject"
    watchdog_timeout_s: float = 0.25

    def __post_init__(self) -> None:
        if not 0.0 < self.max_step_delta <= 3.2:
            raise ValueError(f"safety.max_step_delta must be in (0, 3.2] rad, got {self.max_step_delta}")
        if not 0.0 < self.max_velocity <= 50.0:
            raise ValueError(f"safety.max_velocity must be in (0, 50] rad/s, got {self.max_velocity}")
        if not 0.0 < self.effort_fraction <= 10.0:
            raise ValueError(f"safety.effort_fraction must be in (0, 10], got {self.effort_fraction}")
        if self.non_finite not in ("reject", "hold"):
            raise ValueError(f"safety.non_finite must be 'reject' or 'hold', got {self.non_finite!r}")
        if not 0.0 < self.watchdog_timeout_s <= 60.0:
            raise ValueError(f"safety.watchdog_timeout_s must be in (0, 60] s, got {self.watchdog_timeout_s}")


class SafetyLayer:
    """Turns requested joint targets into safe setpoints (thread-safe; times are any monotonic clock, s).

    Args:
        config: The bounds.
        position: Initial measured joint positions, rad (16,): goal and setpoint start there.
        now: The clock's current time, s.
        tick_period_s: Nominal time between :meth:`tick` calls, s (the command period). Each tick moves the
            setpoint at most ``max_velocity * tick_period_s``, however late it comes: a late tick does not send
            the driver one jump for the whole gap. ``None``: bounded by the actual time since the last tick.
    """

    def __init__(
        self, config: SafetyConfig, position: NDArray[np.floating], now: float, tick_period_s: float | None = None
    ) -> None:
        if tick_period_s is not None and not tick_period_s > 0.0:
            raise ValueError(f"tick_period_s must be positive, got {tick_period_s}")
        self.config = config
        self.tick_period_s = tick_period_s
        self._lock = threading.Lock()
        self._effort_bound = config.effort_fraction * torque_limits()
        self._events: set[SafetyEvent] = set()
        self.reset(position, now)

    def reset(self, position: NDArray[np.floating], now: float) -> None:
        """Hold ``position`` (clamped to the limits), clear the e-stop and the watchdog."""
        q = np.clip(_as_joints(position, "position"), lower_limits(), upper_limits())
        with self._lock:
            self._goal = q.copy()
            self._setpoint = q.copy()
            self._last_request = now
            self._last_tick = now
            self._estopped = False
            self._watchdog_tripped = False

    @property
    def estopped(self) -> bool:
        """Whether the e-stop is latched."""
        return self._estopped

    @property
    def setpoint(self) -> NDArray[np.float64]:
        """The last safe setpoint, rad (a copy)."""
        with self._lock:
            return self._setpoint.copy()

    @property
    def goal(self) -> NDArray[np.float64]:
        """Where the setpoint is heading, rad (a copy)."""
        with self._lock:
            return self._goal.copy()

    def request(self, target: Any, measured: NDArray[np.floating], now: float) -> NDArray[np.float64]:
        """Make ``target`` (absolute, rad, (16,)) the goal after the checks; returns the goal.

        Raises:
            ValueError: wrong shape, or non-finite values with ``non_finite="reject"``.
        """
        wanted = np.array(target, dtype=np.float64, copy=True)
        if wanted.shape != (NUM_JOINTS,):
            raise ValueError(f"joint target must have shape ({NUM_JOINTS},), got {wanted.shape}")
        q = _as_joints(measured, "measured position")
        with self._lock:
            bad = ~np.isfinite(wanted)
            if bad.any():
                if self.config.non_finite == "reject":
                    raise ValueError(f"joint target has non-finite values at joints {np.flatnonzero(bad).tolist()}")
                wanted[bad] = self._goal[bad]
                self._events.add(SafetyEvent.NON_FINITE)
            clamped = np.clip(wanted, lower_limits(), upper_limits())
            if np.any(clamped != wanted):
                self._events.add(SafetyEvent.JOINT_LIMIT)
            d = self.config.max_step_delta
            bounded = np.clip(clamped, q - d, q + d)
            if np.any(bounded != clamped):
                self._events.add(SafetyEvent.STEP_DELTA)
            self._last_request = now
            self._watchdog_tripped = False
            if not self._estopped:
                self._goal = np.clip(bounded, lower_limits(), upper_limits())
            return self._goal.copy()

    def tick(
        self, now: float, measured: NDArray[np.floating] | None = None, effort: NDArray[np.floating] | None = None
    ) -> NDArray[np.float64]:
        """Advance the setpoint to time ``now`` and return it (rad, (16,)); ``effort`` in N m enables the monitor."""
        with self._lock:
            dt = max(0.0, now - self._last_tick)
            if self.tick_period_s is not None:
                dt = min(dt, self.tick_period_s)
            self._last_tick = now
            if self._estopped:
                self._events.add(SafetyEvent.ESTOP)
                return self._setpoint.copy()
            if now - self._last_request > self.config.watchdog_timeout_s:
                if not self._watchdog_tripped:  # freeze once; a new request lifts it
                    self._goal = self._setpoint.copy()
                    self._watchdog_tripped = True
                self._events.add(SafetyEvent.WATCHDOG_HOLD)
            if effort is not None and measured is not None:
                over = np.abs(_as_joints(effort, "effort")) > self._effort_bound
                if over.any():
                    q = np.clip(_as_joints(measured, "measured position"), lower_limits(), upper_limits())
                    self._goal[over] = q[over]
                    self._setpoint[over] = q[over]
                    self._events.add(SafetyEvent.EFFORT_HOLD)
            step = self.config.max_velocity * dt
            error = self._goal - self._setpoint
            if np.any(np.abs(error) > step + 1e-12):
                self._events.add(SafetyEvent.VELOCITY)
            self._setpoint = self._setpoint + np.clip(error, -step, step)
            return self._setpoint.copy()

    def estop(self) -> NDArray[np.float64]:
        """Latch the e-stop: the setpoint stays where it is until :meth:`reset`; returns it."""
        with self._lock:
            self._estopped = True
            self._goal = self._setpoint.copy()
            self._events.add(SafetyEvent.ESTOP)
            return self._setpoint.copy()

    def drain_events(self) -> list[str]:
        """Names of the events since the last call, sorted, and forget them."""
        with self._lock:
            names = sorted(event.value for event in self._events)
            self._events.clear()
            return names


def wanted_target(
    action: Any, measured: NDArray[np.floating], max_joint_delta: float, non_finite: str
) -> NDArray[np.float64]:
    """The absolute target a delta ``action`` asks for, before the safety checks (rad, (16,)).

    With ``non_finite="reject"`` a bad action raises ``ValueError`` here (:func:`dexsim.interface.validate_action`);
    with ``"hold"`` its non-finite components stay ``nan`` so that :meth:`SafetyLayer.request` holds them.
    Joint limits are left to :meth:`SafetyLayer.request` (which reports clamping).
    """
    q = _as_joints(measured, "measured position")
    delta = validate_action(action) if non_finite == "reject" else _as_joints(action, "action")
    wanted = q + np.clip(delta, -max_joint_delta, max_joint_delta)
    wanted[~np.isfinite(delta)] = np.nan
    return wanted


def _as_joints(values: Any, what: str) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != (NUM_JOINTS,):
        raise ValueError(f"{what} must have shape ({NUM_JOINTS},), got {array.shape}")
    return array


class SafetyWrapper(gym.Wrapper[Any, Any, Any, Any]):
    """Puts a :class:`SafetyLayer` between the agent and any env of the contract (e.g. the twin).

    Each step the action's target goes through :meth:`SafetyLayer.request`, one :meth:`SafetyLayer.tick` of
    one control period follows, and the env receives the action that reaches that setpoint; ``info`` gains
    :data:`INFO_SAFETY_EVENTS`. The watchdog does not apply (the wrapper only acts when stepped).
    """

    def __init__(self, env: gym.Env[Any, Any], config: SafetyConfig | None = None) -> None:
        super().__init__(env)
        self.safety_config = config or SafetyConfig()
        self._control = env_config(env)
        self._obs: dict[str, Any] | None = None
        self._time = 0.0
        self.layer: SafetyLayer | None = None

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._obs = obs
        self._time = float(info.get(INFO_TIME, 0.0))
        self.layer = SafetyLayer(self.safety_config, obs[OBS_JOINT_POSITIONS], self._time, self._control.control_dt)
        info[INFO_SAFETY_EVENTS] = []
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        if self.layer is None or self._obs is None:
            raise RuntimeError("call reset() before step()")
        q = np.asarray(self._obs[OBS_JOINT_POSITIONS], dtype=np.float64)
        d = self._control.max_joint_delta
        self.layer.request(wanted_target(action, q, d, self.safety_config.non_finite), q, self._time)
        self._time += self._control.control_dt
        setpoint = self.layer.tick(self._time, q, self._obs.get(OBS_JOINT_EFFORTS))
        obs, reward, terminated, truncated, info = self.env.step(target_to_action(setpoint, q, d))
        self._obs = obs
        info[INFO_SAFETY_EVENTS] = self.layer.drain_events()
        return obs, float(reward), terminated, truncated, info
