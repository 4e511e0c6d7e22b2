"""The physics of the twin: one MuJoCo model of the mounted hand and the threaded bottle, with its state.

:class:`UnscrewSimulation` knows nothing of Gymnasium: it resets a randomised scene, takes absolute joint
targets for the hand's PD loops, advances physics, releases the lid when the thread is unscrewed, and renders
the cameras. The Gymnasium env (:mod:`dexsim.sim.env`) and the ROS 2 twin server both drive it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import mujoco
import numpy as np
from numpy.typing import NDArray

from dexsim.hand import JOINT_NAMES, NUM_JOINTS, clip_to_limits, home_pose
from dexsim.sim.config import SimConfig
from dexsim.sim.randomization import SceneParams, sample_scene_params
from dexsim.sim.scene import (
    PALM_HEIGHT_M,
    SKIRT_SEGMENTS,
    bottle_name,
    build_scene,
    compile_scene,
    hand_mount_quat,
    hand_name,
)
from dexsim.sim.thread import ThreadModel

__all__ = ["LidState", "UnscrewSimulation", "PALM_FACE_X_M", "LID_TARGET_Y_M", "BOTTLE_NOMINAL_Z_M"]

PALM_FACE_X_M = 0.0111
"""Height of the palm's grasping face above the hand frame origin (hand x), m."""
LID_TARGET_Y_M = 0.046
"""Nominal lid mid-plane along the palm width (hand y), m: just outboard of the index finger's centre line."""
BOTTLE_NOMINAL_Z_M = -0.035
"""Nominal bottle axis position along the fingers (hand z), m: behind the knuckle line."""
_SHOULDER_GAP_M = 0.008  # from the end of the bottle body to the underside of the lid
_LID_TRAVEL_M = 0.06  # how far the threaded lid's slide may run (the released lid's slide is unlimited)
_LID_TOP_M = 0.0025  # thickness of the lid's top; the neck ends under it
_SKIRT_RADIUS_M = 0.002  # radius of the capsules that form the lid's skirt (inner wall) in collisions
_SKIRT_CLEARANCE_M = 0.0003  # radial play between the skirt and the neck

#: Rotation taking bottle-frame vectors to hand-frame vectors (bottle axis along hand +y, lid on the index side).
_HAND_FROM_BOTTLE = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True)
class LidState:
    """State of the lid on its thread.

    Attributes:
        angle: Rotation about the bottle axis, rad (positive = unscrewing).
        lift: Rise along the bottle axis, m.
        released: True once the lid has come off the thread.
    """

    angle: float
    lift: float
    released: bool

    @property
    def turns(self) -> float:
        """``angle`` in turns."""
        return self.angle / (2.0 * math.pi)


