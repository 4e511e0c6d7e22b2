"""Human hands generated independently of :mod:`dexsim.teleop.synthetic` (a different model and parametrisation).

Anatomical local frame of a right hand: origin at the wrist, +x radial (thumb side), +y distal (towards the
fingers), +z palmar (out of the palm). Every bone length gets its own random factor, so proportions differ per
finger and per bone, not by one global scale. Fingers flex towards +z; the thumb has a carpometacarpal joint with
radial and palmar abduction and flexes across the palm. Poses are made by angles, and pinches by solving the
thumb's angles (least squares) so that its tip ends a chosen gap from a fingertip. Output is 26 joints in
OpenXR order in a right-handed world frame, or the flat float array a Unity app streams (Unity joint order,
left-handed frame), written here from the conventions alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Adult proportions (m) of a 185 mm hand (wrist crease to middle tip).
_KNUCKLES = np.array([[0.024, 0.092, 0.004], [0.004, 0.096, 0.0], [-0.014, 0.091, 0.003], [-0.030, 0.082, 0.008]])
_CMC = np.array([[0.012, 0.022, 0.002], [0.002, 0.024, 0.0], [-0.009, 0.022, 0.002], [-0.018, 0.02, 0.004]])
_PHALANX = np.array([[0.043, 0.025, 0.019], [0.047, 0.029, 0.020], [0.044, 0.028, 0.020], [0.035, 0.020, 0.018]])
_SPLAY = np.array([0.10, 0.0, -0.08, -0.17])
_THUMB_CMC = np.array([0.021, 0.026, 0.013])
_THUMB = np.array([0.044, 0.031, 0.026])

# OpenXR indices.
PALM, WRIST = 0, 1
THUMB = [2, 3, 4, 5]
FINGERS = [[6, 7, 8, 9, 10], [11, 12, 13, 14, 15], [16, 17, 18, 19, 20], [21, 22, 23, 24, 25]]
TIP = {"thumb": 5, "index": 10, "middle": 15, "ring": 20, "little": 25}


@dataclass(frozen=True)
class Hand:
    """A random hand's shape: scale and per-bone factors."""

    scale: float
    knuckles: np.ndarray
    cmc: np.ndarray
    phalanx: np.ndarray
    thumb_cmc: np.ndarray
    thumb: np.ndarray


def random_hand(rng: np.random.Generator, spread: float = 0.15) -> Hand:
    """A hand of overall scale 0.8-1.2 with every bone length varied by up to +-``spread`` on its own."""
    scale = rng.uniform(0.8, 1.2)

    def vary(a: np.ndarray) -> np.ndarray:
        return a * rng.uniform(1 - spread, 1 + spread, a.shape)

    return Hand(
        scale,
        _KNUCKLES * rng.uniform(1 - spread / 2, 1 + spread / 2, (4, 1)),
        _CMC.copy(),
        vary(_PHALANX),
        _THUMB_CMC * rng.uniform(1 - spread / 2, 1 + spread / 2, 3),
        vary(_THUMB),
    )


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _rotate_towards(d: np.ndarray, towards: np.ndarray, angle: float) -> np.ndarray:
    b = _unit(towards - d * (towards @ d))
    return np.cos(angle) * d + np.sin(angle) * b


def thumb_points(hand: Hand, angles: np.ndarray) -> np.ndarray:
    """(4, 3) thumb CMC, MCP, IP, tip for (radial angle, palmar abduction, MCP flexion, IP flexion), rad."""
    radial, palmar, mcp, ip = angles
    d = np.array([np.sin(radial), np.cos(radial), 0.0])
    d = np.cos(palmar) * d + np.sin(palmar) * np.array([0.0, 0.0, 1.0])
    bend = np.array([-1.0, 0.2, 0.7])  # across the palm, towards the little finger's base
    points = [hand.thumb_cmc]
    points.append(points[-1] + hand.thumb[0] * d)
    d = _rotate_towards(d, bend, mcp)
    points.append(points[-1] + hand.thumb[1] * d)
    d = _rotate_towards(d, bend, ip)
    points.append(points[-1] + hand.thumb[2] * d)
    return np.array(points) * hand.scale


def local_joints(hand: Hand, flexion: np.ndarray, thumb: np.ndarray) -> np.ndarray:
    """(26, 3) joints in the anatomical frame (m); ``flexion`` (4, 3) MCP/PIP/DIP per finger, rad."""
    p = np.zeros((26, 3))
    p[PALM] = 0.5 * (hand.cmc[1] + hand.knuckles[1]) * hand.scale
    for f, joints in enumerate(FINGERS):
        p[joints[0]] = hand.cmc[f] * hand.scale
        p[joints[1]] = hand.knuckles[f] * hand.scale
        rest = np.array([np.sin(_SPLAY[f]), np.cos(_SPLAY[f]), 0.0])
        angle = 0.0
        for j in range(3):
            angle += flexion[f][j]
            d = np.cos(angle) * rest + np.sin(angle) * np.array([0.0, 0.0, 1.0])
            p[joints[2 + j]] = p[joints[1 + j]] + hand.phalanx[f, j] * hand.scale * d
    p[THUMB] = thumb_points(hand, thumb)
    return p


