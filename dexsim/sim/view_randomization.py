"""Per-episode randomisation of what the cameras see: camera poses and fields of view, light directions and levels.

The draws are small perturbations of the nominal scene (:mod:`dexsim.sim.scene`, :mod:`dexsim.sim.appearance`),
for visuomotor policies that must not overfit one exact camera mounting or lighting. Their ranges are
:class:`~dexsim.sim.config.SimConfig` fields (all zero/one in the ``nominal`` preset; ``eval`` and ``train`` set
them, see :mod:`dexsim.sim.config`):

================================  =====================================================================
field                             effect (drawn independently per camera / light, uniform)
================================  =====================================================================
``camera_max_shift_m``            each camera moves by up to this along each of its own axes, m
``camera_max_turn_deg``           each camera turns by up to this about each of its own axes, deg
``camera_max_fovy_change_deg``    each camera's vertical field of view changes by up to this, deg
``light_max_turn_deg``            each scene light's direction turns by up to this about each world axis, deg
``light_intensity_scale``         one factor (min, max) on every light's diffuse level, headlight included
``light_ambient_scale``           one factor (min, max) on the ambient level
================================  =====================================================================

:class:`ViewRandomizer` remembers the compiled model's nominal values and writes nominal + draw into the model
at every reset, so a draw never accumulates on the previous one and the same draw gives the same images bit for
bit. The simulation draws from its own random stream (seeded from the reset seed), so turning these knobs does
not change the scene's placement, sizes or physics.
"""

from __future__ import annotations

from dataclasses import dataclass

import mujoco
import numpy as np
from numpy.typing import NDArray

from dexsim.sim.config import SimConfig

__all__ = ["CameraPerturbation", "ViewParams", "ViewRandomizer", "sample_view_params"]


@dataclass(frozen=True)
class CameraPerturbation:
    """One camera's draw.

    Attributes:
        position: Offset along the camera's own x (image right), y (image up), z (backwards) axes, m.
        rotation: Rotation vector in the camera's own frame, deg (small: applied as one axis-angle rotation).
        fovy: Change of the vertical field of view, deg.
    """

    position: tuple[float, float, float]
    rotation: tuple[float, float, float]
    fovy: float


@dataclass(frozen=True)
class ViewParams:
    """One draw of the view randomisation.

    Attributes:
        cameras: Perturbation per camera, keyed by the camera's name in the compiled model.
        light_rotations: Rotation vector (world frame, deg) applied to each scene light's direction, by light name.
        light_intensity: Factor on every light's diffuse level (headlight included).
        light_ambient: Factor on the ambient level.
    """

    cameras: dict[str, CameraPerturbation]
    light_rotations: dict[str, tuple[float, float, float]]
    light_intensity: float
    light_ambient: float

    def to_dict(self) -> dict[str, float]:
        """Flat JSON-friendly copy, keys ``view_<camera>_<quantity>`` (recorded with the scene metadata)."""
        out: dict[str, float] = {}
        for name, cam in self.cameras.items():
            key = name.split("/")[-1]
            for axis, dp, dr in zip("xyz", cam.position, cam.rotation, strict=True):
                out[f"view_{key}_pos_{axis}_m"] = float(dp)
                out[f"view_{key}_rot_{axis}_deg"] = float(dr)
            out[f"view_{key}_fovy_deg"] = float(cam.fovy)
        for name, rot in self.light_rotations.items():
            for axis, dr in zip("xyz", rot, strict=True):
                out[f"view_light_{name}_rot_{axis}_deg"] = float(dr)
        out["view_light_intensity"] = float(self.light_intensity)
        out["view_light_ambient"] = float(self.light_ambient)
        return out


