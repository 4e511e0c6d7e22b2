"""The ROS-TCP endpoint against a client written from the protocol description (``_unity_client.py``), not from
the server's code: handshake, registration, topic list, both hand message types, newest-frame-only, bad frames,
bounded fuzzing, allow-list."""

import json
import struct
import time

import _human_hands as human
import numpy as np
import pytest
from _unity_client import cdr_float32_multiarray, cdr_pose_array, connect, frame, read_frame, register, system

from dexsim.teleop.rostcp import EndpointConfig, RosTcpEndpoint

RIGHT, LEFT = "/quest/right_hand", "/quest/left_hand"


def wait_for(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.005)
    return False


@pytest.fixture
def endpoint():
    config = EndpointConfig(host="127.0.0.1", port=0, right_topic=RIGHT, left_topic=LEFT, max_frame_bytes=4096)
    with RosTcpEndpoint(config) as server:
        yield server


def hand_world(seed=0, pose="pinch"):
    rng = np.random.default_rng(seed)
    hand = human.random_hand(rng)
    local = human.open_hand(hand) if pose == "open" else human.fist(hand, 0.4)
    return human.place(local, rng)


def test_handshake_registration_topic_list_and_hand_frames(endpoint):
    sock = connect(endpoint.port)
    destination, payload = read_frame(sock)
    assert destination == "__handshake"
    body = json.loads(payload.rstrip(b"\x00"))
    assert body["version"].startswith("v0.7.") and json.loads(body["metadata"])["protocol"] == "ROS2"
    register(sock, RIGHT)
    register(sock, LEFT, "geometry_msgs/PoseArray")
    sock.sendall(frame("", b""))  # keep-alive
    sock.sendall(system("__topic_list", {}))
    destination, payload = read_frame(sock)
    while destination == "":  # the endpoint's own keep-alives may come first
        destination, payload = read_frame(sock)
    listing = json.loads(payload.rstrip(b"\x00"))
    assert destination == "__topic_list" and RIGHT in listing["topics"] and LEFT in listing["topics"]
    assert listing["types"][listing["topics"].index(LEFT)] == "geometry_msgs/PoseArray"

    world = hand_world(1)
    sock.sendall(frame(RIGHT, cdr_float32_multiarray(human.unity_array(world))))
    assert wait_for(lambda: endpoint.latest("right") is not None)
    np.testing.assert_allclose(endpoint.latest("right").frame.positions, world, atol=1e-6)
    assert endpoint.latest("right").frame.handedness == "right"

    # 182 floats (positions + quaternions) and a PoseArray for the left hand.
    quats = np.tile([0.0, 0.0, 0.0, 1.0], (26, 1))
    sock.sendall(frame(RIGHT, cdr_float32_multiarray(human.unity_array(world, quats))))
    assert wait_for(lambda: endpoint.latest("right").sequence == 2)
    assert endpoint.latest("right").frame.orientations is not None
    left = hand_world(2) * np.array([1.0, -1.0, 1.0])
    unity = human.unity_array(left).reshape(26, 3)
    sock.sendall(frame(LEFT, cdr_pose_array(unity, quats)))
    assert wait_for(lambda: endpoint.latest("left") is not None)
    np.testing.assert_allclose(endpoint.latest("left").frame.positions, left, atol=1e-6)
    sock.close()


def test_only_the_newest_frame_is_kept(endpoint):
    sock = connect(endpoint.port)
    read_frame(sock)
    register(sock, RIGHT)
    frames = [hand_world(seed) for seed in range(30)]
    sock.sendall(b"".join(frame(RIGHT, cdr_float32_multiarray(human.unity_array(w))) for w in frames))
    assert wait_for(lambda: endpoint.latest("right") is not None and endpoint.latest("right").sequence == 30)
    np.testing.assert_allclose(endpoint.latest("right").frame.positions, frames[-1], atol=1e-6)
    sock.close()


