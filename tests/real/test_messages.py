"""ROS 2 message structs: type names, field order, and a JointState from an independent DDS participant.

No ``from __future__ import annotations``: cyclonedds resolves the structs' annotations at run time.
"""

import threading
from dataclasses import dataclass, field, fields

import numpy as np
import pytest

pytest.importorskip("cyclonedds")

from cyclonedds.domain import DomainParticipant  # noqa: E402
from cyclonedds.idl import IdlStruct  # noqa: E402
from cyclonedds.idl.types import float64, int32, sequence, uint32  # noqa: E402
from cyclonedds.pub import DataWriter  # noqa: E402
from cyclonedds.topic import Topic  # noqa: E402

from dexsim.real import messages  # noqa: E402
from dexsim.real.config import HardwareConfig  # noqa: E402
from dexsim.real.transport import LatestMessage, QosSpec, open_transport  # noqa: E402
from dexsim.real.wire import read_joint_state  # noqa: E402


def test_type_names_and_field_order_follow_the_ros2_definitions() -> None:
    expected = {
        messages.Time: ("builtin_interfaces::msg::dds_::Time_", ["sec", "nanosec"]),
        messages.Header: ("std_msgs::msg::dds_::Header_", ["stamp", "frame_id"]),
        messages.JointState: (
            "sensor_msgs::msg::dds_::JointState_", ["header", "name", "position", "velocity", "effort"]
        ),
        messages.MultiArrayDimension: ("std_msgs::msg::dds_::MultiArrayDimension_", ["label", "size", "stride"]),
        messages.MultiArrayLayout: ("std_msgs::msg::dds_::MultiArrayLayout_", ["dim", "data_offset"]),
        messages.Float64MultiArray: ("std_msgs::msg::dds_::Float64MultiArray_", ["layout", "data"]),
        messages.Image: (
            "sensor_msgs::msg::dds_::Image_",
            ["header", "height", "width", "encoding", "is_bigendian", "step", "data"],
        ),
        messages.CompressedImage: ("sensor_msgs::msg::dds_::CompressedImage_", ["header", "format", "data"]),
        messages.String: ("std_msgs::msg::dds_::String_", ["data"]),
    }
    for struct, (type_name, names) in expected.items():
        assert struct.__idl_typename__ == type_name
        assert [f.name for f in fields(struct)] == names
    assert messages.ros_type_name(messages.JointState) == "sensor_msgs/msg/JointState"


def test_joint_state_cdr_bytes_match_a_hand_encoded_message() -> None:
    message = messages.JointState(
        header=messages.Header(stamp=messages.Time(sec=3, nanosec=7), frame_id="h"),
        name=["a"], position=[1.5], velocity=[], effort=[-0.25],
    )
    body = message.serialize()[4:]  # after the 4-byte encapsulation header
    expected = (
        np.array([3, 7], "<i4").tobytes() + np.array([2], "<u4").tobytes() + b"h\x00" + b"\x00\x00"
        + np.array([1, 2], "<u4").tobytes() + b"a\x00" + b"\x00\x00"
        + np.array([1], "<u4").tobytes() + np.array([1.5], "<f8").tobytes()
        + np.array([0, 1], "<u4").tobytes() + np.array([-0.25], "<f8").tobytes()
    )
    assert body == expected


# An independent definition, as any ROS 2-compatible DDS program would write it (not our structs).
@dataclass
class _Stamp(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    sec: int32
    nanosec: uint32


@dataclass
class _Head(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    stamp: _Stamp
    frame_id: str


@dataclass
class _ForeignJointState(IdlStruct, typename="sensor_msgs::msg::dds_::JointState_"):
    header: _Head
    name: sequence[str] = field(default_factory=list)
    position: sequence[float64] = field(default_factory=list)
    velocity: sequence[float64] = field(default_factory=list)
    effort: sequence[float64] = field(default_factory=list)


def test_joint_state_from_a_plain_cyclonedds_participant_is_read_by_name(domain_id: int) -> None:
    config = HardwareConfig(domain_id=domain_id)
    # Driver order: thumb first (ah_joint00..03), values = 0.01 * the Allegro index we expect them at.
    allegro_index = config.driver_to_allegro
    names = sorted(allegro_index)
    positions = [0.01 * allegro_index[name] for name in names]
    efforts = [-0.001 * allegro_index[name] for name in names]

    with open_transport("cyclonedds", domain_id) as transport:
        latest = LatestMessage()
        transport.subscribe("/joint_states", "sensor_msgs/JointState", QosSpec(), latest.store)
        participant = DomainParticipant(domain_id)
        writer = DataWriter(participant, Topic(participant, "rt/joint_states", _ForeignJointState))
        sample = _ForeignJointState(header=_Head(_Stamp(1, 2), "hand"), name=names, position=positions,
                                    velocity=[0.0] * 16, effort=efforts)
        got = threading.Event()
        for _ in range(50):  # until discovery has matched the writer and the reader
            writer.write(sample)
            if latest.wait_newer(0, 0.1):
                got.set()
                break
        assert got.is_set(), "no JointState arrived from the independent participant"
        message = latest.get()[0]
        assert message.header.frame_id == "hand" and message.header.stamp.sec == 1
        q, effort = read_joint_state(message, config)
    np.testing.assert_allclose(q, 0.01 * np.arange(16))
    np.testing.assert_allclose(effort, -0.001 * np.arange(16))
    assert q[12] == 0.12  # thumb_0 arrived first on the wire as ah_joint00
