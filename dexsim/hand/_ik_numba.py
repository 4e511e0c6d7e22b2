"""Compiled candidate sweep of :mod:`dexsim.hand.ik` (optional: ``pip install 'dexsim[fast]'``, numba).

:func:`best_candidates` computes what ``ik._best_candidates`` computes with numpy, the same formulas in the same
order, one candidate at a time: no (N, K, 2, 4, 4) arrays and none of numpy's per-call overhead, which dominates
a single frame's solve. The two agree to rounding (``tests/hand/test_ik.py`` checks both on random targets and
warm starts); without numba, :mod:`dexsim.hand.ik` uses its numpy version. Importing this module raises
``ImportError`` where numba is missing; where no cache can be written it compiles per process (:mod:`dexsim._jit`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from dexsim._jit import compiled

__all__ = ["best_candidates", "solve_frame"]


@compiled
def _clip(value: float, lower: float, upper: float) -> float:
    return min(max(value, lower), upper)


@compiled
def _wrap_clip(theta: float, to_range: float, from_range: float, lower: float, upper: float) -> float:
    """A DH angle as the joint angle within pi of the middle of its range, clipped to the limits."""
    return _clip(np.mod(theta + to_range, 2.0 * np.pi) + from_range, lower, upper)


@compiled
def _next_frame(x: float, y: float, z: float, q: float, row: NDArray[np.float64]) -> tuple[float, float, float]:
    """A point in the next DH frame after joint angle ``q``; ``row``: (offset, cos alpha, sin alpha, d, a)."""
    theta = q + row[0]
    ct, st = math.cos(theta), math.sin(theta)
    zd = z - row[3]
    across = ct * y - st * x
    return ct * x + st * y - row[4], row[1] * across + row[2] * zd, row[1] * zd - row[2] * across


@compiled
def _best_of_frame(
    targets: NDArray[np.float64],
    sweep: NDArray[np.float64],
    warm: NDArray[np.float64],
    abduction: NDArray[np.float64],
    continuity_weight: float,
    rows: NDArray[np.float64],
    base_rotation: NDArray[np.float64],
    base_origin: NDArray[np.float64],
    ranges: NDArray[np.float64],
    q_best: NDArray[np.float64],
    error_best: NDArray[np.float64],
    planar_best: NDArray[np.float64],
    score_best: NDArray[np.float64],
) -> None:
    """:func:`best_candidates` for one frame: targets (4, 3), sweep (K, 4), warm (4, 4); writes the outputs
    q_best (4, 4), error_best, planar_best and score_best (4,)."""
    for c in range(4):
        r0, r1, r2, r3 = base_rotation[c, 0], base_rotation[c, 1], base_rotation[c, 2], base_origin[c]
        d0, d1, d2 = targets[c, 0] - r3[0], targets[c, 1] - r3[1], targets[c, 2] - r3[2]
        x0 = d0 * r0[0] + d1 * r1[0] + d2 * r2[0]
        y0 = d0 * r0[1] + d1 * r1[1] + d2 * r2[1]
        z0 = d0 * r0[2] + d1 * r1[2] + d2 * r2[2]
        a2, a3 = rows[2, 4, c], rows[3, 4, c]
        best = np.inf
        for k in range(sweep.shape[0]):
            q0 = abduction[c] if c < 3 else sweep[k, c]
            # Frame 1, then frame 2 (as ik._next_frame); the thumb's joint 1 turns its plane through the target.
            x1, y1, z1 = _next_frame(x0, y0, z0, q0, rows[0, :, c])
            if c < 3:
                q1 = sweep[k, c]
            else:
                q1 = _wrap_clip(math.atan2(y1, x1), ranges[0, 3, 1], ranges[1, 3, 1], ranges[2, 3, 1],
                                ranges[3, 3, 1])
            x, y, z = _next_frame(x1, y1, z1, q1, rows[1, :, c])
            cos3 = _clip((x * x + y * y - (a2 * a2 + a3 * a3)) * (1.0 / (2.0 * a2 * a3)), -1.0, 1.0)
            for elbow in (1.0, -1.0):
                theta3 = math.acos(cos3) * elbow
                theta2 = math.atan2(y, x) - math.atan2(a3 * math.sin(theta3), a2 + a3 * math.cos(theta3))
                q2 = _wrap_clip(theta2, ranges[0, c, 2], ranges[1, c, 2], ranges[2, c, 2], ranges[3, c, 2])
                q3 = _clip(theta3 - rows[3, 0, c], ranges[2, c, 3], ranges[3, c, 3])
                t2 = q2 + rows[2, 0, c]
                t23 = t2 + q3 + rows[3, 0, c]
                planar = math.hypot(a2 * math.cos(t2) + a3 * math.cos(t23) - x,
                                    a2 * math.sin(t2) + a3 * math.sin(t23) - y)
                error = math.hypot(planar, z)
                if c == 3:
                    planar = error
                w = warm[c]
                change = (q0 - w[0]) ** 2 + (q1 - w[1]) ** 2 + (q2 - w[2]) ** 2 + (q3 - w[3]) ** 2
                score = change * continuity_weight + error
                if score < best:  # the first of equal scores, as numpy's argmin
                    best = score
                    q_best[c, 0], q_best[c, 1], q_best[c, 2], q_best[c, 3] = q0, q1, q2, q3
                    error_best[c], planar_best[c], score_best[c] = error, planar, score


@compiled
def best_candidates(
    targets: NDArray[np.float64],
    sweep: NDArray[np.float64],
    warm: NDArray[np.float64],
    abduction: NDArray[np.float64],
    continuity_weight: float,
    rows: NDArray[np.float64],
    base_rotation: NDArray[np.float64],
    base_origin: NDArray[np.float64],
    ranges: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Per chain the best analytic candidate: ``(q (N, 4, 4), error, planar error, score (N, 4))``.

    Args:
        targets: (N, 4, 3) fingertip targets, hand frame, m.
        sweep: (N, K, 4) values of each chain's redundant joint, rad.
        warm: (N, 4, 4) warm start, rad.
        abduction: (3,) fixed joint-0 angles of index, middle, ring, rad.
        continuity_weight: m of error per rad^2 of squared change from ``warm``.
        rows: (4 DH rows, 5, 4 chains): theta offset, cos alpha, sin alpha, d, a.
        base_rotation: (4, 3, 3) and base_origin (4, 3): hand frame <- DH frame 0 per chain.
        ranges: (4 fields, 4 chains, 4 joints): to_range, from_range, lower and upper limits (see ``ik``).
    """
    n = sweep.shape[0]
    q_best = np.empty((n, 4, 4))
    error_best, planar_best, score_best = np.empty((n, 4)), np.empty((n, 4)), np.empty((n, 4))
    for i in range(n):
        _best_of_frame(targets[i], sweep[i], warm[i], abduction, continuity_weight, rows, base_rotation, base_origin,
                       ranges, q_best[i], error_best[i], planar_best[i], score_best[i])
    return q_best, error_best, planar_best, score_best


