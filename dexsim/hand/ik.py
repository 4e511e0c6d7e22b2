"""Per-finger inverse kinematics on the DH model (paper Sec. III, "Individual Finger Control"), pure numpy.

Each finger is solved on its own, for a fingertip-centre target in the hand frame:

* index, middle, ring: joint 0 (abduction) is held at :attr:`FingerIKConfig.abduction`, which leaves a planar
  3-joint chain for a 3-D target (the out-of-plane part of a target cannot be reached and is dropped);
* thumb: all 4 joints.

Both chains have one redundant joint for a position target. The solver is analytic per candidate: it sweeps
the redundant joint (finger joint 1, thumb joint 0) over a grid plus a few values around its warm start,
solves the rest in closed form (thumb joint 1 by turning the flexion plane through the target; the last two
joints as a planar two-link arm, both elbow branches), clips every candidate to the joint limits and keeps
the one with the smallest fingertip error (ties go to the one nearest the warm start, so consecutive frames
stay continuous).
Only fingers whose best candidate misses by more than :attr:`FingerIKConfig.tolerance` (targets out of reach,
or between grid values near the limits) are polished by damped least squares with an active set at the joint
limits and a trust region (a step is kept only if it brings the tip closer), which moves to the closest
reachable point. Every output is within the joint limits.

Everything is vectorised over a batch of frames. Units: m and rad.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from dexsim._kernels import optional_kernels
from dexsim.hand.joints import NUM_JOINTS, Finger, home_pose, lower_limits, upper_limits
from dexsim.hand.kinematics import fingertip_positions, frames_of_chains, stacked_dh

__all__ = ["FingerIKConfig", "IKSolution", "load_compiled", "solve_fingertips"]

_LOWER = lower_limits().reshape(4, 4)
_UPPER = upper_limits().reshape(4, 4)
_BASES, _THETA, _D, _A, _ALPHA = stacked_dh()
_CHAINS = np.arange(4)
_FINGERS = np.array([Finger.INDEX, Finger.MIDDLE, Finger.RING])
_CENTRE = 0.5 * (_LOWER + _UPPER)
_SWEEP_JOINT = np.array([1, 1, 1, 0])
"""The redundant joint swept per chain: joint 1 of the fingers, joint 0 of the thumb."""
_SWEEP_LOWER, _SWEEP_UPPER = _LOWER[_CHAINS, _SWEEP_JOINT], _UPPER[_CHAINS, _SWEEP_JOINT]
_NEAR_WARM = np.array([0.0, -0.01, 0.01, -0.04, 0.04, -0.12, 0.12])
"""Values of the redundant joint tried around its warm-start value, rad (continuity between frames)."""
_REFINE = np.linspace(-1.0, 1.0, 11)
"""Refinement sweep around the best value, in grid steps."""
_SWEEP_FLAT = _CHAINS * 4 + _SWEEP_JOINT
"""Index of each chain's redundant joint among the 16 joints."""
_POLISH_ONE_BY_ONE = 4
"""Up to this many fingers to polish (a single frame) go through :func:`_polish_one`, more through :func:`_polish`."""


@functools.lru_cache(maxsize=8)
def _sweep_grid(samples: int) -> NDArray[np.float64]:
    lower, upper = _LOWER[_CHAINS, _SWEEP_JOINT], _UPPER[_CHAINS, _SWEEP_JOINT]
    grid = lower + np.linspace(0.0, 1.0, samples)[:, None] * (upper - lower)
    grid.setflags(write=False)
    return grid


@functools.lru_cache(maxsize=8)
def _refine_steps(samples: int) -> NDArray[np.float64]:
    """(11, 4) offsets of the refinement sweep around the best value per chain, rad."""
    steps = (_SWEEP_UPPER - _SWEEP_LOWER) / (samples - 1) * _REFINE[:, None]
    steps.setflags(write=False)
    return steps


