"""Per-reset randomisation of the scene: one draw of every knob of :class:`~dexsim.sim.config.SimConfig`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dexsim.hand import NUM_JOINTS
from dexsim.sim.config import SimConfig

__all__ = ["SceneParams", "sample_scene_params"]


@dataclass(frozen=True)
class SceneParams:
    """One draw of the randomised scene (lengths in m, angles in deg, torques in N m, masses in kg).

    Attributes:
        bottle_radius: Radius of the bottle body.
        bottle_half_length: Half the length of the bottle body.
        lid_radius: Radius of the lid.
        lid_half_height: Half the height of the lid.
        placement_y: Offset of the bottle along the palm width from the nominal spot (+ = index side).
        placement_z: Offset of the bottle along the fingers from the nominal spot (+ = towards the fingertips).
        thread_friction: Load-independent friction torque of the thread.
        bottle_yaw: Rotation of the bottle about the palm normal (+ = lid end towards the fingertips).
        contact_friction_scale: Factor on the sliding friction of every hand, bottle and lid geom.
        bottle_mass: Mass of the bottle.
        lid_mass: Mass of the lid.
        pd_gain_scale: Factor on kp and kd of each joint, Allegro order (16 values).
        latency_steps: Control steps between an action and its targets reaching the PD loops.
        noise_seed: Seed of the per-step observation noise.
    """

    bottle_radius: float
    bottle_half_length: float
    lid_radius: float
    lid_half_height: float
    placement_y: float
    placement_z: float
    thread_friction: float
    bottle_yaw: float = 0.0
    contact_friction_scale: float = 1.0
    bottle_mass: float = 0.1
    lid_mass: float = 0.01
    pd_gain_scale: tuple[float, ...] = (1.0,) * NUM_JOINTS
    latency_steps: int = 0
    noise_seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (recorded as episode metadata)."""
        out: dict[str, Any] = {}
        for key, value in asdict(self).items():
            if isinstance(value, tuple):
                out[key] = [float(v) for v in value]
            elif isinstance(value, int):
                out[key] = int(value)
            else:
                out[key] = float(value)
        return out


def sample_scene_params(config: SimConfig, rng: np.random.Generator) -> SceneParams:
    """Draw scene parameters uniformly from the ranges in ``config`` (always the same number of draws, in the
    same order, so a knob's range does not shift the other knobs' draws)."""
    radius = float(rng.uniform(*config.bottle_radius_m))
    half_length = float(rng.uniform(*config.bottle_length_m)) / 2.0
    placement_y = float(rng.uniform(*config.placement_y_m))
    placement_z = float(rng.uniform(*config.placement_z_m))
    thread_friction = float(rng.uniform(*config.thread_friction_nm))
    yaw = float(rng.uniform(*config.bottle_yaw_deg))
    friction_scale = float(rng.uniform(*config.contact_friction_scale))
    bottle_mass = float(rng.uniform(*config.bottle_mass_kg))
    lid_mass = float(rng.uniform(*config.lid_mass_kg))
    gains = tuple(float(g) for g in rng.uniform(*config.pd_gain_scale, size=NUM_JOINTS))
    low, high = (int(v) for v in config.latency_steps)
    latency = int(rng.integers(low, high + 1))
    noise_seed = int(rng.integers(0, 2**63 - 1))
    return SceneParams(
        bottle_radius=radius,
        bottle_half_length=half_length,
        lid_radius=radius - config.lid_radius_inset_m,
        lid_half_height=0.011,
        placement_y=placement_y,
        placement_z=placement_z,
        thread_friction=thread_friction,
        bottle_yaw=yaw,
        contact_friction_scale=friction_scale,
        bottle_mass=bottle_mass,
        lid_mass=lid_mass,
        pd_gain_scale=gains,
        latency_steps=latency,
        noise_seed=noise_seed,
    )