class UnscrewSimulation:
    """The mounted Allegro Hand holding a threaded bottle, in MuJoCo.

    Args:
        config: Physics, camera and randomisation settings.
    """

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.model: mujoco.MjModel = compile_scene(build_scene(self.config))
        self.data = mujoco.MjData(self.model)
        m = self.model
        self._hand_qpos = np.array([m.joint(hand_name(n)).qposadr[0] for n in JOINT_NAMES])
        self._hand_dof = np.array([m.joint(hand_name(n)).dofadr[0] for n in JOINT_NAMES])
        self._actuators = np.array([m.actuator(hand_name(n)).id for n in JOINT_NAMES])
        free = [j for j in range(m.njnt) if m.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
        if len(free) != 1:
            raise ValueError(f"scene must have exactly one free joint (the bottle), found {len(free)}")
        self._bottle_qpos = int(m.jnt_qposadr[free[0]])
        self._bottle_dof = int(m.jnt_dofadr[free[0]])
        twist, lift = m.joint(bottle_name("lid_twist")), m.joint(bottle_name("lid_lift"))
        self._twist_qpos, self._twist_dof, self._twist_jnt = int(twist.qposadr[0]), int(twist.dofadr[0]), twist.id
        self._lift_qpos, self._lift_jnt = int(lift.qposadr[0]), lift.id
        self._bottle_body = m.body(bottle_name("bottle")).id
        self._lid_body = m.body(bottle_name("lid")).id
        self._lid_thread_body = m.body(bottle_name("lid_thread")).id
        self._geom = {name: m.geom(bottle_name(name)).id for name in ("body", "shoulder", "lid", "lid_mark")}
        self._neck_geom = m.geom(bottle_name("neck")).id
        self._skirt_geoms = [m.geom(bottle_name(f"lid_skirt{k}")).id for k in range(SKIRT_SEGMENTS)]
        self.thread = ThreadModel(m, self.data, self._skirt_geoms)
        self._base_friction = m.geom_friction[:, 0].copy()
        self._randomised_friction = np.array([m.geom_bodyid[g] != 0 for g in range(m.ngeom)])  # not the floor
        self._gain = m.actuator_gainprm[self._actuators, 0].copy()
        self._bias = m.actuator_biasprm[self._actuators, 1:3].copy()
        self._mount_pos = np.array([0.0, 0.0, PALM_HEIGHT_M])
        rot = np.zeros(9)
        mujoco.mju_quat2Mat(rot, hand_mount_quat(self.config.palm_tilt_deg))
        self._world_from_hand = rot.reshape(3, 3)
        self._renderer: mujoco.Renderer | None = None
        self._camera_ids = {"top": m.camera("top").id, "wrist": m.camera(hand_name("wrist")).id}
        self.scene_params: SceneParams | None = None

    # ----------------------------------------------------------------------------------------------- reset
    def reset(self, seed: int | None = None) -> SceneParams:
        """Draw a new scene from ``seed``, put the hand at home, drop the bottle onto the palm, let it settle."""
        rng = np.random.default_rng(seed)
        params = sample_scene_params(self.config, rng)
        self._apply_params(params)
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        d.qpos[self._hand_qpos] = home_pose()
        d.ctrl[self._actuators] = home_pose()
        self.thread.reset()
        centre_hand = np.array([PALM_FACE_X_M + params.bottle_radius + 0.001, self.nominal_bottle_y(params)
                                + params.placement_y, BOTTLE_NOMINAL_Z_M + params.placement_z])
        d.qpos[self._bottle_qpos:self._bottle_qpos + 3] = self.hand_to_world(centre_hand)
        quat = np.zeros(4)
        yaw = math.radians(params.bottle_yaw)
        yaw_about_palm_normal = np.array([[1.0, 0.0, 0.0], [0.0, math.cos(yaw), -math.sin(yaw)],
                                          [0.0, math.sin(yaw), math.cos(yaw)]])
        mujoco.mju_mat2Quat(quat, (self._world_from_hand @ yaw_about_palm_normal @ _HAND_FROM_BOTTLE).ravel())
        d.qpos[self._bottle_qpos + 3:self._bottle_qpos + 7] = quat
        mujoco.mj_forward(m, d)
        self.step_physics(self.config.settle_s)
        d.time = 0.0
        self.scene_params = params
        return params

    def _apply_params(self, params: SceneParams) -> None:
        """Write one draw of the randomised scene into the model (sizes, masses, friction, gains, thread)."""
        m = self.model
        r, hl = params.bottle_radius, params.bottle_half_length
        lid_r, lid_hh = params.lid_radius, params.lid_half_height
        _set_cylinder(m, self._geom["body"], r, hl)
        shoulder_r = min(0.022, r - 0.008)
        m.geom_pos[self._geom["shoulder"]] = (0.0, 0.0, hl + _SHOULDER_GAP_M / 2)
        _set_cylinder(m, self._geom["shoulder"], shoulder_r, _SHOULDER_GAP_M / 2)
        # The neck runs from the shoulder to just under the lid's top; the skirt rings it with a small clearance.
        neck_r = min(shoulder_r, lid_r - 0.004)
        neck_top = hl + _SHOULDER_GAP_M + 2 * lid_hh - _LID_TOP_M
        m.geom_pos[self._neck_geom] = (0.0, 0.0, (hl + _SHOULDER_GAP_M + neck_top) / 2)
        _set_cylinder(m, self._neck_geom, neck_r, (neck_top - hl - _SHOULDER_GAP_M) / 2)
        m.body_pos[self._lid_thread_body] = (0.0, 0.0, hl + _SHOULDER_GAP_M + lid_hh)
        _set_cylinder(m, self._geom["lid"], lid_r, lid_hh)
        ring = neck_r + _SKIRT_RADIUS_M + _SKIRT_CLEARANCE_M
        skirt_half = lid_hh - _LID_TOP_M / 2 - _SKIRT_RADIUS_M
        for k, geom in enumerate(self._skirt_geoms):
            angle = 2.0 * math.pi * k / len(self._skirt_geoms)
            m.geom_pos[geom] = (ring * math.cos(angle), ring * math.sin(angle), -_LID_TOP_M / 2)
            m.geom_size[geom] = (_SKIRT_RADIUS_M, skirt_half, 0.0)
            m.geom_rbound[geom] = skirt_half + _SKIRT_RADIUS_M
            m.geom_aabb[geom] = (0.0, 0.0, 0.0, _SKIRT_RADIUS_M, _SKIRT_RADIUS_M, skirt_half + _SKIRT_RADIUS_M)
        m.geom_size[self._geom["lid_mark"]] = (0.004, lid_r + 0.0005, lid_hh + 0.0002)
        m.body_mass[self._bottle_body] = params.bottle_mass
        m.body_inertia[self._bottle_body] = _cylinder_inertia(params.bottle_mass, r, hl)
        m.body_mass[self._lid_body] = params.lid_mass
        m.body_inertia[self._lid_body] = _cylinder_inertia(params.lid_mass, lid_r, lid_hh)
        m.geom_friction[:, 0] = np.where(self._randomised_friction,
                                         self._base_friction * params.contact_friction_scale, self._base_friction)
        scale = np.asarray(params.pd_gain_scale)
        m.actuator_gainprm[self._actuators, 0] = self._gain * scale
        m.actuator_biasprm[self._actuators, 1:3] = self._bias * scale[:, None]
        cfg = self.config
        self.thread.configure(cfg.thread_pitch_m, params.thread_friction, cfg.thread_load_friction_m,
                              cfg.engaged_turns, cfg.max_tighten_turns, _LID_TRAVEL_M)
        mujoco.mj_setConst(m, self.data)

    # -------------------------------------------------------------------------------------------- stepping
    def set_joint_targets(self, targets: NDArray[np.floating]) -> NDArray[np.float64]:
        """Set the PD position targets (16, rad, Allegro order), clipped to the joint limits; returns them."""
        targets = clip_to_limits(np.asarray(targets, dtype=np.float64).reshape(NUM_JOINTS))
        self.data.ctrl[self._actuators] = targets
        return targets

    def joint_targets(self) -> NDArray[np.float64]:
        """Current PD position targets, rad."""
        return self.data.ctrl[self._actuators].copy()

    def step_physics(self, seconds: float) -> None:
        """Advance the physics by ``seconds`` (rounded to whole timesteps), releasing the lid when due."""
        steps = int(round(seconds / self.model.opt.timestep))
        model, data, thread = self.model, self.data, self.thread
        for _ in range(steps):
            mujoco.mj_step(model, data)
            if thread.engaged:
                thread.update()

    # ------------------------------------------------------------------------------------------- readings
    @property
    def time(self) -> float:
        """Simulated seconds since the end of the reset's settling."""
        return float(self.data.time)

    def joint_positions(self) -> NDArray[np.float64]:
        """Measured joint angles, rad, (16,)."""
        return self.data.qpos[self._hand_qpos].copy()

    def joint_velocities(self) -> NDArray[np.float64]:
        """Joint velocities, rad/s, (16,)."""
        return self.data.qvel[self._hand_dof].copy()

    def joint_efforts(self) -> NDArray[np.float64]:
        """Torque the PD loops command, N m, (16,), clamped to the torque limits (the V4's 'effort')."""
        return self.data.actuator_force[self._actuators].copy()

    def lid_state(self) -> LidState:
        """Angle, lift and release of the lid."""
        return LidState(
            angle=float(self.data.qpos[self._twist_qpos]),
            lift=float(self.data.qpos[self._lift_qpos]),
            released=not self.thread.engaged,
        )

    def bottle_position_in_hand(self) -> NDArray[np.float64]:
        """Bottle body centre in the hand frame, m (privileged: the real hand cannot sense it)."""
        return self.world_to_hand(self.data.xpos[self._bottle_body])

    def lid_position_in_hand(self) -> NDArray[np.float64]:
        """Lid centre in the hand frame, m (privileged)."""
        return self.world_to_hand(self.data.xpos[self._lid_body])

    def nominal_bottle_y(self, params: SceneParams | None = None) -> float:
        """Bottle centre along the palm width (hand y) that puts the lid mid-plane at :data:`LID_TARGET_Y_M`."""
        params = params or self.scene_params
        if params is None:
            raise RuntimeError("reset() the simulation first")
        return LID_TARGET_Y_M - (params.bottle_half_length + _SHOULDER_GAP_M + params.lid_half_height)

    def bottle_dropped(self) -> bool:
        """True when the bottle has left the hand: off the palm's sides, past the wrist, or below the palm."""
        p = self.bottle_position_in_hand()
        params = self.scene_params
        assert params is not None
        return bool(
            p[0] < PALM_FACE_X_M - 0.01
            or p[0] > 0.16
            or abs(p[1] - self.nominal_bottle_y(params)) > 0.06
            or p[2] < -0.11
            or p[2] > 0.16
        )

    def hand_to_world(self, point: NDArray[np.floating]) -> NDArray[np.float64]:
        """Map a point from the hand frame to the world frame, m."""
        return self._mount_pos + self._world_from_hand @ np.asarray(point, dtype=np.float64)

    def world_to_hand(self, point: NDArray[np.floating]) -> NDArray[np.float64]:
        """Map a point from the world frame to the hand frame, m."""
        return self._world_from_hand.T @ (np.asarray(point, dtype=np.float64) - self._mount_pos)

    # ------------------------------------------------------------------------------------------- rendering
    def render(self, camera: str, size: int | None = None) -> NDArray[np.uint8]:
        """Image from camera ``"top"`` or ``"wrist"``, (size, size, 3) uint8 (default: the config's size)."""
        if camera not in self._camera_ids:
            raise ValueError(f"unknown camera {camera!r}; known: {sorted(self._camera_ids)}")
        size = size or self.config.image_size
        if self._renderer is None or self._renderer.height != size:
            self.close_renderer()
            self._renderer = mujoco.Renderer(self.model, size, size)
        self._renderer.update_scene(self.data, camera=self._camera_ids[camera])
        return self._renderer.render().copy()

    def close_renderer(self) -> None:
        """Free the off-screen rendering context (call before exit: some GL back-ends fail at interpreter exit)."""
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None


def _cylinder_inertia(mass: float, radius: float, half_length: float) -> tuple[float, float, float]:
    """Principal inertia of a solid cylinder about its centre, axis along z, kg m^2."""
    across = mass * (3 * radius * radius + 4 * half_length * half_length) / 12
    return across, across, mass * radius * radius / 2


def _set_cylinder(model: mujoco.MjModel, geom: int, radius: float, half_length: float) -> None:
    """Resize a cylinder geom in place, keeping its collision bounds consistent."""
    model.geom_size[geom] = (radius, half_length, 0.0)
    model.geom_rbound[geom] = math.hypot(radius, half_length)
    model.geom_aabb[geom] = (0.0, 0.0, 0.0, radius, radius, half_length)
