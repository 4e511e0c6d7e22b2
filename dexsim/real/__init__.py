"""The real Allegro Hand over ROS 2 (``AllegroUnscrew-real``), the safety layer, and the twin served as a ROS 2 hand.

Importing this package imports neither ``cyclonedds`` nor ``rclpy``: a transport is chosen when one is opened
(:func:`open_transport`), and :class:`MissingTransportError` says what to install if neither is there. The twin
server (:mod:`dexsim.real.twin`, MuJoCo) is not imported here. See ``docs/real_hand.md``.
"""

from dexsim.real.config import HardwareConfig, load_hardware_config
from dexsim.real.env import AllegroUnscrewRealEnv, make_real_env
from dexsim.real.safety import SafetyConfig, SafetyLayer, SafetyWrapper
from dexsim.real.transport import MissingTransportError, QosSpec, Transport, open_transport

__all__ = [
    "AllegroUnscrewRealEnv",
    "make_real_env",
    "HardwareConfig",
    "load_hardware_config",
    "SafetyConfig",
    "SafetyLayer",
    "SafetyWrapper",
    "MissingTransportError",
    "QosSpec",
    "Transport",
    "open_transport",
]
