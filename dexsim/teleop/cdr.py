"""The two hand messages in ROS 2's CDR encoding, read and written without ROS.

Layout (OMG CDR as ROS 2 uses it): a 4-byte encapsulation header (``00 01 00 00`` little endian,
``00 00 00 00`` big endian; options ignored), then the fields in ``.msg`` order, each primitive aligned to its
own size counted from the end of the header; a sequence is a ``uint32`` count then its elements; a string is a
``uint32`` length that includes the terminating NUL, the bytes, the NUL.

* ``std_msgs/Float32MultiArray``: ``layout`` (``dim``: sequence of ``{string label, uint32 size, uint32 stride}``,
  ``uint32 data_offset``), ``data``: sequence of ``float32``.
* ``geometry_msgs/PoseArray``: ``header`` (``stamp``: ``int32 sec``, ``uint32 nanosec``; ``string frame_id``),
  ``poses``: sequence of ``{position: float64 x, y, z; orientation: float64 x, y, z, w}``.

Every read is bounds-checked: a truncated or inconsistent payload raises :class:`CdrError` naming the field.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CdrError",
    "FLOAT32_MULTI_ARRAY",
    "POSE_ARRAY",
    "PoseArrayMessage",
    "decode_float32_multiarray",
    "decode_pose_array",
    "encode_float32_multiarray",
    "encode_pose_array",
]

FLOAT32_MULTI_ARRAY: Final = "std_msgs/Float32MultiArray"
POSE_ARRAY: Final = "geometry_msgs/PoseArray"

_HEADER_LE: Final = b"\x00\x01\x00\x00"
_MAX_COUNT: Final = 1 << 20  # no hand message holds a million elements: reject before allocating


class CdrError(ValueError):
    """A payload that is not a valid CDR encoding of the expected message."""


class _Reader:
    def __init__(self, payload: bytes, message: str) -> None:
        if len(payload) < 4:
            raise CdrError(f"{message}: payload of {len(payload)} bytes has no CDR encapsulation header")
        kind = payload[1]
        if payload[0] != 0 or kind not in (0, 1):
            raise CdrError(f"{message}: unsupported CDR encapsulation {payload[:2].hex()} (want 0000 or 0001)")
        self.endian = "<" if kind == 1 else ">"
        self.body = memoryview(payload)[4:]
        self.pos = 0
        self.message = message

    def _align(self, size: int) -> None:
        self.pos += -self.pos % size

    def _take(self, size: int, field: str) -> memoryview:
        if self.pos + size > len(self.body):
            raise CdrError(f"{self.message}: truncated at field {field} (needs {size} bytes at offset {self.pos})")
        chunk = self.body[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def uint32(self, field: str) -> int:
        self._align(4)
        return int(struct.unpack(self.endian + "I", self._take(4, field))[0])

    def int32(self, field: str) -> int:
        self._align(4)
        return int(struct.unpack(self.endian + "i", self._take(4, field))[0])

    def count(self, field: str, element_size: int) -> int:
        n = self.uint32(field)
        if n > _MAX_COUNT or n * element_size > len(self.body) - self.pos:
            raise CdrError(f"{self.message}: sequence {field} claims {n} elements, more than the payload holds")
        return n

    def string(self, field: str) -> str:
        n = self.count(field, 1)
        raw = bytes(self._take(n, field))
        if n == 0 or raw[-1] != 0:
            raise CdrError(f"{self.message}: string {field} is not NUL-terminated")
        try:
            return raw[:-1].decode("utf-8")
        except UnicodeDecodeError:
            raise CdrError(f"{self.message}: string {field} is not UTF-8") from None

    def array(self, dtype: str, n: int, size: int, field: str) -> NDArray[np.float64]:
        self._align(size)
        raw = self._take(n * size, field)
        return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder(self.endian)).astype(np.float64)


def decode_float32_multiarray(payload: bytes) -> NDArray[np.float64]:
    """The ``data`` of a CDR ``std_msgs/Float32MultiArray`` (the layout is read, checked and dropped)."""
    r = _Reader(payload, FLOAT32_MULTI_ARRAY)
    for _ in range(r.count("layout.dim", 12)):
        r.string("layout.dim.label")
        r.uint32("layout.dim.size")
        r.uint32("layout.dim.stride")
    r.uint32("layout.data_offset")
    n = r.count("data", 4)
    return r.array("f4", n, 4, "data")


@dataclass(frozen=True)
class PoseArrayMessage:
    """A decoded ``geometry_msgs/PoseArray``.

    Attributes:
        stamp: Header time, s.
        frame_id: Header frame.
        positions: (N, 3) positions, m.
        orientations: (N, 4) quaternions (x, y, z, w) as the message stores them.
    """

    stamp: float
    frame_id: str
    positions: NDArray[np.float64]
    orientations: NDArray[np.float64]


def decode_pose_array(payload: bytes) -> PoseArrayMessage:
    """A CDR ``geometry_msgs/PoseArray``."""
    r = _Reader(payload, POSE_ARRAY)
    sec = r.int32("header.stamp.sec")
    nanosec = r.uint32("header.stamp.nanosec")
    frame_id = r.string("header.frame_id")
    n = r.count("poses", 56)
    values = r.array("f8", 7 * n, 8, "poses").reshape(n, 7)
    return PoseArrayMessage(sec + nanosec * 1e-9, frame_id, values[:, :3].copy(), values[:, 3:].copy())


def _pad(buffer: bytearray, size: int) -> None:
    buffer += b"\x00" * (-(len(buffer) - 4) % size)


def encode_float32_multiarray(data: NDArray[np.floating] | list[float]) -> bytes:
    """CDR (little endian) of a ``std_msgs/Float32MultiArray`` with an empty layout and ``data``."""
    values = np.asarray(data, dtype="<f4").ravel()
    out = bytearray(_HEADER_LE)
    out += struct.pack("<III", 0, 0, values.size)  # dim count, data_offset, data count
    out += values.tobytes()
    return bytes(out)


def encode_pose_array(
    positions: NDArray[np.floating], orientations: NDArray[np.floating], stamp: float = 0.0, frame_id: str = ""
) -> bytes:
    """CDR (little endian) of a ``geometry_msgs/PoseArray``; ``orientations`` (N, 4) as (x, y, z, w)."""
    p = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    q = np.asarray(orientations, dtype=np.float64).reshape(-1, 4)
    if len(p) != len(q):
        raise ValueError(f"positions ({len(p)}) and orientations ({len(q)}) differ in length")
    sec = int(np.floor(stamp))
    out = bytearray(_HEADER_LE)
    label = frame_id.encode("utf-8") + b"\x00"
    out += struct.pack("<iII", sec, int(round((stamp - sec) * 1e9)) % 1_000_000_000, len(label)) + label
    _pad(out, 4)
    out += struct.pack("<I", len(p))
    _pad(out, 8)
    out += np.hstack([p, q]).astype("<f8").tobytes()
    return bytes(out)
