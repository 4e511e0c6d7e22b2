"""What one recorded frame and one episode hold: key names, dtypes, shapes and per-episode metadata.

A *frame* is one control step: the observation the policy/operator saw, the action it sent, the absolute joint
target that action produced, and two clocks. All names come from :mod:`dexsim.interface` so that the store depends
only on the shared env contract.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from dexsim.hand import NUM_JOINTS
from dexsim.interface import CAMERA_OBS_KEYS, LOW_DIM_OBS_KEYS, OBS_JOINT_EFFORTS, OBS_JOINT_POSITIONS, ControlConfig

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "KEY_ACTION",
    "KEY_JOINT_TARGET",
    "KEY_TIME",
    "KEY_WALL_TIME",
    "KEY_LID_ANGLE",
    "LOW_DIM_KEYS",
    "FrameSchema",
    "EpisodeMetadata",
    "SOURCES",
]

FORMAT_NAME: Final = "dexsim-dataset"
FORMAT_VERSION: Final = 1

KEY_ACTION: Final = "action"
"""Delta joint positions sent with the frame's observation, rad, (16,) float32."""
KEY_JOINT_TARGET: Final = "joint_target"
"""Absolute joint target the action produced, rad, (16,) float32."""
KEY_TIME: Final = "time"
"""Env time of the observation, s since reset, float64."""
KEY_WALL_TIME: Final = "wall_time"
"""Unix time at which the frame was recorded, s, float64."""
KEY_LID_ANGLE: Final = "lid_angle"
"""Lid angle reported by the env for the observation, rad, float32 (nan where not sensed, e.g. real hand)."""

LOW_DIM_KEYS: Final = (OBS_JOINT_POSITIONS, OBS_JOINT_EFFORTS, KEY_ACTION, KEY_JOINT_TARGET)
"""Float vector keys that windows, statistics and normalisation use."""

SOURCES: Final = ("sim", "real")


@dataclass(frozen=True)
class FrameSchema:
    """Shapes and dtypes of every per-frame key of a dataset (fixed for the whole dataset).

    Attributes:
        control_hz: Recording rate, frames per second (= the env's control rate).
        image_size: Square camera resolution, px.
        cameras: Camera names recorded, subset of ``("top", "wrist")``.
    """

    control_hz: float
    image_size: int
    cameras: tuple[str, ...]

    def __post_init__(self) -> None:
        ControlConfig(control_hz=self.control_hz, image_size=self.image_size, cameras=tuple(self.cameras))
        object.__setattr__(self, "cameras", tuple(self.cameras))

    @classmethod
    def from_config(cls, config: ControlConfig) -> FrameSchema:
        """The schema that an env built with ``config`` produces."""
        return cls(control_hz=config.control_hz, image_size=config.image_size, cameras=tuple(config.cameras))

    @property
    def image_keys(self) -> tuple[str, ...]:
        """Observation keys of the recorded cameras, in ``cameras`` order."""
        return tuple(CAMERA_OBS_KEYS[camera] for camera in self.cameras)

    @property
    def observation_keys(self) -> tuple[str, ...]:
        """Every observation key a frame holds."""
        return LOW_DIM_OBS_KEYS + self.image_keys

    def fields(self) -> dict[str, tuple[np.dtype[Any], tuple[int, ...]]]:
        """Key -> (dtype, per-frame shape) for every per-frame key, in storage order."""
        vector = (np.dtype(np.float32), (NUM_JOINTS,))
        image = (np.dtype(np.uint8), (self.image_size, self.image_size, 3))
        result: dict[str, tuple[np.dtype[Any], tuple[int, ...]]] = {
            OBS_JOINT_POSITIONS: vector,
            OBS_JOINT_EFFORTS: vector,
            KEY_ACTION: vector,
            KEY_JOINT_TARGET: vector,
            KEY_TIME: (np.dtype(np.float64), ()),
            KEY_WALL_TIME: (np.dtype(np.float64), ()),
            KEY_LID_ANGLE: (np.dtype(np.float32), ()),
        }
        for key in self.image_keys:
            result[key] = image
        return result

    def record_dtype(self) -> np.dtype[np.void]:
        """A numpy structured dtype with one field per key: the layout of one journal record."""
        return np.dtype([(key, dtype, shape) for key, (dtype, shape) in self.fields().items()])

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {"control_hz": self.control_hz, "image_size": self.image_size, "cameras": list(self.cameras)}

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> FrameSchema:
        """Parse :meth:`to_json` output; ``where`` names the file for error messages."""
        try:
            return cls(
                control_hz=float(data["control_hz"]),
                image_size=int(data["image_size"]),
                cameras=tuple(str(c) for c in data["cameras"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: bad frame schema {data!r}: {exc}") from None


def _jsonable(value: Any, where: str) -> Any:
    """Round-trip ``value`` through JSON (numpy scalars/arrays become lists) or raise naming ``where``."""

    def default(obj: Any) -> Any:
        if isinstance(obj, np.ndarray):
            return obj.tolist()
        if isinstance(obj, np.generic):
            return obj.item()
        if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            return dataclasses.asdict(obj)
        if isinstance(obj, tuple):
            return list(obj)
        raise TypeError(f"{type(obj).__name__} is not JSON-serialisable")

    try:
        return json.loads(json.dumps(value, default=default, allow_nan=True))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"episode metadata field {where!r}: {exc}") from None


@dataclass
class EpisodeMetadata:
    """Per-episode facts stored with the frames.

    Attributes:
        source: ``"sim"`` or ``"real"``.
        operator: Who produced the demonstration (a person's handle, or e.g. ``"scripted-expert"``).
        task: Natural-language task description (LeRobot's task string).
        seed: ``reset`` seed of the episode, if any.
        scene: Randomised placement/sizes/friction (sim ``info["scene_params"]``), JSON-friendly.
        success: Whether the task succeeded.
        defect: Ground-truth defect label when known (e.g. ``"jitter"``), ``None`` for a clean demonstration.
        termination_reason: Env's ``termination_reason`` at the end, or why recording stopped.
        env_config: The env's configuration (``dataclasses.asdict`` of its ``ControlConfig``/``SimConfig``).
        software: Versions of dexsim and the libraries that produced the episode.
        recovered: True if the episode was rebuilt from the journal of an interrupted recording.
        extra: Anything else, JSON-friendly.
    """

    source: str = "sim"
    operator: str = ""
    task: str = "unscrew the bottle lid"
    seed: int | None = None
    scene: dict[str, Any] = field(default_factory=dict)
    success: bool = False
    defect: str | None = None
    termination_reason: str = ""
    env_config: dict[str, Any] = field(default_factory=dict)
    software: dict[str, Any] = field(default_factory=dict)
    recovered: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"episode metadata field 'source' must be one of {SOURCES}, got {self.source!r}")
        if self.seed is not None:
            self.seed = int(self.seed)
        self.success = bool(self.success)
        self.recovered = bool(self.recovered)
        if self.defect is not None:
            self.defect = str(getattr(self.defect, "value", self.defect))
        if not self.task:
            raise ValueError("episode metadata field 'task' must not be empty")

    def to_json(self) -> dict[str, Any]:
        """A JSON-friendly dict (validated: raises ``ValueError`` naming a field that cannot be stored)."""
        return {f.name: _jsonable(getattr(self, f.name), f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str) -> EpisodeMetadata:
        """Parse :meth:`to_json` output; ``where`` names the episode for error messages."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise ValueError(f"{where}: unknown metadata fields {sorted(unknown)}")
        try:
            return cls(**data)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: bad metadata: {exc}") from None

