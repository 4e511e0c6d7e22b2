"""The append-only journal: each frame on disk as it is added; a torn last record is ignored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from dexsim.data.journal import FRAMES_FILE, JOURNAL_FILE, JournalWriter, read_journal
from dexsim.data.schema import EpisodeMetadata, FrameSchema


def _frame(schema: FrameSchema, value: float) -> dict[str, np.ndarray]:
    return {key: np.full(shape, value, dtype) for key, (dtype, shape) in schema.fields().items()}


def test_frames_reach_the_file_one_by_one_and_read_back(tmp_path: Path) -> None:
    schema = FrameSchema(control_hz=10.0, image_size=16, cameras=("wrist",))
    writer = JournalWriter(tmp_path / "j", schema, EpisodeMetadata(operator="ana", seed=3))
    size = schema.record_dtype().itemsize
    for i in range(4):
        writer.append(_frame(schema, i))
        assert (tmp_path / "j" / FRAMES_FILE).stat().st_size == (i + 1) * size  # not buffered in the process
    contents = read_journal(tmp_path / "j")
    assert contents.num_frames == 4 and not contents.torn_tail
    assert contents.metadata.operator == "ana" and contents.schema == schema
    np.testing.assert_array_equal(contents.frames["wrist_image"][:, 0, 0, 0], [0, 1, 2, 3])
    writer.close()
    with pytest.raises(ValueError, match="is closed"):
        writer.append(_frame(schema, 9))


def test_torn_tail_is_dropped(tmp_path: Path) -> None:
    schema = FrameSchema(control_hz=10.0, image_size=16, cameras=())
    writer = JournalWriter(tmp_path / "j", schema, EpisodeMetadata())
    for i in range(3):
        writer.append(_frame(schema, i))
    writer.close()
    with open(tmp_path / "j" / FRAMES_FILE, "ab") as f:
        f.write(b"\x01" * 10)  # a frame cut short by a crash
    contents = read_journal(tmp_path / "j")
    assert contents.num_frames == 3 and contents.torn_tail


def test_bad_frames_and_headers_are_named(tmp_path: Path) -> None:
    schema = FrameSchema(control_hz=10.0, image_size=16, cameras=("top",))
    writer = JournalWriter(tmp_path / "j", schema, EpisodeMetadata())
    frame = _frame(schema, 0)
    frame["top_image"] = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r"'top_image' must have shape \(16, 16, 3\)"):
        writer.append(frame)
    del frame["top_image"]
    with pytest.raises(ValueError, match=r"missing \['top_image'\]"):
        writer.append(frame)
    writer.close()
    (tmp_path / "j" / JOURNAL_FILE).write_text("{")
    with pytest.raises(ValueError, match="journal.json: unreadable header"):
        read_journal(tmp_path / "j")
    with pytest.raises(ValueError, match="missing journal.json"):
        read_journal(tmp_path / "nothing")


def test_metadata_validation_names_the_field() -> None:
    with pytest.raises(ValueError, match="'source' must be one of"):
        EpisodeMetadata(source="mars")
    with pytest.raises(ValueError, match="field 'extra'"):
        EpisodeMetadata(extra={"fn": object()}).to_json()
    meta = EpisodeMetadata(extra={"array": np.arange(3), "scalar": np.float32(0.5)}, seed=np.int64(4))
    assert meta.to_json()["extra"] == {"array": [0, 1, 2], "scalar": 0.5} and meta.seed == 4
    with pytest.raises(ValueError, match="unknown metadata fields"):
        EpisodeMetadata.from_json({"sauce": 1}, "episode x")
