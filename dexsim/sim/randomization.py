"""Per-reset randomisation of the scene: bottle size and placement, thread friction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from dexsim.sim.config import SimConfig

__all__ = ["SceneParams", "sample_scene_params"]


@dataclass(frozen=True)
class SceneParams:
    """One draw of the randomised scene (all lengths in m, torques in N m).

    Attributes:
        bottle_radius: Radius of the bottle body.
        bottle_half_length: Half the length of the bottle body.
        lid_radius: Radius of the lid.
        lid_half_height: Half the height of the lid.
        placement_y: Offset of the bottle along the palm width from the nominal spot (+ = index side).
        placement_z: Offset of the bottle along the fingers from the nominal spot (+ = towards the fingertips).
        thread_friction: Friction torque of the thread.
    """

    bottle_radius: float
    bottle_half_length: float
    lid_radius: float
    lid_half_height: float
    placement_y: float
    placement_z: float
    thread_friction: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly copy (recorded as episode metadata)."""
        return {k: float(v) for k, v in asdict(self).items()}


def sample_scene_params(config: SimConfig, rng: np.random.Generator) -> SceneParams:
    """Draw scene parameters uniformly from the ranges in ``config``."""
    radius = float(rng.uniform(*config.bottle_radius_m))
    return SceneParams(
        bottle_radius=radius,
        bottle_half_length=float(rng.uniform(*config.bottle_length_m)) / 2.0,
        lid_radius=radius - config.lid_radius_inset_m,
        lid_half_height=0.011,
        placement_y=float(rng.uniform(*config.placement_y_m)),
        placement_z=float(rng.uniform(*config.placement_z_m)),
        thread_friction=float(rng.uniform(*config.thread_friction_nm)),
    )
