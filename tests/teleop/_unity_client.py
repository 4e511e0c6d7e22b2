"""A Unity-side ROS-TCP client written from the protocol description in shared/facts.md (not from the server's
code): frames are ``uint32 LE len(dest) | dest | uint32 LE len(payload) | payload``; the endpoint sends
``__handshake`` first; system commands carry JSON (+ NUL in ROS 2 mode); payloads are CDR with the ``00 01 00 00``
encapsulation header, fields aligned to their size from the end of that header."""

import json
import socket
import struct
import threading
import time

import numpy as np


def frame(destination: str, payload: bytes) -> bytes:
    d = destination.encode()
    return struct.pack("<I", len(d)) + d + struct.pack("<I", len(payload)) + payload


def system(command: str, body: dict) -> bytes:
    return frame(command, json.dumps(body).encode() + b"\x00")  # ROS 2 mode: JSON + NUL


def cdr_float32_multiarray(values) -> bytes:
    values = np.asarray(values, dtype="<f4")
    body = struct.pack("<I", 0)  # layout.dim: empty sequence
    body += struct.pack("<I", 0)  # layout.data_offset
    body += struct.pack("<I", values.size) + values.tobytes()
    return b"\x00\x01\x00\x00" + body


def cdr_pose_array(positions, quaternions_xyzw, frame_id="unity") -> bytes:
    body = struct.pack("<iI", 12, 500)  # stamp
    name = frame_id.encode() + b"\x00"
    body += struct.pack("<I", len(name)) + name
    body += b"\x00" * (-len(body) % 4)
    body += struct.pack("<I", len(positions))
    body += b"\x00" * (-len(body) % 8)  # float64 alignment from the start of the body
    for p, q in zip(positions, quaternions_xyzw, strict=True):
        body += struct.pack("<7d", *p, *q)
    return b"\x00\x01\x00\x00" + body


def read_exactly(sock: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = sock.recv(n - len(out))
        if not chunk:
            raise ConnectionError("closed")
        out += chunk
    return out


def read_frame(sock: socket.socket) -> tuple[str, bytes]:
    (n,) = struct.unpack("<I", read_exactly(sock, 4))
    destination = read_exactly(sock, n).decode()
    (m,) = struct.unpack("<I", read_exactly(sock, 4))
    return destination, read_exactly(sock, m)


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def register(sock, topic, message="std_msgs/Float32MultiArray"):
    sock.sendall(system("__publish", {"topic": topic, "message_name": message, "queue_size": 1, "latch": False}))




class HandStreamer:
    """Streams Unity hand arrays for both hands at ``rate`` Hz from a thread, as the headset app does."""

    def __init__(self, port, right_topic, left_topic, rate=90.0):
        self.sock = connect(port)
        assert read_frame(self.sock)[0] == "__handshake"
        register(self.sock, right_topic)
        register(self.sock, left_topic)
        self.topics = {"right": right_topic, "left": left_topic}
        self.rate = rate
        self.right = None  # Unity float arrays to send; None: that hand is not tracked
        self.left = None
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        next_time = time.monotonic()
        while not self._stop.is_set():
            data = b""
            for hand in ("right", "left"):
                values = getattr(self, hand)
                if values is not None:
                    data += frame(self.topics[hand], cdr_float32_multiarray(values))
            if data:
                self.sock.sendall(data)
                self.sent += 1
            else:
                self.sock.sendall(frame("", b""))  # keep-alive
            next_time += 1.0 / self.rate
            time.sleep(max(0.0, next_time - time.monotonic()))

    def close(self):
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()
