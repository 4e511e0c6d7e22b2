"""On-disk cache of frame embeddings, one file per episode and camera, so re-scoring skips the encoder.

A cache entry is valid only for the exact episode recording (uuid, frame count, the episode's metadata file
timestamp), stride, encoder settings and weights fingerprint; the key is hashed into the file name and stored
inside the file, and the entry is recomputed whenever any of them differ. Writing an entry removes the stale
entries of the same episode and camera.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from dexsim.data.store import Episode

__all__ = ["FeatureCache", "episode_fingerprint"]


def episode_fingerprint(episode: Episode) -> dict[str, Any]:
    """What identifies one recording of an episode: uuid, frame count and metadata-file timestamp/size."""
    stat = (episode.path / "zarr.json").stat()
    return {"episode": episode.name, "uuid": episode.uuid, "length": episode.length,
            "meta_mtime_ns": stat.st_mtime_ns, "meta_size": stat.st_size}


class FeatureCache:
    """Embedding cache in directory ``root`` (created on first write).

    Attributes:
        hits: Entries served from disk since construction.
        misses: Entries computed since construction.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    @staticmethod
    def _digest(key: Mapping[str, Any]) -> str:
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]

    def path(self, episode: Episode, camera: str, key: Mapping[str, Any]) -> Path:
        """File of the entry for ``episode``/``camera`` under ``key``."""
        return self.root / f"{episode.name.removesuffix('.zarr')}-{camera}-{self._digest(key)}.npz"

    def get_or_compute(
        self,
        episode: Episode,
        camera: str,
        settings: Mapping[str, Any],
        compute: Callable[[], tuple[NDArray[np.int64], NDArray[np.float32]]],
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """(frame indices, embeddings) of ``episode``/``camera``: from disk if the entry's key matches, else from
        ``compute()`` (then stored).

        Args:
            settings: Everything besides the episode that determines the embeddings (stride, encoder, weights).
        """
        key = {"episode": episode_fingerprint(episode), "camera": camera, "settings": dict(settings)}
        path = self.path(episode, camera, key)
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as data:
                    if json.loads(str(data["key"])) == key:
                        self.hits += 1
                        return data["frames"].astype(np.int64), data["features"].astype(np.float32)
            except (OSError, ValueError, KeyError, json.JSONDecodeError):
                pass  # unreadable or foreign entry: recompute and overwrite
        frames, features = compute()
        self.misses += 1
        self.root.mkdir(parents=True, exist_ok=True)
        prefix = f"{episode.name.removesuffix('.zarr')}-{camera}-"
        for stale in self.root.glob(f"{prefix}*.npz"):
            if stale != path:
                stale.unlink(missing_ok=True)
        tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
        np.savez(tmp, frames=frames, features=features, key=np.array(json.dumps(key, sort_keys=True)))
        os.replace(tmp, path)
        return frames, features
