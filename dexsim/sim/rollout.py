"""Run one episode of an env under a controller and collect what happened."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from dexsim.interface import INFO_SUCCESS, INFO_TERMINATION_REASON, INFO_TIME

__all__ = ["Controller", "EpisodeOutcome", "run_episode"]


class Controller(Protocol):
    """Anything that maps observations to actions: the scripted expert, a policy executor, a teleop source."""

    def reset(self, seed: int | None = None) -> None: ...

    def act(self, obs: dict[str, NDArray[Any]], info: dict[str, Any] | None = None) -> NDArray[np.float32]: ...


@dataclass
class EpisodeOutcome:
    """Result of :func:`run_episode`.

    Attributes:
        success: The lid came off (sim) or the operator said so (real).
        termination_reason: ``info['termination_reason']`` of the last step.
        steps: Env steps taken.
        duration_s: Episode time at the end, s.
        total_reward: Sum of rewards.
        final_info: ``info`` of the last step.
    """

    success: bool
    termination_reason: str
    steps: int
    duration_s: float
    total_reward: float
    final_info: dict[str, Any] = field(repr=False)


StepCallback = Callable[[dict[str, NDArray[Any]], NDArray[np.float32], float, dict[str, Any]], None]


def run_episode(
    env: gym.Env[Any, Any],
    controller: Controller,
    seed: int | None = None,
    on_reset: Callable[[dict[str, NDArray[Any]], dict[str, Any]], None] | None = None,
    on_step: StepCallback | None = None,
) -> EpisodeOutcome:
    """Reset ``env`` with ``seed`` and run ``controller`` until the episode ends.

    Args:
        env: Either dexsim env (or any env with the same contract).
        controller: Produces each action from the latest observation.
        seed: Seed of the env's reset and of the controller.
        on_reset: Called with the first observation and info.
        on_step: Called after each step with ``(obs, action, reward, info)``.
    """
    obs, info = env.reset(seed=seed)
    controller.reset(seed)
    if on_reset is not None:
        on_reset(obs, info)
    steps, total = 0, 0.0
    while True:
        action = controller.act(obs, info)
        obs, reward, terminated, truncated, info = env.step(action)
        steps += 1
        total += float(reward)
        if on_step is not None:
            on_step(obs, action, float(reward), info)
        if terminated or truncated:
            break
    return EpisodeOutcome(
        success=bool(info[INFO_SUCCESS]),
        termination_reason=str(info[INFO_TERMINATION_REASON]),
        steps=steps,
        duration_s=float(info[INFO_TIME]),
        total_reward=total,
        final_info=info,
    )
