"""Teleoperation: tracked human hands -> Allegro joint targets and actions (paper Sec. III).

Modules, one job each: :mod:`~dexsim.teleop.skeleton` (26-joint hand frames, validation),
:mod:`~dexsim.teleop.retarget` (retargeting steps a-c + per-finger IK), :mod:`~dexsim.teleop.gestures`
(left-hand fist start/stop), :mod:`~dexsim.teleop.synthetic` (synthetic hands), :mod:`~dexsim.teleop.stream`
(recorded-stream files) and :mod:`~dexsim.teleop.controller` (the env controller). Live teleoperation
(docs/teleop.md): :mod:`~dexsim.teleop.rostcp` (ROS-TCP endpoint for Unity's ROS-TCP-Connector),
:mod:`~dexsim.teleop.cdr` (hand messages in CDR), :mod:`~dexsim.teleop.latest` (newest frame per hand),
:mod:`~dexsim.teleop.ros2_source` (ROS 2 hand topics), :mod:`~dexsim.teleop.live` (the loop, inputs, latency),
:mod:`~dexsim.teleop.viewer` (MuJoCo viewer with fingertip markers) and :mod:`~dexsim.teleop.session` (the
``dexsim teleop live`` command).
"""

from dexsim.teleop.controller import FrameSource, ReplaySource, RetargetingController
from dexsim.teleop.gestures import GestureConfig, GestureDetector, GestureEvent
from dexsim.teleop.latest import LatestHands, ReceivedFrame
from dexsim.teleop.live import FingertipInput, HandInput, LiveConfig, LiveTeleop
from dexsim.teleop.retarget import RetargetConfig, Retargeter, RetargetResult
from dexsim.teleop.rostcp import EndpointConfig, RosTcpEndpoint
from dexsim.teleop.skeleton import FrameRejected, HandFrame, HandJoint, parse_hand_array
from dexsim.teleop.stream import HandStream, HandStreamWriter, StreamSample, read_hand_stream, write_hand_stream

__all__ = [
    "EndpointConfig",
    "FingertipInput",
    "HandInput",
    "LatestHands",
    "LiveConfig",
    "LiveTeleop",
    "ReceivedFrame",
    "RosTcpEndpoint",
    "FrameRejected",
    "FrameSource",
    "GestureConfig",
    "GestureDetector",
    "GestureEvent",
    "HandFrame",
    "HandJoint",
    "HandStream",
    "HandStreamWriter",
    "ReplaySource",
    "RetargetConfig",
    "RetargetResult",
    "Retargeter",
    "RetargetingController",
    "StreamSample",
    "parse_hand_array",
    "read_hand_stream",
    "write_hand_stream",
]
