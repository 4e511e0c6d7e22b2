"""Numerical fingertip IK on the MJCF hand model, for the scripted expert.

Damped least squares on MuJoCo's site Jacobians of a standalone copy of the hand model (palm frame = world),
warm-started from the previous solution. Targets are in the hand frame, m. It needs only the hand's own
kinematics, so the expert runs the same against the twin and against the real hand.
"""

from __future__ import annotations

import mujoco
import numpy as np
from numpy.typing import NDArray

from dexsim.hand import FINGER_JOINT_SLICES, JOINT_NAMES, Finger, lower_limits, upper_limits
from dexsim.sim.scene import HAND_XML, apply_joint_table, compile_scene, load_asset

__all__ = ["FingertipIK"]


class FingertipIK:
    """Solve joint angles that put a fingertip centre at a point of the hand frame.

    Args:
        damping: Levenberg-Marquardt damping of the least-squares step, m.
        iterations: Gauss-Newton iterations per solve.
    """

    def __init__(self, damping: float = 2e-3, iterations: int = 12) -> None:
        hand = load_asset(HAND_XML)
        apply_joint_table(hand)
        self._model = compile_scene(hand)
        self._data = mujoco.MjData(self._model)
        self._qpos = np.array([self._model.joint(n).qposadr[0] for n in JOINT_NAMES])
        self._dof = np.array([self._model.joint(n).dofadr[0] for n in JOINT_NAMES])
        self._sites = {f: self._model.site(f"{f.name.lower()}_tip").id for f in Finger}
        self._jac = np.zeros((3, self._model.nv))
        self.damping = damping
        self.iterations = iterations

    def fingertip(self, q: NDArray[np.floating], finger: Finger) -> NDArray[np.float64]:
        """Fingertip centre of ``finger`` at joint angles ``q`` (16,), hand frame, m."""
        self._data.qpos[self._qpos] = q
        mujoco.mj_kinematics(self._model, self._data)
        return self._data.site_xpos[self._sites[finger]].copy()

    def solve(
        self,
        finger: Finger,
        target: NDArray[np.floating],
        q_start: NDArray[np.floating],
        fixed_joints: tuple[int, ...] = (),
    ) -> NDArray[np.float64]:
        """Joint angles (16,) that bring ``finger``'s tip to ``target``; other fingers keep ``q_start``.

        Args:
            finger: The finger to move.
            target: Desired fingertip centre, hand frame, m.
            q_start: Warm start and values of every joint not solved for, rad.
            fixed_joints: Indices within the finger (0-3) to hold at ``q_start``.
        """
        q = np.array(q_start, dtype=np.float64)
        joints = np.arange(16)[FINGER_JOINT_SLICES[finger]]
        free = np.array([j for k, j in enumerate(joints) if k not in fixed_joints])
        lower, upper = lower_limits()[free], upper_limits()[free]
        site = self._sites[finger]
        target = np.asarray(target, dtype=np.float64)
        for _ in range(self.iterations):
            self._data.qpos[self._qpos] = q
            mujoco.mj_kinematics(self._model, self._data)
            mujoco.mj_comPos(self._model, self._data)
            error = target - self._data.site_xpos[site]
            if error @ error < 1e-10:
                break
            mujoco.mj_jacSite(self._model, self._data, self._jac, None, site)
            jac = self._jac[:, self._dof[free]]
            step = jac.T @ np.linalg.solve(jac @ jac.T + self.damping**2 * np.eye(3), error)
            q[free] = np.clip(q[free] + step, lower, upper)
        return q