@dataclass(frozen=True)
class FingerIKConfig:
    """Settings of :func:`solve_fingertips`.

    Attributes:
        abduction: Fixed joint-0 angles of index, middle and ring, rad (the paper holds these root joints
            fixed to keep the fingers from colliding). Must lie within the joint limits.
        sweep_samples: Grid values of the redundant joint tried per finger.
        tolerance: Fingertip error below which a candidate counts as exact, m.
        polish_iterations: Damped-least-squares iterations for fingers that miss by more than ``tolerance``.
        damping: Damping of the least-squares step, m.
        continuity_weight: Tie-break between candidates, m of fingertip error per rad^2 of squared distance
            from the warm start.
    """

    abduction: tuple[float, float, float] = (0.0, 0.0, 0.0)
    sweep_samples: int = 16
    tolerance: float = 1e-5
    polish_iterations: int = 6
    damping: float = 2e-3
    continuity_weight: float = 1e-5

    def __post_init__(self) -> None:
        if len(self.abduction) != 3:
            raise ValueError(f"abduction needs 3 angles (index, middle, ring), got {self.abduction}")
        for finger, angle in zip(_FINGERS, self.abduction, strict=True):
            if not _LOWER[finger, 0] <= angle <= _UPPER[finger, 0]:
                raise ValueError(
                    f"abduction of {Finger(finger).name.lower()} {angle} rad outside its joint limits "
                    f"[{_LOWER[finger, 0]}, {_UPPER[finger, 0]}]"
                )
        if self.sweep_samples < 2:
            raise ValueError(f"sweep_samples must be >= 2, got {self.sweep_samples}")
        if self.tolerance <= 0 or self.damping <= 0 or self.continuity_weight < 0:
            raise ValueError("tolerance and damping must be positive, continuity_weight non-negative")
        if self.polish_iterations < 0:
            raise ValueError(f"polish_iterations must be >= 0, got {self.polish_iterations}")


@dataclass(frozen=True)
class IKSolution:
    """Result of :func:`solve_fingertips`.

    Attributes:
        q: Joint angles in Allegro order, rad, (..., 16), within the joint limits.
        error: Distance from each fingertip centre to its target, m, (..., 4).
    """

    q: NDArray[np.float64]
    error: NDArray[np.float64]

    def fingertips(self) -> NDArray[np.float64]:
        """Fingertip centres the solution reaches, hand frame, m, (..., 4, 3)."""
        return fingertip_positions(self.q)


class _Row(NamedTuple):
    """DH row ``r`` of the four chains, each field (4,): theta offset, cos and sin of alpha, d and a."""

    offset: NDArray[np.float64]
    cos_alpha: NDArray[np.float64]
    sin_alpha: NDArray[np.float64]
    d: NDArray[np.float64]
    a: NDArray[np.float64]


_ROWS = [
    _Row(*(np.ascontiguousarray(v) for v in (_THETA[:, r], np.cos(_ALPHA[:, r]), np.sin(_ALPHA[:, r]), _D[:, r],
                                             _A[:, r])))
    for r in range(4)
]
_BASE_ROTATION, _BASE_ORIGIN = np.ascontiguousarray(_BASES[:, :3, :3]), np.ascontiguousarray(_BASES[:, :3, 3])
_A2, _A3 = _ROWS[2].a, _ROWS[3].a
_ARM_SQUARES = _A2 * _A2 + _A3 * _A3
_ARM_INVERSE = 1.0 / (2.0 * _A2 * _A3)
_ELBOW = np.array([1.0, -1.0])[:, None]
_TO_RANGE = np.pi - _THETA - _CENTRE
"""Added to a DH angle before ``mod 2 pi`` so that :data:`_FROM_RANGE` added after it gives the joint angle within
pi of the middle of its range (per chain and joint)."""
_FROM_RANGE = _CENTRE - np.pi
_THUMB_TURN = (float(_TO_RANGE[3, 1]), float(_FROM_RANGE[3, 1]), float(_LOWER[3, 1]), float(_UPPER[3, 1]))
_JOINT2 = tuple(np.ascontiguousarray(v[:, 2]) for v in (_TO_RANGE, _FROM_RANGE, _LOWER, _UPPER))
_LOWER3, _UPPER3 = np.ascontiguousarray(_LOWER[:, 3]), np.ascontiguousarray(_UPPER[:, 3])


