"""``AllegroUnscrew-sim``: the MuJoCo twin behind the shared Gymnasium interface.

The Allegro Hand is mounted palm-up; a bottle lies across the palm with its screw-on lid on the index-finger
side. The task is to unscrew the lid with the fingers while keeping the bottle in the hand.

Observation space (``Dict``; keys from :mod:`dexsim.interface`):

=====================  ================  ========  =================================================
key                    shape             dtype     meaning
=====================  ================  ========  =================================================
``joint_positions``    (16,)             float32   joint angles, rad (index 0-3, middle 4-7, ring 8-11, thumb 12-15)
``joint_efforts``      (16,)             float32   PD torque commanded, clamped to the torque limits, N m
``top_image``          (S, S, 3)         uint8     fixed camera above the hand (if ``"top"`` in cameras)
``wrist_image``        (S, S, 3)         uint8     camera on the hand base (if ``"wrist"`` in cameras)
=====================  ================  ========  =================================================

Action space: ``Box(-d, d, (16,), float32)``, delta joint positions relative to the measured joint positions,
``d = max_joint_delta`` rad; the target is clipped to the joint limits.

Reward (dense, for RL users): ``10 * (lid angle gained this step, rad) + 10 on success - 10 on dropping the bottle``.

Episode end: terminated on success (the lid leaves the thread while the bottle is in the hand) or when the bottle
leaves the hand (a release in the same step as a drop is a drop); truncated after ``time_limit_s``.

Randomisation (:class:`~dexsim.sim.config.SimConfig`, presets ``nominal``/``train``/``eval``): the scene is drawn
from the reset seed; observation noise and actuation latency (targets reach the PD loops ``latency_steps``
control steps after the action) are applied here, seeded by the same seed.

``info``: every key of :data:`dexsim.interface.INFO_KEYS`; ``reset`` adds ``scene_params`` (the randomised
scene, a JSON-friendly dict).
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from dexsim.hand import NUM_JOINTS, torque_limits
from dexsim.interface import (
    CAMERA_OBS_KEYS,
    INFO_BOTTLE_DROPPED,
    INFO_JOINT_TARGETS,
    INFO_LID_ANGLE,
    INFO_LID_LIFT,
    INFO_LID_TURNS,
    INFO_SUCCESS,
    INFO_TERMINATION_REASON,
    INFO_TIME,
    OBS_JOINT_EFFORTS,
    OBS_JOINT_POSITIONS,
    action_to_target,
    make_action_space,
    make_observation_space,
)
from dexsim.sim.config import SimConfig, sim_config
from dexsim.sim.simulation import UnscrewSimulation

__all__ = ["AllegroUnscrewSimEnv"]

_REWARD_PER_RAD = 10.0
_SUCCESS_BONUS = 10.0
_DROP_PENALTY = 10.0


class AllegroUnscrewSimEnv(gym.Env[dict[str, NDArray[Any]], NDArray[np.float32]]):
    """The MuJoCo twin of the Allegro unscrewing setup.

    Args:
        config: Control, camera, physics and randomisation settings (default :class:`SimConfig`).
        render_mode: ``None``, ``"rgb_array"`` (top and wrist views side by side) or ``"human"`` (MuJoCo viewer).
        render_size: Height in px of each view in ``render()`` for ``"rgb_array"``.
        preset: Name of a :data:`dexsim.sim.config.PRESETS` entry to start from (default ``"nominal"``).
        **overrides: Fields of :class:`SimConfig` to change, e.g. ``image_size=64`` (applied to ``config``).
    """

    metadata = {"render_modes": ["rgb_array", "human"], "render_fps": 20}

    def __init__(
        self,
        config: SimConfig | None = None,
        render_mode: str | None = None,
        render_size: int = 240,
        preset: str | None = None,
        **overrides: Any,
    ) -> None:
        if config is not None and preset is not None:
            raise ValueError("give either config or preset, not both")
        config = config or sim_config(preset or "nominal")
        if overrides:
            config = sim_config("nominal", **{**config.__dict__, **overrides})
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        self.config = config
        self.render_mode = render_mode
        self.render_size = int(render_size)
        self.metadata = {**self.metadata, "render_fps": config.control_hz}
        self.simulation = UnscrewSimulation(config)
        self.observation_space = make_observation_space(config)
        self.action_space = make_action_space(config)
        self._targets = self.simulation.joint_targets()
        self._pending: deque[NDArray[np.float64]] = deque()
        self._noise_rng = np.random.default_rng(0)
        self._observed_positions = self.simulation.joint_positions()
        self._steps = 0
        self._last_angle = 0.0
        self._done_reason = ""
        self._viewer: Any = None
        self._wall_start: float | None = None
        self._last_paced_sim_time = 0.0

    # --------------------------------------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
        super().reset(seed=seed)
        scene_seed = int(self.np_random.integers(0, 2**31 - 1))
        params = self.simulation.reset(scene_seed)
        self._targets = self.simulation.joint_targets()
        self._pending = deque([self._targets.copy()] * params.latency_steps)
        self._noise_rng = np.random.default_rng(params.noise_seed)
        self._steps = 0
        self._last_angle = self.simulation.lid_state().angle
        self._done_reason = ""
        info = self._info()
        info["scene_params"] = params.to_dict()
        if self.render_mode == "human":
            self.render()
        return self._observation(), info

    def step(
        self, action: NDArray[np.floating]
    ) -> tuple[dict[str, NDArray[Any]], float, bool, bool, dict[str, Any]]:
        if self.simulation.scene_params is None:
            raise RuntimeError("call reset() before step()")
        # The action is relative to the joint positions the controller saw (the last observation).
        self._targets = action_to_target(action, self._observed_positions, self.config.max_joint_delta)
        self._pending.append(self._targets)
        self.simulation.set_joint_targets(self._pending.popleft())  # latency: an older target reaches the PD loops
        self.simulation.step_physics(self.config.control_dt)
        self._steps += 1

        lid = self.simulation.lid_state()
        dropped = self.simulation.bottle_dropped()
        reward = _REWARD_PER_RAD * (lid.angle - self._last_angle)
        self._last_angle = lid.angle
        terminated = lid.released or dropped
        truncated = not terminated and self._steps >= self.config.max_episode_steps
        if dropped:  # a release in the same step as a drop is no success: the bottle is not in the hand
            reward -= _DROP_PENALTY
            self._done_reason = "bottle_dropped"
        elif lid.released:
            reward += _SUCCESS_BONUS
            self._done_reason = "success"
        elif truncated:
            self._done_reason = "time_limit"
        if self.render_mode == "human":
            self.render()
        return self._observation(), float(reward), bool(terminated), bool(truncated), self._info()

    def render(self) -> NDArray[np.uint8] | None:
        if self.render_mode == "rgb_array":
            views = [self.simulation.render(camera, self.render_size) for camera in ("top", "wrist")]
            return np.concatenate(views, axis=1)
        if self.render_mode == "human":
            if self._viewer is None:
                import mujoco.viewer  # imported lazily: needs a display

                self._viewer = mujoco.viewer.launch_passive(self.simulation.model, self.simulation.data)
            self._viewer.sync()
            self._pace_to_real_time()
        return None

    def _pace_to_real_time(self) -> None:
        """In the viewer, run no faster than real time (a fresh episode restarts the clock)."""
        now = time.perf_counter()
        sim_time = self.simulation.time
        if self._wall_start is None or sim_time < self._last_paced_sim_time:
            self._wall_start = now - sim_time
        self._last_paced_sim_time = sim_time
        ahead = sim_time - (now - self._wall_start)
        if ahead > 0:
            time.sleep(ahead)

    def close(self) -> None:
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None
        self.simulation.close_renderer()

    # ------------------------------------------------------------------------------------------ internals
    def _observation(self) -> dict[str, NDArray[Any]]:
        sim, cfg, rng = self.simulation, self.config, self._noise_rng
        positions = sim.joint_positions()
        efforts = sim.joint_efforts()
        if cfg.joint_position_noise_rad > 0:
            positions = positions + rng.normal(0.0, cfg.joint_position_noise_rad, NUM_JOINTS)
        if cfg.joint_effort_noise_nm > 0:
            efforts = np.clip(efforts + rng.normal(0.0, cfg.joint_effort_noise_nm, NUM_JOINTS), -torque_limits(),
                              torque_limits())
        self._observed_positions = positions
        space = self.observation_space[OBS_JOINT_POSITIONS]
        obs: dict[str, NDArray[Any]] = {
            OBS_JOINT_POSITIONS: np.clip(positions, space.low, space.high).astype(np.float32),
            OBS_JOINT_EFFORTS: efforts.astype(np.float32),
        }
        for camera in self.config.cameras:
            obs[CAMERA_OBS_KEYS[camera]] = sim.render(camera)
        return obs

    def _info(self) -> dict[str, Any]:
        lid = self.simulation.lid_state()
        return {
            INFO_LID_ANGLE: lid.angle,
            INFO_LID_TURNS: lid.turns,
            INFO_LID_LIFT: lid.lift,
            INFO_BOTTLE_DROPPED: self._done_reason == "bottle_dropped",
            INFO_SUCCESS: self._done_reason == "success",
            INFO_JOINT_TARGETS: self._targets.copy(),
            INFO_TERMINATION_REASON: self._done_reason,
            INFO_TIME: self.simulation.time,
        }
