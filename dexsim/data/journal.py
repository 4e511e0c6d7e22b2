"""The append-only journal an episode is written to while it is being recorded.

A journal is a directory holding ``journal.json`` (frame schema, episode metadata known at start, a unique id)
and ``frames.bin``: consecutive fixed-size records of the numpy structured dtype
:meth:`~dexsim.data.schema.FrameSchema.record_dtype`, one per frame, in the order they arrived. Each record is
written with one ``write`` and flushed to the operating system at once, so a process killed at any point leaves
every frame it had added on disk (only a trailing partial record can be lost; readers ignore it). Optional
``fsync`` per frame also protects against power loss.

A journal is never training data: :mod:`dexsim.data.store` converts it into a compressed episode on finalize.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

from dexsim.data.schema import EpisodeMetadata, FrameSchema

__all__ = ["JOURNAL_FILE", "FRAMES_FILE", "JournalWriter", "JournalContents", "read_journal", "fsync_path"]

JOURNAL_FILE: Final = "journal.json"
FRAMES_FILE: Final = "frames.bin"


def fsync_path(path: Path) -> None:
    """``fsync`` a file or directory (directories make renames and new entries durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class JournalWriter:
    """Appends frames of one episode to a new journal directory.

    Args:
        directory: Journal directory to create (must not exist).
        schema: Shapes/dtypes of every frame.
        metadata: What is known about the episode at start (completed on finalize).
        fsync_every_frame: ``fsync`` after every frame (survives power loss, slower); the OS flush always happens.
    """

    def __init__(
        self, directory: Path, schema: FrameSchema, metadata: EpisodeMetadata, *, fsync_every_frame: bool = False
    ) -> None:
        self.directory = Path(directory)
        self.schema = schema
        self.episode_uuid = uuid.uuid4().hex
        self._dtype = schema.record_dtype()
        self._record = np.zeros((), dtype=self._dtype)
        self._fsync = fsync_every_frame
        self.num_frames = 0
        self.directory.mkdir(parents=True, exist_ok=False)
        header = {"uuid": self.episode_uuid, "schema": schema.to_json(), "metadata": metadata.to_json()}
        header_path = self.directory / JOURNAL_FILE
        header_path.write_text(json.dumps(header, indent=1))
        fsync_path(header_path)
        self._file = open(self.directory / FRAMES_FILE, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        fsync_path(self.directory)

    def append(self, values: dict[str, Any]) -> None:
        """Write one frame; ``values`` maps every schema key to an array of the schema's shape (cast on write).

        Raises:
            ValueError: A key is missing/unknown or a value has the wrong shape.
        """
        if self._file.closed:
            raise ValueError(f"journal {self.directory} is closed")
        record = self._record
        expected = self.schema.fields()
        missing = set(expected) - set(values)
        unknown = set(values) - set(expected)
        if missing or unknown:
            raise ValueError(f"frame keys: missing {sorted(missing)}, unknown {sorted(unknown)}")
        for key, (_, shape) in expected.items():
            value = np.asarray(values[key])
            if value.shape != shape:
                raise ValueError(f"frame key {key!r} must have shape {shape}, got {value.shape}")
            record[key] = value
        self._file.write(record.tobytes())
        if self._fsync:
            os.fsync(self._file.fileno())
        self.num_frames += 1

    def close(self) -> None:
        """Flush to disk (``fsync``) and close the frames file; idempotent."""
        if not self._file.closed:
            os.fsync(self._file.fileno())
            self._file.close()


class JournalContents:
    """What :func:`read_journal` found: header, the complete frames, and whether a partial record was dropped."""

    def __init__(
        self, episode_uuid: str, schema: FrameSchema, metadata: EpisodeMetadata, frames: NDArray[np.void], torn: bool
    ) -> None:
        self.episode_uuid = episode_uuid
        self.schema = schema
        self.metadata = metadata
        self.frames = frames
        self.torn_tail = torn

    @property
    def num_frames(self) -> int:
        """Complete frames in the journal."""
        return int(self.frames.shape[0])


def read_journal(directory: Path) -> JournalContents:
    """Read a journal directory, dropping a trailing partial record.

    Raises:
        ValueError: The header is missing or unreadable (names the file).
    """
    directory = Path(directory)
    header_path = directory / JOURNAL_FILE
    try:
        header = json.loads(header_path.read_text())
        schema = FrameSchema.from_json(header["schema"], str(header_path))
        metadata = EpisodeMetadata.from_json(header["metadata"], str(header_path))
        episode_uuid = str(header["uuid"])
    except FileNotFoundError:
        raise ValueError(f"journal {directory}: missing {JOURNAL_FILE}") from None
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"journal {header_path}: unreadable header: {exc!r}") from None
    dtype = schema.record_dtype()
    frames_path = directory / FRAMES_FILE
    size = frames_path.stat().st_size if frames_path.exists() else 0
    count, remainder = divmod(size, dtype.itemsize)
    frames = np.fromfile(frames_path, dtype=dtype, count=count) if count else np.zeros(0, dtype=dtype)
    return JournalContents(episode_uuid, schema, metadata, frames, torn=remainder != 0)
