"""The lid's thread: a stiff screw coupling, stick-slip friction that grows with axial load, and the release.

Model (MuJoCo constraints switched by this module once per physics step; see ``docs/architecture.md``):

* **Screw coupling.** Body ``lid_thread`` slides (``lid_lift``) and turns (``lid_twist``) on the bottle axis;
  the fixed tendon ``thread`` = ``lift - p/2pi * twist`` is held at zero by a tendon equality. (A *joint*
  equality between the two is far softer: MuJoCo scales its compliance by the sum of both joints' inverse
  inertias, ignoring the coupling coefficient, ~3e5 for the lid's spin against ~100 for the tendon's coupled
  inverse mass; it let the lift lag the twist by 0.45 mm under the expert, the tendon by < 1 um.)
  The equality force is the thread's axial load ``F`` (N).
* **Friction.** ``T = T0 + k |F|`` (``T0``: liner and seal drag, randomised; ``k = mu r / cos(flank)``,
  ``SimConfig.thread_load_friction_m``). *Stick*: the joint equality ``thread_lock`` pins the twist at its
  current angle (a positional constraint, so a held lid cannot creep); it lets go when the torque it holds
  exceeds the static limit :data:`STATIC_FRICTION_FACTOR` ``x T``. *Slip*: the hinge's ``frictionloss`` is set
  to ``T`` every step; when the spin falls below :data:`STICK_SPEED_RAD_S` the lock engages again. Because
  ``k`` exceeds ``p/2pi``, an axial force alone can never turn the lid (self-locking).
* **No coasting.** The lift and twist have no armature: the lid spins with its own inertia only (the ball
  joint's 1e-7 kg m^2 armature acts only on the released lid, 2-5 % of its inertia).
* **Release.** After the engaged length the thread and the ``lid_seat_*`` equalities (which hold the cross
  slides and the lid's ball joint while threaded) switch off, the lift and twist lose their limits, and the lock
  pins the twist (its spin passes to the ball); the lid is then a free rigid body relative to the bottle (three
  slides and a ball, no gimbal singularity) whose skirt collides with the neck and whose outer cylinder collides
  with the bottle body.
"""

from __future__ import annotations

import mujoco
import numpy as np

from dexsim.sim.scene import bottle_name

__all__ = ["ThreadModel", "STICK_SPEED_RAD_S", "STATIC_FRICTION_FACTOR", "SEAT_AXES",
           "LID_COLLISION_RELEASED_BITS", "SKIRT_COLLISION_RELEASED_BITS"]

