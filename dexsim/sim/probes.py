"""Touch probes that locate the lid from joint positions alone (the real hand has no other sensing of it).

Both read only what the hand measures: a fingertip's position is the forward kinematics of the measured
joints, and a fingertip counts as stopped by the lid once it trails its commanded point by more than it did in
free motion (the PD loop's steady error under gravity, its lag and the actuation latency).

* :class:`ThumbProbe` -- along the palm width (hand y). The caging fingers rest on the bottle body, whose
  contact tells nothing about where the bottle ends; the thumb reaches the lid's end face from the thumb side
  at the height of the lid axis. It moves to a point beyond the farthest end face a placement can put there,
  sweeps along -y at a constant speed until it stops on the face (one fingertip radius short of the tip), then
  goes back along the sweep and parks. Its root joint stays parked at its lower limit: past about 0.45 rad the
  medial phalanx's base runs into the palm block's edge (which stalls the thumb short of the lid;
  :func:`palm_clearance`); with the root parked the other three joints reach the sweep at the lid axis height
  for axes 10-30 mm behind the knuckle line (hand z -0.03..-0.01 m), so the sweep runs at the nearest z in
  that band, which is still on the end face (lid radius >= 25 mm).
* :class:`LidTouches` -- the lid axis along the fingers (hand z) and its height, hence the lid and bottle
  radius: the index fingertip touches the lid's front (its side towards the fingertips) and then its top.

Measured at ``train`` (seeds 200-259, against the twin's state): the end face to -1.6..+2.1 mm (contact
1.8-2.6 s after reset); the axis height and lid radius to within 1.9 mm; the axis z, tracked through the gait
by the caging fingertips (:class:`dexsim.sim.expert.UnscrewExpert`), off by at most 3 mm on average in 56/59
episodes (the others: +3.4 mm, and -9.4 mm twice where the front touch was skipped).

Units: m, s, rad; points in the hand frame (:mod:`dexsim.hand.kinematics`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dexsim.hand import FINGER_JOINT_SLICES, Finger, fingertip_positions, lower_limits, upper_limits
from dexsim.hand.kinematics import chain_frames

__all__ = ["FINGERTIP_RADIUS_M", "ThumbProbe", "ThumbProbeConfig", "LidTouchConfig", "LidTouches", "palm_clearance"]

FINGERTIP_RADIUS_M = 0.012
"""Radius of the Allegro fingertip sphere, m."""
_PHALANX_RADIUS_M = 0.0098
_PALM_LOWER_M = np.array([-0.0297, -0.0565, -0.095])
_PALM_UPPER_M = np.array([0.0111, 0.0565, 0.0])
"""Corners of the palm block in the hand frame, m (``assets/allegro_right.xml``, geom ``palm``)."""
_TRACK_STEP_M = 0.002
_SETTLED_M = 0.003
"""A lid touch's sweep starts once the fingertip is this close to its start point; a stalled tip must trail the
commanded point by more than this, and have left the start point by more than this."""
_UNREACHED_M = 0.008
"""A touch whose fingertip is still this far from the sweep's start point after the settling time is skipped."""
_SWEEP_WARM_START = (0.6, 1.2, 1.0)
"""Thumb joints 1-3 from which the first sweep point is solved, rad (near the sweep's start)."""
_REACH_TOLERANCE_M = 0.001
"""The sweep ends where the thumb tip can no longer reach its commanded point within this, m."""
_SOLVER_ITERATIONS = 40
_SOLVER_DAMPING = 1e-6
_THUMB_LOWER = lower_limits()[FINGER_JOINT_SLICES[Finger.THUMB]]
_THUMB_UPPER = upper_limits()[FINGER_JOINT_SLICES[Finger.THUMB]]