BAD_FRAMES = {
    "huge length prefix": struct.pack("<I", 4) + b"/x/y" + struct.pack("<I", 0xFFFFFFF0),
    "huge destination": struct.pack("<I", 0x7FFFFFFF) + b"abc",
    "unregistered topic": frame("/not/registered", cdr_float32_multiarray(np.zeros(78))),
    "unknown system command": system("__explode", {}),
    "bad json": frame("__publish", b"{not json"),
    "wrong float count": frame(RIGHT, cdr_float32_multiarray(np.zeros(77))),
    "bad cdr header": frame(RIGHT, b"\x07\x07\x00\x00" + bytes(40)),
    "truncated cdr": frame(RIGHT, cdr_float32_multiarray(np.zeros(78))[:100]),
    "sequence count lies": frame(RIGHT, b"\x00\x01\x00\x00" + struct.pack("<III", 0, 0, 10**6)),
    "wrong hand type": system("__publish", {"topic": RIGHT, "message_name": "std_msgs/String"}),
}


@pytest.mark.parametrize("name", list(BAD_FRAMES))
def test_a_bad_frame_closes_only_its_connection(endpoint, name):
    good = connect(endpoint.port)
    read_frame(good)
    register(good, RIGHT)
    bad = connect(endpoint.port)
    read_frame(bad)
    register(bad, RIGHT)
    bad.sendall(BAD_FRAMES[name])
    bad.settimeout(5)
    with pytest.raises((ConnectionError, OSError)):  # the server closes the bad connection
        while True:
            read_frame(bad)
    assert any(reason for _, reason in endpoint.closed_connections)
    world = hand_world(3)
    good.sendall(frame(RIGHT, cdr_float32_multiarray(human.unity_array(world))))
    assert wait_for(lambda: endpoint.latest("right") is not None)
    np.testing.assert_allclose(endpoint.latest("right").frame.positions, world, atol=1e-6)
    good.close()


def test_bounded_fuzzing_never_stops_the_server(endpoint):
    rng = np.random.default_rng(1234)
    good = connect(endpoint.port)
    read_frame(good)
    register(good, RIGHT)
    valid = frame(RIGHT, cdr_float32_multiarray(human.unity_array(hand_world(4))))
    for i in range(60):
        sock = connect(endpoint.port)
        kind = i % 4
        if kind == 0:  # random bytes
            data = rng.bytes(int(rng.integers(1, 300)))
        elif kind == 1:  # a valid stream cut anywhere
            data = (system("__publish", {"topic": RIGHT, "message_name": "std_msgs/Float32MultiArray"}) + valid)
            data = data[: int(rng.integers(1, len(data)))]
        elif kind == 2:  # valid registration, then a payload with random bytes flipped
            payload = bytearray(cdr_float32_multiarray(human.unity_array(hand_world(5))))
            for j in rng.integers(0, len(payload), 6):
                payload[j] = int(rng.integers(0, 256))
            data = system("__publish", {"topic": RIGHT, "message_name": "std_msgs/Float32MultiArray"})
            data += frame(RIGHT, bytes(payload))
        else:  # random length prefixes
            data = struct.pack("<II", int(rng.integers(0, 2**32)), int(rng.integers(0, 2**32))) + rng.bytes(16)
        try:
            sock.sendall(data)
        except OSError:
            pass
        sock.close()
        if i % 15 == 0:
            good.sendall(valid)
    count = endpoint.latest("right").sequence if endpoint.latest("right") else 0
    good.sendall(valid)
    assert wait_for(lambda: endpoint.latest("right") is not None and endpoint.latest("right").sequence > count)
    fresh = connect(endpoint.port)
    assert read_frame(fresh)[0] == "__handshake"
    fresh.close()
    good.close()


def test_allow_list_and_bind_address():
    config = EndpointConfig(host="127.0.0.1", port=0, allow=("10.1.2.0/24",))
    assert config.allows("10.1.2.77") and not config.allows("127.0.0.1") and config.allows("::ffff:10.1.2.3")
    with RosTcpEndpoint(config) as server:
        sock = connect(server.port)
        with pytest.raises((ConnectionError, OSError)):
            read_frame(sock)  # closed before any handshake
        assert server.closed_connections[-1][1] == "not in the allow-list"
    with pytest.raises(ValueError, match="allow-list"):
        EndpointConfig(allow=("not-an-address",))
    with pytest.raises(ValueError, match="max_frame_bytes"):
        EndpointConfig(max_frame_bytes=10)
