"""A minimal publish/subscribe interface over ROS 2 topics, with two implementations.

* ``"cyclonedds"`` (:mod:`dexsim.real.cyclone`): plain DDS from PyPI (``pip install 'dexsim[real]'``), speaking
  the ROS 2 wire format (topic ``rt/<name>``, type ``pkg::msg::dds_::Name_``); no ROS installation needed.
* ``"rclpy"`` (:mod:`dexsim.real.ros`): a ROS 2 node, used when ROS 2 is installed and sourced.

Messages are whatever the transport's native class is (:meth:`Transport.message` makes one); both kinds have
the ROS field names as attributes (``msg.header.stamp.sec``, ``msg.position``...), so code using them does not
care which transport carries them. Topic names are ROS names (``/joint_states``).
"""

from __future__ import annotations

import importlib.util
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

__all__ = [
    "TRANSPORT_KINDS",
    "QosSpec",
    "Publisher",
    "Transport",
    "LatestMessage",
    "available_transports",
    "open_transport",
    "MissingTransportError",
]

TRANSPORT_KINDS: Final = ("rclpy", "cyclonedds")
"""Known transports, in the order ``"auto"`` tries them."""

INSTALL_HINT: Final = (
    "AllegroUnscrew-real needs a ROS 2 transport: install cyclonedds with `pip install 'dexsim[real]'` "
    "(no ROS needed), or source a ROS 2 installation (e.g. `source /opt/ros/jazzy/setup.bash`) for rclpy"
)


class MissingTransportError(ImportError):
    """Neither rclpy nor cyclonedds can be imported (the message says what to install)."""


@dataclass(frozen=True)
class QosSpec:
    """Quality of service of one topic.

    Attributes:
        reliability: ``"reliable"`` or ``"best_effort"`` (a best-effort reader matches either kind of writer).
        depth: History depth (keep-last), messages.
        durability: ``"volatile"`` or ``"transient_local"``.
    """

    reliability: str = "reliable"
    depth: int = 10
    durability: str = "volatile"

    def __post_init__(self) -> None:
        if self.reliability not in ("reliable", "best_effort"):
            raise ValueError(f"qos reliability must be 'reliable' or 'best_effort', got {self.reliability!r}")
        if self.durability not in ("volatile", "transient_local"):
            raise ValueError(f"qos durability must be 'volatile' or 'transient_local', got {self.durability!r}")
        if not 1 <= int(self.depth) <= 1000:
            raise ValueError(f"qos depth must be in [1, 1000], got {self.depth}")


class Publisher(Protocol):
    """Sends messages on one topic."""

    def publish(self, message: Any) -> None: ...


def matched_subscribers(publisher: Any) -> int | None:
    """How many subscriptions on other participants this publisher has discovered; ``None`` if unknown."""
    for name in ("subscriber_count", "get_subscription_count"):  # ours (cyclonedds), rclpy's
        method = getattr(publisher, name, None)
        if callable(method):
            return int(method())
    return None


class Transport(ABC):
    """A participant on one DDS domain that publishes and subscribes to ROS 2 topics."""

    kind: str = ""

    @abstractmethod
    def message(self, type_name: str) -> Any:
        """A new, empty message of ROS type ``type_name`` (``"sensor_msgs/JointState"``)."""

    @abstractmethod
    def publisher(self, topic: str, type_name: str, qos: QosSpec) -> Publisher:
        """A publisher on ROS topic ``topic`` (e.g. ``"/joint_states"``)."""

    @abstractmethod
    def subscribe(self, topic: str, type_name: str, qos: QosSpec, callback: Callable[[Any], None]) -> None:
        """Call ``callback(message)`` (from a transport thread) for every message received on ``topic``."""

    @abstractmethod
    def close(self) -> None:
        """Leave the domain; publishers and subscriptions stop working."""

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LatestMessage:
    """Thread-safe holder of the newest message on a topic and when it arrived (monotonic s).

    Use its :meth:`store` as a subscription callback.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._message: Any = None
        self._received_at = float("-inf")
        self._count = 0

    def store(self, message: Any) -> None:
        """Keep ``message`` as the newest one (a subscription callback)."""
        with self._lock:
            self._message = message
            self._received_at = time.monotonic()
            self._count += 1
            self._lock.notify_all()

    def get(self) -> tuple[Any, float, int]:
        """``(message, received_at, count)``: newest message (``None`` if none yet), its arrival, total so far."""
        with self._lock:
            return self._message, self._received_at, self._count

    def wait_newer(self, count: int, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for more than ``count`` messages in total; whether they came."""
        with self._lock:
            return self._lock.wait_for(lambda: self._count > count, timeout=max(0.0, timeout_s))

    def age(self) -> float:
        """Seconds since the newest message arrived (``inf`` if none has)."""
        with self._lock:
            return time.monotonic() - self._received_at


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def available_transports() -> list[str]:
    """The transports whose Python package can be imported here, in preference order."""
    return [kind for kind in TRANSPORT_KINDS if _importable(kind)]


def open_transport(kind: str = "auto", domain_id: int = 0) -> Transport:
    """Join DDS domain ``domain_id`` with transport ``kind`` (``"auto"``, ``"rclpy"`` or ``"cyclonedds"``).

    Raises:
        MissingTransportError: the requested transport (or, for ``"auto"``, any) is not installed.
        ValueError: unknown ``kind`` or a domain id outside 0-232.
    """
    if kind not in ("auto", *TRANSPORT_KINDS):
        raise ValueError(f"transport must be 'auto', 'rclpy' or 'cyclonedds', got {kind!r}")
    if not 0 <= int(domain_id) <= 232:
        raise ValueError(f"DDS domain id must be in [0, 232], got {domain_id}")
    available = available_transports()
    if kind == "auto":
        if not available:
            raise MissingTransportError(INSTALL_HINT)
        kind = available[0]
    elif kind not in available:
        raise MissingTransportError(f"transport {kind!r} is not installed. {INSTALL_HINT}")
    if kind == "rclpy":
        from dexsim.real.ros import RclpyTransport

        return RclpyTransport(domain_id)
    from dexsim.real.cyclone import CycloneTransport

    return CycloneTransport(domain_id)
