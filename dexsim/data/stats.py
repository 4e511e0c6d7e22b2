"""Dataset statistics for normalisation: per-dimension min/max/mean/std (and quantiles) of the low-dim keys,
and per-channel statistics of the camera images."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from dexsim.data.schema import LOW_DIM_KEYS
from dexsim.data.store import DatasetStore, read_concatenated

__all__ = [
    "FeatureStats",
    "QUANTILES",
    "compute_stats",
    "compute_image_stats",
    "image_stats_of",
    "sample_frames",
    "stats_of",
]

QUANTILES: Final = (0.01, 0.10, 0.50, 0.90, 0.99)
"""Quantiles reported with the statistics (``q01`` ... ``q99``)."""


@dataclass(frozen=True)
class FeatureStats:
    """Statistics over all frames of one key; arrays have the key's per-frame shape (images: ``(3, 1, 1)``).

    Attributes:
        min, max, mean, std: Per dimension, in the key's units (images: scaled to [0, 1]).
        count: Frames the statistics cover.
        quantiles: ``"q01"`` ... ``"q99"`` -> per-dimension quantiles.
    """

    min: NDArray[np.float64]
    max: NDArray[np.float64]
    mean: NDArray[np.float64]
    std: NDArray[np.float64]
    count: int
    quantiles: dict[str, NDArray[np.float64]]

    def to_json(self) -> dict[str, Any]:
        """LeRobot's ``stats.json`` layout: name -> nested lists (``count`` as a one-element list)."""
        data: dict[str, Any] = {
            "min": self.min.tolist(), "max": self.max.tolist(), "mean": self.mean.tolist(),
            "std": self.std.tolist(), "count": [self.count],
        }
        data.update({name: value.tolist() for name, value in self.quantiles.items()})
        return data


def stats_of(values: NDArray[Any]) -> FeatureStats:
    """Statistics of ``values`` of shape ``(frames, ...)`` over the first axis (float64 accumulation)."""
    if values.shape[0] == 0:
        raise ValueError("cannot compute statistics of zero frames")
    data = np.asarray(values, dtype=np.float64)
    quantiles = np.quantile(data, QUANTILES, axis=0)
    return FeatureStats(
        min=data.min(axis=0), max=data.max(axis=0), mean=data.mean(axis=0), std=data.std(axis=0),
        count=int(data.shape[0]),
        quantiles={f"q{round(q * 100):02d}": quantiles[i] for i, q in enumerate(QUANTILES)},
    )


def compute_stats(
    store: DatasetStore, keys: Sequence[str] = LOW_DIM_KEYS, episode_ids: Sequence[int] | None = None
) -> dict[str, FeatureStats]:
    """Per-dimension statistics of low-dim ``keys`` over the selected episodes (all by default)."""
    image_keys = set(store.schema.image_keys)
    if image_keys & set(keys):
        raise ValueError(
            f"compute_stats is for low-dim keys; use compute_image_stats for {sorted(image_keys & set(keys))}"
        )
    arrays, _ = read_concatenated(store, tuple(keys), None if episode_ids is None else list(episode_ids))
    return {key: stats_of(arrays[key]) for key in keys}


def image_stats_of(images: NDArray[np.uint8]) -> FeatureStats:
    """Per-channel statistics of ``images`` (frames, H, W, 3), pixel values scaled to [0, 1], shape (3, 1, 1)."""
    stats = stats_of(images.reshape(-1, 3).astype(np.float32) / 255.0)
    shape = (3, 1, 1)
    return FeatureStats(
        min=stats.min.reshape(shape), max=stats.max.reshape(shape), mean=stats.mean.reshape(shape),
        std=stats.std.reshape(shape), count=int(images.shape[0]),
        quantiles={name: value.reshape(shape) for name, value in stats.quantiles.items()},
    )


def compute_image_stats(
    store: DatasetStore, key: str, episode_ids: Sequence[int] | None = None, *, frames_per_episode: int = 32
) -> FeatureStats:
    """Per-channel statistics of camera ``key`` (see :func:`image_stats_of`) from up to ``frames_per_episode``
    evenly spaced frames of each selected episode."""
    if key not in store.schema.image_keys:
        raise ValueError(f"{key!r} is not a recorded camera of {store.root} ({store.schema.image_keys})")
    samples = []
    for episode in store.episodes(None if episode_ids is None else list(episode_ids)):
        samples.append(episode.read(key)[sample_frames(episode.length, frames_per_episode)])
    if not samples:
        raise ValueError("cannot compute statistics of zero episodes")
    return image_stats_of(np.concatenate(samples))


def sample_frames(length: int, count: int) -> NDArray[np.int64]:
    """Up to ``count`` evenly spaced frame indices of an episode of ``length`` frames."""
    return np.unique(np.linspace(0, length - 1, min(count, length)).astype(np.int64))
