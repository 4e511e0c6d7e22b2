"""``dexsim twin`` in its own process, seen by plain DDS readers as the hand would be."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

pytest.importorskip("cyclonedds")

from dexsim.interface import OBS_WRIST_IMAGE, ControlConfig  # noqa: E402
from dexsim.real.config import HARDWARE_DIR, load_hardware_config  # noqa: E402
from dexsim.real.env import AllegroUnscrewRealEnv  # noqa: E402
from dexsim.real.transport import LatestMessage, QosSpec, open_transport  # noqa: E402
from dexsim.real.wire import fill_command, read_joint_state  # noqa: E402

from .twin_process import twin_process  # noqa: E402


def test_the_twin_serves_states_cameras_and_obeys_commands(domain_id: int, tmp_path: Path) -> None:
    profile = yaml.safe_load((HARDWARE_DIR / "allegro_ros2.yaml").read_text())
    profile["cameras"]["wrist"] = {"topic": "/wrist_camera/image_raw/compressed", "type": "sensor_msgs/CompressedImage"}
    path = tmp_path / "compressed_wrist.yaml"
    path.write_text(yaml.safe_dump(profile))
    hardware = load_hardware_config(path, domain_id=domain_id, transport="cyclonedds", ready_timeout_s=30.0)

    with twin_process(domain_id, "--hardware", str(path)) as process, open_transport("cyclonedds", domain_id) as bus:
        states: list[float] = []
        latest_state, top = LatestMessage(), LatestMessage()
        bus.subscribe("/joint_states", "sensor_msgs/JointState", QosSpec(),
                      lambda m: (states.append(time.monotonic()), latest_state.store(m)))
        bus.subscribe("/top_camera/image_raw", "sensor_msgs/Image", QosSpec("best_effort", 2), top.store)
        assert latest_state.wait_newer(0, 30.0), "the twin published no joint state"
        message = latest_state.get()[0]
        assert sorted(message.name) == sorted(hardware.joint_names.values())
        assert len(message.velocity) == len(message.effort) == 16
        count = len(states)
        time.sleep(1.0)
        rate = len(states) - count
        assert 60 <= rate <= 130, f"{rate} joint states/s (100 Hz expected)"
        image = top.get()[0]
        assert (image.height, image.width, image.encoding) == (96, 96, "rgb8")

        # Plain command on the controller topic: middle_1 (ah_joint21) to 1.2 rad.
        q0 = read_joint_state(latest_state.get()[0], hardware)[0]
        target = q0.copy()
        target[5] = 1.2
        publisher = bus.publisher(hardware.command_topic, hardware.command_type, QosSpec())
        for _ in range(50):
            publisher.publish(fill_command(bus.message(hardware.command_type), hardware, target))
            time.sleep(0.02)
        q1 = read_joint_state(latest_state.get()[0], hardware)[0]
        assert q1[5] - q0[5] > 0.2, (q0[5], q1[5])

        env = AllegroUnscrewRealEnv(ControlConfig(image_size=64), hardware)
        try:
            obs, _ = env.reset()
            obs, *_ = env.step(np.zeros(16, np.float32))
            assert obs[OBS_WRIST_IMAGE].shape == (64, 64, 3) and obs[OBS_WRIST_IMAGE].std() > 1.0
        finally:
            env.close()

        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=10)
        assert process.returncode == 0, output
        assert "twin stopped" in output and "commands rejected: 0" in output
