"""The lid's thread: a stiff screw coupling, stick-slip friction that grows with axial load, and the release.

Model (MuJoCo constraints switched by this module once per physics step; see ``docs/architecture.md``):

* **Screw coupling.** Body ``lid_thread`` slides (``lid_lift``) and turns (``lid_twist``) on the bottle axis;
  the fixed tendon ``thread`` = ``lift - p/2pi * twist`` is held at zero by a tendon equality. (A *joint*
  equality between the two would be ~100x softer: MuJoCo scales its compliance by the sum of both joints' inverse
  inertias, and the lid's spin inertia is tiny; the tendon's compliance uses the coupled inverse mass.)
  The equality force is the thread's axial load ``F`` (N).
* **Friction.** ``T = T0 + k |F|`` (``T0``: liner and seal drag, randomised; ``k = mu r / cos(flank)``,
  ``SimConfig.thread_load_friction_m``). *Stick*: the joint equality ``thread_lock`` pins the twist at its
  current angle (a positional constraint, so a held lid cannot creep); it lets go when the torque it holds
  exceeds ``T``. *Slip*: the hinge's ``frictionloss`` is set to ``T`` every step; when the spin falls below
  :data:`STICK_SPEED_RAD_S` the lock engages again. Because ``k`` exceeds ``p/2pi``, an axial force alone can
  never turn the lid (self-locking).
* **No coasting.** The joints have no armature: the lid spins with its own inertia only.
* **Release.** After the engaged length the thread, the lock and the ``lid_seat_*`` equalities (which hold the
  cross slides and tilt hinges while threaded) switch off, and the lift and twist lose their limits; the lid is
  then a free rigid body relative to the bottle (slides along three axes, then hinges about three; the hinge
  chain is singular only with the lid tilted 90 deg about its x axis) whose skirt collides with the neck and
  whose outer cylinder collides with the bottle body.
"""

from __future__ import annotations

import mujoco
import numpy as np

from dexsim.sim.scene import bottle_name

__all__ = ["ThreadModel", "STICK_SPEED_RAD_S", "SEAT_AXES", "LID_COLLISION_RELEASED_BITS",
           "SKIRT_COLLISION_RELEASED_BITS"]

STICK_SPEED_RAD_S = 0.05
"""Spin below which a slipping thread sticks again, rad/s."""
SEAT_AXES = ("x", "y", "tilt_x", "tilt_y")
"""The lid's degrees of freedom, besides lift and twist, that the ``lid_seat_*`` equalities hold while threaded."""
LID_COLLISION_RELEASED_BITS = 1 | 4
"""conaffinity of the lid's outer collision geoms once released: hand/floor (1) and the bottle body (4)."""
SKIRT_COLLISION_RELEASED_BITS = 8
"""conaffinity of the lid's skirt once released: the neck (8)."""

_EQUALITY_ROWS = {int(mujoco.mjtEq.mjEQ_CONNECT): 3, int(mujoco.mjtEq.mjEQ_WELD): 6,
                  int(mujoco.mjtEq.mjEQ_JOINT): 1, int(mujoco.mjtEq.mjEQ_TENDON): 1}


