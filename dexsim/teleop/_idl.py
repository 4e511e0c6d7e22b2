# mypy: disable-error-code="type-arg,assignment"
"""IDL structs (cyclonedds) of the two hand messages, written from the ROS 2 interface definitions.

``std_msgs/Float32MultiArray`` and ``geometry_msgs/PoseArray`` (with ``Pose``, ``Point``, ``Quaternion``); field
order follows the ``.msg`` files. No ``from __future__ import annotations``: cyclonedds reads the annotations at
run time. Imported only by :func:`dexsim.teleop.ros2_source.register_hand_message_types`.
"""

from dataclasses import dataclass, field

from cyclonedds.idl import IdlStruct
from cyclonedds.idl.types import float32, float64, sequence

from dexsim.real.messages import Header, MultiArrayLayout

__all__ = ["Float32MultiArray", "Point", "Quaternion", "Pose", "PoseArray"]


@dataclass
class Float32MultiArray(IdlStruct, typename="std_msgs::msg::dds_::Float32MultiArray_"):
    """``std_msgs/Float32MultiArray``."""

    layout: MultiArrayLayout = field(default_factory=MultiArrayLayout)
    data: sequence[float32] = field(default_factory=list)


@dataclass
class Point(IdlStruct, typename="geometry_msgs::msg::dds_::Point_"):
    """``geometry_msgs/Point``, m."""

    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0


@dataclass
class Quaternion(IdlStruct, typename="geometry_msgs::msg::dds_::Quaternion_"):
    """``geometry_msgs/Quaternion`` (x, y, z, w)."""

    x: float64 = 0.0
    y: float64 = 0.0
    z: float64 = 0.0
    w: float64 = 1.0


@dataclass
class Pose(IdlStruct, typename="geometry_msgs::msg::dds_::Pose_"):
    """``geometry_msgs/Pose``."""

    position: Point = field(default_factory=Point)
    orientation: Quaternion = field(default_factory=Quaternion)


@dataclass
class PoseArray(IdlStruct, typename="geometry_msgs::msg::dds_::PoseArray_"):
    """``geometry_msgs/PoseArray``."""

    header: Header = field(default_factory=Header)
    poses: sequence[Pose] = field(default_factory=list)
