"""Run one episode of either dexsim env under a controller; the loop that demos, recording and evaluation share."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from dexsim.interface import INFO_SUCCESS, INFO_TERMINATION_REASON, INFO_TIME, Controller, Policy

__all__ = ["EpisodeOutcome", "Transition", "run_episode"]


@dataclass(frozen=True)
class Transition:
    """One env step as :func:`run_episode` saw it.

    Attributes:
        observation: What the controller acted on.
        info: The info that came with ``observation``.
        action: The action sent (delta joint positions, rad).
        reward: The step's reward.
        next_observation: What ``env.step`` returned.
        next_info: The info ``env.step`` returned (its ``joint_targets`` are the targets the action produced).
        terminated: ``env.step``'s terminated flag.
        truncated: ``env.step``'s truncated flag.
    """

    observation: dict[str, NDArray[Any]]
    info: dict[str, Any]
    action: NDArray[np.float32]
    reward: float
    next_observation: dict[str, NDArray[Any]]
    next_info: dict[str, Any]
    terminated: bool
    truncated: bool


@dataclass
class EpisodeOutcome:
    """Result of :func:`run_episode`.

    Attributes:
        success: The lid came off (sim) or the operator said so (real).
        termination_reason: ``info['termination_reason']`` of the last step, or ``'max_steps'``.
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


def run_episode(
    env: gym.Env[Any, Any],
    controller: Controller | Policy,
    seed: int | None = None,
    *,
    max_steps: int | None = None,
    on_reset: Callable[[dict[str, NDArray[Any]], dict[str, Any]], None] | None = None,
    on_step: Callable[[Transition], None] | None = None,
) -> EpisodeOutcome:
    """Reset ``env`` with ``seed`` and act until the episode ends (or ``max_steps``).

    Args:
        env: Either dexsim env (or any env with the same contract).
        controller: A :class:`~dexsim.interface.Controller` (reset with ``seed`` after the env) or a plain
            ``policy(obs, info) -> action`` callable.
        seed: Seed of the env's reset and of the controller.
        max_steps: Stop after this many steps even if the episode has not ended.
        on_reset: Called with the first observation and info.
        on_step: Called after each step with its :class:`Transition`.
    """
    observation, info = env.reset(seed=seed)
    if isinstance(controller, Controller):
        controller.reset(seed)
        act: Policy = controller.act
    else:
        act = controller
    if on_reset is not None:
        on_reset(observation, info)
    steps, total = 0, 0.0
    ended = False
    while not ended and (max_steps is None or steps < max_steps):
        action = np.asarray(act(observation, info), dtype=np.float32)
        next_observation, reward, terminated, truncated, next_info = env.step(action)
        steps += 1
        total += float(reward)
        if on_step is not None:
            on_step(Transition(observation, info, action, float(reward), next_observation, next_info,
                               bool(terminated), bool(truncated)))
        observation, info = next_observation, next_info
        ended = bool(terminated or truncated)
    reason = str(info.get(INFO_TERMINATION_REASON, "")) or ("" if ended else "max_steps")
    return EpisodeOutcome(
        success=bool(info.get(INFO_SUCCESS, False)),
        termination_reason=reason,
        steps=steps,
        duration_s=float(info.get(INFO_TIME, float("nan"))),
        total_reward=total,
        final_info=info,
    )