@compiled
def _chain_points(
    angles: NDArray[np.float64],
    c: int,
    rows: NDArray[np.float64],
    base_rotation: NDArray[np.float64],
    base_origin: NDArray[np.float64],
    origins: NDArray[np.float64],
    axes: NDArray[np.float64],
    tip: NDArray[np.float64],
) -> None:
    """Joint origins and axes (4, 3) of frames 0..3 and the fingertip centre (3,) of chain ``c``, hand frame
    (written into the last three arguments; as ``ik._chain_points``)."""
    x0, x1, x2 = base_rotation[c, 0, 0], base_rotation[c, 1, 0], base_rotation[c, 2, 0]
    y0, y1, y2 = base_rotation[c, 0, 1], base_rotation[c, 1, 1], base_rotation[c, 2, 1]
    z0, z1, z2 = base_rotation[c, 0, 2], base_rotation[c, 1, 2], base_rotation[c, 2, 2]
    p0, p1, p2 = base_origin[c, 0], base_origin[c, 1], base_origin[c, 2]
    for r in range(4):
        offset, ca, sa, d, a = rows[r, 0, c], rows[r, 1, c], rows[r, 2, c], rows[r, 3, c], rows[r, 4, c]
        origins[r, 0], origins[r, 1], origins[r, 2] = p0, p1, p2
        axes[r, 0], axes[r, 1], axes[r, 2] = z0, z1, z2
        ct, st = math.cos(angles[r] + offset), math.sin(angles[r] + offset)
        n0, n1, n2 = ct * x0 + st * y0, ct * x1 + st * y1, ct * x2 + st * y2
        c0, c1, c2 = ct * y0 - st * x0, ct * y1 - st * x1, ct * y2 - st * x2
        p0, p1, p2 = p0 + a * n0 + d * z0, p1 + a * n1 + d * z1, p2 + a * n2 + d * z2
        x0, x1, x2 = n0, n1, n2
        y0, y1, y2, z0, z1, z2 = (ca * c0 + sa * z0, ca * c1 + sa * z1, ca * c2 + sa * z2,
                                  ca * z0 - sa * c0, ca * z1 - sa * c1, ca * z2 - sa * c2)
    tip[0], tip[1], tip[2] = p0, p1, p2


