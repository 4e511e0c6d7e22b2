"""``AllegroUnscrew-real``: the Allegro Hand over ROS 2 behind the same interface as the twin.

Each ``step``: the action becomes an absolute target (:func:`dexsim.interface.action_to_target` semantics),
the :class:`~dexsim.real.safety.SafetyLayer` checks it, a background thread streams the safe setpoint to the
driver at ``command_hz``, and at the next control tick the newest joint state and camera frames form the
observation. Data older than its bound (``state_timeout_s``, a camera's ``timeout_s``) ends the episode with
``termination_reason`` ``"stale_joint_states"`` / ``"stale_<camera>_image"`` (what and how old in
``info["termination_detail"]``): nothing old is silently reused.

The lid is not sensed: lid fields are ``nan``; success (and a dropped bottle) comes from the operator, as
``std_msgs/String`` ``success`` / ``bottle_dropped`` on ``operator_topic`` (``dexsim operator success``, or
:meth:`AllegroUnscrewRealEnv.mark_success`). ``reset()`` announces ``reset <id> [seed]`` on ``episode_topic``
(``id`` = :attr:`AllegroUnscrewRealEnv.episode_id`; ``end <id> <reason>`` follows when it ends), waits
for the operator's ``ready <id>`` (the twin server answers it after resetting its scene), then moves to the home
pose at ``home_speed``. SIGINT during an episode latches the e-stop: the hand holds, the next step ends the
episode with ``"estop"``; a second SIGINT raises ``KeyboardInterrupt``. ``close()`` holds and leaves the domain.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from dexsim.hand import home_pose
from dexsim.interface import (
    CAMERA_OBS_KEYS,
    INFO_BOTTLE_DROPPED,
    INFO_JOINT_TARGETS,
    INFO_SUCCESS,
    INFO_TERMINATION_REASON,
    INFO_TIME,
    OBS_JOINT_EFFORTS,
    OBS_JOINT_POSITIONS,
    ControlConfig,
    empty_info,
    make_action_space,
    make_observation_space,
)
from dexsim.real.config import IMAGE_COMPRESSED, HardwareConfig, load_hardware_config
from dexsim.real.images import fit_square, message_to_rgb
from dexsim.real.safety import INFO_SAFETY_EVENTS, SafetyLayer, wanted_target
from dexsim.real.transport import LatestMessage, QosSpec, Transport, open_transport
from dexsim.real.wire import fill_command, read_joint_state

__all__ = [
    "AllegroUnscrewRealEnv",
    "make_real_env",
    "OperatorEvent",
    "INFO_STATE_AGE",
    "INFO_IMAGE_AGES",
    "INFO_TERMINATION_DETAIL",
]

INFO_STATE_AGE = "state_age_s"
"""Info key: age of the joint state in the observation, s."""
INFO_IMAGE_AGES = "image_ages_s"
"""Info key: camera name -> age of its frame in the observation, s."""
INFO_TERMINATION_DETAIL = "termination_detail"
"""Info key: why the episode ended, in words ('' while running), e.g. which topic went quiet for how long."""

_EVENT_QOS = QosSpec(reliability="reliable", depth=10)
_ANNOUNCE_PERIOD_S = 0.5


class OperatorEvent:
    """Words of the operator channel (``std_msgs/String``; ``ready`` may carry the episode number)."""

    READY = "ready"
    SUCCESS = "success"
    BOTTLE_DROPPED = "bottle_dropped"
    FAILURE = "failure"
    ESTOP = "estop"
    ALL = (READY, SUCCESS, BOTTLE_DROPPED, FAILURE, ESTOP)


class AllegroUnscrewRealEnv(gym.Env[dict[str, NDArray[Any]], NDArray[np.float32]]):
    """The real hand (or anything serving its topics, such as ``dexsim twin``).

    Args:
        config: Control settings shared with the twin.
        hardware: Topics, names, bounds (:class:`HardwareConfig`, a YAML path or a profile name).
        transport: An open transport to use (not closed by the env); by default one is opened from ``hardware``.
        handle_sigint: During an episode (``reset`` to its end or ``close``), turn SIGINT into an e-stop
            (main thread only).
    """

    metadata = {"render_modes": []}

    def __init__(
        self,
        config: ControlConfig | None = None,
        hardware: HardwareConfig | str | Path | None = None,
        transport: Transport | None = None,
        handle_sigint: bool = True,
    ) -> None:
        self.config = config or ControlConfig()
        self.hardware = hardware if isinstance(hardware, HardwareConfig) else load_hardware_config(hardware)
        missing = set(self.config.cameras) - set(self.hardware.cameras)
        if missing:
            raise ValueError(f"cameras {sorted(missing)} are requested but have no topic in the hardware config")
        self.observation_space = make_observation_space(self.config)
        self.action_space = make_action_space(self.config)
        self._owns_transport = transport is None
        hw = self.hardware
        self._transport = transport or open_transport(hw.transport, hw.domain_id)
        self._state = LatestMessage()
        self._transport.subscribe(hw.state_topic, "sensor_msgs/JointState", hw.state_qos, self._state.store)
        self._images: dict[str, LatestMessage] = {}
        for camera in self.config.cameras:
            stream = hw.cameras[camera]
            self._images[camera] = LatestMessage()
            self._transport.subscribe(stream.topic, stream.type, stream.qos, self._images[camera].store)
        self._command_pub = self._transport.publisher(hw.command_topic, hw.command_type, hw.command_qos)
        self._episode_pub = self._transport.publisher(hw.episode_topic, "std_msgs/String", _EVENT_QOS)
        self._operator_pub = self._transport.publisher(hw.operator_topic, "std_msgs/String", _EVENT_QOS)
        self._events_lock = threading.Condition()
        self._operator_events: list[str] = []
        self._transport.subscribe(hw.operator_topic, "std_msgs/String", _EVENT_QOS, self._on_operator)
        self._handle_sigint = handle_sigint
        self._previous_sigint: Any = None
        self._layer: SafetyLayer | None = None
        self._stream_stop = threading.Event()
        self._stream_paused = threading.Event()
        self._stream_paused.set()
        self._streamer = threading.Thread(target=self._stream_commands, name="dexsim-command-stream", daemon=True)
        self._streamer.start()
        self._episode = 0
        self._token = os.urandom(3).hex()
        self._steps = 0
        self._episode_start = 0.0
        self._next_tick = 0.0
        self._done_reason = ""
        self._done_detail = ""
        self._success = False
        self._dropped = False
        self._obs: dict[str, NDArray[Any]] | None = None
        self._obs_counts: dict[str, int] = {}
        self._closed = False

    # ------------------------------------------------------------------------------------------ operator
    def _on_operator(self, message: Any) -> None:
        word = str(message.data).strip()
        with self._events_lock:
            self._operator_events.append(word)
            self._events_lock.notify_all()
        if word == OperatorEvent.ESTOP:
            self.estop()

    @property
    def episode_id(self) -> str:
        """``<env token>-<n>``: names the current episode on the episode topic (unique across env instances)."""
        return f"{self._token}-{self._episode}"

    def mark_success(self) -> None:
        """The operator's 'the lid is off' (also sent to other listeners on the operator topic)."""
        message = self._transport.message("std_msgs/String")
        message.data = OperatorEvent.SUCCESS
        self._operator_pub.publish(message)
        self._on_operator(message)

    def estop(self) -> None:
        """Hold position now (latched until the next ``reset``); the running episode ends with ``"estop"``."""
        layer = self._layer
        if layer is not None:
            setpoint = layer.estop()
            self._publish_command(setpoint)

    def _take_operator_events(self) -> list[str]:
        with self._events_lock:
            events, self._operator_events = self._operator_events, []
            return events

    # ------------------------------------------------------------------------------------------ streaming
    def _publish_command(self, targets: NDArray[np.float64]) -> None:
        message = fill_command(self._transport.message(self.hardware.command_type), self.hardware, targets)
        self._command_pub.publish(message)

    def _latest_joints(self) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
        message = self._state.get()[0]
        if message is None:
            return None
        try:
            return read_joint_state(message, self.hardware)
        except ValueError:
            return None

    def _stream_commands(self) -> None:
        period = 1.0 / self.hardware.command_hz
        next_time = time.monotonic()
        while not self._stream_stop.is_set():
            next_time += period
            layer = self._layer
            if layer is not None and not self._stream_paused.is_set():
                joints = self._latest_joints()
                measured, effort = joints if joints is not None else (None, None)
                self._publish_command(layer.tick(time.monotonic(), measured, effort))
            delay = next_time - time.monotonic()
            if delay < -period:  # fell behind (e.g. a GC pause): do not burst to catch up
                next_time = time.monotonic()
            self._stream_stop.wait(max(0.0, delay))

    # ------------------------------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, NDArray[Any]], dict[str, Any]]:
        """Announce a new episode, wait for the operator's ``ready``, move home at ``home_speed``.

        Raises:
            TimeoutError: no ``ready``, no joint state, or home not reached in time (the message says which).
        """
        super().reset(seed=seed)
        if self._closed:
            raise RuntimeError("the env is closed")
        hw = self.hardware
        self._stream_paused.set()
        self._episode += 1
        self._take_operator_events()
        announce = self._transport.message("std_msgs/String")
        announce.data = f"reset {self.episode_id}" + (f" {seed}" if seed is not None else "")
        self._episode_pub.publish(announce)
        deadline = time.monotonic() + hw.ready_timeout_s
        if hw.wait_for_ready:
            self._wait_ready(deadline, announce)
        count = self._state.get()[2]
        if not self._state.wait_newer(count, deadline - time.monotonic()):
            raise TimeoutError(f"no joint state on {hw.state_topic} within {hw.ready_timeout_s} s: is the driver up?")
        joints = self._latest_joints()
        if joints is None:
            raise TimeoutError(f"joint states on {hw.state_topic} do not name the configured joints")
        self._move_home(joints[0])
        self._take_operator_events()  # events before the episode starts do not count
        self._steps = 0
        self._done_reason = ""
        self._done_detail = ""
        self._success = self._dropped = False
        self._episode_start = time.monotonic()
        self._next_tick = self._episode_start + self.config.control_dt
        self._obs_counts = {}
        obs, reason, detail, ages = self._observe(time.monotonic() + hw.ready_timeout_s, need_new=False)
        if reason:
            raise TimeoutError(f"after homing: {detail}")
        self._install_sigint()
        return obs, self._info(ages)

    def _wait_ready(self, deadline: float, announce: Any) -> None:
        """Wait for ``ready``, repeating the announcement (a late-joining listener missed the first one)."""
        wanted = (OperatorEvent.READY, f"{OperatorEvent.READY} {self.episode_id}")
        ok = False
        while not ok and time.monotonic() < deadline:
            with self._events_lock:
                ok = self._events_lock.wait_for(
                    lambda: any(event in wanted for event in self._operator_events),
                    timeout=min(_ANNOUNCE_PERIOD_S, deadline - time.monotonic()),
                )
            if not ok:
                self._episode_pub.publish(announce)
        if not ok:
            raise TimeoutError(
                f"no '{OperatorEvent.READY}' on {self.hardware.operator_topic} within {self.hardware.ready_timeout_s}"
                " s: place the bottle and send `dexsim operator ready` (or set wait_for_ready: false)"
            )

    def _move_home(self, measured: NDArray[np.float64]) -> None:
        hw = self.hardware
        homing = SafetyLayer(
            type(hw.safety)(**{**hw.safety.__dict__, "max_velocity": hw.home_speed}), measured, time.monotonic(),
            1.0 / hw.command_hz,
        )
        self._layer = homing
        self._stream_paused.clear()
        home = home_pose()
        deadline = time.monotonic() + hw.home_timeout_s
        while True:
            joints = self._latest_joints()
            q = joints[0] if joints is not None else measured
            error = float(np.max(np.abs(q - home)))
            if error <= hw.home_tolerance and np.allclose(homing.setpoint, home):
                break
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"home pose not reached within {hw.home_timeout_s} s (largest error {error:.3f} rad)"
                )
            reach = hw.safety.max_step_delta
            homing.request(np.clip(home, q - reach, q + reach), q, time.monotonic())
            time.sleep(0.01)
        layer = SafetyLayer(hw.safety, homing.setpoint, time.monotonic(), 1.0 / hw.command_hz)
        self._layer = layer

    def step(
        self, action: NDArray[np.floating]
    ) -> tuple[dict[str, NDArray[Any]], float, bool, bool, dict[str, Any]]:
        if self._obs is None or self._layer is None:
            raise RuntimeError("call reset() before step()")
        if self._done_reason:
            raise RuntimeError(f"the episode has ended ({self._done_reason}); call reset()")
        layer = self._layer
        q = np.asarray(self._obs[OBS_JOINT_POSITIONS], dtype=np.float64)
        wanted = wanted_target(action, q, self.config.max_joint_delta, layer.config.non_finite)
        layer.request(wanted, q, time.monotonic())
        delay = self._next_tick - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_tick = max(self._next_tick + self.config.control_dt, time.monotonic())
        obs, reason, detail, ages = self._observe(time.monotonic() + self._max_data_bound(), need_new=True)
        self._steps += 1
        for event in self._take_operator_events():
            if event == OperatorEvent.SUCCESS:
                self._success = True
            elif event in (OperatorEvent.BOTTLE_DROPPED, OperatorEvent.FAILURE):
                self._dropped = event == OperatorEvent.BOTTLE_DROPPED
                if not reason:
                    reason, detail = event, f"the operator reported '{event}'"
        if layer.estopped:
            reason, detail = "estop", "e-stop (SIGINT, estop() or the operator's 'estop'): holding position"
        terminated = bool(reason) or self._success or self._dropped
        truncated = not terminated and self._steps >= self.config.max_episode_steps
        if reason:
            layer.estop()  # hold whatever the hand does next
            self._done_reason, self._done_detail = reason, detail
        elif self._success:
            self._done_reason, self._done_detail = "success", "the operator reported 'success'"
        elif self._dropped:
            self._done_reason = "bottle_dropped"
        elif truncated:
            self._done_reason = "time_limit"
        if terminated or truncated:
            self._restore_sigint()
            ended = self._transport.message("std_msgs/String")
            ended.data = f"end {self.episode_id} {self._done_reason}"
            self._episode_pub.publish(ended)
        info = self._info(ages)
        return obs, float(self._success), terminated, truncated, info

    def _max_data_bound(self) -> float:
        """The longest freshness bound of the data an observation needs, s."""
        hw = self.hardware
        return max([hw.state_timeout_s, *(hw.cameras[camera].timeout_s for camera in self.config.cameras)])

    def _observe(
        self, deadline: float, need_new: bool
    ) -> tuple[dict[str, NDArray[Any]], str, str, dict[str, float]]:
        """``(observation, reason, detail, ages)``: the newest data, or the previous observation and why not."""
        hw = self.hardware
        sources: list[tuple[str, LatestMessage, float]] = [("joint_states", self._state, hw.state_timeout_s)]
        sources += [(camera, self._images[camera], hw.cameras[camera].timeout_s) for camera in self.config.cameras]
        ages: dict[str, float] = {}
        messages: dict[str, Any] = {}
        for key, holder, bound in sources:
            last_count = self._obs_counts.get(key, 0) if need_new else 0
            held_since, held_count = holder.get()[1:]
            if need_new:  # a newer message, until the one held would be older than its bound
                limit = held_since + bound if held_count > 0 else time.monotonic() + bound
                holder.wait_newer(last_count, min(deadline, limit) - time.monotonic())
            elif held_count == 0 or time.monotonic() - held_since > bound:  # none fresh yet: wait for one
                holder.wait_newer(held_count, deadline - time.monotonic())
            message, received_at, count = holder.get()
            age = time.monotonic() - received_at
            ages[key] = age
            if message is None or age > bound or (need_new and count <= last_count):
                what = "joint_states" if key == "joint_states" else f"{key}_image"
                topic = hw.state_topic if key == "joint_states" else hw.cameras[key].topic
                detail = f"nothing new on {topic} for {age:.3f} s (bound {bound} s)"
                return self._previous_obs(), f"stale_{what}", detail, ages
            messages[key] = message
            self._obs_counts[key] = count
        try:
            positions, efforts = read_joint_state(messages["joint_states"], hw)
            obs: dict[str, NDArray[Any]] = {
                OBS_JOINT_POSITIONS: positions.astype(np.float32),
                OBS_JOINT_EFFORTS: efforts.astype(np.float32),
            }
            for camera in self.config.cameras:
                frame = message_to_rgb(messages[camera], hw.cameras[camera].type == IMAGE_COMPRESSED)
                obs[CAMERA_OBS_KEYS[camera]] = fit_square(frame, self.config.image_size)
        except ValueError as exc:
            return self._previous_obs(), "bad_message", str(exc), ages
        self._obs = obs
        return obs, "", "", ages

    def _previous_obs(self) -> dict[str, NDArray[Any]]:
        if self._obs is None:
            spaces = make_observation_space(self.config).spaces
            return {key: np.zeros(space.shape, space.dtype) for key, space in spaces.items()}
        return self._obs

    def _info(self, ages: dict[str, float]) -> dict[str, Any]:
        info = empty_info()
        layer = self._layer
        info[INFO_SUCCESS] = self._success
        info[INFO_BOTTLE_DROPPED] = self._dropped
        info[INFO_JOINT_TARGETS] = layer.goal if layer is not None else info[INFO_JOINT_TARGETS]
        info[INFO_TERMINATION_REASON] = self._done_reason
        info[INFO_TERMINATION_DETAIL] = self._done_detail
        info[INFO_TIME] = time.monotonic() - self._episode_start if self._steps else 0.0
        info[INFO_SAFETY_EVENTS] = layer.drain_events() if layer is not None else []
        info[INFO_STATE_AGE] = ages.get("joint_states", float("inf"))
        info[INFO_IMAGE_AGES] = {camera: ages.get(camera, float("inf")) for camera in self.config.cameras}
        return info

    # ------------------------------------------------------------------------------------------ SIGINT
    def _install_sigint(self) -> None:
        """For the episode: the first SIGINT latches the e-stop, a second raises ``KeyboardInterrupt``."""
        if not self._handle_sigint or threading.current_thread() is not threading.main_thread():
            return
        if self._previous_sigint is not None:
            return

        def on_sigint(signum: int, frame: Any) -> None:
            if self._layer is not None and self._layer.estopped:
                self._restore_sigint()
                raise KeyboardInterrupt
            self.estop()

        self._previous_sigint = signal.signal(signal.SIGINT, on_sigint)

    def _restore_sigint(self) -> None:
        if self._previous_sigint is not None and threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None

    def close(self) -> None:
        """Hold position, stop streaming and leave the DDS domain."""
        if self._closed:
            return
        self._closed = True
        self._restore_sigint()
        if self._layer is not None and self._obs is not None:
            self.estop()
        self._stream_stop.set()
        self._streamer.join(timeout=1.0)
        if self._owns_transport:
            self._transport.close()


