"""The retargeting controller drives the real twin through the shared episode loop."""

import gymnasium as gym
import numpy as np
import pytest

import dexsim  # noqa: F401  (registers the envs)
from dexsim.interface import INFO_JOINT_TARGETS, OBS_JOINT_POSITIONS, Controller, action_to_target
from dexsim.rollout import run_episode
from dexsim.teleop.controller import ReplaySource, RetargetingController
from dexsim.teleop.gestures import GestureEvent
from dexsim.teleop.skeleton import HandFrame
from dexsim.teleop.stream import StreamSample
from dexsim.teleop.synthetic import gesture_stream, synthetic_stream


def _samples(rate=60.0, seconds=2.0):
    right = synthetic_stream("open_close", seconds, rate, seed=4, noise=0.0005)
    left = gesture_stream([("relaxed", 0.4), ("fist", 0.5), ("relaxed", 1.2)], rate)
    return [StreamSample(r.timestamp, r, left[min(i, len(left) - 1)]) for i, r in enumerate(right)]


def test_replay_source_follows_control_time():
    samples = _samples(rate=60.0, seconds=1.0)
    source = ReplaySource(samples)
    assert source.poll(0.05) is samples[0]
    assert source.poll(0.05) is samples[3]  # 50 ms later at 60 Hz
    source.reset()
    assert source.poll(0.05) is samples[0]
    looping = ReplaySource(samples, loop=True)
    polled = [looping.poll(0.05) for _ in range(25)]  # 1.2 s over a 1 s stream
    assert polled[20] is samples[0] and polled[21] is samples[3] and not looping.finished
    assert ReplaySource(samples).finished is False
    with pytest.raises(ValueError, match="non-decreasing"):
        ReplaySource(samples[::-1])


def test_controller_drives_the_twin_with_contract_actions():
    env = gym.make("AllegroUnscrew-sim", cameras=(), time_limit_s=2.0)
    events = []
    controller = RetargetingController(ReplaySource(_samples()), control=env.unwrapped.config, on_event=events.append)
    assert isinstance(controller, Controller)
    steps = []

    def check(transition):
        measured = transition.observation[OBS_JOINT_POSITIONS]
        target = controller.last_result.joint_targets
        expected = np.clip(target - measured, -0.8, 0.8).astype(np.float32)
        np.testing.assert_allclose(transition.action, expected, atol=1e-6)
        np.testing.assert_allclose(
            transition.next_info[INFO_JOINT_TARGETS], action_to_target(transition.action, measured, 0.8), atol=1e-5
        )
        steps.append(transition)

    outcome = run_episode(env, controller, seed=0, max_steps=30, on_step=check)
    env.close()
    assert outcome.steps == 30 and len(steps) == 30
    assert events == [GestureEvent.START]
    assert controller.rejections == []
    # The hand closes as the operator's hand does: targets of the middle finger flex over the first second.
    flexion = [t.next_info[INFO_JOINT_TARGETS][5:8].sum() for t in steps]
    assert flexion[19] > flexion[0] + 1.0


def test_rejected_frames_hold_the_last_target():
    good = synthetic_stream("pinch", 0.1, 30)[0]
    broken = good.positions.copy()
    broken[10] = np.nan
    samples = [StreamSample(0.0, good), StreamSample(0.05, HandFrame(broken, 0.05))]
    controller = RetargetingController(ReplaySource(samples), use_gestures=False)
    controller.reset()
    obs = {OBS_JOINT_POSITIONS: np.zeros(16, dtype=np.float32)}
    first = controller.act(obs)
    second = controller.act(obs)
    np.testing.assert_array_equal(first, second)
    assert controller.rejections and "index_tip" in controller.rejections[0][0]
