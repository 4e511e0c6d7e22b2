"""A ROS-TCP endpoint for Unity's ROS-TCP-Connector that turns a Quest 3 app's hand messages into hand frames.

No ROS installation is needed: this module speaks the connector's wire protocol itself (as of the
Unity-Technologies ROS-TCP-Endpoint v0.7.0 it pairs with). Unity is the TCP client (default port 10000); on
one persistent socket every frame, both ways, is::

    uint32 LE len(destination) | destination (UTF-8) | uint32 LE len(payload) | payload

* On connect the endpoint sends ``__handshake`` with ``{"version": "v0.7.0", "metadata": "{\\"protocol\\":
  \\"ROS2\\"}"}`` (Unity needs the ``v0.7.`` prefix); payloads are then ROS 2 CDR.
* An empty destination is a keep-alive (Unity sends one after 1 s of silence and gives up after 2 s); the endpoint
  sends one after ``keepalive_s`` without sending anything.
* Destinations starting with ``__`` are system commands with a JSON payload (Unity appends a NUL in ROS 2 mode):
  ``__publish {topic, message_name, ...}`` announces a topic Unity will publish, ``__subscribe`` one it wants,
  ``__topic_list`` asks for the topics (answered with ``{"topics": [...], "types": [...]}``), ``__ros_service`` /
  ``__unity_service`` register services, ``__request`` / ``__response`` precede a service body (this endpoint
  offers no services: it answers ``__error`` and skips the body), ``__log`` / ``__warn`` / ``__error`` carry text.
* Any other destination is a topic; its payload is the message.

The hand topics (one per hand, names configurable) carry ``std_msgs/Float32MultiArray`` (78 or 182 floats in
Unity's joint order and frame, what :func:`~dexsim.teleop.skeleton.parse_hand_array` takes) or
``geometry_msgs/PoseArray`` (26 poses, Unity's joint order and frame). Only the newest frame per hand is kept.
A malformed, oversized or unknown frame closes *that* connection with a log line; the server keeps serving the
others. The server binds to a configured address, caps frame sizes, and can restrict clients to an allow-list.
It runs its asyncio loop in a background thread (:meth:`RosTcpEndpoint.start`), so a synchronous control loop
reads :meth:`RosTcpEndpoint.latest` without blocking.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from dexsim.teleop.cdr import (
    FLOAT32_MULTI_ARRAY,
    POSE_ARRAY,
    decode_float32_multiarray,
    decode_pose_array,
)
from dexsim.teleop.latest import LatestHands, ReceivedFrame
from dexsim.teleop.skeleton import NUM_HAND_JOINTS, Handedness, HandFrame, parse_hand_array

__all__ = [
    "ENDPOINT_VERSION",
    "HAND_MESSAGE_TYPES",
    "EndpointConfig",
    "RosTcpEndpoint",
    "ProtocolError",
    "encode_frame",
    "hand_frame_from_message",
    "parse_allow_list",
]

log = logging.getLogger(__name__)

ENDPOINT_VERSION: Final = "v0.7.0"
HAND_MESSAGE_TYPES: Final = (FLOAT32_MULTI_ARRAY, POSE_ARRAY)
_MAX_DESTINATION: Final = 1024
_SYSTEM_COMMANDS: Final = frozenset(
    {"__handshake", "__publish", "__subscribe", "__topic_list", "__ros_service", "__unity_service",
     "__request", "__response", "__log", "__warn", "__error"}
)


class ProtocolError(ValueError):
    """A frame that breaks the wire protocol (the connection that sent it is closed)."""


@dataclass(frozen=True)
class EndpointConfig:
    """Settings of :class:`RosTcpEndpoint`.

    Attributes:
        host: Address to bind, e.g. ``127.0.0.1`` (this machine only) or ``0.0.0.0`` (every interface; the
            headset must reach it over Wi-Fi).
        port: TCP port (0: any free port, see :attr:`RosTcpEndpoint.port`); Unity's default is 10000.
        right_topic: Topic of the right hand (drives the robot).
        left_topic: Topic of the left hand (gestures).
        max_frame_bytes: Largest payload accepted, bytes; a larger length prefix closes the connection before
            anything is read.
        allow: Client addresses or networks allowed to connect (e.g. ``("192.168.1.0/24",)``); empty: anyone.
        keepalive_s: Send a keep-alive after this long without sending, s (Unity times out after 2 s).
        idle_timeout_s: Close a connection that sends nothing (not even keep-alives) for this long, s.
        max_clients: Connections served at once; more are closed on arrival.
    """

    host: str = "127.0.0.1"
    port: int = 10000
    right_topic: str = "/dexsim/hand/right"
    left_topic: str = "/dexsim/hand/left"
    max_frame_bytes: int = 64 * 1024
    allow: tuple[str, ...] = ()
    keepalive_s: float = 1.0
    idle_timeout_s: float = 10.0
    max_clients: int = 8
    networks: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be in 0-65535, got {self.port}")
        if not 64 <= self.max_frame_bytes <= 64 * 1024 * 1024:
            raise ValueError(f"max_frame_bytes must be in [64, 64 MiB], got {self.max_frame_bytes}")
        if not self.right_topic or not self.left_topic or self.right_topic == self.left_topic:
            raise ValueError(f"need two different hand topics, got {self.right_topic!r} and {self.left_topic!r}")
        if self.keepalive_s <= 0 or self.idle_timeout_s <= 0 or self.max_clients < 1:
            raise ValueError("keepalive_s and idle_timeout_s must be positive, max_clients >= 1")
        try:
            networks = tuple(ipaddress.ip_network(entry, strict=False) for entry in self.allow)
        except ValueError as exc:
            raise ValueError(f"allow-list entry is not an address or network: {exc}") from None
        object.__setattr__(self, "networks", networks)

    def allows(self, address: str) -> bool:
        """Whether a client at ``address`` may connect."""
        if not self.networks:
            return True
        try:
            ip = ipaddress.ip_address(address.split("%")[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)


def encode_frame(destination: str, payload: bytes) -> bytes:
    """One wire frame: length-prefixed destination, length-prefixed payload."""
    name = destination.encode("utf-8")
    return struct.pack("<I", len(name)) + name + struct.pack("<I", len(payload)) + payload


def _system_payload(payload: bytes, destination: str) -> dict[str, Any]:
    text = payload.rstrip(b"\x00")
    if not text:
        return {}
    try:
        value = json.loads(text.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProtocolError(f"{destination}: payload is not JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"{destination}: payload must be a JSON object")
    return value


def hand_frame_from_message(
    message_name: str, payload: bytes, handedness: Handedness, timestamp: float
) -> HandFrame:
    """Decode one hand message (CDR) into a :class:`HandFrame`.

    Args:
        message_name: ``std_msgs/Float32MultiArray`` (78 or 182 floats, Unity order and frame) or
            ``geometry_msgs/PoseArray`` (26 poses, Unity order and frame).
        payload: The CDR bytes, encapsulation header included.
        handedness: Which hand the topic carries.
        timestamp: Frame time to store, s.

    Raises:
        CdrError: The payload is not that message.
        ValueError: Wrong number of floats or poses, or an unsupported message type.
    """
    if message_name == FLOAT32_MULTI_ARRAY:
        return parse_hand_array(decode_float32_multiarray(payload), handedness, timestamp)
    if message_name == POSE_ARRAY:
        poses = decode_pose_array(payload)
        if len(poses.positions) != NUM_HAND_JOINTS:
            raise ValueError(f"{POSE_ARRAY}: hand needs 26 poses, got {len(poses.positions)}")
        values = np.hstack([poses.positions, poses.orientations])
        return parse_hand_array(values, handedness, timestamp)
    raise ValueError(f"unsupported hand message type {message_name!r}; supported: {HAND_MESSAGE_TYPES}")


class _Connection:
    """One Unity client: reads frames, answers system commands, stores hand frames."""

    def __init__(self, endpoint: RosTcpEndpoint, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.endpoint = endpoint
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer)
        self.published: dict[str, str] = {}
        self.last_sent = time.monotonic()

    def send(self, destination: str, payload: bytes) -> None:
        self.writer.write(encode_frame(destination, payload))
        self.last_sent = time.monotonic()

    def send_json(self, destination: str, value: dict[str, Any]) -> None:
        self.send(destination, json.dumps(value).encode("utf-8"))

    async def _read_exactly(self, n: int) -> bytes:
        return await asyncio.wait_for(self.reader.readexactly(n), self.endpoint.config.idle_timeout_s)

    async def read_frame(self) -> tuple[str, bytes, float]:
        (length,) = struct.unpack("<I", await self._read_exactly(4))
        if length > _MAX_DESTINATION:
            raise ProtocolError(f"destination length {length} exceeds {_MAX_DESTINATION} bytes")
        try:
            destination = (await self._read_exactly(length)).decode("utf-8") if length else ""
        except UnicodeDecodeError:
            raise ProtocolError("destination is not UTF-8") from None
        (size,) = struct.unpack("<I", await self._read_exactly(4))
        if size > self.endpoint.config.max_frame_bytes:
            raise ProtocolError(
                f"frame for {destination!r} of {size} bytes exceeds max_frame_bytes "
                f"{self.endpoint.config.max_frame_bytes}"
            )
        payload = await self._read_exactly(size) if size else b""
        return destination, payload, time.perf_counter()

    async def keepalive(self) -> None:
        interval = self.endpoint.config.keepalive_s
        while True:
            await asyncio.sleep(interval / 4)
            if time.monotonic() - self.last_sent >= interval:
                self.send("", b"")
                await self.writer.drain()

    async def serve(self) -> None:
        self.send_json("__handshake", {"version": ENDPOINT_VERSION, "metadata": json.dumps({"protocol": "ROS2"})})
        await self.writer.drain()
        skip_next = False
        while True:
            destination, payload, received = await self.read_frame()
            if skip_next:  # the body of a service request we declined
                skip_next = False
                continue
            if destination == "":
                continue  # keep-alive
            if destination.startswith("__"):
                skip_next = self.system(destination, payload)
            else:
                self.topic(destination, payload, received)
            await self.writer.drain()

    def system(self, destination: str, payload: bytes) -> bool:
        """Handle a system command; True if the next frame is a service body to skip."""
        if destination not in _SYSTEM_COMMANDS:
            raise ProtocolError(f"unknown system command {destination!r}")
        body = _system_payload(payload, destination)
        if destination in ("__publish", "__subscribe"):
            topic, name = body.get("topic"), body.get("message_name")
            if not isinstance(topic, str) or not topic or not isinstance(name, str) or "/" not in name:
                raise ProtocolError(f"{destination}: needs a string topic and a 'pkg/Type' message_name")
            if destination == "__publish":
                hand = self.endpoint.hand_of(topic)
                if hand is not None and name not in HAND_MESSAGE_TYPES:
                    raise ProtocolError(
                        f"__publish: hand topic {topic} with type {name}; supported: {', '.join(HAND_MESSAGE_TYPES)}"
                    )
                self.published[topic] = name
            self.endpoint.register(topic, name)
        elif destination == "__topic_list":
            topics, types = self.endpoint.topic_list()
            self.send_json("__topic_list", {"topics": topics, "types": types})
        elif destination in ("__log", "__warn", "__error"):
            log.info("unity %s (%s): %s", destination[2:], self.peer, body.get("text", ""))
        elif destination == "__request":
            self.send_json("__error", {"text": "dexsim endpoint offers no ROS services"})
            return True
        # __ros_service / __unity_service registrations, __response, a repeated __handshake: nothing to do.
        return False

    def topic(self, topic: str, payload: bytes, received: float) -> None:
        name = self.published.get(topic)
        if name is None:
            raise ProtocolError(f"message on topic {topic!r} that was never registered with __publish")
        hand = self.endpoint.hand_of(topic)
        if hand is None:
            self.endpoint.ignored += 1
            return
        try:
            frame = hand_frame_from_message(name, payload, hand, received)
        except ValueError as exc:  # CdrError is a ValueError
            raise ProtocolError(f"{topic}: {exc}") from None
        self.endpoint.store(frame, received)


class RosTcpEndpoint:
    """The endpoint server. Use as a context manager, or :meth:`start` / :meth:`stop`.

    Args:
        config: Address, topics, limits.
    """

    def __init__(self, config: EndpointConfig | None = None) -> None:
        self.config = config or EndpointConfig()
        self._lock = threading.Lock()
        self.hands = LatestHands()
        self._topics: dict[str, str] = {}
        self.ignored = 0
        self.closed_connections: deque[tuple[str, str]] = deque(maxlen=256)
        """(peer, reason) of the last closed or refused connections."""
        self.connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.base_events.Server | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.port = self.config.port

    # --- thread-safe reads -------------------------------------------------------------------------------
    def latest(self, hand: Handedness) -> ReceivedFrame | None:
        """The newest frame of ``hand`` (``None`` before the first); see also :attr:`hands`."""
        return self.hands.latest(hand)

    def topic_list(self) -> tuple[list[str], list[str]]:
        """Registered topics and their types (both hand topics always listed)."""
        with self._lock:
            topics = dict(self._topics)
        topics.setdefault(self.config.right_topic, FLOAT32_MULTI_ARRAY)
        topics.setdefault(self.config.left_topic, FLOAT32_MULTI_ARRAY)
        return list(topics), list(topics.values())

    # --- used by connections -----------------------------------------------------------------------------
    def hand_of(self, topic: str) -> Handedness | None:
        if topic == self.config.right_topic:
            return "right"
        if topic == self.config.left_topic:
            return "left"
        return None

    def register(self, topic: str, message_name: str) -> None:
        with self._lock:
            self._topics[topic] = message_name

    def store(self, frame: HandFrame, received: float) -> None:
        self.hands.store(frame, received)

    # --- server ------------------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = peer[0] if isinstance(peer, tuple) else ""
        if not self.config.allows(address):
            log.warning("rejected connection from %s: not in the allow-list", address)
            self.closed_connections.append((str(address), "not in the allow-list"))
            writer.close()
            return
        if self.connections >= self.config.max_clients:
            log.warning("rejected connection from %s: %d clients already", address, self.connections)
            self.closed_connections.append((str(address), "too many clients"))
            writer.close()
            return
        connection = _Connection(self, reader, writer)
        self.connections += 1
        log.info("unity client connected: %s", connection.peer)
        keepalive = asyncio.ensure_future(connection.keepalive())
        reason = "closed by client"
        try:
            await connection.serve()
        except ProtocolError as exc:
            reason = str(exc)
        except (asyncio.IncompleteReadError, ConnectionError):
            reason = "closed by client"
        except TimeoutError:
            reason = f"silent for {self.config.idle_timeout_s:g} s"
        except Exception as exc:  # never let one client take the server down
            reason = f"internal error: {exc!r}"
            log.exception("unexpected error on %s", connection.peer)
        finally:
            keepalive.cancel()
            self.connections -= 1
            self.closed_connections.append((connection.peer, reason))
            log.warning("closed connection %s: %s", connection.peer, reason)
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    async def _serve(self) -> None:
        self._server = await asyncio.start_server(self._handle, self.config.host, self.config.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        async with self._server:
            await self._server.serve_forever()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._serve())
        except asyncio.CancelledError:
            pass
        except BaseException as exc:  # bind errors etc. are reported by start()
            self._error = exc
            self._ready.set()
        finally:
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    def start(self, timeout_s: float = 5.0) -> RosTcpEndpoint:
        """Start serving in a background thread; returns once the socket is bound.

        Raises:
            OSError: The address could not be bound (e.g. port in use).
        """
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name="dexsim-rostcp", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout_s):
            raise TimeoutError(f"ROS-TCP endpoint did not bind {self.config.host}:{self.config.port} in time")
        if self._error is not None:
            error, self._thread = self._error, None
            raise OSError(f"ROS-TCP endpoint cannot serve on {self.config.host}:{self.config.port}: {error}")
        log.info("ROS-TCP endpoint listening on %s:%d", self.config.host, self.port)
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        server = self._server
        if server is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(server.close)  # ends serve_forever; _run then cancels the connections
            except RuntimeError:  # the loop closed meanwhile
                pass
        thread.join(timeout=5.0)
        self._thread = None
        self._loop = None

    def __enter__(self) -> RosTcpEndpoint:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_allow_list(text: str) -> tuple[str, ...]:
    """``"10.0.0.5,192.168.1.0/24"`` -> a tuple for :attr:`EndpointConfig.allow` (empty string: anyone)."""
    return tuple(entry.strip() for entry in text.split(",") if entry.strip())

