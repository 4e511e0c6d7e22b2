"""Hand frames from ROS 2 topics through the real env's cyclonedds transport (real DDS on loopback), and the live loop
on AllegroUnscrew-real against the twin."""

import os
import time

import _human_hands as human
import numpy as np
import pytest

pytest.importorskip("cyclonedds")

from dexsim.real.loopback import loopback_uri  # noqa: E402
from dexsim.real.transport import QosSpec, open_transport  # noqa: E402
from dexsim.teleop.ros2_source import Ros2HandSource  # noqa: E402

os.environ.setdefault("CYCLONEDDS_URI", loopback_uri(f"dexsim-teleop-{os.getpid()}-{os.urandom(4).hex()}"))
DOMAIN = 200 + os.getpid() % 30
RIGHT, LEFT = "/test_teleop/hand/right", "/test_teleop/hand/left"


def _wait(predicate, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("message_name", ["std_msgs/Float32MultiArray", "geometry_msgs/PoseArray"])
def test_hand_topics_over_dds(message_name):
    rng = np.random.default_rng(0)
    world = human.place(human.open_hand(human.random_hand(rng)), rng)
    unity = human.unity_array(world).astype(np.float64)
    source = Ros2HandSource(RIGHT, LEFT, message_name, transport="cyclonedds", domain_id=DOMAIN)
    publisher_side = open_transport("cyclonedds", DOMAIN)
    try:
        publisher = publisher_side.publisher(RIGHT, message_name, QosSpec(reliability="reliable", depth=1))
        message = publisher_side.message(message_name)
        if message_name == "std_msgs/Float32MultiArray":
            message.data = unity.tolist()
        else:
            from dexsim.teleop._idl import Point, Pose, Quaternion

            rows = unity.reshape(26, 3)
            message.poses = [Pose(Point(*row), Quaternion(0.0, 0.0, 0.0, 1.0)) for row in rows]
        assert _wait(lambda: (publisher.publish(message), source.hands.latest("right") is not None)[1])
        np.testing.assert_allclose(source.hands.latest("right").frame.positions, world, atol=1e-5)
    finally:
        source.close()
        publisher_side.close()


def test_live_loop_drives_the_real_env_against_the_twin():
    """``AllegroUnscrew-real`` (the ROS 2 env, safety layer inside) behind the same live loop, against the twin."""
    from dexsim.interface import ControlConfig
    from dexsim.real.config import load_hardware_config
    from dexsim.real.env import AllegroUnscrewRealEnv
    from dexsim.real.loopback import twin_subprocess
    from dexsim.teleop.latest import LatestHands
    from dexsim.teleop.live import HandInput, LiveConfig, LiveTeleop, ReplayFeeder
    from dexsim.teleop.stream import StreamSample
    from dexsim.teleop.synthetic import synthetic_stream

    domain = DOMAIN + 1
    hardware = load_hardware_config(None, domain_id=domain, transport="cyclonedds", ready_timeout_s=30.0)
    hands = LatestHands()
    frames = synthetic_stream("open_close", 10.0, 60.0, seed=1)
    feeder = ReplayFeeder([StreamSample(f.timestamp, f) for f in frames], hands)
    with twin_subprocess(domain, "--image-size", "48"):
        env = AllegroUnscrewRealEnv(ControlConfig(cameras=(), time_limit_s=5.0), hardware)
        try:
            teleop = LiveTeleop(env, HandInput(hands), config=LiveConfig(max_steps=20, pace=False))
            commands = []
            teleop.on_tick = lambda tick, obs, info, recording: commands.append(teleop.last_command.copy())
            feeder.start()
            summary = teleop.run()
        finally:
            feeder.stop()
            env.close()
    assert summary.steps == 20 and summary.rejected == 0
    assert summary.held_steps < 20 and summary.stats.summary()["total"][2] > 5
    assert np.ptp(np.array(commands)[:, 5:8].sum(axis=1)) > 0.1  # the hand closes as the operator's does
