"""Evaluation seeds and the bottle placement each one draws in the twin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dexsim.eval import EVAL_SEED_BASE

__all__ = ["Placement", "eval_seeds", "plan_placements"]


def eval_seeds(trials: int, first_trial: int = 0, base: int = EVAL_SEED_BASE) -> list[int]:
    """Reset seeds of trials ``first_trial .. first_trial + trials - 1``: ``base + i``.

    Raises:
        ValueError: ``trials`` < 1 or ``first_trial`` < 0.
    """
    if trials < 1:
        raise ValueError(f"--trials must be >= 1, got {trials}")
    if first_trial < 0:
        raise ValueError(f"first trial index must be >= 0, got {first_trial}")
    return [base + first_trial + i for i in range(trials)]


def _plain(value: Any) -> float | list[float]:
    """A scene parameter as JSON-ready floats (per-joint factors are sequences)."""
    if isinstance(value, (list, tuple)) or getattr(value, "ndim", 0) > 0:
        return [float(v) for v in value]
    return float(value)


@dataclass(frozen=True)
class Placement:
    """Where seed ``seed`` puts the bottle, as offsets from the nominal spot on the palm.

    Attributes:
        seed: The env reset seed.
        y_mm: Offset along the palm width, mm (+ = towards the index finger).
        z_mm: Offset along the fingers, mm (+ = towards the fingertips).
        scene: Every randomised scene parameter of that reset (m, N m), as the twin reports it.
    """

    seed: int
    y_mm: float
    z_mm: float
    scene: dict[str, float | list[float]]

    @classmethod
    def from_scene(cls, seed: int, scene: dict[str, Any]) -> Placement:
        """From the ``scene_params`` the twin's ``reset`` puts in ``info``."""
        return cls(seed, 1000.0 * float(scene["placement_y"]), 1000.0 * float(scene["placement_z"]),
                   {k: _plain(v) for k, v in scene.items()})

    def describe(self) -> str:
        """Operator instruction, e.g. ``3.1 mm towards the index finger, 4.0 mm towards the wrist``."""
        across = f"{abs(self.y_mm):.1f} mm towards the {'index finger' if self.y_mm >= 0 else 'ring finger'}"
        along = f"{abs(self.z_mm):.1f} mm towards the {'fingertips' if self.z_mm >= 0 else 'wrist'}"
        return f"{across}, {along} from the marked nominal spot"


def plan_placements(seeds: Sequence[int], config: Any = None) -> list[Placement]:
    """The placement each seed draws, computed by resetting a state-only twin (exactly what a sim trial sees).

    Args:
        seeds: Reset seeds.
        config: A ``SimConfig`` whose randomisation ranges apply (default: ``SimConfig()``); its cameras are
            ignored (no rendering is needed).
    """
    from dataclasses import replace

    from dexsim.sim.config import SimConfig
    from dexsim.sim.env import AllegroUnscrewSimEnv

    config = replace(config if isinstance(config, SimConfig) else SimConfig(), cameras=())
    env = AllegroUnscrewSimEnv(config=config)
    try:
        placements = []
        for seed in seeds:
            _, info = env.reset(seed=int(seed))
            placements.append(Placement.from_scene(int(seed), info["scene_params"]))
        return placements
    finally:
        env.close()