STICK_SPEED_RAD_S = 0.05
"""Spin below which a slipping thread sticks again, rad/s."""
STATIC_FRICTION_FACTOR = 1.15
"""Static over kinetic thread friction (plastic on plastic: 1.1-1.3)."""
SEAT_AXES = ("x", "y", "tumble")
"""The lid's joints, besides lift and twist, that the ``lid_seat_*`` equalities hold while threaded."""
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
        self._qpos, self._qvel, self._eq_active = data.qpos, data.qvel, data.eq_active
        self._frictionloss = model.dof_frictionloss
        twist, lift = m.joint(bottle_name("lid_twist")), m.joint(bottle_name("lid_lift"))
        self._twist_qpos, self._twist_dof = int(twist.qposadr[0]), int(twist.dofadr[0])
        self._lift_jnt, self._twist_jnt = lift.id, twist.id
        self._ball_dof = int(m.joint(bottle_name("lid_tumble")).dofadr[0])
        self._thread_body = m.body(bottle_name("lid_thread")).id
        self._thread_eq = m.equality(bottle_name("thread")).id
        self._seat_eqs = [m.equality(bottle_name(f"lid_seat_{axis}")).id for axis in SEAT_AXES]
        self._lock_eq = m.equality(bottle_name("thread_lock")).id
        self._tendon = m.tendon(bottle_name("thread")).id
        lid_body = m.body(bottle_name("lid")).id
        self._skirt_geoms = list(skirt_geoms)
        self._lid_geoms = [g for g in range(m.ngeom) if m.geom_bodyid[g] == lid_body
                           and g not in self._skirt_geoms and (m.geom_contype[g] or m.geom_conaffinity[g])]
        self._lid_body = lid_body
        self._lid_conaffinity = m.geom_conaffinity[self._lid_geoms].copy()
        self._lid_body_conaffinity = int(m.body_conaffinity[lid_body])
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
        """Set the thread geometry and friction and the threaded lid's collision bits (call before
        ``mj_setConst``)."""
        m = self.model
        m.geom_conaffinity[self._lid_geoms] = self._lid_conaffinity
        m.geom_conaffinity[self._skirt_geoms] = self._skirt_conaffinity
        m.body_conaffinity[self._lid_body] = self._lid_body_conaffinity
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

    def set_constraint_scales(self, lid_mass: float, lid_inertia: np.ndarray) -> None:
        """Give the lid's constraints the lid's own inverse mass and inertia as compliance scale (call after
        ``mj_setConst``). MuJoCo scales a constraint's softness by ``*_invweight0`` from the inverse mass matrix,
        which the redundant twist hinge and ball make ~1e8 for rotations about the axis: the thread lock and the
        seat would hold with ~6 N m/rad instead of ~2000."""
        m = self.model
        spin, tilt = 1.0 / float(lid_inertia[2]), 1.0 / float(min(lid_inertia[0], lid_inertia[1]))
        m.dof_invweight0[self._twist_dof] = spin
        m.dof_invweight0[self._ball_dof:self._ball_dof + 3] = (tilt, tilt, spin)
        for body in (self._lid_body, self._thread_body):
            m.body_invweight0[body] = (1.0 / lid_mass, tilt)

    def reset(self) -> None:
        """Engage the thread at the current lid angle, stuck (call after ``mj_resetData`` and :meth:`configure`)."""
        m, d = self.model, self.data
        self.engaged = True
        d.eq_active[self._thread_eq] = 1
        d.eq_active[self._seat_eqs] = 1
        m.jnt_limited[[self._lift_jnt, self._twist_jnt]] = self._limited
        self.axial_load_n = 0.0
        self._stick()

    # --------------------------------------------------------------------------------------------- stepping
    @property
    def friction_torque_nm(self) -> float:
        """Kinetic friction torque of the thread at the current axial load, N m (it holds 1.15x this)."""
        return self.static_friction_nm + self.load_friction_m * abs(self.axial_load_n)

    def update(self) -> bool:
        """Switch stick/slip for the step just taken; release at the engaged length. True if released now.

        Runs after every physics step, so it reads and writes through cached array views (``efc_force`` moves
        with the constraint count and is fetched each time)."""
        if not self.engaged:
            return False
        forces = self.data.efc_force
        axial = float(forces[self._thread_row])
        self.axial_load_n = axial
        limit = self.static_friction_nm + self.load_friction_m * abs(axial)
        if self.stuck:
            if abs(forces[self._lock_row]) > STATIC_FRICTION_FACTOR * limit:
                self.stuck = False
                self._eq_active[self._lock_eq] = 0
                self._frictionloss[self._twist_dof] = limit
                self._locate_rows()
        else:
            self._frictionloss[self._twist_dof] = limit
            if abs(self._qvel[self._twist_dof]) < STICK_SPEED_RAD_S:
                self._stick()
        if self._qpos[self._twist_qpos] >= self.release_angle:
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
        m.jnt_limited[[self._lift_jnt, self._twist_jnt]] = 0
        m.dof_frictionloss[self._twist_dof] = 0.0
        d.qvel[self._ball_dof + 2] += d.qvel[self._twist_dof]  # the spin carries over to the ball
        d.qvel[self._twist_dof] = 0.0
        m.eq_data[self._lock_eq, 0] = d.qpos[self._twist_qpos]
        d.eq_active[self._lock_eq] = 1  # the ball carries all rotation now; the redundant hinge is pinned
        m.geom_conaffinity[self._lid_geoms] = LID_COLLISION_RELEASED_BITS
        m.geom_conaffinity[self._skirt_geoms] = SKIRT_COLLISION_RELEASED_BITS
        m.body_conaffinity[self._lid_body] = (self._lid_body_conaffinity | LID_COLLISION_RELEASED_BITS
                                              | SKIRT_COLLISION_RELEASED_BITS)  # the broad phase filters by body
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
