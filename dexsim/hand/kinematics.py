"""Denavit-Hartenberg kinematics of the Allegro Hand V4 (right), vectorised over batches, pure numpy.

Every finger is a 4-joint serial chain. A chain is a fixed *base* transform from the hand frame (body
``palm`` of ``assets/allegro_right.xml``: fingers along +z, grasping side +x, index finger at +y) to the
chain's DH frame 0, followed by four links in *standard* DH convention::

    T_i = Rot_z(q_i + theta_offset_i) @ Trans_z(d_i) @ Trans_x(a_i) @ Rot_x(alpha_i)

so joint ``i`` turns about the z axis of frame ``i`` and the origin of frame 4 is the fingertip centre (the
``*_tip`` sites of the MJCF). Lengths in m, angles in rad. The numbers are derived from the MJCF body offsets
and joint axes (see ``docs/retargeting.md`` for the derivation and sources); ``tests/hand/test_kinematics.py``
checks them against MuJoCo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from dexsim.hand.joints import Finger

__all__ = [
    "DHChain",
    "FINGER_CHAINS",
    "HAND_WRIST",
    "chain_frames",
    "dh_transforms",
    "fingertip_positions",
    "frames_of_chains",
    "stacked_dh",
    "flexion_root",
]

HALF_PI = np.pi / 2


@dataclass(frozen=True)
class DHChain:
    """One finger as a DH chain.

    Attributes:
        finger: Which finger.
        base: (4, 4) homogeneous transform, hand frame <- DH frame 0.
        theta_offset: (4,) added to the joint angle, rad.
        d: (4,) offsets along the previous z axis, m.
        a: (4,) link lengths along the new x axis, m.
        alpha: (4,) twists about the new x axis, rad.
    """

    finger: Finger
    base: NDArray[np.float64]
    theta_offset: NDArray[np.float64]
    d: NDArray[np.float64]
    a: NDArray[np.float64]
    alpha: NDArray[np.float64]

    def __post_init__(self) -> None:
        if np.shape(self.base) != (4, 4):
            raise ValueError(f"{self.finger.name}: base must be a 4x4 transform, got shape {np.shape(self.base)}")
        for name in ("theta_offset", "d", "a", "alpha"):
            if np.shape(getattr(self, name)) != (4,):
                raise ValueError(f"{self.finger.name}: DH column {name} must have 4 entries")

    def table(self) -> NDArray[np.float64]:
        """The DH table as rows ``(theta_offset, d, a, alpha)``, shape (4, 4)."""
        return np.stack([self.theta_offset, self.d, self.a, self.alpha], axis=1)


def _rot_x(angle: float) -> NDArray[np.float64]:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])


def _quat_to_matrix(w: float, x: float, y: float, z: float) -> NDArray[np.float64]:
    n = np.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _transform(rotation: NDArray[np.float64], translation: tuple[float, float, float]) -> NDArray[np.float64]:
    out = np.eye(4)
    out[:3, :3] = rotation
    out[:3, 3] = translation
    out.setflags(write=False)
    return out


def _column(*values: float) -> NDArray[np.float64]:
    out = np.array(values, dtype=np.float64)
    out.setflags(write=False)
    return out


# Index, middle, ring: DH frame 0 = the finger's base body frame (z = abduction axis). Joint 1 (flexion, MJCF
# axis +y) sits 16.4 mm up the abduction axis; links 54 / 38.4 / 26.7 mm (the last to the fingertip centre).
_FINGER_THETA = _column(0.0, -HALF_PI, 0.0, 0.0)
_FINGER_D = _column(0.0164, 0.0, 0.0, 0.0)
_FINGER_A = _column(0.0, 0.054, 0.0384, 0.0267)
_FINGER_ALPHA = _column(-HALF_PI, 0.0, 0.0, 0.0)
_ROLL = np.deg2rad(5.0)

# Thumb: DH frame 0 has z = -x of the MJCF body thumb_base (joint thumb_0's axis), x = +y of that body.
# Joint 1 (axis z of thumb_base) is offset (-0.027, 0.005, 0.0399) from joint 0: common normal 5 mm long at
# 27 mm along joint 0's axis; joint 2 is 39.9 + 17.7 = 57.6 mm along joint 1's axis; links 51.4 / 42.3 mm.
_THUMB_DH0 = np.array([[0.0, 0.0, -1.0], [1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])
_THUMB_BODY = _quat_to_matrix(0.477714, -0.521334, -0.521334, -0.477714)

FINGER_CHAINS: dict[Finger, DHChain] = {
    Finger.INDEX: DHChain(
        Finger.INDEX,
        _transform(_rot_x(-_ROLL), (0.0, 0.0435, -0.001542)),
        _FINGER_THETA,
        _FINGER_D,
        _FINGER_A,
        _FINGER_ALPHA,
    ),
    Finger.MIDDLE: DHChain(
        Finger.MIDDLE,
        _transform(np.eye(3), (0.0, 0.0, 0.0007)),
        _FINGER_THETA,
        _FINGER_D,
        _FINGER_A,
        _FINGER_ALPHA,
    ),
    Finger.RING: DHChain(
        Finger.RING,
        _transform(_rot_x(_ROLL), (0.0, -0.0435, -0.001542)),
        _FINGER_THETA,
        _FINGER_D,
        _FINGER_A,
        _FINGER_ALPHA,
    ),
    Finger.THUMB: DHChain(
        Finger.THUMB,
        _transform(_THUMB_BODY @ _THUMB_DH0, (-0.0182, 0.0193, -0.046)),
        _column(0.0, -HALF_PI, -HALF_PI, 0.0),
        _column(0.027, 0.0576, 0.0, 0.0),
        _column(0.005, 0.0, 0.0514, 0.0423),
        _column(HALF_PI, -HALF_PI, 0.0, 0.0),
    ),
}
"""DH chain of every finger, in Allegro order."""

HAND_WRIST: NDArray[np.float64] = _column(0.0, 0.0, -0.095)
"""The robot's 'wrist' point, hand frame, m: bottom edge of the palm on the knuckles' plane (x = 0)."""

# All four chains stacked, (4, ...), so one call covers the whole hand.
_BASES = np.stack([FINGER_CHAINS[f].base for f in Finger])
_THETA = np.stack([FINGER_CHAINS[f].theta_offset for f in Finger])
_D = np.stack([FINGER_CHAINS[f].d for f in Finger])
_A = np.stack([FINGER_CHAINS[f].a for f in Finger])
_ALPHA = np.stack([FINGER_CHAINS[f].alpha for f in Finger])
for _array in (_BASES, _THETA, _D, _A, _ALPHA):
    _array.setflags(write=False)


def stacked_dh() -> tuple[NDArray[np.float64], ...]:
    """``(base, theta_offset, d, a, alpha)`` of the four chains in Allegro order, shapes (4, 4, 4), (4, 4)."""
    return _BASES, _THETA, _D, _A, _ALPHA


def dh_transforms(
    q: NDArray[np.floating],
    theta_offset: NDArray[np.floating],
    d: NDArray[np.floating],
    a: NDArray[np.floating],
    alpha: NDArray[np.floating],
) -> NDArray[np.float64]:
    """Link transforms ``T_i`` (..., 4, 4) of standard DH rows; all inputs broadcast together."""
    theta = np.asarray(q, dtype=np.float64) + theta_offset
    ct, st = np.cos(theta), np.sin(theta)
    ca, sa = np.cos(alpha), np.sin(alpha)
    out = np.zeros(theta.shape + (4, 4))
    out[..., 0, 0] = ct
    out[..., 0, 1] = -st * ca
    out[..., 0, 2] = st * sa
    out[..., 0, 3] = a * ct
    out[..., 1, 0] = st
    out[..., 1, 1] = ct * ca
    out[..., 1, 2] = -ct * sa
    out[..., 1, 3] = a * st
    out[..., 2, 1] = sa
    out[..., 2, 2] = ca
    out[..., 2, 3] = d
    out[..., 3, 3] = 1.0
    return out


def chain_frames(q: NDArray[np.floating], fingers: tuple[Finger, ...] = tuple(Finger)) -> NDArray[np.float64]:
    """Frames 0..4 of finger chains in the hand frame.

    Args:
        q: Joint angles, rad, shape (..., len(fingers), 4) (each finger's 4 joints in Allegro order).
        fingers: Which chains the second-to-last axis of ``q`` holds.

    Returns:
        (..., len(fingers), 5, 4, 4): frame ``i`` (``i`` = 0..3) has joint ``i``'s axis as its z axis;
        frame 4's origin is the fingertip centre.
    """
    q = np.asarray(q, dtype=np.float64)
    if q.shape[-2:] != (len(fingers), 4):
        raise ValueError(f"q must have shape (..., {len(fingers)}, 4), got {q.shape}")
    return frames_of_chains(q, np.array([int(f) for f in fingers]))


def _link_terms() -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Every DH link transform of :func:`dh_transforms` is ``K0 + cos(theta) Kc + sin(theta) Ks`` with constant
    (4 chains, 4 rows, 4, 4) matrices: its entries split by the factor they multiply."""
    ca, sa = np.cos(_ALPHA), np.sin(_ALPHA)
    fixed, cos_part, sin_part = (np.zeros(_THETA.shape + (4, 4)) for _ in range(3))
    cos_part[..., 0, 0], cos_part[..., 1, 1], cos_part[..., 1, 2], cos_part[..., 0, 3] = 1.0, ca, -sa, _A
    sin_part[..., 1, 0], sin_part[..., 0, 1], sin_part[..., 0, 2], sin_part[..., 1, 3] = 1.0, -ca, sa, _A
    fixed[..., 2, 1], fixed[..., 2, 2], fixed[..., 2, 3], fixed[..., 3, 3] = sa, ca, _D, 1.0
    for array in (fixed, cos_part, sin_part):
        array.setflags(write=False)
    return fixed, cos_part, sin_part


_LINK_FIXED, _LINK_COS, _LINK_SIN = _link_terms()


def frames_of_chains(q: NDArray[np.floating], chain: NDArray[np.integer]) -> NDArray[np.float64]:
    """Frames 0..4 (..., 5, 4, 4) of chains given per row.

    Args:
        q: Joint angles, rad, shape (..., 4).
        chain: Finger value (0 index .. 3 thumb) of each row, broadcastable to ``q.shape[:-1]``.
    """
    q = np.asarray(q, dtype=np.float64)
    chain = np.asarray(chain)
    theta = (q + _THETA[chain])[..., None, None]
    # The same products as dh_transforms (a product with an exact 0 or 1 added), in 4 array operations.
    links = _LINK_FIXED[chain] + np.cos(theta) * _LINK_COS[chain] + np.sin(theta) * _LINK_SIN[chain]
    frames = np.empty(links.shape[:-3] + (5, 4, 4))
    frames[..., 0, :, :] = _BASES[chain]
    for i in range(4):
        np.matmul(frames[..., i, :, :], links[..., i, :, :], out=frames[..., i + 1, :, :])
    return frames


def fingertip_positions(q: NDArray[np.floating]) -> NDArray[np.float64]:
    """Fingertip centres of all four fingers, hand frame, m.

    Args:
        q: Joint angles in Allegro order, rad, shape (..., 16).

    Returns:
        (..., 4, 3), fingers in Allegro order (index, middle, ring, thumb).
    """
    q = np.asarray(q, dtype=np.float64)
    if q.shape[-1:] != (16,):
        raise ValueError(f"q must have shape (..., 16), got {q.shape}")
    return chain_frames(q.reshape(q.shape[:-1] + (4, 4)))[..., 4, :3, 3]


def flexion_root(finger: Finger, q0: float = 0.0) -> NDArray[np.float64]:
    """Origin of a finger's DH frame 1, hand frame, m.

    For index, middle and ring this is the knuckle (joint 1, independent of ``q0``); for the thumb it is the
    foot of the 5 mm common normal on joint 1's axis.

    Args:
        finger: Which finger.
        q0: Angle of the finger's joint 0, rad.
    """
    q = np.zeros((1, 4))
    q[0, 0] = q0
    return chain_frames(q, (finger,))[0, 1, :3, 3].copy()