def _next_frame(
    x: NDArray[np.float64], y: NDArray[np.float64], z: NDArray[np.float64], theta: NDArray[np.float64], row: _Row
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Coordinates in DH frame ``r + 1`` of points (x, y, z) (..., 4 chains) given in frame ``r`` (``row`` = DH
    row ``r``), after the joint turned to the DH angle ``theta`` (offset included)."""
    c, s = np.cos(theta), np.sin(theta)
    z = z - row.d
    across = c * y - s * x
    return c * x + s * y - row.a, row.cos_alpha * across + row.sin_alpha * z, row.cos_alpha * z - row.sin_alpha * across


def _clip(value: NDArray[np.float64], lower: NDArray[np.float64], upper: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.minimum(np.maximum(value, lower), upper)


def _candidates(
    targets: NDArray[np.float64], sweep: NDArray[np.float64], abduction: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Analytic candidate solutions within the limits and their fingertip errors.

    Args:
        targets: (N, 4, 3) fingertip targets, hand frame, m.
        sweep: (N, K, 4) values of each chain's redundant joint to try, within its limits, rad.
        abduction: (3,) fixed joint-0 angles of index, middle and ring, rad.

    Returns:
        ``(q, error, planar_error)``: q (N, K, 2, 4, 4) for K sweep values, 2 elbow branches, 4 chains and
        4 joints; the fingertip error (N, K, 2, 4), m; and the part of it that joints 1-3 of a finger can
        still reduce (the error within the finger's plane of motion; the whole error for the thumb), m.
    """
    n, k = sweep.shape[:2]
    q = np.empty((n, k, 2, 4, 4))
    up = q[:, :, 0]  # the first elbow branch; joints 0 and 1 are shared with the second
    up[..., 0] = sweep
    up[..., :3, 0] = abduction
    # Targets in DH frame 0 of each chain, then frame 1 (fingers: fixed abduction; thumb: swept joint 0).
    x, y, z = ((targets - _BASE_ORIGIN)[:, :, None, :] @ _BASE_ROTATION).transpose(3, 0, 2, 1)  # each (N, 1, 4)
    x, y, z = _next_frame(x, y, z, up[..., 0] + _ROWS[0].offset, _ROWS[0])
    # Joint 1: swept for the fingers; for the thumb it turns the flexion plane (normal = joint 2's axis, i.e.
    # (-sin, cos, 0) of theta_1 in frame 1 as alpha_1 = -pi/2) through the target.
    to_range, from_range, lower, upper = _THUMB_TURN
    up[..., 1] = sweep
    up[..., 3, 1] = _clip(np.mod(np.arctan2(y[..., 3], x[..., 3]) + to_range, 2 * np.pi) + from_range, lower, upper)
    x, y, z = _next_frame(x, y, z, up[..., 1] + _ROWS[1].offset, _ROWS[1])
    q[:, :, 1, :, :2] = up[..., :2]
    x, y, z = x[:, :, None], y[:, :, None], z[:, :, None]  # (N, K, 1, 4)
    # Joints 2 and 3: a planar two-link arm in frame 2's x-y plane, both elbow branches. The ranges of joints
    # 2 and 3 lie within the branch of arctan2 / arccos plus their offsets; joint 2 still needs wrapping as a
    # difference of two arctan2.
    theta3 = np.arccos(_clip((x * x + y * y - _ARM_SQUARES) * _ARM_INVERSE, -1.0, 1.0)) * _ELBOW  # (N, K, 2, 4)
    theta2 = np.arctan2(y, x) - np.arctan2(_A3 * np.sin(theta3), _A2 + _A3 * np.cos(theta3))
    to_range, from_range, lower, upper = _JOINT2
    q2 = np.minimum(np.maximum(np.mod(theta2 + to_range, 2 * np.pi) + from_range, lower), upper, out=q[..., 2])
    q3 = np.minimum(np.maximum(theta3 - _ROWS[3].offset, _LOWER3), _UPPER3, out=q[..., 3])
    # Error of the clipped arm's tip, in frame 2.
    theta2 = q2 + _ROWS[2].offset
    theta23 = theta2 + q3 + _ROWS[3].offset
    planar = np.hypot(_A2 * np.cos(theta2) + _A3 * np.cos(theta23) - x,
                      _A2 * np.sin(theta2) + _A3 * np.sin(theta23) - y)
    error = np.hypot(planar, z)
    planar[..., 3] = error[..., 3]
    return q, error, planar


# The compiled candidate sweep where numba is installed, else numpy (the same results to rounding); its module is
# imported at first use (dexsim._kernels).
_compiled = optional_kernels("dexsim.hand._ik_numba")
_COMPILED_CONSTANTS = (
    np.array([[row.offset, row.cos_alpha, row.sin_alpha, row.d, row.a] for row in _ROWS]),
    _BASE_ROTATION,
    _BASE_ORIGIN,
    np.array([_TO_RANGE, _FROM_RANGE, _LOWER, _UPPER]),
)
"""The model constants :func:`dexsim.hand._ik_numba.best_candidates` takes (see its docstring)."""


@functools.cache
def load_compiled() -> bool:
    """Load the compiled single-frame solver now (from numba's cache: ~0.1-0.3 s; the first time after installing or
    upgrading, or where no cache can be written: compiled, a few seconds), so that the first solve of a live loop
    does not stall. Batches load their kernel at their first call. Constructing a
    :class:`dexsim.teleop.retarget.Retargeter` calls this. Returns whether the compiled sweep is in use (numba
    installed, the ``fast`` extra); without it this does nothing."""
    if _compiled is None:
        return False
    solve_fingertips(fingertip_positions(home_pose()))  # the single-frame solver a live loop calls
    return True


@functools.lru_cache(maxsize=16)
def _row_starts(n: int, per_row: int) -> NDArray[np.int64]:
    """(N, 4) flat index of chain ``c``'s first candidate in row ``i`` of an (N, M, 4) array with ``per_row`` = M * 4
    entries per row."""
    starts = np.arange(n)[:, None] * per_row + _CHAINS
    starts.setflags(write=False)
    return starts


def _best_candidates(
    targets: NDArray[np.float64],
    sweep: NDArray[np.float64],
    warm: NDArray[np.float64],
    abduction: NDArray[np.float64],
    continuity_weight: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per chain the best of :func:`_candidates`: q (N, 4, 4), error, planar error and score (N, 4).

    Ties go to the first candidate (sweep values in order, the first elbow branch first). With numba installed
    (the ``fast`` extra) the compiled :func:`dexsim.hand._ik_numba.best_candidates` does the same.
    """
    if _compiled is not None:
        return _compiled.best_candidates(np.ascontiguousarray(targets), np.ascontiguousarray(sweep),
                                         np.ascontiguousarray(warm), abduction, continuity_weight, *_COMPILED_CONSTANTS)
    n = targets.shape[0]
    candidates, error, planar = _candidates(targets, sweep, abduction)
    candidates = candidates.reshape(n, -1, 4, 4)
    change = candidates - warm[:, None]
    change *= change
    score = change.sum(axis=-1)
    score *= continuity_weight
    score += error.reshape(n, -1, 4)
    flat = (score.argmin(axis=1) * 4 + _row_starts(n, score.shape[1] * 4)).ravel()  # into the (N, M, 4) arrays
    return (
        candidates.reshape(-1, 4)[flat].reshape(n, 4, 4),
        error.take(flat).reshape(n, 4),
        planar.take(flat).reshape(n, 4),
        score.take(flat).reshape(n, 4),
    )


def _polish(
    q: NDArray[np.float64], target: NDArray[np.float64], chain: NDArray[np.int64], config: FingerIKConfig
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Damped least squares with a trust region and an active set at the limits, rows of (M, 4) angles.

    A step is kept only if it brings the fingertip closer, so the error never grows; the trust radius
    (largest joint change per step) grows after a kept step and halves after a rejected one.

    Returns:
        ``(q (M, 4), fingertip error (M,) in m)``.
    """
    lower, upper = _LOWER[chain], _UPPER[chain]
    free = np.ones_like(q, dtype=bool)
    free[chain != Finger.THUMB, 0] = False
    eye = np.eye(3) * config.damping**2
    radius = np.full(q.shape[0], 0.25)
    frames = frames_of_chains(q, chain)
    error = target - frames[:, 4, :3, 3]
    distance = (error * error).sum(axis=-1)
    for _ in range(config.polish_iterations):
        tip = frames[:, 4, :3, 3]
        axes = frames[:, :4, :3, 2]
        lever = tip[:, None, :] - frames[:, :4, :3, 3]
        jac = np.empty((q.shape[0], 3, 4))  # column i: axis_i x (tip - origin_i)
        jac[:, 0] = axes[..., 1] * lever[..., 2] - axes[..., 2] * lever[..., 1]
        jac[:, 1] = axes[..., 2] * lever[..., 0] - axes[..., 0] * lever[..., 2]
        jac[:, 2] = axes[..., 0] * lever[..., 1] - axes[..., 1] * lever[..., 0]
        active = free.copy()
        for _pass in range(2):
            j = jac * active[:, None, :]
            gram = j @ j.transpose(0, 2, 1) + eye
            step = (np.linalg.solve(gram, error[..., None]).transpose(0, 2, 1) @ j)[:, 0]
            pushing_out = ((q <= lower + 1e-12) & (step < 0)) | ((q >= upper - 1e-12) & (step > 0))
            if not (pushing_out & active).any():
                break
            active &= ~pushing_out
        step *= active
        largest = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, radius / np.maximum(largest, 1e-12))[:, None]
        q_new = _clip(q + step, lower, upper)
        frames_new = frames_of_chains(q_new, chain)
        error_new = target - frames_new[:, 4, :3, 3]
        distance_new = (error_new * error_new).sum(axis=-1)
        better = distance_new < distance
        if better.all():  # the common cases (all rows kept or all rejected) without the per-row selection
            q, frames, error, distance = q_new, frames_new, error_new, distance_new
        elif better.any():
            q = np.where(better[:, None], q_new, q)
            frames = np.where(better[:, None, None, None], frames_new, frames)
            error = np.where(better[:, None], error_new, error)
            distance = np.where(better, distance_new, distance)
        radius = np.where(better, np.minimum(2.0 * radius, 0.5), 0.5 * radius)
        if (radius < 1e-5).all() or (largest < 1e-7).all():
            break
    return q, np.sqrt(distance)


_CHAIN_CONSTANTS = [
    (
        tuple(tuple(float(v) for v in _BASES[c, :3, k]) for k in range(4)),  # base columns x, y, z and origin
        tuple((float(_THETA[c, r]), float(np.cos(_ALPHA[c, r])), float(np.sin(_ALPHA[c, r])), float(_D[c, r]),
               float(_A[c, r])) for r in range(4)),
    )
    for c in range(4)
]
"""Per chain, Python floats for :func:`_polish_one`: base frame columns and (theta offset, cos alpha, sin alpha,
d, a) per DH row."""
_LIMIT_FLOATS = [(tuple(_LOWER[c].tolist()), tuple(_UPPER[c].tolist())) for c in range(4)]

Vector3 = tuple[float, float, float]


def _chain_points(q: list[float], chain: int) -> tuple[list[Vector3], list[Vector3], Vector3]:
    """Joint origins and axes (frames 0..3) and the fingertip centre of one chain, hand frame (Python floats)."""
    ((x0, x1, x2), (y0, y1, y2), (z0, z1, z2), (p0, p1, p2)), rows = _CHAIN_CONSTANTS[chain]
    origins, axes = [], []
    for angle, (offset, ca, sa, d, a) in zip(q, rows, strict=True):
        origins.append((p0, p1, p2))
        axes.append((z0, z1, z2))
        ct, st = math.cos(angle + offset), math.sin(angle + offset)
        n0, n1, n2 = ct * x0 + st * y0, ct * x1 + st * y1, ct * x2 + st * y2  # the rotated frame's x
        c0, c1, c2 = ct * y0 - st * x0, ct * y1 - st * x1, ct * y2 - st * x2  # its y before the twist
        p0, p1, p2 = p0 + a * n0 + d * z0, p1 + a * n1 + d * z1, p2 + a * n2 + d * z2
        x0, x1, x2 = n0, n1, n2
        y0, y1, y2, z0, z1, z2 = (ca * c0 + sa * z0, ca * c1 + sa * z1, ca * c2 + sa * z2,
                                  ca * z0 - sa * c0, ca * z1 - sa * c1, ca * z2 - sa * c2)
    return origins, axes, (p0, p1, p2)


def _damped_step(columns: list[Vector3 | None], error: Vector3, damping: float) -> list[float]:
    """Joint step ``J^T (J J^T + damping I)^-1 error`` of one chain; ``None`` columns (inactive joints) get 0."""
    g00 = g01 = g02 = g11 = g12 = g22 = 0.0
    for col in columns:
        if col is not None:
            u, v, w = col
            g00, g01, g02 = g00 + u * u, g01 + u * v, g02 + u * w
            g11, g12, g22 = g11 + v * v, g12 + v * w, g22 + w * w
    g00, g11, g22 = g00 + damping, g11 + damping, g22 + damping
    # The inverse through cofactors (the Gram matrix is symmetric).
    c00, c01, c02 = g11 * g22 - g12 * g12, g02 * g12 - g01 * g22, g01 * g12 - g02 * g11
    c11, c12, c22 = g00 * g22 - g02 * g02, g02 * g01 - g00 * g12, g00 * g11 - g01 * g01
    det = g00 * c00 + g01 * c01 + g02 * c02
    e0, e1, e2 = error
    u0 = (c00 * e0 + c01 * e1 + c02 * e2) / det
    u1 = (c01 * e0 + c11 * e1 + c12 * e2) / det
    u2 = (c02 * e0 + c12 * e1 + c22 * e2) / det
    return [0.0 if col is None else col[0] * u0 + col[1] * u1 + col[2] * u2 for col in columns]


def _polish_one(
    q: NDArray[np.float64], target: NDArray[np.float64], chain: int, config: FingerIKConfig
) -> tuple[NDArray[np.float64], float]:
    """:func:`_polish` for a single row in Python floats: the same steps without numpy's per-call overhead
    (a frame usually has one finger to polish). Returns ``(q (4,), fingertip error in m)``."""
    lower, upper = _LIMIT_FLOATS[chain]
    angles, (g0, g1, g2) = q.tolist(), target.tolist()
    free = (chain == Finger.THUMB, True, True, True)
    damping = config.damping**2
    radius = 0.25
    origins, axes, (t0, t1, t2) = _chain_points(angles, chain)
    error = (g0 - t0, g1 - t1, g2 - t2)
    distance = error[0] * error[0] + error[1] * error[1] + error[2] * error[2]
    for _ in range(config.polish_iterations):
        jac = []  # columns: axis_k x (tip - origin_k)
        for (a0, a1, a2), (o0, o1, o2) in zip(axes, origins, strict=True):
            l0, l1, l2 = t0 - o0, t1 - o1, t2 - o2
            jac.append((a1 * l2 - a2 * l1, a2 * l0 - a0 * l2, a0 * l1 - a1 * l0))
        active = free
        for _pass in range(2):
            step = _damped_step([col if on else None for col, on in zip(jac, active, strict=True)], error, damping)
            pushing_out = [
                (a <= lo + 1e-12 and s < 0) or (a >= hi - 1e-12 and s > 0)
                for a, s, lo, hi in zip(angles, step, lower, upper, strict=True)
            ]
            if not any(p and on for p, on in zip(pushing_out, active, strict=True)):
                break
            active = tuple(on and not p for on, p in zip(active, pushing_out, strict=True))
        step = [s if on else 0.0 for s, on in zip(step, active, strict=True)]
        largest = max(abs(s) for s in step)
        shrink = min(1.0, radius / max(largest, 1e-12))
        trial = [min(max(a + s * shrink, lo), hi) for a, s, lo, hi in zip(angles, step, lower, upper, strict=True)]
        trial_origins, trial_axes, (r0, r1, r2) = _chain_points(trial, chain)
        trial_error = (g0 - r0, g1 - r1, g2 - r2)
        trial_distance = trial_error[0] ** 2 + trial_error[1] ** 2 + trial_error[2] ** 2
        if trial_distance < distance:
            angles, origins, axes, (t0, t1, t2), error, distance = (
                trial, trial_origins, trial_axes, (r0, r1, r2), trial_error, trial_distance
            )
            radius = min(2.0 * radius, 0.5)
        else:
            radius = 0.5 * radius
        if radius < 1e-5 or largest < 1e-7:
            break
    return np.array(angles), math.sqrt(distance)


def solve_fingertips(
    targets: NDArray[np.floating],
    q_warm: NDArray[np.floating] | None = None,
    config: FingerIKConfig | None = None,
) -> IKSolution:
    """Joint angles that bring each fingertip centre as close as possible to its target.

    Args:
        targets: Fingertip targets in Allegro finger order (index, middle, ring, thumb), hand frame, m,
            shape (4, 3) or (N, 4, 3).
        q_warm: Previous solution (warm start and tie-break), rad, (16,) or (N, 16); default the home pose.
            Its index/middle/ring joint 0 values are ignored (those are fixed by ``config.abduction``).
        config: Solver settings; default :class:`FingerIKConfig`.

    Returns:
        :class:`IKSolution` with the batch shape of ``targets``.
    """
    config = config or FingerIKConfig()
    targets = np.asarray(targets, dtype=np.float64)
    if targets.shape[-2:] != (4, 3) or targets.ndim not in (2, 3):
        raise ValueError(f"targets must have shape (4, 3) or (N, 4, 3), got {targets.shape}")
    if not np.isfinite(targets).all():
        raise ValueError("targets contain non-finite values")
    single = targets.ndim == 2
    batch = targets.reshape(-1, 4, 3)
    n = batch.shape[0]
    warm = home_pose() if q_warm is None else np.asarray(q_warm, dtype=np.float64)
    if warm.shape[-1:] != (NUM_JOINTS,) or not np.isfinite(warm).all():
        raise ValueError(f"q_warm must be finite with 16 joints per row, got shape {warm.shape}")
    warm = _clip(warm.reshape(-1, 4, 4), _LOWER, _UPPER)
    if warm.shape[0] not in (1, n):
        raise ValueError(f"q_warm has {warm.shape[0]} rows for {n} targets; give one row or one per target")
    if warm.shape[0] != n:
        warm = np.broadcast_to(warm, (n, 4, 4))

    abduction = np.asarray(config.abduction, dtype=np.float64)
    samples = config.sweep_samples
    if single and _compiled is not None:  # a live frame: every step compiled, no numpy call per step
        q, error = _compiled.solve_frame(
            np.ascontiguousarray(batch[0]), warm[0], abduction, _sweep_grid(samples), _NEAR_WARM,
            _refine_steps(samples), _SWEEP_JOINT, config.tolerance, config.polish_iterations, config.damping**2,
            config.continuity_weight, *_COMPILED_CONSTANTS,
        )
        return IKSolution(q=q.reshape(NUM_JOINTS), error=error)
    sweep = np.empty((n, samples + _NEAR_WARM.size, 4))
    sweep[:, :samples] = _sweep_grid(samples)
    swept_warm = warm.reshape(n, NUM_JOINTS)[:, None, _SWEEP_FLAT]  # (N, 1, 4)
    sweep[:, samples:] = _clip(swept_warm + _NEAR_WARM[:, None], _SWEEP_LOWER, _SWEEP_UPPER)
    q, best_error, best_planar, best_score = _best_candidates(batch, sweep, warm, abduction, config.continuity_weight)

    # Refine where no candidate was exact: a finer sweep around the best value (narrow feasible intervals near
    # the limits), then damped least squares for what is still out of reach.
    rows = np.flatnonzero((best_planar > config.tolerance).any(axis=1))
    if rows.size:
        sub = slice(None) if rows.size == n else rows  # a view of every row (a single frame) or a copy of some
        around = q[sub].reshape(-1, NUM_JOINTS)[:, None, _SWEEP_FLAT] + _refine_steps(samples)
        fine = _best_candidates(batch[sub], _clip(around, _SWEEP_LOWER, _SWEEP_UPPER), warm[sub], abduction,
                                config.continuity_weight)
        better = fine[3] < best_score[sub]
        q[sub] = np.where(better[..., None], fine[0], q[sub])
        best_error[sub] = np.where(better, fine[1], best_error[sub])
        best_planar[sub] = np.where(better, fine[2], best_planar[sub])

    bad_rows, bad_fingers = np.nonzero(best_planar > config.tolerance)
    if bad_rows.size and config.polish_iterations:
        if bad_rows.size <= _POLISH_ONE_BY_ONE:  # a few rows: cheaper in Python floats than in numpy calls
            for row, finger in zip(bad_rows.tolist(), bad_fingers.tolist(), strict=True):
                q[row, finger], best_error[row, finger] = _polish_one(q[row, finger], batch[row, finger], finger,
                                                                      config)
        else:
            polished, polished_error = _polish(q[bad_rows, bad_fingers], batch[bad_rows, bad_fingers], bad_fingers,
                                               config)
            q[bad_rows, bad_fingers] = polished
            best_error[bad_rows, bad_fingers] = polished_error
    q = q.reshape(n, NUM_JOINTS)
    if single:
        return IKSolution(q=q[0], error=best_error[0])
    return IKSolution(q=q, error=best_error)
