"""Joint vectors to and from driver messages, mapped by name."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cyclonedds")

from dexsim.real.config import HardwareConfig, load_hardware_config  # noqa: E402
from dexsim.real.messages import Float64MultiArray, JointState  # noqa: E402
from dexsim.real.wire import fill_command, fill_joint_state, read_command, read_joint_state  # noqa: E402

TARGETS = np.linspace(0.0, 1.5, 16)


def test_float64_commands_are_in_the_controller_s_joint_order() -> None:
    config = HardwareConfig()
    message = fill_command(Float64MultiArray(), config, TARGETS)
    assert message.data[:4] == pytest.approx(TARGETS[12:16])  # thumb first on the wire
    assert message.data[4:8] == pytest.approx(TARGETS[0:4])
    np.testing.assert_allclose(read_command(Float64MultiArray.deserialize(message.serialize()), config), TARGETS)


def test_joint_state_commands_carry_names() -> None:
    config = load_hardware_config("classic")
    message = fill_command(JointState(), config, TARGETS)
    assert message.name[0] == "joint_0.0" and message.header.stamp.sec > 0
    np.testing.assert_allclose(read_command(message, config), TARGETS)


def test_joint_states_in_any_order_with_extra_joints() -> None:
    config = HardwareConfig()
    message = fill_joint_state(JointState(), config, TARGETS, efforts=-TARGETS)
    message.name = [*reversed(message.name), "wrist"]
    message.position = [*reversed(message.position), 9.0]
    message.effort = [*reversed(message.effort), 9.0]
    q, effort = read_joint_state(message, config)
    np.testing.assert_allclose(q, TARGETS)
    np.testing.assert_allclose(effort, -TARGETS)
    message.effort = []
    assert not read_joint_state(message, config)[1].any()


def test_malformed_messages_are_refused() -> None:
    config = HardwareConfig()
    message = fill_joint_state(JointState(), config, TARGETS)
    message.name = message.name[1:]
    message.position = message.position[1:]
    with pytest.raises(ValueError, match="lacks joints"):
        read_joint_state(message, config)
    message.position = message.position[1:]
    with pytest.raises(ValueError, match="15 names"):
        read_joint_state(message, config)
    with pytest.raises(ValueError, match="3 values"):
        read_command(Float64MultiArray(data=[0.0, 1.0, 2.0]), config)
    with pytest.raises(ValueError, match="non-finite"):
        read_command(Float64MultiArray(data=[float("nan")] * 16), config)