class ThreadModel:
    """Owns the thread's constraints in one compiled scene; :meth:`update` runs after every ``mj_step``.

    Args:
        model: The compiled scene (with the bottle asset's thread elements).
        data: Its data.
        skirt_geoms: Ids of the lid's skirt geoms (collide with the neck once released).
    """

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, skirt_geoms: list[int]) -> None:
        self.model, self.data = model, data
        m = model
        twist, lift = m.joint(bottle_name("lid_twist")), m.joint(bottle_name("lid_lift"))
        self._twist_qpos, self._twist_dof = int(twist.qposadr[0]), int(twist.dofadr[0])
        self._lift_jnt, self._twist_jnt = lift.id, twist.id
        self._thread_eq = m.equality(bottle_name("thread")).id
        self._seat_eqs = [m.equality(bottle_name(f"lid_seat_{axis}")).id for axis in SEAT_AXES]
        self._lock_eq = m.equality(bottle_name("thread_lock")).id
        self._tendon = m.tendon(bottle_name("thread")).id
        lid_body = m.body(bottle_name("lid")).id
        self._skirt_geoms = list(skirt_geoms)
        self._lid_geoms = [g for g in range(m.ngeom) if m.geom_bodyid[g] == lid_body
                           and g not in self._skirt_geoms and (m.geom_contype[g] or m.geom_conaffinity[g])]
        self._lid_conaffinity = m.geom_conaffinity[self._lid_geoms].copy()
        self._skirt_conaffinity = m.geom_conaffinity[self._skirt_geoms].copy()
        self._limited = m.jnt_limited[[self._lift_jnt, self._twist_jnt]].copy()
        self.static_friction_nm = 0.0
        self.load_friction_m = 0.0
        self.release_angle = np.inf
        self.engaged = True
        self.stuck = True
        self.axial_load_n = 0.0
        self._thread_row = 0
        self._lock_row = 0

    # ---------------------------------------------------------------------------------------- configuration
    def configure(self, pitch_m: float, static_friction_nm: float, load_friction_m: float,
                  engaged_turns: float, max_tighten_turns: float, travel_m: float) -> None:
        """Set the thread geometry and friction (call before ``mj_setConst``)."""
        m = self.model
        coupling = pitch_m / (2.0 * np.pi)
        adr, num = int(m.tendon_adr[self._tendon]), int(m.tendon_num[self._tendon])
        for k in range(adr, adr + num):
            joint = int(m.wrap_objid[k])
            m.wrap_prm[k] = 1.0 if joint == self._lift_jnt else -coupling
        tighten = max_tighten_turns * 2.0 * np.pi
        m.jnt_range[self._twist_jnt] = (-tighten, 1e4)
        m.jnt_range[self._lift_jnt] = (-coupling * tighten - 1e-4, travel_m)
        self.static_friction_nm = float(static_friction_nm)
        self.load_friction_m = float(load_friction_m)
        self.release_angle = engaged_turns * 2.0 * np.pi

    def reset(self) -> None:
        """Engage the thread at the current lid angle, stuck (call after ``mj_resetData``)."""
        m, d = self.model, self.data
        self.engaged = True
        d.eq_active[self._thread_eq] = 1
        d.eq_active[self._seat_eqs] = 1
        m.geom_conaffinity[self._lid_geoms] = self._lid_conaffinity
        m.geom_conaffinity[self._skirt_geoms] = self._skirt_conaffinity
        m.jnt_limited[[self._lift_jnt, self._twist_jnt]] = self._limited
        self.axial_load_n = 0.0
        self._stick()

    # --------------------------------------------------------------------------------------------- stepping
    @property
    def friction_torque_nm(self) -> float:
        """Friction torque the thread can hold at the current axial load, N m."""
        return self.static_friction_nm + self.load_friction_m * abs(self.axial_load_n)

    def update(self) -> bool:
        """Switch stick/slip for the step just taken; release at the engaged length. True if released now."""
        d = self.data
        if not self.engaged:
            return False
        forces = d.efc_force
        self.axial_load_n = float(forces[self._thread_row])
        limit = self.friction_torque_nm
        if self.stuck:
            if abs(forces[self._lock_row]) > limit:
                self.stuck = False
                d.eq_active[self._lock_eq] = 0
                self.model.dof_frictionloss[self._twist_dof] = limit
                self._locate_rows()
        else:
            self.model.dof_frictionloss[self._twist_dof] = limit
            if abs(d.qvel[self._twist_dof]) < STICK_SPEED_RAD_S:
                self._stick()
        if d.qpos[self._twist_qpos] >= self.release_angle:
            self.release()
            return True
        return False

    def _stick(self) -> None:
        m, d = self.model, self.data
        self.stuck = True
        m.eq_data[self._lock_eq, 0] = d.qpos[self._twist_qpos]
        d.eq_active[self._lock_eq] = 1
        d.qvel[self._twist_dof] = 0.0
        m.dof_frictionloss[self._twist_dof] = 0.0
        self._locate_rows()

    def release(self) -> None:
        """Take the lid off the thread: it becomes a free rigid body that collides with the bottle."""
        m, d = self.model, self.data
        self.engaged = False
        self.stuck = False
        d.eq_active[self._thread_eq] = 0
        d.eq_active[self._seat_eqs] = 0
        d.eq_active[self._lock_eq] = 0
        m.jnt_limited[[self._lift_jnt, self._twist_jnt]] = 0
        m.dof_frictionloss[self._twist_dof] = 0.0
        m.geom_conaffinity[self._lid_geoms] = LID_COLLISION_RELEASED_BITS
        m.geom_conaffinity[self._skirt_geoms] = SKIRT_COLLISION_RELEASED_BITS
        self.axial_load_n = 0.0

    def _locate_rows(self) -> None:
        """Rows of the thread and lock equalities in ``efc_*`` (equality rows come first, in equality order)."""
        m, d = self.model, self.data
        row, rows = 0, {}
        for eq in range(m.neq):
            if d.eq_active[eq]:
                rows[eq] = row
                row += _EQUALITY_ROWS[int(m.eq_type[eq])]
        self._thread_row = rows.get(self._thread_eq, 0)
        self._lock_row = rows.get(self._lock_eq, 0)
