"""Recording demonstrations from any env that follows :mod:`dexsim.interface` (sim or real).

:class:`Recorder` is driven by plain method calls (``start`` / ``add`` / ``stop`` / ``discard``), so teleop keys,
the fist gesture, scripts and tests can all drive it. Every frame goes to disk as it is added (see
:mod:`dexsim.data.journal`); ``stop`` finalizes the episode into the dataset atomically.

:func:`record_episode` runs one gym episode with a policy and records it.
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import time as _time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from dexsim.data.journal import JournalWriter
from dexsim.data.schema import (
    KEY_ACTION,
    KEY_JOINT_TARGET,
    KEY_LID_ANGLE,
    KEY_TIME,
    KEY_WALL_TIME,
    EpisodeMetadata,
    FrameSchema,
)
from dexsim.data.store import DatasetStore
from dexsim.interface import (
    INFO_JOINT_TARGETS,
    INFO_LID_ANGLE,
    INFO_TIME,
    OBS_JOINT_POSITIONS,
    ControlConfig,
    Controller,
    Policy,
    action_to_target,
    env_config,
    validate_action,
)
from dexsim.rollout import Transition, run_episode

__all__ = ["Recorder", "record_episode", "env_config", "software_versions"]


def software_versions() -> dict[str, str]:
    """Versions of dexsim, Python and the libraries already imported (nothing is imported for this)."""
    from dexsim import __version__

    versions = {"dexsim": __version__, "python": platform.python_version()}
    for name in ("numpy", "zarr", "mujoco", "gymnasium", "cyclonedds"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = str(getattr(module, "__version__", "unknown"))
    return versions


class Recorder:
    """Records episodes into a :class:`DatasetStore` at the control rate.

    Args:
        store: Where finalized episodes go; its schema must match ``config``.
        config: The env's control settings (rate, cameras, image size, per-step action bound).
        fsync_every_frame: Also ``fsync`` each frame (protects against power loss, not only process death).
    """

    def __init__(self, store: DatasetStore, config: ControlConfig, *, fsync_every_frame: bool = False) -> None:
        schema = FrameSchema.from_config(config)
        if store.schema != schema:
            raise ValueError(f"dataset {store.root} records {store.schema.to_json()}, env gives {schema.to_json()}")
        self.store = store
        self.config = config
        self.fsync_every_frame = fsync_every_frame
        self._journal: JournalWriter | None = None
        self._metadata: EpisodeMetadata | None = None
        self._image_keys = schema.image_keys

    @classmethod
    def for_env(cls, env: gym.Env[Any, Any], root: Any, **kwargs: Any) -> Recorder:
        """A recorder writing to the dataset at ``root`` (created if needed) for ``env``'s configuration."""
        config = env_config(env)
        return cls(DatasetStore.create(root, FrameSchema.from_config(config)), config, **kwargs)

    @property
    def recording(self) -> bool:
        """True between :meth:`start` and :meth:`stop`/:meth:`discard`."""
        return self._journal is not None

    @property
    def num_frames(self) -> int:
        """Frames added to the current episode (0 when not recording)."""
        return 0 if self._journal is None else self._journal.num_frames

    def start(self, metadata: EpisodeMetadata | None = None) -> None:
        """Begin a new episode; fills ``env_config`` and ``software`` in the metadata if empty.

        Raises:
            RuntimeError: An episode is already being recorded.
        """
        if self._journal is not None:
            raise RuntimeError("already recording: stop() or discard() the current episode first")
        metadata = dataclasses.replace(metadata) if metadata is not None else EpisodeMetadata()
        if not metadata.env_config:
            metadata.env_config = dataclasses.asdict(self.config)
        if not metadata.software:
            metadata.software = software_versions()
        self._metadata = metadata
        self._journal = self.store.begin_episode(metadata, fsync_every_frame=self.fsync_every_frame)

    def add(
        self,
        observation: dict[str, NDArray[Any]],
        action: NDArray[np.floating],
        *,
        joint_target: NDArray[np.floating] | None = None,
        time: float | None = None,
        lid_angle: float = float("nan"),
    ) -> None:
        """Append one frame: the observation and the action sent in response to it.

        Args:
            observation: Observation dict of the contract (joint positions/efforts, the recorded cameras).
            action: Delta joint positions sent, rad (16,).
            joint_target: Absolute target the action produced, rad; computed from the contract if omitted.
            time: Env time of the observation, s; ``frame_index / control_hz`` if omitted.
            lid_angle: Lid angle of the observation, rad (``nan`` where not sensed).

        Raises:
            RuntimeError: Not recording.
            ValueError: A key is missing or has the wrong shape/dtype (named), or the action is not finite.
        """
        journal = self._journal
        if journal is None:
            raise RuntimeError("not recording: call start() first")
        action = validate_action(action)
        missing = [key for key in self.store.schema.observation_keys if key not in observation]
        if missing:
            raise ValueError(
                f"observation lacks keys {missing}; the dataset records {list(self.store.schema.observation_keys)}"
            )
        fields = self.store.schema.fields()
        for key in self.store.schema.observation_keys:
            value = np.asarray(observation[key])
            if value.shape != fields[key][1]:
                raise ValueError(f"observation {key!r} must have shape {fields[key][1]}, got {value.shape}")
            if key in self._image_keys and value.dtype != np.uint8:
                raise ValueError(f"observation {key!r} must be uint8, got {value.dtype}")
        if joint_target is None:
            joint_target = action_to_target(action, observation[OBS_JOINT_POSITIONS], self.config.max_joint_delta)
        frame: dict[str, Any] = {key: observation[key] for key in self.store.schema.observation_keys}
        frame[KEY_ACTION] = action
        frame[KEY_JOINT_TARGET] = joint_target
        frame[KEY_TIME] = journal.num_frames / self.config.control_hz if time is None else time
        frame[KEY_WALL_TIME] = _time.time()
        frame[KEY_LID_ANGLE] = lid_angle
        journal.append(frame)

    def add_step(
        self,
        observation: dict[str, NDArray[Any]],
        observation_info: dict[str, Any],
        action: NDArray[np.floating],
        step_info: dict[str, Any],
    ) -> None:
        """Append a gym step: ``observation``/``observation_info`` came with it, ``step_info`` is what
        ``env.step(action)`` returned (its ``joint_targets`` are the targets the action produced)."""
        self.add(
            observation,
            action,
            joint_target=step_info.get(INFO_JOINT_TARGETS),
            time=observation_info.get(INFO_TIME),
            lid_angle=float(observation_info.get(INFO_LID_ANGLE, float("nan"))),
        )

    def stop(self, *, success: bool | None = None, termination_reason: str | None = None, **updates: Any) -> int:
        """Finalize the episode into the dataset; returns its id.

        Args:
            success: Task outcome (keeps the start metadata's value if ``None``).
            termination_reason: Why the episode ended.
            updates: Other :class:`EpisodeMetadata` fields to set (e.g. ``defect``, ``scene``).

        Raises:
            RuntimeError: Not recording.
            DatasetError: No frame was added (use :meth:`discard`).
        """
        if self._journal is None or self._metadata is None:
            raise RuntimeError("not recording: nothing to stop")
        if success is not None:
            updates["success"] = success
        if termination_reason is not None:
            updates["termination_reason"] = termination_reason
        metadata = dataclasses.replace(self._metadata, **updates)
        journal, self._journal, self._metadata = self._journal, None, None
        try:
            return self.store.finalize(journal, metadata)
        except Exception:
            journal.close()  # the journal stays in incoming/ for `dexsim dataset check --recover`
            raise

    def discard(self) -> None:
        """Drop the current episode (e.g. the operator's "bad take" gesture); no-op when not recording."""
        if self._journal is not None:
            self.store.discard(self._journal)
        self._journal, self._metadata = None, None


