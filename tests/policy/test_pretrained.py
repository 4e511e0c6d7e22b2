"""The committed checkpoint loads and rolls out in AllegroUnscrew-sim through the executor (a few seconds)."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np

import dexsim  # noqa: F401  (registers the envs)
from dexsim.hand import home_pose
from dexsim.interface import INFO_LID_TURNS, OBS_JOINT_POSITIONS
from dexsim.policy import load
from dexsim.rollout import Transition, run_episode

PRETRAINED = Path(__file__).parents[2] / "policies" / "pretrained" / "all_inputs_cpu"


def test_committed_checkpoint_is_small_and_complete() -> None:
    files = {p.name: p.stat().st_size for p in PRETRAINED.iterdir()}
    assert {"model.safetensors", "config.json", "stats.json", "README.md"} <= set(files)
    assert files["model.safetensors"] <= 25 * 2**20
    executor = load(PRETRAINED)
    assert executor.config.inputs.cameras == ("top", "wrist")
    assert executor.config.inputs.low_dim == ("joint_positions", "joint_efforts")


def test_committed_checkpoint_grasps_and_turns_the_lid_in_the_sim() -> None:
    executor = load(PRETRAINED)
    env = gym.make("AllegroUnscrew-sim", **executor.env_kwargs())
    steps: list[Transition] = []
    try:
        outcome = run_episode(env, executor, seed=1_000_000, max_steps=80, on_step=steps.append)
    finally:
        env.close()
        executor.close()
    assert outcome.termination_reason in ("max_steps", "success"), outcome.termination_reason
    turns = [float(step.next_info[INFO_LID_TURNS]) for step in steps]
    assert max(turns) > 0.05, turns[-5:]  # the index finger has started unscrewing within 4 s
    final_q = steps[-1].next_observation[OBS_JOINT_POSITIONS]
    # middle and ring have curled around the bottle (the expert's medial/distal joints: +0.5-0.8 rad by 2 s)
    assert (final_q - home_pose())[[6, 7, 10, 11]].min() > 0.3, final_q
    stats = executor.stats.summary()
    assert stats["chunks"] >= len(steps) / 8 and np.isfinite(stats["boundary_jump_median_rad"])
