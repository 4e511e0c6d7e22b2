"""Compiled candidate sweep of :mod:`dexsim.hand.ik` (optional: ``pip install 'dexsim[fast]'``, numba).

:func:`best_candidates` computes what ``ik._best_candidates`` computes with numpy, the same formulas in the same
order, one candidate at a time: no (N, K, 2, 4, 4) arrays and none of numpy's per-call overhead, which dominates
a single frame's solve. The two agree to rounding (``tests/hand/test_ik.py`` checks both on random targets and
warm starts); without numba, :mod:`dexsim.hand.ik` uses its numpy version. Importing this module raises
``ImportError`` where numba is missing.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numpy.typing import NDArray

__all__ = ["best_candidates"]


@numba.njit(cache=True, nogil=True)
def _clip(value: float, lower: float, upper: float) -> float:
    return min(max(value, lower), upper)


@numba.njit(cache=True, nogil=True)
def _wrap_clip(theta: float, to_range: float, from_range: float, lower: float, upper: float) -> float:
    """A DH angle as the joint angle within pi of the middle of its range, clipped to the limits."""
    return _clip(np.mod(theta + to_range, 2.0 * np.pi) + from_range, lower, upper)


@numba.njit(cache=True, nogil=True)
def _next_frame(x: float, y: float, z: float, q: float, row: NDArray[np.float64]) -> tuple[float, float, float]:
    """A point in the next DH frame after joint angle ``q``; ``row``: (offset, cos alpha, sin alpha, d, a)."""
    theta = q + row[0]
    ct, st = math.cos(theta), math.sin(theta)
    zd = z - row[3]
    across = ct * y - st * x
    return ct * x + st * y - row[4], row[1] * across + row[2] * zd, row[1] * zd - row[2] * across


@numba.njit(cache=True, nogil=True)
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
    n, k_count = sweep.shape[0], sweep.shape[1]
    q_best = np.empty((n, 4, 4))
    error_best, planar_best, score_best = np.empty((n, 4)), np.empty((n, 4)), np.empty((n, 4))
    for i in range(n):
        for c in range(4):
            r0, r1, r2, r3 = base_rotation[c, 0], base_rotation[c, 1], base_rotation[c, 2], base_origin[c]
            d0, d1, d2 = targets[i, c, 0] - r3[0], targets[i, c, 1] - r3[1], targets[i, c, 2] - r3[2]
            x0 = d0 * r0[0] + d1 * r1[0] + d2 * r2[0]
            y0 = d0 * r0[1] + d1 * r1[1] + d2 * r2[1]
            z0 = d0 * r0[2] + d1 * r1[2] + d2 * r2[2]
            a2, a3 = rows[2, 4, c], rows[3, 4, c]
            best = np.inf
            for k in range(k_count):
                q0 = abduction[c] if c < 3 else sweep[i, k, c]
                # Frame 1, then frame 2 (as ik._next_frame); the thumb's joint 1 turns its plane through the target.
                x1, y1, z1 = _next_frame(x0, y0, z0, q0, rows[0, :, c])
                if c < 3:
                    q1 = sweep[i, k, c]
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
                    w = warm[i, c]
                    change = (q0 - w[0]) ** 2 + (q1 - w[1]) ** 2 + (q2 - w[2]) ** 2 + (q3 - w[3]) ** 2
                    score = change * continuity_weight + error
                    if score < best:  # the first of equal scores, as numpy's argmin
                        best = score
                        q_best[i, c, 0], q_best[i, c, 1], q_best[i, c, 2], q_best[i, c, 3] = q0, q1, q2, q3
                        error_best[i, c], planar_best[i, c], score_best[i, c] = error, planar, score
    return q_best, error_best, planar_best, score_best
