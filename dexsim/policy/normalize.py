"""Min-max normalisation of actions and low-dim observations to [-1, 1], from :func:`dexsim.data.compute_stats`.

Near-constant dimensions (a parked thumb, efforts of idle joints) would make ``max - min`` ~0 and blow the
normalised values up, so each range is widened symmetrically to a floor (0.05 rad for angles, 0.02 N m for
efforts by default). The statistics travel with the model as ``stats.json`` (LeRobot's layout per key plus the
bounds actually used).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from dexsim.data.stats import FeatureStats
from dexsim.interface import OBS_JOINT_EFFORTS

__all__ = ["Normalizer", "range_floor_for"]


def range_floor_for(key: str, floor_rad: float, floor_nm: float) -> float:
    """The range floor of a low-dim key: efforts in N m, everything else (angles, targets, deltas) in rad."""
    return floor_nm if key == OBS_JOINT_EFFORTS else floor_rad


@dataclass(frozen=True)
class Normalizer:
    """Per-key bounds ``low``/``high`` (per dimension) mapped to -1/+1.

    Attributes:
        bounds: key -> (low, high) arrays, float32, in the key's units.
        stats: key -> the dataset statistics the bounds came from (LeRobot ``stats.json`` layout).
    """

    bounds: dict[str, tuple[NDArray[np.float32], NDArray[np.float32]]]
    stats: dict[str, dict[str, Any]]

    @classmethod
    def from_stats(cls, stats: Mapping[str, FeatureStats], floors: Mapping[str, float]) -> Normalizer:
        """Bounds from dataset statistics, each range widened to at least ``floors[key]``."""
        bounds = {}
        for key, feature in stats.items():
            low, high = np.asarray(feature.min, np.float64), np.asarray(feature.max, np.float64)
            if not (np.isfinite(low).all() and np.isfinite(high).all()):
                raise ValueError(f"statistics of {key!r} are not finite (a corrupt or empty recording?)")
            centre, half = (low + high) / 2, np.maximum((high - low) / 2, floors[key] / 2)
            bounds[key] = ((centre - half).astype(np.float32), (centre + half).astype(np.float32))
        return cls(bounds, {key: feature.to_json() for key, feature in stats.items()})

    def normalize(self, key: str, value: torch.Tensor) -> torch.Tensor:
        """``value`` (..., dim) in units -> [-1, 1]."""
        low, high = self._tensors(key, value)
        return (value - low) / (high - low) * 2.0 - 1.0

    def unnormalize(self, key: str, value: torch.Tensor) -> torch.Tensor:
        """[-1, 1] -> units."""
        low, high = self._tensors(key, value)
        return (value + 1.0) / 2.0 * (high - low) + low

    def dim(self, key: str) -> int:
        """Dimensions of ``key``."""
        return int(self.bounds[key][0].shape[0])

    def _tensors(self, key: str, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if key not in self.bounds:
            raise KeyError(f"no normalisation statistics for {key!r}; have {sorted(self.bounds)}")
        low, high = self.bounds[key]
        return (torch.as_tensor(low, dtype=like.dtype, device=like.device),
                torch.as_tensor(high, dtype=like.dtype, device=like.device))

    # --------------------------------------------------------------------------------------- persistence
    def to_json(self) -> dict[str, Any]:
        """``{"stats": {key: lerobot stats}, "bounds": {key: {"low": [...], "high": [...]}}}``."""
        return {
            "stats": self.stats,
            "bounds": {k: {"low": lo.tolist(), "high": hi.tolist()} for k, (lo, hi) in self.bounds.items()},
        }

    def save(self, path: str | Path) -> None:
        """Write :meth:`to_json` to ``path``."""
        Path(path).write_text(json.dumps(self.to_json(), indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> Normalizer:
        """Read a ``stats.json``.

        Raises:
            FileNotFoundError: missing file. ValueError: malformed content (names the file and key).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"normalisation statistics {path} do not exist")
        try:
            data = json.loads(path.read_text())
            bounds = {}
            for key, entry in data["bounds"].items():
                low, high = np.asarray(entry["low"], np.float32), np.asarray(entry["high"], np.float32)
                if low.shape != high.shape or low.ndim != 1 or not (high > low).all():
                    raise ValueError(f"bounds of {key!r} must be two equal-length vectors with high > low")
                bounds[key] = (low, high)
            return cls(bounds, dict(data.get("stats", {})))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: malformed normalisation statistics: {exc}") from None
