"""Live teleoperation end to end: a Unity-side client (written from the protocol description) streams hands over
loopback into the ROS-TCP endpoint, and the loop drives the real twin; gestures record; tracking loss holds;
the mouse path runs headless."""

import time

import _human_hands as human
import gymnasium as gym
import numpy as np
import pytest
from _unity_client import HandStreamer

import dexsim  # noqa: F401  (registers the envs)
from dexsim.cli import main
from dexsim.data.store import DatasetStore
from dexsim.hand.kinematics import fingertip_positions
from dexsim.interface import OBS_JOINT_POSITIONS
from dexsim.real.safety import SafetyWrapper
from dexsim.teleop.gestures import GestureDetector
from dexsim.teleop.live import FingertipInput, HandInput, LiveConfig, LiveTeleop
from dexsim.teleop.rostcp import EndpointConfig, RosTcpEndpoint
from dexsim.teleop.viewer import TeleopDisplay

RIGHT, LEFT = "/quest/hand/right", "/quest/hand/left"


def sim_env(seconds=30.0):
    return SafetyWrapper(gym.make("AllegroUnscrew-sim", cameras=(), time_limit_s=seconds))


@pytest.fixture
def link():
    config = EndpointConfig(host="127.0.0.1", port=0, right_topic=RIGHT, left_topic=LEFT)
    with RosTcpEndpoint(config) as endpoint:
        streamer = HandStreamer(endpoint.port, RIGHT, LEFT, rate=90.0)
        yield endpoint, streamer
        streamer.close()


def right_array(local, rng):
    return human.unity_array(human.place(local, rng))


def left_array(local, rng):
    return human.unity_array(human.place(human.mirror(local), rng))


def test_streamed_hand_drives_the_twin_and_fingertips_follow(link):
    endpoint, streamer = link
    rng = np.random.default_rng(0)
    hand = human.random_hand(rng)
    streamer.right = right_array(human.open_hand(hand), rng)
    streamer.start()
    env = sim_env()
    steps = []

    def on_tick(tick, obs, info, recording):
        steps.append((tick, obs))
        if len(steps) == 20:  # the operator curls the fingers a little (clear of the bottle in the palm)
            streamer.right = right_array(human.fist(hand, 0.35), rng)

    teleop = LiveTeleop(env, HandInput(endpoint.hands), config=LiveConfig(max_steps=45))
    teleop.on_tick = on_tick
    summary = teleop.run()
    env.close()
    assert summary.steps == 45 and summary.rejected == 0
    for index in (19, 44):  # settled on the open hand, then on the curled one
        tick, obs = steps[index]
        assert not tick.lost and tick.target is not None
        reached = fingertip_positions(tick.target)  # where the IK put the fingertips
        measured = fingertip_positions(np.asarray(obs[OBS_JOINT_POSITIONS], dtype=np.float64))
        assert np.linalg.norm(measured - reached, axis=1).max() < 0.02  # PD steady state under gravity
    moved = fingertip_positions(steps[44][0].target) - fingertip_positions(steps[19][0].target)
    assert np.linalg.norm(moved[:3], axis=1).min() > 0.02  # the targets really changed
    assert summary.stats.summary()["total"][2] >= 20  # latency recorded for fresh frames


def test_a_left_fist_records_exactly_one_episode(link, tmp_path):
    from dexsim.data.recorder import Recorder

    endpoint, streamer = link
    rng = np.random.default_rng(1)
    hand, other = human.random_hand(rng), human.random_hand(rng)
    streamer.right = right_array(human.fist(hand, 0.3), rng)
    relaxed, fist = left_array(human.fist(other, 0.3), rng), left_array(human.fist(other, 1.0), rng)
    streamer.left = relaxed
    streamer.start()
    env = sim_env()
    recorder = Recorder.for_env(env, tmp_path / "ds")
    teleop = LiveTeleop(env, HandInput(endpoint.hands, gestures=GestureDetector()), recorder, LiveConfig(max_steps=60))
    script = {8: fist, 16: relaxed, 34: fist, 42: relaxed}  # step -> what the left hand does from then on
    count = [0]

    def on_tick(tick, obs, info, recording):
        count[0] += 1
        if count[0] in script:
            streamer.left = script[count[0]]

    teleop.on_tick = on_tick
    summary = teleop.run()
    env.close()
    assert summary.events == ["start", "stop"]
    store = DatasetStore.open(tmp_path / "ds")
    assert len(store.episode_ids()) == 1 and summary.episodes == store.episode_ids()