@compiled
def _damped_step(
    jac: NDArray[np.float64], active: NDArray[np.bool_], error: NDArray[np.float64], damping: float,
    step: NDArray[np.float64],
) -> None:
    """``J^T (J J^T + damping I)^-1 error`` over the active columns of ``jac`` (4, 3), 0 elsewhere, into ``step``
    (as ``ik._damped_step``)."""
    g00 = g01 = g02 = g11 = g12 = g22 = 0.0
    for k in range(4):
        if active[k]:
            u, v, w = jac[k, 0], jac[k, 1], jac[k, 2]
            g00, g01, g02 = g00 + u * u, g01 + u * v, g02 + u * w
            g11, g12, g22 = g11 + v * v, g12 + v * w, g22 + w * w
    g00, g11, g22 = g00 + damping, g11 + damping, g22 + damping
    c00, c01, c02 = g11 * g22 - g12 * g12, g02 * g12 - g01 * g22, g01 * g12 - g02 * g11
    c11, c12, c22 = g00 * g22 - g02 * g02, g02 * g01 - g00 * g12, g00 * g11 - g01 * g01
    det = g00 * c00 + g01 * c01 + g02 * c02
    e0, e1, e2 = error[0], error[1], error[2]
    u0 = (c00 * e0 + c01 * e1 + c02 * e2) / det
    u1 = (c01 * e0 + c11 * e1 + c12 * e2) / det
    u2 = (c02 * e0 + c12 * e1 + c22 * e2) / det
    for k in range(4):
        step[k] = jac[k, 0] * u0 + jac[k, 1] * u1 + jac[k, 2] * u2 if active[k] else 0.0


@compiled
def _polish(
    q: NDArray[np.float64], goal: NDArray[np.float64], c: int, iterations: int, damping: float,
    rows: NDArray[np.float64], base_rotation: NDArray[np.float64], base_origin: NDArray[np.float64],
    ranges: NDArray[np.float64],
) -> float:
    """``ik._polish_one`` for chain ``c``: updates ``q`` (4,) in place, returns the fingertip error, m."""
    lower, upper = ranges[2, c], ranges[3, c]
    origins, axes, tip = np.empty((4, 3)), np.empty((4, 3)), np.empty(3)
    trial_origins, trial_axes, trial_tip = np.empty((4, 3)), np.empty((4, 3)), np.empty(3)
    jac, step, trial = np.empty((4, 3)), np.empty(4), np.empty(4)
    free, active = np.ones(4, dtype=np.bool_), np.empty(4, dtype=np.bool_)
    free[0] = c == 3
    error, trial_error = np.empty(3), np.empty(3)
    radius = 0.25
    _chain_points(q, c, rows, base_rotation, base_origin, origins, axes, tip)
    for i in range(3):
        error[i] = goal[i] - tip[i]
    distance = error[0] * error[0] + error[1] * error[1] + error[2] * error[2]
    for _ in range(iterations):
        for k in range(4):  # columns: axis_k x (tip - origin_k)
            l0, l1, l2 = tip[0] - origins[k, 0], tip[1] - origins[k, 1], tip[2] - origins[k, 2]
            a0, a1, a2 = axes[k, 0], axes[k, 1], axes[k, 2]
            jac[k, 0], jac[k, 1], jac[k, 2] = a1 * l2 - a2 * l1, a2 * l0 - a0 * l2, a0 * l1 - a1 * l0
        active[:] = free
        for _pass in range(2):
            _damped_step(jac, active, error, damping, step)
            pushing_out = False
            for k in range(4):
                if active[k] and ((q[k] <= lower[k] + 1e-12 and step[k] < 0)
                                  or (q[k] >= upper[k] - 1e-12 and step[k] > 0)):
                    pushing_out = True
            if not pushing_out:
                break
            for k in range(4):
                if (q[k] <= lower[k] + 1e-12 and step[k] < 0) or (q[k] >= upper[k] - 1e-12 and step[k] > 0):
                    active[k] = False
        largest = 0.0
        for k in range(4):
            if not active[k]:
                step[k] = 0.0
            largest = max(largest, abs(step[k]))
        shrink = min(1.0, radius / max(largest, 1e-12))
        for k in range(4):
            trial[k] = min(max(q[k] + step[k] * shrink, lower[k]), upper[k])
        _chain_points(trial, c, rows, base_rotation, base_origin, trial_origins, trial_axes, trial_tip)
        for i in range(3):
            trial_error[i] = goal[i] - trial_tip[i]
        trial_distance = trial_error[0] ** 2 + trial_error[1] ** 2 + trial_error[2] ** 2
        if trial_distance < distance:
            q[:] = trial
            origins[:], axes[:], tip[:], error[:] = trial_origins, trial_axes, trial_tip, trial_error
            distance = trial_distance
            radius = min(2.0 * radius, 0.5)
        else:
            radius = 0.5 * radius
        if radius < 1e-5 or largest < 1e-7:
            break
    return math.sqrt(distance)