OPEN_FLEXION = np.full((4, 3), 0.06)
OPEN_THUMB = np.array([0.75, 0.25, 0.1, 0.05])


def open_hand(hand: Hand) -> np.ndarray:
    """An open, flat-ish hand with the thumb spread out radially."""
    return local_joints(hand, OPEN_FLEXION, OPEN_THUMB)


def pinch(hand: Hand, finger: str, gap: float, flexion: tuple[float, float] = (0.6, 0.7)) -> np.ndarray:
    """A pinch: the thumb tip ``gap`` m from ``finger``'s tip (on its palmar-radial side), other fingers half open.

    The thumb's four angles and the finger's MCP/PIP flexion (DIP = 0.7 PIP, as the tendons couple them) are
    solved by least squares, the finger's flexion kept near ``flexion``.
    """
    index = ["index", "middle", "ring", "little"].index(finger)
    flex = np.full((4, 3), 0.25)
    direction = _unit(np.array([0.6, -0.4, 0.7]))

    def joints(x: np.ndarray) -> np.ndarray:
        flex[index] = (x[4], x[5], 0.7 * x[5])
        return local_joints(hand, flex, x[:4])

    def residual(x: np.ndarray) -> np.ndarray:
        p = joints(x)
        miss = p[THUMB[-1]] - (p[FINGERS[index][-1]] + gap * direction)
        return np.r_[miss * 1e3, 0.5 * (x[4:] - flexion)]

    lower, upper = np.array([0.0, -0.2, 0.0, 0.0, 0.0, 0.0]), np.array([1.6, 1.4, 1.2, 1.4, 1.5, 1.7])
    best = min((_least_squares(residual, np.r_[x0, flexion], lower, upper) for x0 in _STARTS), key=lambda r: r[1])
    return joints(best[0])


def _least_squares(residual, x, lower, upper, iterations=60):
    """Bounded Levenberg-Marquardt with a finite-difference Jacobian: (x, cost)."""
    x = np.clip(np.asarray(x, dtype=np.float64), lower, upper)
    r = residual(x)
    damping = 1e-2
    for _ in range(iterations):
        jacobian = np.empty((r.size, x.size))
        for j in range(x.size):
            step = np.zeros_like(x)
            step[j] = 1e-6
            jacobian[:, j] = (residual(x + step) - r) / 1e-6
        gradient = jacobian.T @ r
        hessian = jacobian.T @ jacobian
        candidate = np.clip(x - np.linalg.solve(hessian + damping * np.eye(x.size), gradient), lower, upper)
        r_candidate = residual(candidate)
        if r_candidate @ r_candidate < r @ r:
            x, r, damping = candidate, r_candidate, max(damping / 3, 1e-9)
        else:
            damping *= 4
        if r @ r < 1e-10:
            break
    return x, float(r @ r)


_STARTS = [np.array([0.6, 0.7, 0.5, 0.3]), np.array([0.3, 1.0, 0.8, 0.6]), np.array([0.9, 0.5, 0.3, 0.2])]


def fist(hand: Hand, closure: float = 1.0) -> np.ndarray:
    """A fist closed to ``closure`` (0 open .. 1 full)."""
    flex = OPEN_FLEXION + closure * (np.array([1.45, 1.7, 1.0]) - OPEN_FLEXION)
    thumb = OPEN_THUMB + closure * (np.array([0.3, 0.9, 0.8, 0.7]) - OPEN_THUMB)
    return local_joints(hand, flex, thumb)


def mirror(local: np.ndarray) -> np.ndarray:
    """The mirror image across the hand's sagittal plane (a left hand of the same shape)."""
    return local * np.array([-1.0, 1.0, 1.0])


def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """A random rotation matrix (QR of a Gaussian matrix, sign-fixed)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q


def place(local: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The hand at a random pose in a right-handed world frame."""
    return local @ random_rotation(rng).T + rng.uniform(-0.5, 0.5, 3)


def unity_array(world: np.ndarray, quaternions: np.ndarray | None = None) -> np.ndarray:
    """The flat float32 array a Unity app sends: Unity joint order (wrist first, then palm), Unity's left-handed
    frame (x right, y up, z forward) from a ROS-style right-handed world (x forward, y left, z up); with
    ``quaternions`` (26, 4 as x, y, z, w in Unity's frame) 182 floats, else 78."""
    unity = np.stack([-world[:, 1], world[:, 2], world[:, 0]], axis=-1)
    unity = unity[[1, 0] + list(range(2, 26))]
    if quaternions is not None:
        unity = np.hstack([unity, quaternions[[1, 0] + list(range(2, 26))]])
    return unity.astype(np.float32).ravel()
