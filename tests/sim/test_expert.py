"""The scripted expert unscrews the lid; each defect mode runs and carries its label."""

from types import SimpleNamespace

import gymnasium as gym
import numpy as np
import pytest

import dexsim  # noqa: F401
from dexsim.hand import home_pose
from dexsim.rollout import run_episode
from dexsim.sim.expert import CLEAN_LABEL, DefectMode, UnscrewExpert
from dexsim.sim.simulation import LID_TARGET_Y_M


def _unwound(turns: list[float]) -> float:
    """Largest wrong-way excursion of the lid, turns: the deepest fall below an earlier peak (or below 0)."""
    track = np.array([0.0, *turns])
    return float(np.max(np.maximum.accumulate(track) - track))


@pytest.fixture(scope="module")
def env():
    environment = gym.make("AllegroUnscrew-sim", cameras=())
    yield environment
    environment.close()


def test_expert_success_rate_on_a_seeded_batch(env) -> None:
    expert = UnscrewExpert(env)
    outcomes = [run_episode(env, expert, seed=1000 + seed) for seed in range(12)]
    successes = sum(o.success for o in outcomes)
    assert successes >= 11, [(o.termination_reason, o.duration_s) for o in outcomes]
    assert all(o.duration_s < env.unwrapped.config.time_limit_s for o in outcomes if o.success)
    assert expert.label == CLEAN_LABEL


@pytest.mark.parametrize("defect", list(DefectMode))
def test_defect_modes_run_and_are_labelled(env, defect) -> None:
    expert = UnscrewExpert(env, defect=defect)
    clean = UnscrewExpert(env)
    turns_defect, turns_clean = [], []
    outcome = run_episode(env, expert, seed=7, on_step=lambda step: turns_defect.append(step.next_info["lid_turns"]))
    reference = run_episode(env, clean, seed=7, on_step=lambda step: turns_clean.append(step.next_info["lid_turns"]))
    assert expert.label == defect.value
    # Every defect changes the demonstration: slower, failed, or with a wrong-way excursion.
    assert outcome.steps != reference.steps or not outcome.success or _unwound(turns_defect) > _unwound(turns_clean)
    if defect is DefectMode.ABORTED:
        assert not outcome.success and outcome.termination_reason == "time_limit"
    if defect is DefectMode.WRONG_DIRECTION:
        assert min(turns_defect) < -0.01  # tightened below the start
        assert _unwound(turns_defect) > 0.05
    if defect in (DefectMode.HESITATION, DefectMode.SLIP_REGRASP):
        assert outcome.steps > reference.steps + 20


def test_expert_from_proprioception_alone(env) -> None:
    """The code path used against the real hand (no lid sensing): the lid is located from joint positions."""
    expert = UnscrewExpert(env, privileged=False)
    outcomes = [run_episode(env, expert, seed=2000 + seed) for seed in range(8)]
    assert sum(o.success for o in outcomes) >= 7, [(o.termination_reason, o.duration_s) for o in outcomes]


def test_expert_slides_a_released_lid_off_and_it_falls_when_the_hand_opens(env) -> None:
    expert = UnscrewExpert(env)
    outcome = run_episode(env, expert, seed=5)
    assert outcome.success
    simulation = env.unwrapped.simulation
    lift_at_release = simulation.lid_state().lift
    for k in range(200):  # 10 s at 20 Hz: eight strokes
        simulation.set_joint_targets(expert.lid_removal_target(k / 20))
        simulation.step_physics(0.05)
    assert simulation.lid_state().lift > lift_at_release + 0.015  # off the bottle's neck
    assert not simulation.bottle_dropped()
    simulation.set_joint_targets(home_pose())  # the hand opens: nothing holds the lid any more
    simulation.step_physics(1.0)
    data = simulation.data
    lid_in_bottle = data.xmat[simulation._bottle_body].reshape(3, 3).T @ (
        data.xpos[simulation._lid_body] - data.xpos[simulation._bottle_body])
    assert np.hypot(*lid_in_bottle[:2]) > 0.01  # off the bottle's axis: it came off the neck and dropped
    assert not simulation.bottle_dropped()


def test_proprioceptive_expert_finds_a_lid_placed_towards_the_ring_finger() -> None:
    """With the bottle 18 mm towards the ring finger a stroke plane at the nominal position passes beyond the
    lid's end; the thumb probe finds the end face there and the lid comes off."""
    environment = gym.make("AllegroUnscrew-sim", cameras=(), placement_y_m=(-0.018, -0.018))
    expert = UnscrewExpert(environment, privileged=False)
    outcomes = []
    for seed in range(2):
        outcomes.append(run_episode(environment, expert, seed=3000 + seed))
        assert expert.lid_y_estimate_m < LID_TARGET_Y_M - 0.01
    environment.close()
    assert all(o.success for o in outcomes), [(o.termination_reason, o.duration_s) for o in outcomes]


class _HandOnly(gym.Wrapper):
    """What the real hand's env offers a controller: observations and the control settings, no twin."""

    @property
    def unwrapped(self):
        return SimpleNamespace(config=self.env.unwrapped.config)


def test_proprioceptive_expert_reads_nothing_but_the_observations(env) -> None:
    """Driven through an env that exposes no simulation (as the real hand) and given no info, the expert makes
    the same actions as the proprioceptive expert on the twin: it reads nothing of the twin's state."""
    twin_expert = UnscrewExpert(env, privileged=False)
    hand_expert = UnscrewExpert(_HandOnly(env))
    observation, info = env.reset(seed=11)
    twin_expert.reset(11)
    hand_expert.reset(11)
    for _ in range(160):  # 8 s: the thumb probe, the lid touches and the first strokes
        action = twin_expert.act(observation, info)
        np.testing.assert_array_equal(hand_expert.act({k: v.copy() for k, v in observation.items()}, {}), action)
        observation, _, terminated, truncated, info = env.step(action)
        assert not (terminated or truncated)


def test_wrong_direction_defect_falls_on_the_gait_in_the_proprioceptive_mode(env) -> None:
    """The defect schedule runs on the clock less the time spent probing, so the wrong-way strokes happen."""
    turns: list[float] = []
    run_episode(env, UnscrewExpert(env, defect=DefectMode.WRONG_DIRECTION, privileged=False), seed=7,
                on_step=lambda step: turns.append(step.next_info["lid_turns"]))
    assert min(turns) < -0.05
    assert _unwound(turns) > 0.1
