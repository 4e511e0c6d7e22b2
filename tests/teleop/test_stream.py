"""The recorded hand-stream file format: round trip, crash tolerance, clear errors."""

import json

import numpy as np
import pytest

from dexsim.teleop.skeleton import HandFrame
from dexsim.teleop.stream import (
    STREAM_VERSION,
    HandStreamWriter,
    StreamSample,
    read_hand_stream,
    write_hand_stream,
)
from dexsim.teleop.synthetic import gesture_stream, synthetic_stream


def _samples():
    right = synthetic_stream("twist", 0.5, 30, seed=2, noise=0.001)
    left = gesture_stream([("open", 0.2), ("fist", 0.3)], 30)
    return [StreamSample(r.timestamp, r, left[i] if i % 3 else None) for i, r in enumerate(right)]


def test_round_trip(tmp_path):
    samples = _samples()
    path = tmp_path / "demo.handstream.jsonl"
    write_hand_stream(path, samples, {"operator": "synthetic"})
    stream = read_hand_stream(path)
    assert stream.version == STREAM_VERSION and stream.metadata == {"operator": "synthetic"}
    assert not stream.torn_tail and len(stream.samples) == len(samples)
    for got, want in zip(stream.samples, samples, strict=True):
        assert got.timestamp == want.timestamp
        np.testing.assert_array_equal(got.right.positions, want.right.positions)
        assert (got.left is None) == (want.left is None)
        if want.left is not None:
            assert got.left.handedness == "left"
            np.testing.assert_array_equal(got.left.positions, want.left.positions)


def test_missing_joints_and_orientations_survive(tmp_path):
    positions = synthetic_stream("pinch", 0.1, 30)[0].positions.copy()
    positions[7] = np.nan
    quat = np.tile([1.0, 0.0, 0.0, 0.0], (26, 1))
    path = tmp_path / "s.jsonl"
    write_hand_stream(path, [StreamSample(0.0, HandFrame(positions, 0.0, "right", quat))])
    got = read_hand_stream(path).samples[0].right
    assert np.isnan(got.positions[7]).all()
    np.testing.assert_array_equal(np.delete(got.positions, 7, 0), np.delete(positions, 7, 0))
    np.testing.assert_array_equal(got.orientations, quat)


def test_a_torn_last_line_is_skipped_and_reported(tmp_path):
    path = tmp_path / "crash.jsonl"
    with HandStreamWriter(path) as writer:
        for sample in _samples()[:5]:
            writer.write(sample)
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # the last write was cut short
    stream = read_hand_stream(path)
    assert stream.torn_tail and len(stream.samples) == 4


def test_bad_files_name_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    write_hand_stream(path, _samples()[:3])
    lines = path.read_text().splitlines()
    lines[2] = json.dumps({"t": 0.1, "right": [[0.0, 0.0]] * 26, "left": None})
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:3: 'right' joint 0"):
        read_hand_stream(path)
    path.write_text(json.dumps({"format": "dexsim.hand_stream", "version": 99, "joint_order": "openxr", "units": "m"}))
    with pytest.raises(ValueError, match="version 99"):
        read_hand_stream(path)
    path.write_text("hello\n")
    with pytest.raises(ValueError, match="bad.jsonl:1: not a dexsim.hand_stream"):
        read_hand_stream(path)
    with pytest.raises(FileNotFoundError):
        read_hand_stream(tmp_path / "nope.jsonl")
    with pytest.raises(FileExistsError):
        HandStreamWriter(path)
    with HandStreamWriter(tmp_path / "t.jsonl") as writer:
        writer.write(StreamSample(1.0))
        with pytest.raises(ValueError, match="back in time"):
            writer.write(StreamSample(0.5))
