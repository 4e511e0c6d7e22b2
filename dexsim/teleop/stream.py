"""Recorded hand-tracking streams: a versioned JSON Lines file (``*.handstream.jsonl``).

Line 1 is the header, every further line one sample (both hands at one instant)::

    {"format": "dexsim.hand_stream", "version": 1, "joint_order": "openxr", "units": "m",
     "frame": "right-handed", "metadata": {...}}
    {"t": 0.0167, "right": [[x, y, z], ... 26 joints], "left": null}

``t`` is seconds since the stream began (non-decreasing); ``right`` / ``left`` hold 26 joint positions in
OpenXR order (:class:`~dexsim.teleop.skeleton.HandJoint`), metres, right-handed frame, or ``null`` when that
hand was not tracked; a joint that was not tracked is ``null`` (read back as NaN). Optional ``right_quat`` /
``left_quat`` hold 26 (w, x, y, z) orientations. Writers flush every line, so after a crash every complete
line is still a sample; a reader skips a torn *last* line (and says so in :attr:`HandStream.torn_tail`) but
rejects any other malformed line with the file and line number.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

import numpy as np

from dexsim.teleop.skeleton import NUM_HAND_JOINTS, HandFrame

__all__ = [
    "STREAM_FORMAT",
    "STREAM_VERSION",
    "StreamSample",
    "HandStream",
    "HandStreamWriter",
    "write_hand_stream",
    "read_hand_stream",
]

STREAM_FORMAT: Final = "dexsim.hand_stream"
STREAM_VERSION: Final = 1


@dataclass(frozen=True)
class StreamSample:
    """Both hands at one instant.

    Attributes:
        timestamp: Seconds since the stream began.
        right: The right hand (drives the robot), or ``None`` if not tracked.
        left: The left hand (gestures), or ``None`` if not tracked.
    """

    timestamp: float
    right: HandFrame | None = None
    left: HandFrame | None = None


@dataclass(frozen=True)
class HandStream:
    """A stream read back from a file.

    Attributes:
        samples: The samples in file order.
        metadata: The header's free-form ``metadata``.
        version: Format version of the file.
        torn_tail: True if an incomplete last line (a write cut short) was skipped.
    """

    samples: list[StreamSample]
    metadata: dict[str, Any] = field(default_factory=dict)
    version: int = STREAM_VERSION
    torn_tail: bool = False


def _joints_to_json(values: np.ndarray) -> list[list[float] | None]:
    return [[float(x) for x in row] if np.isfinite(row).all() else None for row in values]


def _encode(sample: StreamSample) -> str:
    record: dict[str, Any] = {"t": float(sample.timestamp)}
    for side, frame in (("right", sample.right), ("left", sample.left)):
        record[side] = None if frame is None else _joints_to_json(frame.positions)
        if frame is not None and frame.orientations is not None:
            record[f"{side}_quat"] = _joints_to_json(frame.orientations)
    return json.dumps(record, allow_nan=False, separators=(",", ":"))


class HandStreamWriter:
    """Append samples to a new stream file, one flushed line each.

    Args:
        path: File to create (must not exist).
        metadata: Free-form JSON-serialisable header fields (operator, device, app version, ...).
    """

    def __init__(self, path: str | Path, metadata: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        header = {
            "format": STREAM_FORMAT,
            "version": STREAM_VERSION,
            "joint_order": "openxr",
            "units": "m",
            "frame": "right-handed",
            "metadata": metadata or {},
        }
        try:
            text = json.dumps(header, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{self.path}: stream metadata is not JSON-serialisable: {exc}") from None
        self._file: IO[str] = self.path.open("x", encoding="utf-8")
        self._file.write(text + "\n")
        self._file.flush()
        self._last_t = -math.inf

    def write(self, sample: StreamSample) -> None:
        """Append one sample; timestamps must not decrease."""
        if not math.isfinite(sample.timestamp) or sample.timestamp < self._last_t:
            raise ValueError(f"{self.path}: sample time {sample.timestamp} is not finite or goes back in time")
        self._file.write(_encode(sample) + "\n")
        self._file.flush()
        self._last_t = sample.timestamp

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> HandStreamWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def write_hand_stream(
    path: str | Path, samples: Iterable[StreamSample], metadata: dict[str, Any] | None = None
) -> None:
    """Write a whole stream to a new file."""
    with HandStreamWriter(path, metadata) as writer:
        for sample in samples:
            writer.write(sample)


def _joints_from_json(value: Any, width: int, where: str, key: str) -> np.ndarray:
    if not isinstance(value, list) or len(value) != NUM_HAND_JOINTS:
        raise ValueError(f"{where}: '{key}' must be a list of 26 joints")
    out = np.full((NUM_HAND_JOINTS, width), np.nan)
    for i, row in enumerate(value):
        if row is None:
            continue
        if not isinstance(row, list) or len(row) != width or not all(isinstance(x, int | float) for x in row):
            raise ValueError(f"{where}: '{key}' joint {i} must be null or {width} numbers")
        out[i] = row
    return out


def _decode(line: str, where: str) -> StreamSample:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{where}: not a JSON object: {exc}") from None
    if not isinstance(record, dict) or not isinstance(record.get("t"), int | float):
        raise ValueError(f"{where}: a sample needs a numeric 't'")
    hands: dict[str, HandFrame | None] = {}
    for side in ("right", "left"):
        value = record.get(side)
        if value is None:
            hands[side] = None
            continue
        positions = _joints_from_json(value, 3, where, side)
        quat = record.get(f"{side}_quat")
        orientations = None if quat is None else _joints_from_json(quat, 4, where, f"{side}_quat")
        hands[side] = HandFrame(positions, float(record["t"]), side, orientations)  # type: ignore[arg-type]
    return StreamSample(float(record["t"]), hands["right"], hands["left"])


def _lines(path: Path) -> Iterator[tuple[int, str, bool]]:
    with path.open(encoding="utf-8") as file:
        for number, line in enumerate(file, start=1):
            yield number, line, line.endswith("\n")


def read_hand_stream(path: str | Path) -> HandStream:
    """Read a stream file.

    Raises:
        FileNotFoundError: No such file.
        ValueError: Wrong format or version, or a malformed line (the message names file and line).
    """
    path = Path(path)
    lines = list(_lines(path))
    if not lines:
        raise ValueError(f"{path}: empty file, expected a {STREAM_FORMAT} header")
    try:
        header = json.loads(lines[0][1])
    except json.JSONDecodeError:
        header = None
    if not isinstance(header, dict) or header.get("format") != STREAM_FORMAT:
        raise ValueError(f"{path}:1: not a {STREAM_FORMAT} file (header format field missing or different)")
    version = header.get("version")
    if version != STREAM_VERSION:
        raise ValueError(f"{path}:1: stream version {version!r} is not supported (this reader: {STREAM_VERSION})")
    if header.get("joint_order") != "openxr" or header.get("units") != "m":
        raise ValueError(f"{path}:1: expected joint_order 'openxr' and units 'm'")
    samples: list[StreamSample] = []
    torn = False
    last_t = -math.inf
    for number, line, complete in lines[1:]:
        where = f"{path}:{number}"
        if not complete and number == len(lines):
            try:
                sample = _decode(line, where)
            except ValueError:
                torn = True
                break
        else:
            sample = _decode(line, where)
        if sample.timestamp < last_t:
            raise ValueError(f"{where}: time {sample.timestamp} goes back (previous {last_t})")
        last_t = sample.timestamp
        samples.append(sample)
    return HandStream(samples, dict(header.get("metadata") or {}), int(version), torn)
