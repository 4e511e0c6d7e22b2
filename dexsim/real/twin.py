"""The twin served as a ROS 2 hand: the MuJoCo simulation on the real hand's topics, in real time.

Any ROS 2 client (and ``AllegroUnscrew-real``) sees what the hardware would publish: ``sensor_msgs/JointState``
on the state topic at ``state_hz`` (positions, velocities, and the PD torque as effort, under the driver's joint
names), camera frames at ``camera_hz``, and it obeys position commands on the command topic. It also plays the
operator: it answers ``reset <id> [seed]`` on the episode topic by resetting the scene and sending ``ready <id>``,
and reports ``success`` when the thread releases the lid and ``bottle_dropped`` when the bottle falls.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass

from dexsim.hand import home_pose
from dexsim.real.config import IMAGE_COMPRESSED, HardwareConfig
from dexsim.real.env import OperatorEvent
from dexsim.real.images import fill_compressed_image, fill_raw_image
from dexsim.real.transport import LatestMessage, QosSpec, Transport, open_transport
from dexsim.real.wire import fill_joint_state, read_command, stamp_header
from dexsim.sim.config import SimConfig
from dexsim.sim.simulation import UnscrewSimulation

__all__ = ["TwinServer", "TwinRates"]

_log = logging.getLogger(__name__)
_EVENT_QOS = QosSpec(reliability="reliable", depth=10)
_CAMERA_QOS = QosSpec(reliability="reliable", depth=2)
"""As a ROS 2 camera driver's default publisher: reliable writers match reliable and best-effort readers."""


@dataclass(frozen=True)
class TwinRates:
    """Publication rates, Hz: joint states (the ROS 2 driver's controller runs at 100 Hz) and cameras."""

    state_hz: float = 100.0
    camera_hz: float = 30.0

    def __post_init__(self) -> None:
        if not 10.0 <= self.state_hz <= 1000.0:
            raise ValueError(f"state_hz must be in [10, 1000] Hz, got {self.state_hz}")
        if not 1.0 <= self.camera_hz <= self.state_hz:
            raise ValueError(f"camera_hz must be in [1, state_hz] Hz, got {self.camera_hz}")


class TwinServer:
    """Runs :class:`UnscrewSimulation` in real time behind the hardware config's topics.

    Args:
        hardware: Topics and joint names to serve (the same config the client uses).
        sim_config: The twin's settings (``image_size``/``cameras`` decide what is rendered).
        rates: Publication rates.
        transport: An open transport (default: one from ``hardware``; closed by :meth:`close` if owned).
        seed: Seed of the first scene.
    """

    def __init__(self, hardware: HardwareConfig, sim_config: SimConfig | None = None, rates: TwinRates | None = None,
                 transport: Transport | None = None, seed: int | None = 0) -> None:
        self.hardware = hardware
        self.sim_config = sim_config or SimConfig()
        self.rates = rates or TwinRates()
        self.simulation = UnscrewSimulation(self.sim_config)
        self.simulation.reset(seed)
        self._owns_transport = transport is None
        self._transport = transport or open_transport(hardware.transport, hardware.domain_id)
        self._command = LatestMessage()
        self._transport.subscribe(hardware.command_topic, hardware.command_type, hardware.command_qos,
                                  self._command.store)
        self._requests: queue.Queue[str] = queue.Queue()
        self._transport.subscribe(hardware.episode_topic, "std_msgs/String", _EVENT_QOS,
                                  lambda message: self._requests.put(str(message.data)))
        self._state_pub = self._transport.publisher(hardware.state_topic, "sensor_msgs/JointState",
                                                    QosSpec(reliability="reliable", depth=10))
        self._camera_pubs = {
            camera: (stream, self._transport.publisher(stream.topic, stream.type, _CAMERA_QOS))
            for camera, stream in hardware.cameras.items() if camera in self.sim_config.cameras
        }
        self._operator_pub = self._transport.publisher(hardware.operator_topic, "std_msgs/String", _EVENT_QOS)
        self.stop_event = threading.Event()
        self._command_count = 0
        self.rejected_commands = 0
        self.steps_behind = 0
        self._reported = ""
        self._last_episode = ""

    def _say(self, word: str) -> None:
        message = self._transport.message("std_msgs/String")
        message.data = word
        self._operator_pub.publish(message)

    def _handle_request(self, request: str) -> None:
        parts = request.split()
        if not parts or parts[0] != "reset":
            return
        episode = parts[1] if len(parts) > 1 else ""
        if episode and episode == self._last_episode:  # a repeated announcement: only answer again
            self._say(f"{OperatorEvent.READY} {episode}")
            return
        self._last_episode = episode
        seed = int(parts[2]) if len(parts) > 2 and parts[2].lstrip("-").isdigit() else None
        self.simulation.reset(seed)
        self.simulation.set_joint_targets(home_pose())
        self._command_count = self._command.get()[2]  # commands sent before the reset are not replayed
        self._reported = ""
        self._say(f"{OperatorEvent.READY} {episode}" if episode else OperatorEvent.READY)

    def _apply_command(self) -> None:
        message, _, count = self._command.get()
        if message is None or count == self._command_count:
            return
        self._command_count = count
        try:
            self.simulation.set_joint_targets(read_command(message, self.hardware))
        except ValueError as exc:
            self.rejected_commands += 1
            _log.warning("ignoring command on %s: %s", self.hardware.command_topic, exc)

    def _publish_state(self) -> None:
        sim = self.simulation
        message = fill_joint_state(self._transport.message("sensor_msgs/JointState"), self.hardware,
                                   sim.joint_positions(), sim.joint_velocities(), sim.joint_efforts())
        self._state_pub.publish(message)

    def _publish_cameras(self) -> None:
        for camera, (stream, publisher) in self._camera_pubs.items():
            frame = self.simulation.render(camera)
            message = self._transport.message(stream.type)
            if stream.type == IMAGE_COMPRESSED:
                fill_compressed_image(message, frame)
            else:
                fill_raw_image(message, frame)
            message.header.frame_id = f"{camera}_camera"
            publisher.publish(stamp_header(message))

    def _report_outcome(self) -> None:
        if self._reported:
            return
        if self.simulation.lid_state().released:
            self._reported = OperatorEvent.SUCCESS
        elif self.simulation.bottle_dropped():
            self._reported = OperatorEvent.BOTTLE_DROPPED
        if self._reported:
            self._say(self._reported)

    def run(self, duration_s: float | None = None) -> None:
        """Serve until :attr:`stop_event` is set (or ``duration_s`` passes), keeping simulated time ~ wall time."""
        period = 1.0 / self.rates.state_hz
        camera_every = max(1, int(round(self.rates.state_hz / self.rates.camera_hz)))
        start = time.monotonic()
        next_time = start
        tick = 0
        while not self.stop_event.is_set():
            if duration_s is not None and time.monotonic() - start >= duration_s:
                break
            while not self._requests.empty():
                self._handle_request(self._requests.get_nowait())
            self._apply_command()
            self.simulation.step_physics(period)
            self._publish_state()
            if tick % camera_every == 0:
                self._publish_cameras()
            self._report_outcome()
            tick += 1
            next_time += period
            delay = next_time - time.monotonic()
            if delay < -5 * period:  # too slow for real time: do not try to catch up in a burst
                self.steps_behind += 1
                next_time = time.monotonic()
            self.stop_event.wait(max(0.0, delay))

    def close(self) -> None:
        """Free the renderer and leave the domain."""
        self.simulation.close_renderer()
        if self._owns_transport:
            self._transport.close()

