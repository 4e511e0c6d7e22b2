"""The committed diffusion policy drives AllegroUnscrew-real against the twin over DDS (contract only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dexsim.hand import home_pose
from dexsim.interface import OBS_JOINT_POSITIONS, ControlConfig
from dexsim.real.config import load_hardware_config
from dexsim.real.env import AllegroUnscrewRealEnv
from dexsim.rollout import Transition, run_episode

from .twin_process import twin_process

pytest.importorskip("cyclonedds")
pytest.importorskip("diffusers")

PRETRAINED = Path(__file__).parents[2] / "policies" / "pretrained" / "all_inputs_cpu"


def test_pretrained_policy_drives_the_real_env_over_dds(domain_id: int) -> None:
    from dexsim.policy import load

    executor = load(PRETRAINED)
    kwargs = executor.env_kwargs()
    config = ControlConfig(**kwargs, time_limit_s=2.0)
    hardware = load_hardware_config(None, domain_id=domain_id, transport="cyclonedds", ready_timeout_s=30.0)
    positions: list[np.ndarray] = []

    def on_step(step: Transition) -> None:
        positions.append(step.next_observation[OBS_JOINT_POSITIONS])

    with twin_process(domain_id, "--image-size", str(kwargs["image_size"])):
        env = AllegroUnscrewRealEnv(config, hardware)
        try:
            outcome = run_episode(env, executor, seed=1_000_000, on_step=on_step)
        finally:
            env.close()
            executor.close()
    assert outcome.termination_reason == "time_limit" and outcome.steps == config.max_episode_steps
    assert executor.stats.summary()["chunks"] >= config.max_episode_steps / 8
    # the policy curls the caging fingers (middle, ring medial/distal joints) over DDS as it does in the sim
    assert (positions[-1] - home_pose())[[6, 7, 10, 11]].min() > 0.2, positions[-1]