def make_real_env(
    config: ControlConfig | None = None,
    hardware: HardwareConfig | str | Path | None = None,
    transport: Transport | str | None = None,
    handle_sigint: bool = True,
    **settings: Any,
) -> AllegroUnscrewRealEnv:
    """Gymnasium entry point of ``AllegroUnscrew-real``.

    The common settings go straight to ``gym.make``, e.g.
    ``gym.make("AllegroUnscrew-real", hardware="classic", domain_id=7, control_hz=10, cameras=("top",))``:

    Args:
        config: Control settings (default :class:`~dexsim.interface.ControlConfig`).
        hardware: :class:`HardwareConfig`, a YAML path or a profile name (``wonik_ros2``, ``classic``).
        transport: An open :class:`Transport` to use, or the transport kind (``"auto"``, ``"rclpy"``,
            ``"cyclonedds"``; a :class:`HardwareConfig` field).
        handle_sigint: See :class:`AllegroUnscrewRealEnv`.
        **settings: Fields of :class:`~dexsim.interface.ControlConfig` (``control_hz``, ``image_size``,
            ``cameras`` as a list of names, ``time_limit_s``, ``max_joint_delta``) and top-level fields of
            :class:`HardwareConfig` (``domain_id``, ``state_topic``, ``command_hz``, ``wait_for_ready``,
            ``safety``, ``cameras`` as a mapping of name to :class:`~dexsim.real.config.CameraTopic`, ...),
            applied over ``config`` and ``hardware``.

    Raises:
        TypeError: a setting that is neither (the message lists the known ones).
        ValueError: a bad value (names the field).
        MissingTransportError: neither rclpy nor cyclonedds is installed (says what to install).
    """
    control_fields = {f.name for f in dataclasses.fields(ControlConfig)}
    hardware_fields = {f.name for f in dataclasses.fields(HardwareConfig)}
    if isinstance(transport, str):
        settings["transport"], transport = transport, None
    unknown = sorted(set(settings) - control_fields - hardware_fields)
    if unknown:
        raise TypeError(f"AllegroUnscrew-real got unknown settings {unknown}; ControlConfig fields: "
                        f"{sorted(control_fields)}; HardwareConfig fields: {sorted(hardware_fields)}")
    # "cameras" is in both: a list of names picks cameras (ControlConfig), a mapping wires them (HardwareConfig)
    both = "cameras" in settings and isinstance(settings["cameras"], dict)
    control = {key: value for key, value in settings.items() if key in control_fields and not both}
    if "cameras" in control:
        control["cameras"] = tuple(control["cameras"])
    wiring = {key: value for key, value in settings.items()
              if key in hardware_fields and (key != "cameras" or both)}
    config = dataclasses.replace(config or ControlConfig(), **control) if control else config
    if isinstance(hardware, HardwareConfig):
        hardware = hardware.replace(**wiring) if wiring else hardware
    elif wiring:
        hardware = load_hardware_config(hardware, **wiring)
    return AllegroUnscrewRealEnv(config=config, hardware=hardware, transport=transport, handle_sigint=handle_sigint)
