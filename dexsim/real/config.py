"""Hardware configuration of ``AllegroUnscrew-real``: topics, message types, QoS, joint names, rates, bounds.

The defaults are Wonik's official ROS 2 driver (``allegro_hand_ros2``): state on ``/joint_states``, position
commands as ``std_msgs/Float64MultiArray`` on ``/allegro_hand_position_controller/commands``, joints named
``ah_joint00..33`` with the thumb first (00-03), then index, middle, ring. Joints are always mapped by name.
``hardware/allegro_ros2.yaml`` writes these defaults out; ``hardware/allegro_classic.yaml`` is the classic
``allegroHand_0/joint_cmd`` (``sensor_msgs/JointState``) interface. :func:`load_hardware_config` reads either.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import yaml

from dexsim.hand import JOINT_NAMES, Finger
from dexsim.real.safety import SafetyConfig
from dexsim.real.transport import QosSpec

__all__ = [
    "COMMAND_FLOAT64_ARRAY",
    "COMMAND_JOINT_STATE",
    "CameraTopic",
    "HardwareConfig",
    "wonik_ros2_joint_names",
    "load_hardware_config",
    "HARDWARE_DIR",
    "PROFILES",
]

COMMAND_FLOAT64_ARRAY: Final = "std_msgs/Float64MultiArray"
COMMAND_JOINT_STATE: Final = "sensor_msgs/JointState"
IMAGE_RAW: Final = "sensor_msgs/Image"
IMAGE_COMPRESSED: Final = "sensor_msgs/CompressedImage"
RAW_ENCODINGS: Final = ("rgb8", "bgr8")

HARDWARE_DIR: Final = Path(__file__).resolve().parents[2] / "hardware"
"""``hardware/`` of a source checkout (where the YAML profiles live)."""
PROFILES: Final = {"wonik_ros2": "allegro_ros2.yaml", "classic": "allegro_classic.yaml"}
"""Profile name -> YAML file in :data:`HARDWARE_DIR`."""


def wonik_ros2_joint_names() -> dict[str, str]:
    """Our joint name -> the official ROS 2 driver's: thumb ``ah_joint0j``, index ``1j``, middle ``2j``, ring ``3j``."""
    driver_finger = {Finger.THUMB: 0, Finger.INDEX: 1, Finger.MIDDLE: 2, Finger.RING: 3}
    return {
        name: f"ah_joint{driver_finger[finger]}{i}"
        for name, (finger, i) in zip(JOINT_NAMES, ((f, i) for f in Finger for i in range(4)), strict=True)
    }


def _wonik_command_order() -> tuple[str, ...]:
    return tuple(sorted(wonik_ros2_joint_names().values()))


@dataclass(frozen=True)
class CameraTopic:
    """One camera stream.

    Attributes:
        topic: ROS topic name.
        type: ``"sensor_msgs/Image"`` (encoding ``rgb8``/``bgr8``) or ``"sensor_msgs/CompressedImage"`` (jpeg/png).
        qos: Reader QoS (best effort matches any camera driver's writer).
        timeout_s: Oldest frame the env accepts, s; older ends the episode.
    """

    topic: str
    type: str = IMAGE_RAW
    qos: QosSpec = field(default_factory=lambda: QosSpec(reliability="best_effort", depth=2))
    timeout_s: float = 0.3

    def __post_init__(self) -> None:
        if self.type not in (IMAGE_RAW, IMAGE_COMPRESSED):
            raise ValueError(f"camera {self.topic}: type must be {IMAGE_RAW} or {IMAGE_COMPRESSED}, got {self.type!r}")
        if not 0.0 < self.timeout_s <= 10.0:
            raise ValueError(f"camera {self.topic}: timeout_s must be in (0, 10] s, got {self.timeout_s}")


def _default_cameras() -> dict[str, CameraTopic]:
    return {"top": CameraTopic("/top_camera/image_raw"), "wrist": CameraTopic("/wrist_camera/image_raw")}


