"""Pins the bytes hardware/quest/HandSkeletonPublisher.cs produces against dexsim's decoder.

The script cannot be compiled here, so this test reads its source for the layout it promises (26 joints in
XRHandJointID.ToIndex() order, 3 or 7 floats each in the order x, y, z[, qx, qy, qz, qw], the default topics) and
feeds the endpoint the exact bytes ROS-TCP-Connector sends for that message in ROS 2 mode (a byte fixture written
out by hand below)."""

import re
import struct
import time
from pathlib import Path

import _human_hands as human
import numpy as np
import pytest
from _unity_client import connect, read_frame, register

from dexsim.teleop.rostcp import EndpointConfig, RosTcpEndpoint, hand_frame_from_message
from dexsim.teleop.skeleton import FrameRejected, HandJoint, validate_frame

SCRIPT = Path(__file__).resolve().parents[2] / "hardware" / "quest" / "HandSkeletonPublisher.cs"

# A right hand of 26 joints in Unity's frame and order, m: wrist at the origin, palm 5 cm up (+y), the rest a
# small pattern. The fixture below is the frame for it, byte by byte.
UNITY = np.array([[0.0, 0.0, 0.0], [0.0, 0.05, 0.0]] + [[0.001 * i, 0.002 * i, 0.5] for i in range(2, 26)],
                 dtype="<f4")
FIXTURE = (
    bytes.fromhex("12000000") + b"/dexsim/hand/right"          # uint32 LE destination length, destination
    + bytes.fromhex("48010000")                                   # uint32 LE payload length: 328 = 16 + 78 * 4
    + bytes.fromhex("00010000")                                   # CDR encapsulation: little endian
    + bytes.fromhex("00000000")                                   # layout.dim: empty sequence
    + bytes.fromhex("00000000")                                   # layout.data_offset: 0
    + bytes.fromhex("4e000000")                                   # data: 78 floats
    + UNITY.tobytes()                                             # float32 LE x, y, z per joint
)


def test_script_promises_the_layout_the_decoder_reads():
    source = SCRIPT.read_text()
    assert "public const int JointCount = 26;" in source
    assert re.search(r"int stride = SendRotations \? 7 : 3;", source)
    assert "Float32MultiArrayMsg" in source and "XRHandJointIDUtility.FromIndex(i)" in source
    order = re.findall(r"data\[k(?: \+ (\d))?\] = pose\.(position|rotation)\.(\w)", source)
    assert [(int(k or 0), kind, axis) for k, kind, axis in order] == [
        (0, "position", "x"), (1, "position", "y"), (2, "position", "z"),
        (3, "rotation", "x"), (4, "rotation", "y"), (5, "rotation", "z"), (6, "rotation", "w"),
    ]
    defaults = EndpointConfig()
    assert f'RightTopic = "{defaults.right_topic}"' in source and f'LeftTopic = "{defaults.left_topic}"' in source


def test_fixture_bytes_decode_to_the_hand():
    assert len(FIXTURE) == 4 + 18 + 4 + 328
    payload = FIXTURE[26:]
    frame = hand_frame_from_message("std_msgs/Float32MultiArray", payload, "right", 1.5)
    p = frame.positions
    # Unity index 0 is the wrist (OpenXR 1), index 1 the palm (OpenXR 0); Unity (x right, y up, z forward)
    # becomes x forward, y left, z up.
    np.testing.assert_allclose(p[HandJoint.WRIST], [0.0, 0.0, 0.0], atol=1e-7)
    np.testing.assert_allclose(p[HandJoint.PALM], [0.0, 0.0, 0.05], atol=1e-7)
    np.testing.assert_allclose(p[HandJoint.INDEX_TIP], [0.5, -0.010, 0.020], atol=1e-7)
    assert frame.timestamp == 1.5 and frame.orientations is None


def test_the_endpoint_takes_the_fixture_and_the_182_float_variant():
    with RosTcpEndpoint(EndpointConfig(port=0)) as endpoint:
        sock = connect(endpoint.port)
        assert read_frame(sock)[0] == "__handshake"
        register(sock, "/dexsim/hand/right")
        sock.sendall(FIXTURE)
        rng = np.random.default_rng(0)
        world = human.place(human.open_hand(human.random_hand(rng)), rng)
        rows = human.unity_array(world).reshape(26, 3)
        with_rotations = np.hstack([rows, np.tile([0.0, 0.0, 0.0, 1.0], (26, 1))]).astype("<f4")
        payload = bytes.fromhex("00010000") + struct.pack("<III", 0, 0, 182) + with_rotations.tobytes()
        topic = b"/dexsim/hand/right"
        sock.sendall(struct.pack("<I", len(topic)) + topic + struct.pack("<I", len(payload)) + payload)
        end = time.monotonic() + 5
        while (endpoint.latest("right") is None or endpoint.latest("right").sequence < 2) and time.monotonic() < end:
            time.sleep(0.01)
        received = endpoint.latest("right")
        sock.close()
    assert received.sequence == 2
    np.testing.assert_allclose(received.frame.positions, world, atol=1e-6)
    np.testing.assert_allclose(received.frame.orientations, np.tile([1.0, 0.0, 0.0, 0.0], (26, 1)), atol=1e-7)


def test_a_joint_without_pose_is_nan_and_the_frame_is_rejected():
    values = UNITY.copy()
    values[7] = np.nan  # the script writes NaN for a joint without a pose
    payload = bytes.fromhex("00010000") + struct.pack("<III", 0, 0, 78) + values.astype("<f4").tobytes()
    frame = hand_frame_from_message("std_msgs/Float32MultiArray", payload, "right", 0.0)
    with pytest.raises(FrameRejected, match="missing joints"):
        validate_frame(frame)
