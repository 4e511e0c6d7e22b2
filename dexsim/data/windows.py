"""Training windows over recorded episodes, without torch.

A window starting at frame ``s`` of an episode of length ``L`` covers frames ``s .. s + horizon - 1``; its
observation part is the first ``n_obs_steps`` of those frames and its action part all ``horizon`` of them
(diffusion_policy's convention: the first action is the one sent with the last observed frame minus
``n_obs_steps - 1``). Window starts run from ``-pad_before`` to ``L - horizon + pad_after``; frames outside the
episode repeat the first/last frame (edge padding). With diffusion_policy's defaults ``pad_before = n_obs - 1``
and ``pad_after = n_action - 1`` every frame is the first observed frame of some window and the episode end is
always reachable.

:class:`WindowDataset` follows the map-style dataset protocol (``len``, ``[i]``), so a torch ``DataLoader`` can
wrap it, but it only needs numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from dexsim.data.schema import KEY_ACTION, LOW_DIM_KEYS
from dexsim.data.store import DatasetStore, Episode, read_concatenated
from dexsim.interface import OBS_JOINT_EFFORTS, OBS_JOINT_POSITIONS, OBS_TOP_IMAGE, OBS_WRIST_IMAGE

__all__ = ["WindowConfig", "WindowDataset", "window_starts", "window_frame_indices"]


@dataclass(frozen=True)
class WindowConfig:
    """How windows are cut.

    Attributes:
        horizon: Frames of actions per window (the prediction horizon), frames.
        n_obs_steps: Observed frames per window (the observation horizon), frames.
        n_action_steps: Actions executed per policy call; sets the default ``pad_after``.
        obs_keys: Observation keys returned (drop a camera or the efforts for ablations).
        action_key: Key whose ``horizon`` frames form the action part (``"action"`` or ``"joint_target"``).
        pad_before: Window starts allowed before the first frame; default ``n_obs_steps - 1``.
        pad_after: Window ends allowed after the last frame; default ``n_action_steps - 1``.
    """

    horizon: int = 16
    n_obs_steps: int = 2
    n_action_steps: int = 8
    obs_keys: tuple[str, ...] = (OBS_JOINT_POSITIONS, OBS_JOINT_EFFORTS, OBS_TOP_IMAGE, OBS_WRIST_IMAGE)
    action_key: str = KEY_ACTION
    pad_before: int | None = field(default=None)
    pad_after: int | None = field(default=None)

    def __post_init__(self) -> None:
        if self.horizon < 1:
            raise ValueError(f"horizon must be >= 1 frame, got {self.horizon}")
        if not 1 <= self.n_obs_steps <= self.horizon:
            raise ValueError(f"n_obs_steps must be in [1, horizon={self.horizon}], got {self.n_obs_steps}")
        if not 1 <= self.n_action_steps <= self.horizon:
            raise ValueError(f"n_action_steps must be in [1, horizon={self.horizon}], got {self.n_action_steps}")
        if self.action_key not in LOW_DIM_KEYS:
            raise ValueError(f"action_key must be one of {LOW_DIM_KEYS}, got {self.action_key!r}")
        if not self.obs_keys:
            raise ValueError("obs_keys must not be empty")
        object.__setattr__(self, "obs_keys", tuple(self.obs_keys))
        pad_before = self.n_obs_steps - 1 if self.pad_before is None else self.pad_before
        pad_after = self.n_action_steps - 1 if self.pad_after is None else self.pad_after
        if not (0 <= pad_before < self.horizon and 0 <= pad_after < self.horizon):
            raise ValueError(f"pad_before/pad_after must be in [0, horizon), got {pad_before}/{pad_after}")
        object.__setattr__(self, "pad_before", pad_before)
        object.__setattr__(self, "pad_after", pad_after)


def window_starts(length: int, config: WindowConfig) -> NDArray[np.int64]:
    """Start frames (may be negative) of every window of an episode of ``length`` frames."""
    assert config.pad_before is not None and config.pad_after is not None
    last = length - config.horizon + config.pad_after
    return np.arange(-config.pad_before, last + 1, dtype=np.int64)


def window_frame_indices(start: int, count: int, length: int) -> NDArray[np.int64]:
    """Frame indices ``start .. start + count - 1`` clipped to the episode (edge padding)."""
    return np.clip(np.arange(start, start + count, dtype=np.int64), 0, length - 1)


class WindowDataset:
    """Every window of the selected episodes; ``dataset[i]`` is a dict of numpy arrays.

    ``dataset[i][obs_key]`` has shape ``(n_obs_steps, ...)``, ``dataset[i]["action"]`` ``(horizon, 16)``.

    Args:
        store: The dataset.
        config: Window shape.
        episode_ids: Episodes to use (e.g. those an outlier filter kept); all by default.
        images: ``"lazy"`` reads image frames per window from disk (little memory); ``"memory"`` decodes each
            episode's images into RAM on first use (fast, ~55 kB per frame at 96 px with two cameras).
    """

    def __init__(
        self,
        store: DatasetStore,
        config: WindowConfig | None = None,
        episode_ids: Sequence[int] | None = None,
        *,
        images: Literal["lazy", "memory"] = "lazy",
    ) -> None:
        self.store = store
        self.config = config = config or WindowConfig()
        if images not in ("lazy", "memory"):
            raise ValueError(f"images must be 'lazy' or 'memory', got {images!r}")
        self.images = images
        fields = store.schema.fields()
        unknown = [k for k in config.obs_keys if k not in fields]
        if unknown:
            raise ValueError(f"obs_keys {unknown} are not recorded in {store.root}; it has {sorted(fields)}")
        self.episode_ids = list(store.episode_ids() if episode_ids is None else episode_ids)
        missing = sorted(set(self.episode_ids) - set(store.episode_ids()))
        if missing:
            raise KeyError(f"dataset {store.root} has no episodes {missing}")
        self.image_keys = tuple(k for k in config.obs_keys if k in store.schema.image_keys)
        self.low_dim_keys = tuple(dict.fromkeys([k for k in config.obs_keys if k not in self.image_keys]
                                                + [config.action_key]))
        self.low_dim, ends = read_concatenated(store, self.low_dim_keys, self.episode_ids)
        self.episode_starts = np.concatenate([[0], ends[:-1]]).astype(np.int64) if len(ends) else ends
        self.episode_lengths = np.diff(np.concatenate([[0], ends])).astype(np.int64)
        rows = [
            np.stack([np.full_like(starts, position), starts], axis=1)
            for position, length in enumerate(self.episode_lengths)
            if len(starts := window_starts(int(length), config))
        ]
        self._windows = np.concatenate(rows) if rows else np.zeros((0, 2), np.int64)
        self._episodes: dict[int, Episode] = {}
        self._image_cache: dict[tuple[int, str], NDArray[np.uint8]] = {}

    def __len__(self) -> int:
        return int(self._windows.shape[0])

    def window(self, index: int) -> tuple[int, int]:
        """(episode id, start frame) of window ``index``."""
        position, start = self._windows[index]
        return self.episode_ids[int(position)], int(start)

    def __getitem__(self, index: int) -> dict[str, NDArray[Any]]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"window {index} out of range ({len(self)} windows)")
        position, start = (int(v) for v in self._windows[index])
        length = int(self.episode_lengths[position])
        offset = int(self.episode_starts[position])
        config = self.config
        obs_frames = window_frame_indices(start, config.n_obs_steps, length)
        sample: dict[str, NDArray[Any]] = {}
        for key in config.obs_keys:
            if key in self.image_keys:
                sample[key] = self._images(position, key, obs_frames)
            else:
                sample[key] = self.low_dim[key][offset + obs_frames]
        action_frames = window_frame_indices(start, config.horizon, length)
        sample[KEY_ACTION] = self.low_dim[config.action_key][offset + action_frames]
        return sample

    def batch(self, indices: Sequence[int]) -> dict[str, NDArray[Any]]:
        """Windows ``indices`` stacked along a new first axis."""
        samples = [self[int(i)] for i in indices]
        return {key: np.stack([s[key] for s in samples]) for key in samples[0]} if samples else {}

    def _images(self, position: int, key: str, frames: NDArray[np.int64]) -> NDArray[np.uint8]:
        episode_id = self.episode_ids[position]
        if self.images == "memory":
            cached = self._image_cache.get((episode_id, key))
            if cached is None:
                cached = self._image_cache[(episode_id, key)] = self._episode(episode_id).read(key)
            return cached[frames]
        first, last = int(frames.min()), int(frames.max())
        return self._episode(episode_id).read(key, first, last + 1)[frames - first]

    def _episode(self, episode_id: int) -> Episode:
        episode = self._episodes.get(episode_id)
        if episode is None:
            episode = self._episodes[episode_id] = self.store.episode(episode_id)
        return episode