def record_episode(
    env: gym.Env[Any, Any],
    policy: Policy | Controller,
    recorder: Recorder,
    *,
    seed: int | None = None,
    metadata: EpisodeMetadata | None = None,
    max_steps: int | None = None,
    on_step: Callable[[], None] | None = None,
) -> tuple[int, dict[str, Any]]:
    """Reset ``env``, run ``policy`` until the episode ends, record every step; returns (episode id, last info).

    ``policy`` is a callable ``policy(obs, info)`` or a :class:`~dexsim.interface.Controller` (reset with
    ``seed`` after the env); the loop is :func:`dexsim.rollout.run_episode`.

    ``metadata`` gets the seed and, where the env reports it, ``info["scene_params"]``. If the policy or env
    raises, the frames recorded so far are kept as a failed episode and the exception propagates.
    """
    metadata = dataclasses.replace(metadata) if metadata is not None else EpisodeMetadata()
    metadata.seed = seed

    def start(observation: dict[str, NDArray[Any]], info: dict[str, Any]) -> None:
        if isinstance(info.get("scene_params"), dict):
            metadata.scene = info["scene_params"]
        recorder.start(metadata)

    def record(step: Transition) -> None:
        recorder.add_step(step.observation, step.info, step.action, step.next_info)
        if on_step is not None:
            on_step()

    try:
        outcome = run_episode(env, policy, seed, max_steps=max_steps, on_reset=start, on_step=record)
    except BaseException as exc:
        if recorder.num_frames > 0:
            recorder.stop(success=False, termination_reason=f"error: {type(exc).__name__}: {exc}")
        else:
            recorder.discard()
        raise
    episode_id = recorder.stop(success=outcome.success, termination_reason=outcome.termination_reason)
    return episode_id, outcome.final_info