@compiled
def solve_frame(
    targets: NDArray[np.float64],
    warm: NDArray[np.float64],
    abduction: NDArray[np.float64],
    grid: NDArray[np.float64],
    near_warm: NDArray[np.float64],
    refine: NDArray[np.float64],
    sweep_joint: NDArray[np.int64],
    tolerance: float,
    polish_iterations: int,
    damping: float,
    continuity_weight: float,
    rows: NDArray[np.float64],
    base_rotation: NDArray[np.float64],
    base_origin: NDArray[np.float64],
    ranges: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``ik.solve_fingertips`` for a single frame, every step compiled: ``(q (4, 4), error (4,))``.

    Args:
        targets: (4, 3) fingertip targets, m; warm: (4, 4) warm start within the limits, rad.
        grid: (S, 4) sweep grid; near_warm: offsets tried around the warm start; refine: (R, 4) refinement
            offsets around the best value, rad; sweep_joint: the redundant joint per chain.
        tolerance: m; polish_iterations; damping: the *squared* damping of the least-squares step, m^2.
        The rest: as :func:`best_candidates`.
    """
    samples = grid.shape[0]
    sweep = np.empty((samples + near_warm.size, 4))
    sweep[:samples] = grid
    for c in range(4):
        j = sweep_joint[c]
        for k in range(near_warm.size):
            sweep[samples + k, c] = min(max(warm[c, j] + near_warm[k], ranges[2, c, j]), ranges[3, c, j])
    q, error, planar, score = np.empty((4, 4)), np.empty(4), np.empty(4), np.empty(4)
    _best_of_frame(targets, sweep, warm, abduction, continuity_weight, rows, base_rotation, base_origin, ranges,
                   q, error, planar, score)
    # A finer sweep around the best value where no candidate was exact, then polish what is still out of reach.
    if planar.max() > tolerance:
        around = np.empty((refine.shape[0], 4))
        for c in range(4):
            j = sweep_joint[c]
            for k in range(refine.shape[0]):
                around[k, c] = min(max(q[c, j] + refine[k, c], ranges[2, c, j]), ranges[3, c, j])
        fine_q, fine_error, fine_planar, fine_score = np.empty((4, 4)), np.empty(4), np.empty(4), np.empty(4)
        _best_of_frame(targets, around, warm, abduction, continuity_weight, rows, base_rotation, base_origin,
                       ranges, fine_q, fine_error, fine_planar, fine_score)
        for c in range(4):
            if fine_score[c] < score[c]:
                q[c], error[c], planar[c] = fine_q[c], fine_error[c], fine_planar[c]
        if polish_iterations:
            for c in range(4):
                if planar[c] > tolerance:
                    error[c] = _polish(q[c], targets[c], c, polish_iterations, damping, rows, base_rotation,
                                       base_origin, ranges)
    return q, error