def sample_view_params(config: SimConfig, rng: np.random.Generator, camera_names: tuple[str, ...],
                       light_names: tuple[str, ...]) -> ViewParams:
    """Draw camera and light perturbations from the ranges in ``config``.

    The number of draws does not depend on the ranges (a zero range draws zeros), so two configs that differ in
    one knob differ only in what that knob controls.
    """

    def vector(bound: float) -> tuple[float, float, float]:
        x, y, z = (float(v) + 0.0 for v in rng.uniform(-1.0, 1.0, 3) * bound)  # + 0.0: no -0.0
        return x, y, z

    def scale(bounds: tuple[float, float]) -> float:
        return float(bounds[0] + rng.uniform() * (bounds[1] - bounds[0]))

    cameras = {
        name: CameraPerturbation(
            position=vector(config.camera_max_shift_m),
            rotation=vector(config.camera_max_turn_deg),
            fovy=float(rng.uniform(-1.0, 1.0) * config.camera_max_fovy_change_deg) + 0.0,
        )
        for name in camera_names
    }
    lights = {name: vector(config.light_max_turn_deg) for name in light_names}
    intensity = scale(config.light_intensity_scale)
    ambient = scale(config.light_ambient_scale)
    return ViewParams(cameras=cameras, light_rotations=lights, light_intensity=intensity, light_ambient=ambient)

def _rotation_matrix(rotation_deg: tuple[float, float, float] | NDArray[np.floating]) -> NDArray[np.float64]:
    vector = np.radians(np.asarray(rotation_deg, dtype=np.float64))
    angle = float(np.linalg.norm(vector))
    quat = np.array([1.0, 0.0, 0.0, 0.0])
    if angle > 0.0:
        mujoco.mju_axisAngle2Quat(quat, vector / angle, angle)
    matrix = np.zeros(9)
    mujoco.mju_quat2Mat(matrix, quat)
    return matrix.reshape(3, 3)


class ViewRandomizer:
    """Writes :class:`ViewParams` into a compiled model, always relative to the model's nominal values.

    Args:
        model: The compiled scene; its camera and light values at construction are the nominal ones.
    """

    def __init__(self, model: mujoco.MjModel) -> None:
        self.model = model
        self.camera_names = tuple(model.camera(i).name for i in range(model.ncam))
        self.light_names = tuple(model.light(i).name for i in range(model.nlight))
        self._cam_pos = model.cam_pos.copy()
        self._cam_quat = model.cam_quat.copy()
        self._cam_fovy = model.cam_fovy.copy()
        self._light_dir = model.light_dir.copy()
        self._light_diffuse = model.light_diffuse.copy()
        self._head_diffuse = model.vis.headlight.diffuse.copy()
        self._head_ambient = model.vis.headlight.ambient.copy()

    def sample(self, config: SimConfig, rng: np.random.Generator) -> ViewParams:
        """Draw perturbations for this model's cameras and lights."""
        return sample_view_params(config, rng, self.camera_names, self.light_names)

    def apply(self, params: ViewParams) -> None:
        """Set camera poses, fields of view and lights to nominal + ``params`` (call ``mj_forward`` after)."""
        m = self.model
        for i, name in enumerate(self.camera_names):
            cam = params.cameras.get(name)
            if cam is None:
                raise ValueError(f"view params have no entry for camera {name!r}")
            frame = np.zeros(9)
            mujoco.mju_quat2Mat(frame, self._cam_quat[i])
            m.cam_pos[i] = self._cam_pos[i] + frame.reshape(3, 3) @ np.asarray(cam.position)
            delta = np.zeros(4)
            mujoco.mju_mat2Quat(delta, _rotation_matrix(cam.rotation).ravel())
            quat = np.zeros(4)
            mujoco.mju_mulQuat(quat, self._cam_quat[i], delta)
            m.cam_quat[i] = quat
            m.cam_fovy[i] = float(np.clip(self._cam_fovy[i] + cam.fovy, 5.0, 170.0))
        for i, name in enumerate(self.light_names):
            rotation = params.light_rotations.get(name)
            if rotation is None:
                raise ValueError(f"view params have no entry for light {name!r}")
            m.light_dir[i] = _rotation_matrix(rotation) @ self._light_dir[i]
            m.light_diffuse[i] = np.clip(self._light_diffuse[i] * params.light_intensity, 0.0, 1.0)
        m.vis.headlight.diffuse[:] = np.clip(self._head_diffuse * params.light_intensity, 0.0, 1.0)
        m.vis.headlight.ambient[:] = np.clip(self._head_ambient * params.light_ambient, 0.0, 1.0)

