# mypy: disable-error-code="type-arg,assignment"
# (cyclonedds' ``sequence[...]`` annotations are run-time type descriptions that mypy cannot read)
"""ROS 2 message types as cyclonedds IDL structs, written from the ROS 2 interface definitions.

A ROS 2 message ``pkg/msg/Name`` travels over DDS as the type ``pkg::msg::dds_::Name_``; fields keep the order
of the ``.msg`` file, which is what makes the CDR bytes identical to those of a ROS 2 node. Only the types the
hand needs are defined (no ``from __future__ import annotations`` here: cyclonedds reads the
annotations at run time). This module imports ``cyclonedds``: import it only behind :mod:`dexsim.real.transport`'s
availability check.
"""

import time
from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import float64, int32, sequence, uint8, uint32

__all__ = [
    "Time",
    "Header",
    "JointState",
    "MultiArrayDimension",
    "MultiArrayLayout",
    "Float64MultiArray",
    "Image",
    "CompressedImage",
    "String",
    "MESSAGE_TYPES",
    "ros_type_name",
    "stamp_now",
]


@dataclass
class Time(IdlStruct, typename="builtin_interfaces::msg::dds_::Time_"):
    """``builtin_interfaces/Time``: seconds and nanoseconds since the epoch."""

    sec: int32 = 0
    nanosec: uint32 = 0


@dataclass
class Header(IdlStruct, typename="std_msgs::msg::dds_::Header_"):
    """``std_msgs/Header``: time stamp and coordinate frame."""

    stamp: Time = field(default_factory=Time)
    frame_id: str = ""


@dataclass
class JointState(IdlStruct, typename="sensor_msgs::msg::dds_::JointState_"):
    """``sensor_msgs/JointState``: positions in rad, velocities in rad/s, efforts in N m, matched by name."""

    header: Header = field(default_factory=Header)
    name: sequence[str] = field(default_factory=list)
    position: sequence[float64] = field(default_factory=list)
    velocity: sequence[float64] = field(default_factory=list)
    effort: sequence[float64] = field(default_factory=list)


@dataclass
class MultiArrayDimension(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayDimension_"):
    """``std_msgs/MultiArrayDimension``."""

    label: str = ""
    size: uint32 = 0
    stride: uint32 = 0


@dataclass
class MultiArrayLayout(IdlStruct, typename="std_msgs::msg::dds_::MultiArrayLayout_"):
    """``std_msgs/MultiArrayLayout``."""

    dim: sequence[MultiArrayDimension] = field(default_factory=list)
    data_offset: uint32 = 0


@dataclass
class Float64MultiArray(IdlStruct, typename="std_msgs::msg::dds_::Float64MultiArray_"):
    """``std_msgs/Float64MultiArray``: what a ros2_control ForwardCommandController listens to."""

    layout: MultiArrayLayout = field(default_factory=MultiArrayLayout)
    data: sequence[float64] = field(default_factory=list)


@dataclass
class Image(IdlStruct, typename="sensor_msgs::msg::dds_::Image_"):
    """``sensor_msgs/Image``: uncompressed pixels, ``step`` bytes per row."""

    header: Header = field(default_factory=Header)
    height: uint32 = 0
    width: uint32 = 0
    encoding: str = ""
    is_bigendian: uint8 = 0
    step: uint32 = 0
    data: sequence[uint8] = field(default_factory=list)


@dataclass
class CompressedImage(IdlStruct, typename="sensor_msgs::msg::dds_::CompressedImage_"):
    """``sensor_msgs/CompressedImage``: ``format`` is e.g. ``"jpeg"`` or ``"rgb8; png compressed bgr8"``."""

    header: Header = field(default_factory=Header)
    format: str = ""
    data: sequence[uint8] = field(default_factory=list)


@dataclass
class String(IdlStruct, typename="std_msgs::msg::dds_::String_"):
    """``std_msgs/String``: operator and episode events."""

    data: str = ""


MESSAGE_TYPES: dict[str, type[IdlStruct]] = {
    "sensor_msgs/JointState": JointState,
    "std_msgs/Float64MultiArray": Float64MultiArray,
    "sensor_msgs/Image": Image,
    "sensor_msgs/CompressedImage": CompressedImage,
    "std_msgs/String": String,
}
"""ROS 2 type name (``pkg/Name``) -> IDL struct."""


def ros_type_name(message_type: type[IdlStruct]) -> str:
    """``pkg/msg/Name`` for a struct whose DDS type name is ``pkg::msg::dds_::Name_``."""
    package, _, rest = message_type.__idl_typename__.partition("::msg::dds_::")
    return f"{package}/msg/{rest.rstrip('_')}"


def stamp_now() -> Time:
    """The current wall-clock time as a ROS ``Time``."""
    ns = time.time_ns()
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)