def test_tracking_loss_holds_the_hand(link):
    endpoint, streamer = link
    rng = np.random.default_rng(2)
    streamer.right = right_array(human.fist(human.random_hand(rng), 0.3), rng)  # clear of the bottle
    streamer.start()
    env = sim_env()
    record = []

    def on_tick(tick, obs, info, recording):
        record.append((tick.lost, teleop.last_command.copy(), obs[OBS_JOINT_POSITIONS].copy()))
        if len(record) == 25:
            streamer.right = None  # the headset loses the hand (only keep-alives from now on)

    teleop = LiveTeleop(env, HandInput(endpoint.hands, tracking_timeout_s=0.15), config=LiveConfig(max_steps=50))
    teleop.on_tick = on_tick
    summary = teleop.run()
    env.close()
    lost = [i for i, (flag, _, _) in enumerate(record) if flag]
    assert lost and lost[0] > 25 and lost == list(range(lost[0], 50))
    assert summary.held_steps >= len(lost)
    held_targets = np.array([targets for _, targets, _ in record[lost[0]:]])
    assert (held_targets == held_targets[0]).all()  # the last good target, every held step
    positions = np.array([q for _, _, q in record[lost[0] + 5:]])
    assert np.abs(positions - positions[0]).max() < 0.02  # the hand stays where it is


def test_mouse_teleop_runs_headless_through_the_viewer_markers():
    env = sim_env()
    display = TeleopDisplay(env.unwrapped.config, window=False, mouse=True)
    mouse = FingertipInput()
    teleop = LiveTeleop(env, mouse, config=LiveConfig(max_steps=30, pace=False))
    goal = None

    def on_tick(tick, obs, info, recording):
        nonlocal goal
        display.update(tick, obs, recording, env.unwrapped.simulation.data.qpos)
        if goal is None:  # first tick: markers sit on the fingertips; "drag" the index marker to a reachable
            display.place_targets(mouse.targets)  # point 2-3 cm away (the fingertip of a straighter index finger)
            q = np.asarray(obs[OBS_JOINT_POSITIONS], dtype=np.float64).copy()
            q[1:4] -= (0.3, 0.3, 0.2)
            goal = fingertip_positions(q)
            assert np.linalg.norm(goal[0] - mouse.targets[0]) > 0.02
            display.data.mocap_pos[display._mocap[0]] = display.hand_to_world(goal[0])
        mouse.set_targets(display.read_targets())

    teleop.on_tick = on_tick
    teleop.run()
    tips = fingertip_positions(np.asarray(env.unwrapped.simulation.joint_positions(), dtype=np.float64))
    env.close()
    np.testing.assert_allclose(display.read_targets()[0], goal[0], atol=1e-9)
    assert np.linalg.norm(tips[0] - goal[0]) < 0.01
    assert mouse.next_preset() == "pinch"


def test_cli_live_replay_headless_with_stats(tmp_path, capsys):
    stream = tmp_path / "s.handstream.jsonl"
    assert main(["teleop", "synth", str(stream), "--seconds", "2", "--rate", "90", "--motion", "pinch"]) == 0
    start = time.monotonic()
    assert main(["teleop", "live", "--source", "replay", "--stream", str(stream), "--no-viewer", "--steps", "30",
                 "--stats"]) == 0
    assert time.monotonic() - start < 20
    out = capsys.readouterr().out
    assert "live teleop: 30 steps" in out and "total" in out and "p99 ms" in out
    assert main(["teleop", "live", "--source", "replay", "--stream", str(tmp_path / "missing.jsonl")]) == 2
    assert "missing.jsonl" in capsys.readouterr().err


def test_loop_keeps_collection_and_thread_switches_off_the_command_path_and_restores_them():
    import gc
    import sys

    env = sim_env()
    switch_interval, seen, in_tick = sys.getswitchinterval(), [], []
    mouse = FingertipInput()
    tick = mouse.tick
    mouse.tick = lambda wait_s: (in_tick.append(sys.getswitchinterval()), tick(wait_s))[1]
    teleop = LiveTeleop(env, mouse, config=LiveConfig(max_steps=5, pace=False))
    teleop.on_tick = lambda tick, obs, info, recording: seen.append((gc.isenabled(), sys.getswitchinterval()))
    assert gc.isenabled()
    teleop.run()
    env.close()
    # While the input is read and retargeted: no forced thread switch; after env.step: Python's interval, no
    # automatic collection during the loop.
    assert in_tick == pytest.approx([0.05] * 5)
    assert seen == [(False, switch_interval)] * 5
    assert gc.isenabled() and gc.get_freeze_count() == 0 and sys.getswitchinterval() == switch_interval
    with pytest.raises(ValueError, match="critical_switch_interval_s"):
        LiveConfig(critical_switch_interval_s=0.0)
