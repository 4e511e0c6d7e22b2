"""Hand frames from ROS 2 topics, for labs that run Unity's official ROS-TCP-Endpoint node.

The official endpoint republishes the headset's messages on ROS 2 topics; :class:`Ros2HandSource` subscribes to
them through the real env's transports (:func:`dexsim.real.transport.open_transport`: rclpy where ROS 2 is
installed, else cyclonedds on the wire) and keeps the newest frame per hand in a
:class:`~dexsim.teleop.latest.LatestHands`, exactly as the built-in endpoint does. Supported types:
``std_msgs/Float32MultiArray`` (78 or 182 floats, Unity order and frame) and ``geometry_msgs/PoseArray`` (26
poses, Unity order and frame). For cyclonedds their IDL structs are defined here and registered with the
transport's type table at run time.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from dexsim.teleop.cdr import FLOAT32_MULTI_ARRAY, POSE_ARRAY
from dexsim.teleop.latest import LatestHands
from dexsim.teleop.skeleton import NUM_HAND_JOINTS, Handedness, parse_hand_array

__all__ = ["Ros2HandSource", "register_hand_message_types", "frame_from_ros_message"]

log = logging.getLogger(__name__)


def register_hand_message_types() -> None:
    """Make ``std_msgs/Float32MultiArray`` and ``geometry_msgs/PoseArray`` known to the cyclonedds transport."""
    from dexsim.real import messages
    from dexsim.teleop import _idl

    messages.MESSAGE_TYPES.setdefault(FLOAT32_MULTI_ARRAY, _idl.Float32MultiArray)
    messages.MESSAGE_TYPES.setdefault(POSE_ARRAY, _idl.PoseArray)


def frame_from_ros_message(message: Any, message_name: str, handedness: Handedness, timestamp: float) -> Any:
    """A :class:`~dexsim.teleop.skeleton.HandFrame` from a received ROS message object (rclpy or cyclonedds).

    Raises:
        ValueError: Wrong number of floats or poses.
    """
    if message_name == FLOAT32_MULTI_ARRAY:
        return parse_hand_array(np.asarray(message.data, dtype=np.float64), handedness, timestamp)
    poses = list(message.poses)
    if len(poses) != NUM_HAND_JOINTS:
        raise ValueError(f"{POSE_ARRAY}: hand needs 26 poses, got {len(poses)}")
    values = [[p.position.x, p.position.y, p.position.z, p.orientation.x, p.orientation.y, p.orientation.z,
               p.orientation.w] for p in poses]
    return parse_hand_array(np.asarray(values, dtype=np.float64), handedness, timestamp)


class Ros2HandSource:
    """Subscribes to the two hand topics and fills :attr:`hands`.

    Args:
        right_topic: Topic of the right hand.
        left_topic: Topic of the left hand.
        message_name: ``std_msgs/Float32MultiArray`` or ``geometry_msgs/PoseArray``.
        transport: ``"auto"``, ``"rclpy"`` or ``"cyclonedds"``, or an open transport object.
        domain_id: DDS domain.
    """

    def __init__(
        self,
        right_topic: str = "/dexsim/hand/right",
        left_topic: str = "/dexsim/hand/left",
        message_name: str = FLOAT32_MULTI_ARRAY,
        transport: Any = "auto",
        domain_id: int = 0,
    ) -> None:
        from dexsim.real.transport import QosSpec, open_transport

        if message_name not in (FLOAT32_MULTI_ARRAY, POSE_ARRAY):
            raise ValueError(f"hand message type must be {FLOAT32_MULTI_ARRAY} or {POSE_ARRAY}, got {message_name!r}")
        self.hands = LatestHands()
        self.message_name = message_name
        self.rejected = 0
        if isinstance(transport, str):
            if transport in ("auto", "cyclonedds"):
                try:
                    register_hand_message_types()
                except ImportError:
                    pass
            transport = open_transport(transport, domain_id)
            self._owned = True
        else:
            self._owned = False
        self.transport = transport
        qos = QosSpec(reliability="best_effort", depth=1)
        for topic, hand in ((right_topic, "right"), (left_topic, "left")):
            transport.subscribe(topic, message_name, qos, self._callback(hand))

    def _callback(self, hand: Handedness) -> Any:
        def store(message: Any) -> None:
            received = time.perf_counter()
            try:
                frame = frame_from_ros_message(message, self.message_name, hand, received)
            except ValueError as exc:
                self.rejected += 1
                log.warning("dropped a %s hand message: %s", hand, exc)
                return
            self.hands.store(frame, received)

        return store

    def close(self) -> None:
        """Close the transport if this source opened it."""
        if self._owned:
            self.transport.close()