@dataclass(frozen=True)
class ThumbProbeConfig:
    """Settings of :class:`ThumbProbe` (lengths in m, times in s, speeds in m/s).

    Attributes:
        start_y_m: Hand y of the thumb-tip centre where the sweep starts: beyond the farthest end face a
            placement can put (lid mid-plane 0.023-0.071 m at ``train``, end face 0.011 m further).
        end_y_m: Hand y where a sweep that met nothing gives up (or sooner, where the thumb's reach ends: at
            0.023-0.033 m depending on the height of the sweep).
        speed_m_s: Speed of the commanded tip point along -y during the sweep.
        return_speed_m_s: Speed of the commanded point back along the sweep after the touch.
        approach_s: Time to move the thumb from its parked pose to the sweep's start.
        park_s: Time to move it from the sweep's start back to the parked pose.
        contact_lag_m: The tip counts as stopped by the lid once it trails the commanded point (in y) by this
            much more than the least it has trailed it during the sweep (free motion: 5-8 mm, the PD loop's
            steady error under gravity, its lag and the actuation latency).
        along_limits_m: Band of hand z the sweep is held in (what the thumb reaches with its root parked).
    """

    start_y_m: float = 0.105
    end_y_m: float = 0.02
    speed_m_s: float = 0.05
    return_speed_m_s: float = 0.15
    approach_s: float = 0.5
    park_s: float = 0.3
    contact_lag_m: float = 0.006
    along_limits_m: tuple[float, float] = (-0.03, -0.01)

    def __post_init__(self) -> None:
        if not self.end_y_m < self.start_y_m:
            raise ValueError(f"end_y_m ({self.end_y_m}) must be below start_y_m ({self.start_y_m})")
        for name in ("speed_m_s", "return_speed_m_s", "approach_s", "park_s", "contact_lag_m"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if len(self.along_limits_m) != 2 or not self.along_limits_m[0] <= self.along_limits_m[1]:
            raise ValueError(f"along_limits_m must be (low, high) with low <= high, got {self.along_limits_m}")


class _Stage(enum.Enum):
    APPROACH = "approach"
    SWEEP = "sweep"
    RETURN = "return"
    PARK = "park"
    DONE = "done"


def palm_clearance(thumb_q: NDArray[np.floating]) -> NDArray[np.float64]:
    """Smallest distance between the thumb's medial and distal phalanges and the palm block, m (negative:
    they overlap), for thumb joint angles ``thumb_q`` (..., 4), rad."""
    q = np.asarray(thumb_q, dtype=np.float64)
    frames = chain_frames(q[..., None, :], (Finger.THUMB,))[..., 0, :, :3, 3]  # (..., 5, 3)
    fractions = np.linspace(0.0, 1.0, 6)[:, None]
    points = np.concatenate([frames[..., 2:3, :] + fractions * (frames[..., 3:4, :] - frames[..., 2:3, :]),
                             frames[..., 3:4, :] + fractions * (frames[..., 4:5, :] - frames[..., 3:4, :])], axis=-2)
    outside = np.maximum(np.maximum(_PALM_LOWER_M - points, points - _PALM_UPPER_M), 0.0)
    return np.min(np.linalg.norm(outside, axis=-1), axis=-1) - _PHALANX_RADIUS_M


class ThumbProbe:
    """One touch of the lid's end face with the thumb (a state machine stepped once per control step).

    Args:
        config: Probe settings.
        dt: Control period, s.
        height_m: Hand x of the sweep (the estimated lid axis above the palm), m.
        along_m: Hand z of the sweep (the estimated lid axis along the fingers), m.
        parked: The thumb's four joint angles before and after the probe, rad.
    """

    def __init__(self, config: ThumbProbeConfig, dt: float, height_m: float, along_m: float,
                 parked: NDArray[np.float64]) -> None:
        self.config = config
        self._dt = dt
        self._parked = np.asarray(parked, dtype=np.float64).copy()
        self._track_y, self._track_q = self._plan(height_m, float(np.clip(along_m, *config.along_limits_m)))
        self._stage = _Stage.APPROACH
        self._since = 0.0
        self._commanded_y = config.start_y_m
        self._free_lag = np.inf  # smallest lag of the measured tip behind the commanded point in this sweep, m
        self.end_face_y_m: float | None = None
        """Hand y of the lid's end face, m, once the probe touched it (``None`` before, or if it met nothing)."""

    @property
    def done(self) -> bool:
        """Whether the probe has finished, thumb parked again."""
        return self._stage is _Stage.DONE

    @property
    def clear_of_lid(self) -> bool:
        """Whether the thumb is out of the index finger's way: back at the sweep's start, or parking."""
        return self._stage in (_Stage.PARK, _Stage.DONE)

    def step(self, q_measured: NDArray[np.float64]) -> NDArray[np.float64]:
        """The thumb's four joint targets for this control step, given the hand's measured joints (rad)."""
        cfg = self.config
        self._since += self._dt
        if self._stage is _Stage.APPROACH:
            fraction = min(1.0, self._since / cfg.approach_s)
            if fraction >= 1.0:
                self._enter(_Stage.SWEEP)
            return self._parked + fraction * (self._track_q[0] - self._parked)
        if self._stage is _Stage.SWEEP:
            lag = float(fingertip_positions(q_measured)[Finger.THUMB][1]) - self._commanded_y
            self._free_lag = min(self._free_lag, lag)
            if lag > self._free_lag + cfg.contact_lag_m:
                self.end_face_y_m = self._commanded_y + lag - FINGERTIP_RADIUS_M
                self._commanded_y += lag
                self._enter(_Stage.RETURN)
            elif self._commanded_y <= self._track_y[-1]:
                self._enter(_Stage.RETURN)
            else:
                self._commanded_y = max(float(self._track_y[-1]), self._commanded_y - cfg.speed_m_s * self._dt)
                return self._track_at(self._commanded_y)
        if self._stage is _Stage.RETURN:
            self._commanded_y = min(cfg.start_y_m, self._commanded_y + cfg.return_speed_m_s * self._dt)
            if self._commanded_y >= cfg.start_y_m:
                self._enter(_Stage.PARK)
            return self._track_at(self._commanded_y)
        if self._stage is _Stage.PARK:
            fraction = min(1.0, self._since / cfg.park_s)
            if fraction >= 1.0:
                self._enter(_Stage.DONE)
            return self._track_q[0] + fraction * (self._parked - self._track_q[0])
        return self._parked.copy()

    def _enter(self, stage: _Stage) -> None:
        self._stage = stage
        self._since = 0.0

    def _track_at(self, y: float) -> NDArray[np.float64]:
        """Thumb joints of the planned sweep at commanded tip y (interpolated), rad."""
        order = self._track_y[::-1]  # increasing y for interpolation
        return np.array([np.interp(y, order, column[::-1]) for column in self._track_q.T])

    def _plan(self, height: float, along: float) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The sweep's joint path: tip y samples (decreasing) and thumb joints per sample, (K,), (K, 4).

        The root joint stays at its parked angle (the lower limit: there the medial phalanx clears the palm by
        4.8 mm whatever the other joints); the other three follow the sweep's points by damped least squares,
        each sample warm-started from the previous one.
        """
        cfg = self.config
        ys = np.arange(cfg.start_y_m, cfg.end_y_m - 1e-9, -_TRACK_STEP_M)
        track = np.empty((len(ys), 4))
        q = np.array([self._parked[0], *_SWEEP_WARM_START])
        for k, y in enumerate(ys):
            target = np.array([height, y, along])
            q = _reach_with_fixed_root(q, target)
            reached = chain_frames(q[None, None, :], (Finger.THUMB,))[0, 0, 4, :3, 3]
            if k > 0 and np.linalg.norm(reached - target) > _REACH_TOLERANCE_M:  # beyond reach: a stalled tip
                return ys[:k], track[:k]  # there would read as a touch
            track[k] = q
        return ys, track


def _reach_with_fixed_root(q: NDArray[np.float64], target: NDArray[np.float64]) -> NDArray[np.float64]:
    """Thumb joints 1-3 (root held) that bring the tip centre closest to ``target`` (hand frame, m), from ``q``."""
    q = q.copy()
    for _ in range(_SOLVER_ITERATIONS):
        frames = chain_frames(q[None, :], (Finger.THUMB,))[0]
        error = target - frames[4, :3, 3]
        if float(error @ error) < 1e-10:
            break
        jac = np.cross(frames[1:4, :3, 2], frames[4, :3, 3] - frames[1:4, :3, 3]).T  # (3, 3): joints 1-3
        step = np.linalg.solve(jac.T @ jac + _SOLVER_DAMPING * np.eye(3), jac.T @ error)
        q[1:] = np.clip(q[1:] + np.clip(step, -0.2, 0.2), _THUMB_LOWER[1:], _THUMB_UPPER[1:])
    return q


@dataclass(frozen=True)
class LidTouchConfig:
    """Settings of :class:`LidTouches` (lengths in m, times in s, speeds in m/s).

    Attributes:
        start_m: The front sweep starts this far short of the estimated lid surface (fingertip centre): more than
            the estimate's error (along the fingers up to ~17 mm from the caging fingertips).
        top_start_m: The same for the top sweep (the axis height is known to ~2 mm; the index fingertip cannot
            reach far above the lid there).
        top_ahead_m: The top sweep runs this far in front of the axis (towards the fingertips), where the index
            fingertip reaches above the lid more often than right over the axis.
        range_m: A sweep that met nothing gives up this far past the estimated surface.
        above_m: The fingertip passes this far above the estimated top of the lid between the touches.
        speed_m_s: Speed of the commanded fingertip point during a sweep.
        move_s: Time of each straight move between the sweeps.
        stall_fraction: The tip counts as stopped by the lid once it covers less than this fraction of the
            commanded motion over the last ``stall_steps`` control steps, trailing the commanded point.
        stall_steps: Window of that test, control steps (longer than the actuation latency, 0-2 steps).
        settle_s: A sweep waits at most this long (after ``move_s``) for the tip to reach its start point (if it
            is still 8 mm off, the sweep is skipped: out of reach); the stall test starts this long into the sweep.
    """

    start_m: float = 0.022
    top_start_m: float = 0.01
    top_ahead_m: float = 0.006
    range_m: float = 0.03
    above_m: float = 0.015
    speed_m_s: float = 0.04
    move_s: float = 0.3
    stall_fraction: float = 0.3
    stall_steps: int = 3
    settle_s: float = 0.2

    def __post_init__(self) -> None:
        for name in ("start_m", "top_start_m", "range_m", "above_m", "speed_m_s", "move_s", "settle_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if not 0 < self.stall_fraction < 1 or self.stall_steps < 1:
            raise ValueError("stall_fraction must be in (0, 1) and stall_steps >= 1")


class LidTouches:
    """Two touches of the lid with the index fingertip: its front (the side towards the fingertips), then its top.

    The fingertip goes over the lid, down in front of it at the estimated axis height and sweeps along -z (towards
    the wrist) until it stops on the lid, at ``z_f = z_axis + R``; then it goes up, above a point ``top_ahead_m``
    in front of the axis that gives (nominal ``R``), and sweeps down towards that axis until it stops on the
    top, at ``(x_t - x_axis)^2 + (z_t - z_axis)^2 = R^2`` (radially: a fingertip moving along the surface would
    turn the lid by friction). With the bottle resting on the palm, ``x_axis = palm + r_bottle`` and
    ``R = r_bottle - 6 mm + r_tip``, so the two touches give the bottle radius, the lid radius and the axis
    (x and z), none of which the caging fingertips give well (1 mm of bottle radius moves their z estimate by
    ~10 mm). Contact is read from the
    measured fingertip (forward kinematics of the measured joints): it stalls while the commanded point goes on.

    Args:
        config: Touch settings.
        dt: Control period, s.
        axis_x_m: Estimated hand x of the lid axis, m.
        axis_z_m: Estimated hand z of the lid axis, m.
        surface_m: Estimated lid radius plus fingertip radius, m.
        start_tip: Fingertip centre when the touches begin, hand frame, m.
    """

    def __init__(self, config: LidTouchConfig, dt: float, axis_x_m: float, axis_z_m: float, surface_m: float,
                 start_tip: NDArray[np.float64]) -> None:
        self.config = config
        self._dt = dt
        self._axis_x, self._surface = axis_x_m, surface_m
        self._high = axis_x_m + surface_m + config.above_m
        front_start = np.array([axis_x_m, axis_z_m + surface_m + config.start_m])
        self._legs = [np.asarray(start_tip, dtype=np.float64)[[0, 2]], np.array([self._high, front_start[1]]),
                      front_start]
        self._direction: NDArray[np.float64] | None = np.array([0.0, -1.0])  # sweep direction in (x, z)
        self._front = True  # the front touch is next (else the top)
        self._since = 0.0
        self._commanded = self._legs[0].copy()
        self._sweeping = False
        self._travel = 0.0
        self._length = config.start_m + config.range_m  # of the sweep, m
        self._history: list[tuple[float, float]] = []  # (commanded, measured) progress per sweep step, m
        self.front_z_m: float | None = None
        """Hand z of the fingertip centre stopped by the lid's front, m (``None`` before, or if it met nothing)."""
        self.top_x_m: float | None = None
        """Hand x of the fingertip centre stopped by the lid's top, m (``None`` before, or if it met nothing)."""
        self.top_z_m: float | None = None
        """Hand z of the fingertip centre stopped by the lid's top, m (the sweep runs from ``top_ahead_m`` in front
        of the axis the front touch gives towards that axis)."""
        self.done = False
        """Whether the touches are over, fingertip above the lid."""

    def step(self, tip: NDArray[np.float64]) -> NDArray[np.float64]:
        """The fingertip point (hand x, z) to command this control step, m, given the measured fingertip centre."""
        self._since += self._dt
        if self.done:
            return self._commanded.copy()
        if len(self._legs) > 1:
            return self._follow()
        return self._sweep(np.asarray(tip, dtype=np.float64)[[0, 2]])

    def _follow(self) -> NDArray[np.float64]:
        """Straight moves along ``_legs``, ``move_s`` each."""
        fraction = min(1.0, self._since / self.config.move_s)
        self._commanded = self._legs[0] + fraction * (self._legs[1] - self._legs[0])
        if fraction >= 1.0:
            self._legs.pop(0)
            self._since = 0.0
            if len(self._legs) == 1:
                if self._direction is None:
                    self.done = True
                self._sweeping, self._travel, self._history = False, 0.0, []
        return self._commanded.copy()

    def _sweep(self, tip: NDArray[np.float64]) -> NDArray[np.float64]:
        cfg = self.config
        assert self._direction is not None
        start = self._legs[0]
        if not self._sweeping:  # wait at the start point until the tip is there
            off = float(np.linalg.norm(tip - start))
            if off > _SETTLED_M:
                if self._since < cfg.move_s + cfg.settle_s:
                    return self._commanded.copy()
                if off > _UNREACHED_M:
                    self._touched(None)  # out of reach: a sweep from elsewhere would stall anywhere
                    return self._follow()
            self._sweeping, self._since = True, 0.0
        progress = float((tip - start) @ self._direction)
        self._history.append((self._travel, progress))
        window = cfg.stall_steps
        if self._since > cfg.settle_s and len(self._history) > window:
            commanded = self._history[-1][0] - self._history[-window - 1][0]
            moved = self._history[-1][1] - self._history[-window - 1][1]
            if moved < cfg.stall_fraction * commanded and self._travel - progress > _SETTLED_M:
                # A tip that never left the start point is held by something else (a link on the bottle).
                self._touched(tip if progress > _SETTLED_M else None)
                return self._follow()
        if self._travel >= self._length:
            self._touched(None)
            return self._follow()
        self._travel = min(self._length, self._travel + cfg.speed_m_s * self._dt)
        self._commanded = start + self._travel * self._direction
        return self._commanded.copy()

    def _touched(self, tip: NDArray[np.float64] | None) -> None:
        """End of a sweep (``tip``: where it stopped, or ``None``): plan the way to the next one, or out."""
        here = self._commanded if tip is None else tip
        if self._front:  # next, the top, in front of the axis that the front gives
            self._front = False
            if tip is not None:
                self.front_z_m = float(tip[1])
            axis = np.array([self._axis_x, (self.front_z_m if self.front_z_m is not None else here[1]) - self._surface])
            top_start = axis + np.array([self._surface + self.config.top_start_m, self.config.top_ahead_m])
            self._legs = [here.copy(), np.array([self._high, here[1]]), np.array([self._high, top_start[1]]),
                          top_start]
            # Towards the axis: a fingertip moving along the surface would turn the lid by friction.
            self._direction = (axis - top_start) / np.linalg.norm(axis - top_start)
            self._length = self.config.top_start_m + self.config.range_m
        else:
            if tip is not None:
                self.top_x_m, self.top_z_m = float(tip[0]), float(tip[1])
            self._legs = [here.copy(), np.array([self._high, here[1]])]
            self._direction = None
        self._since = 0.0
