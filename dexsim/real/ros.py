"""The ``rclpy`` transport: a ROS 2 node, used where ROS 2 is installed and sourced.

Messages are the ROS packages' own classes (``sensor_msgs.msg.JointState``...), which have the same field names
as :mod:`dexsim.real.messages`. Callbacks run on a background executor thread.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import DurabilityPolicy, HistoryPolicy, QoSProfile, ReliabilityPolicy

from dexsim.real.transport import QosSpec, Transport

__all__ = ["RclpyTransport"]


def _message_class(type_name: str) -> type[Any]:
    package, _, name = type_name.partition("/")
    if not package or not name:
        raise ValueError(f"message type must look like 'pkg/Name', got {type_name!r}")
    try:
        return getattr(importlib.import_module(f"{package}.msg"), name)
    except (ImportError, AttributeError):
        raise ValueError(f"message type {type_name!r} is not available in this ROS 2 installation") from None


def _qos_profile(qos: QosSpec) -> QoSProfile:
    return QoSProfile(
        history=HistoryPolicy.KEEP_LAST,
        depth=int(qos.depth),
        reliability=ReliabilityPolicy.RELIABLE if qos.reliability == "reliable" else ReliabilityPolicy.BEST_EFFORT,
        durability=(
            DurabilityPolicy.TRANSIENT_LOCAL if qos.durability == "transient_local" else DurabilityPolicy.VOLATILE
        ),
    )


class RclpyTransport(Transport):
    """A ROS 2 node ``dexsim_<n>`` in its own context on ``domain_id``, spun on a daemon thread."""

    kind = "rclpy"
    _count = 0

    def __init__(self, domain_id: int = 0) -> None:
        RclpyTransport._count += 1
        self._context = rclpy.Context()
        rclpy.init(context=self._context, domain_id=int(domain_id))
        self._node = rclpy.create_node(f"dexsim_{RclpyTransport._count}", context=self._context)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        self._thread = threading.Thread(target=self._executor.spin, name="dexsim-rclpy", daemon=True)
        self._thread.start()

    def message(self, type_name: str) -> Any:
        return _message_class(type_name)()

    def publisher(self, topic: str, type_name: str, qos: QosSpec) -> Any:
        return self._node.create_publisher(_message_class(type_name), topic, _qos_profile(qos))

    def subscribe(self, topic: str, type_name: str, qos: QosSpec, callback: Callable[[Any], None]) -> None:
        self._node.create_subscription(_message_class(type_name), topic, callback, _qos_profile(qos))

    def close(self) -> None:
        """Stop spinning, destroy the node and shut its context down."""
        if self._context.ok():
            self._executor.shutdown(timeout_sec=1.0)
            self._node.destroy_node()
            rclpy.shutdown(context=self._context)
        self._thread.join(timeout=1.0)