@dataclass(frozen=True)
class HardwareConfig:
    """Where and how ``AllegroUnscrew-real`` talks to the hand (times in s, rates in Hz, speeds in rad/s).

    Attributes:
        profile: Free-form name of this configuration.
        transport: ``"auto"`` (rclpy if importable, else cyclonedds), ``"rclpy"`` or ``"cyclonedds"``.
        domain_id: DDS domain (``ROS_DOMAIN_ID``).
        joint_names: Our joint name (``dexsim.hand.JOINT_NAMES``) -> the driver's, for all 16 joints.
        state_topic: The driver's ``sensor_msgs/JointState`` topic.
        state_qos: Reader QoS of the state topic.
        state_timeout_s: Oldest joint state the env accepts; older ends the episode.
        command_topic: The driver's position command topic.
        command_type: ``"std_msgs/Float64MultiArray"`` (values in ``command_joint_order``) or
            ``"sensor_msgs/JointState"`` (named positions).
        command_joint_order: Driver joint names in the order of a Float64MultiArray command.
        command_qos: Writer QoS of the command topic.
        command_hz: Rate at which the safety-filtered setpoint is streamed to the driver.
        cameras: Camera name (``top``/``wrist``) -> stream.
        operator_topic: ``std_msgs/String`` events from the operator (``ready``, ``success``, ``failure``,
            ``estop``); the twin server plays the operator.
        episode_topic: ``std_msgs/String`` events the env publishes (``reset <id> [seed]``, ``end <id> <reason>``).
        wait_for_ready: ``reset()`` waits for the operator's ``ready`` (bottle placed) before homing.
        ready_timeout_s: How long ``reset()`` waits for ``ready`` and for the first joint state.
        home_speed: Joint speed of the move to the home pose in ``reset()``.
        home_tolerance: ``reset()`` ends when every joint is this close to home, rad.
        home_timeout_s: ``reset()`` fails if home is not reached in this time.
        safety: The safety layer's bounds.
    """

    profile: str = "wonik_ros2"
    transport: str = "auto"
    domain_id: int = 0
    joint_names: dict[str, str] = field(default_factory=wonik_ros2_joint_names)
    state_topic: str = "/joint_states"
    state_qos: QosSpec = field(default_factory=QosSpec)
    state_timeout_s: float = 0.2
    command_topic: str = "/allegro_hand_position_controller/commands"
    command_type: str = COMMAND_FLOAT64_ARRAY
    command_joint_order: tuple[str, ...] = field(default_factory=_wonik_command_order)
    command_qos: QosSpec = field(default_factory=QosSpec)
    command_hz: float = 100.0
    cameras: dict[str, CameraTopic] = field(default_factory=_default_cameras)
    operator_topic: str = "/dexsim/operator"
    episode_topic: str = "/dexsim/episode"
    wait_for_ready: bool = True
    ready_timeout_s: float = 60.0
    home_speed: float = 0.5
    home_tolerance: float = 0.05
    home_timeout_s: float = 15.0
    safety: SafetyConfig = field(default_factory=SafetyConfig)

    def __post_init__(self) -> None:
        if set(self.joint_names) != set(JOINT_NAMES):
            missing = sorted(set(JOINT_NAMES) - set(self.joint_names))
            extra = sorted(set(self.joint_names) - set(JOINT_NAMES))
            raise ValueError(f"joint_names must map all 16 joints: missing {missing}, unknown {extra}")
        driver_names = list(self.joint_names.values())
        if len(set(driver_names)) != len(driver_names):
            raise ValueError(f"joint_names maps two joints to the same driver joint: {driver_names}")
        if self.command_type not in (COMMAND_FLOAT64_ARRAY, COMMAND_JOINT_STATE):
            raise ValueError(
                f"command_type must be {COMMAND_FLOAT64_ARRAY} or {COMMAND_JOINT_STATE}, got {self.command_type!r}"
            )
        if self.command_type == COMMAND_FLOAT64_ARRAY and sorted(self.command_joint_order) != sorted(driver_names):
            raise ValueError(
                "command_joint_order must list each driver joint of joint_names exactly once, "
                f"got {list(self.command_joint_order)}"
            )
        unknown = set(self.cameras) - {"top", "wrist"}
        if unknown:
            raise ValueError(f"cameras: unknown camera names {sorted(unknown)}; known: ['top', 'wrist']")
        if self.transport not in ("auto", "rclpy", "cyclonedds"):
            raise ValueError(f"transport must be 'auto', 'rclpy' or 'cyclonedds', got {self.transport!r}")
        if not 0 <= self.domain_id <= 232:
            raise ValueError(f"domain_id must be in [0, 232], got {self.domain_id}")
        if not 0.0 < self.state_timeout_s <= 10.0:
            raise ValueError(f"state_timeout_s must be in (0, 10] s, got {self.state_timeout_s}")
        if not 1.0 <= self.command_hz <= 1000.0:
            raise ValueError(f"command_hz must be in [1, 1000] Hz, got {self.command_hz}")
        for name in ("ready_timeout_s", "home_speed", "home_tolerance", "home_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")

    @property
    def driver_to_allegro(self) -> dict[str, int]:
        """Driver joint name -> index in Allegro order."""
        return {self.joint_names[name]: i for i, name in enumerate(JOINT_NAMES)}

    def replace(self, **changes: Any) -> HardwareConfig:
        """A copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)


def _build(cls: type[Any], data: dict[str, Any], where: str) -> Any:
    """``cls(**data)`` with unknown keys and wrong nesting reported by YAML path."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; known: {sorted(fields)}")
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key.endswith("qos"):
            value = _build(QosSpec, value, f"{where}.{key}")
        elif key == "safety":
            value = _build(SafetyConfig, value, f"{where}.{key}")
        elif key == "cameras":
            if not isinstance(value, dict):
                raise ValueError(f"{where}.cameras: expected a mapping of camera name -> stream")
            value = {name: _build(CameraTopic, cam, f"{where}.cameras.{name}") for name, cam in value.items()}
        elif key == "command_joint_order":
            value = tuple(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def load_hardware_config(source: str | Path | None = None, **overrides: Any) -> HardwareConfig:
    """Read a hardware YAML (a path, or a profile name from :data:`PROFILES`); ``None`` gives the defaults.

    ``overrides`` replace top-level fields after loading (e.g. ``domain_id=7``).

    Raises:
        FileNotFoundError: no such file or profile file.
        ValueError: malformed YAML or a bad field (the message names the file and the field).
    """
    if source is None:
        return HardwareConfig(**overrides)
    path = HARDWARE_DIR / PROFILES[str(source)] if str(source) in PROFILES else Path(source)
    if not path.is_file():
        raise FileNotFoundError(f"hardware config {path} not found (profiles: {sorted(PROFILES)})")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from None
    config = _build(HardwareConfig, data, str(path))
    return config.replace(**overrides) if overrides else config
