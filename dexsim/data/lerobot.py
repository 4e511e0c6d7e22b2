"""Export to the LeRobotDataset v3.0 layout (parquet + mp4 + ``meta/``), so lerobot users can load our demos.

Written from lerobot's documented v3.0 format (lerobot itself needs Python >= 3.12 and is not a dependency)::

    <out>/meta/info.json                           codebase_version "v3.0", fps, features, totals, path templates
    <out>/meta/stats.json                          per feature: min, max, mean, std, count, q01 ... q99
    <out>/meta/tasks.parquet                       task (pandas index) -> task_index
    <out>/meta/episodes/chunk-000/file-000.parquet one row per episode: length, indices, video spans, stats
    <out>/data/chunk-000/file-000.parquet          one row per frame, many episodes per file
    <out>/videos/<image key>/chunk-000/file-000.mp4 the frames of many episodes back to back

Feature names: ``observation.state`` (joint positions, rad), ``observation.effort`` (joint efforts, N m),
``observation.images.top`` / ``observation.images.wrist`` (video), ``action`` (delta joint positions, rad, the
dexsim contract), ``joint_target`` (absolute joint targets, rad), ``next.reward`` (1 on the last frame of a
successful episode), ``next.done``, plus lerobot's automatic ``timestamp``, ``frame_index``, ``episode_index``,
``index``, ``task_index``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

try:
    import av
    import pyarrow as pa
    import pyarrow.parquet as pq
except ImportError as exc:  # optional extra
    raise ImportError(f"the LeRobot export needs PyAV and pyarrow: pip install 'dexsim[lerobot]' ({exc})") from None

from dexsim.data.schema import KEY_ACTION, KEY_JOINT_TARGET
from dexsim.data.stats import FeatureStats, image_stats_of, sample_frames, stats_of
from dexsim.data.store import DatasetError, DatasetStore, Episode
from dexsim.hand import JOINT_NAMES
from dexsim.interface import CAMERA_OBS_KEYS, OBS_JOINT_EFFORTS, OBS_JOINT_POSITIONS

__all__ = [
    "LEROBOT_KEYS",
    "VIDEO_CODECS",
    "EXPORT_MARKER",
    "LeRobotExportConfig",
    "export_lerobot",
    "is_lerobot_export",
    "CODEBASE_VERSION",
]

CODEBASE_VERSION: Final = "v3.0"
CHUNKS_SIZE: Final = 1000
DATA_PATH: Final = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH: Final = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH: Final = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"

LEROBOT_KEYS: Final = {
    OBS_JOINT_POSITIONS: "observation.state",
    OBS_JOINT_EFFORTS: "observation.effort",
    KEY_ACTION: "action",
    KEY_JOINT_TARGET: "joint_target",
    **{obs_key: f"observation.images.{camera}" for camera, obs_key in CAMERA_OBS_KEYS.items()},
}
"""dexsim key -> LeRobot feature name."""

EXPORT_MARKER: Final = "meta/dexsim_export.json"
"""Written into every export (source dataset, episode ids, dexsim version): marks a directory ``overwrite`` may
replace."""
_EXPORT_ENTRIES: Final = frozenset({"meta", "data", "videos"})
_SVT_LOG_ERRORS_ONLY: Final = "1"
"""SVT-AV1's log level (its ``SVT_LOG`` variable) unless the user set one: errors only."""

VIDEO_CODECS: Final = {"libsvtav1": "av1", "libx264": "h264"}
"""Encoder -> codec name recorded in ``info.json``."""


@dataclass(frozen=True)
class LeRobotExportConfig:
    """Export settings.

    Attributes:
        vcodec: Video encoder, ``"libsvtav1"`` (lerobot's default) or ``"libx264"``.
        crf: Constant rate factor of the encoder (lower = better quality, larger files).
        gop: Keyframe interval, frames (lerobot uses 2 for fast random access).
        robot_type: ``info.json``'s robot_type.
        data_file_mb: Start a new data parquet file beyond this size, MB.
        video_file_mb: Start a new mp4 file beyond this size, MB.
    """

    vcodec: str = "libsvtav1"
    crf: int = 30
    gop: int = 2
    robot_type: str = "allegro_hand_v4_right"
    data_file_mb: int = 100
    video_file_mb: int = 200

    def __post_init__(self) -> None:
        if self.vcodec not in VIDEO_CODECS:
            raise ValueError(f"vcodec must be one of {sorted(VIDEO_CODECS)}, got {self.vcodec!r}")
        if not 0 <= self.crf <= 63:
            raise ValueError(f"crf must be in [0, 63], got {self.crf}")
        if self.gop < 1 or self.data_file_mb <= 0 or self.video_file_mb <= 0:
            raise ValueError("gop, data_file_mb and video_file_mb must be positive")


def _json_number(value: float) -> int | float:
    """``20.0`` -> ``20`` (lerobot stores integral rates as ints)."""
    return int(value) if float(value).is_integer() else float(value)


def _chunk_file(counter: int) -> tuple[int, int]:
    return counter // CHUNKS_SIZE, counter % CHUNKS_SIZE


class _VideoWriter:
    """Appends episodes' frames to a sequence of mp4 files for one camera, rolling over by size."""

    def __init__(self, out: Path, video_key: str, fps: float, size: int, config: LeRobotExportConfig) -> None:
        self.out, self.video_key, self.fps, self.size, self.config = out, video_key, fps, size, config
        self.counter = -1
        self.frames_in_file = 0
        self._container: Any = None
        self._stream: Any = None
        self._path: Path | None = None

    def _open_next(self) -> None:
        self.close()
        self.counter += 1
        chunk, file = _chunk_file(self.counter)
        self._path = self.out / VIDEO_PATH.format(video_key=self.video_key, chunk_index=chunk, file_index=file)
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._container = av.open(str(self._path), mode="w")
        options = {"crf": str(self.config.crf), "g": str(self.config.gop)}
        if self.config.vcodec == "libsvtav1":
            options["preset"] = "8"
            os.environ.setdefault("SVT_LOG", _SVT_LOG_ERRORS_ONLY)  # not ~20 info lines per file; SVT_LOG=3 shows them
        self._stream = self._container.add_stream(self.config.vcodec, rate=Fraction(self.fps).limit_denominator(1000),
                                                  options=options)
        self._stream.width = self._stream.height = self.size
        self._stream.pix_fmt = "yuv420p"
        self.frames_in_file = 0

    def append(self, images: NDArray[np.uint8]) -> tuple[int, int, float, float]:
        """Encode one episode; returns (chunk index, file index, from timestamp s, to timestamp s)."""
        if self._container is None or self._file_bytes() > self.config.video_file_mb * 1e6:
            self._open_next()
        start = self.frames_in_file
        for image in images:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts = self.frames_in_file
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
            self.frames_in_file += 1
        chunk, file = _chunk_file(self.counter)
        return chunk, file, start / self.fps, self.frames_in_file / self.fps

    def _file_bytes(self) -> int:
        """Bytes of the current file so far (the muxer creates it with its first packet)."""
        return self._path.stat().st_size if self._path is not None and self._path.exists() else 0

    def close(self) -> None:
        if self._container is not None:
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            self._container = None


def _vector_type(width: int) -> pa.DataType:
    return pa.list_(pa.float32(), width)


def _frame_table(episode: Episode, episode_index: int, first_index: int, arrays: dict[str, NDArray[Any]],
                 task_index: int) -> pa.Table:
    length = episode.length
    columns: dict[str, pa.Array] = {}
    for key in (OBS_JOINT_POSITIONS, OBS_JOINT_EFFORTS, KEY_ACTION, KEY_JOINT_TARGET):
        values = np.ascontiguousarray(arrays[key], dtype=np.float32)
        columns[LEROBOT_KEYS[key]] = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), values.shape[1])
    frame_index = np.arange(length, dtype=np.int64)
    reward = np.zeros(length, np.float32)
    if episode.metadata.success:
        reward[-1] = 1.0
    done = np.zeros(length, bool)
    done[-1] = True
    columns.update(
        {
            "next.reward": pa.array(reward),
            "next.done": pa.array(done),
            "timestamp": pa.array((frame_index / episode.schema.control_hz).astype(np.float32)),
            "frame_index": pa.array(frame_index),
            "episode_index": pa.array(np.full(length, episode_index, np.int64)),
            "index": pa.array(first_index + frame_index),
            "task_index": pa.array(np.full(length, task_index, np.int64)),
        }
    )
    return pa.table(columns)


def _features(store: DatasetStore, config: LeRobotExportConfig) -> dict[str, Any]:
    names = list(JOINT_NAMES)
    fps = store.schema.control_hz
    features: dict[str, Any] = {}
    for key in (OBS_JOINT_POSITIONS, OBS_JOINT_EFFORTS, KEY_ACTION, KEY_JOINT_TARGET):
        features[LEROBOT_KEYS[key]] = {"dtype": "float32", "shape": [len(names)], "names": names}
    size = store.schema.image_size
    for key in store.schema.image_keys:
        features[LEROBOT_KEYS[key]] = {
            "dtype": "video",
            "shape": [size, size, 3],
            "names": ["height", "width", "channels"],
            "info": {
                "video.height": size, "video.width": size, "video.codec": VIDEO_CODECS[config.vcodec],
                "video.pix_fmt": "yuv420p", "video.is_depth_map": False, "video.fps": _json_number(fps),
                "video.channels": 3, "has_audio": False,
            },
        }
    features["next.reward"] = {"dtype": "float32", "shape": [1], "names": None}
    features["next.done"] = {"dtype": "bool", "shape": [1], "names": None}
    features["timestamp"] = {"dtype": "float32", "shape": [1], "names": None}
    for name in ("frame_index", "episode_index", "index", "task_index"):
        features[name] = {"dtype": "int64", "shape": [1], "names": None}
    return features


def _write_tasks(path: Path, tasks: list[str]) -> None:
    """``tasks.parquet`` as lerobot writes it: a pandas frame indexed by the task string."""
    pandas_meta = {
        "index_columns": ["task"],
        "column_indexes": [{"name": None, "field_name": None, "pandas_type": "unicode", "numpy_type": "object",
                            "metadata": {"encoding": "UTF-8"}}],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64",
             "metadata": None},
            {"name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object", "metadata": None},
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }
    table = pa.table({"task_index": pa.array(np.arange(len(tasks), dtype=np.int64)), "task": pa.array(tasks)})
    pq.write_table(table.replace_schema_metadata({"pandas": json.dumps(pandas_meta)}), path)


def is_lerobot_export(path: str | Path) -> bool:
    """Whether ``path`` is a directory this exporter wrote: only ``meta/``, ``data/``, ``videos/`` at the top and
    its marker ``meta/dexsim_export.json`` (the only kind of directory ``overwrite`` may replace)."""
    path = Path(path)
    if not path.is_dir() or not (path / EXPORT_MARKER).is_file():
        return False
    return {entry.name for entry in path.iterdir()} <= _EXPORT_ENTRIES


def _check_output(store: DatasetStore, out: Path, overwrite: bool) -> bool:
    """Refuse outputs that would destroy data; returns whether an earlier export at ``out`` is to be replaced."""
    source, target = store.root.resolve(), out.resolve()
    if target == source or source in target.parents or target in source.parents:
        raise ValueError(f"export directory {out} is, contains or sits inside the dataset {store.root}: "
                         "choose a directory outside it (nothing was written or deleted)")
    for ancestor in (target, *target.parents):
        if ancestor.exists() and not ancestor.is_dir():
            raise ValueError(f"export directory {out}: {ancestor} is a file, not a directory")
    if not target.is_dir() or not any(target.iterdir()):
        return False
    if not is_lerobot_export(target):
        raise FileExistsError(f"export directory {out} is not empty and not an earlier dexsim LeRobot export "
                              f"(no {EXPORT_MARKER}): choose another directory (nothing was deleted)")
    if not overwrite:
        raise FileExistsError(f"export directory {out} is not empty: it holds an earlier export "
                              "(pass overwrite=True / --overwrite to replace it)")
    return True


def _check_episode_ids(store: DatasetStore, episode_ids: Sequence[int] | None) -> list[int]:
    """The ids to export, validated: each exists once, and every file each one needs is present."""
    available = store.episode_ids()
    ids = list(available if episode_ids is None else episode_ids)
    if not ids:
        raise ValueError(f"no episodes to export from {store.root}")
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"episodes {repeated} are listed more than once")
    unknown = sorted(set(ids) - set(available))
    if unknown:
        have = f"{available[0]}-{available[-1]}" if available else "none"
        raise ValueError(f"dataset {store.root} has no episodes {unknown} (its episode ids: {have}, {len(available)} "
                         "episodes)")
    for episode in store.episodes(ids):
        for key in store.schema.fields():
            missing = [str(path) for path in episode.missing_files(key)]
            if missing and episode.every_chunk_stored:
                raise DatasetError(f"episode {episode.name}: array {key!r}: missing file {', '.join(missing)} "
                                   "(run `dexsim dataset check`)")
    return ids


def export_lerobot(
    store: DatasetStore,
    out: str | Path,
    episode_ids: Sequence[int] | None = None,
    config: LeRobotExportConfig | None = None,
    *,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write the selected episodes (all by default) as a LeRobotDataset v3.0 at ``out``; returns ``info.json``.

    The export is built in a hidden sibling directory and renamed to ``out`` only when complete: a failed export
    leaves nothing behind, and ``overwrite`` removes the earlier export only after the new one is complete.

    Raises:
        FileExistsError: ``out`` is not empty: an earlier export (unless ``overwrite``) or anything else (always).
        ValueError: ``out`` is, contains or sits inside the dataset, or is a file; an episode id is unknown or
            repeated; no episode is selected.
        DatasetError: A selected episode is missing a file or cannot be decoded (names it).
    """
    config = config or LeRobotExportConfig()
    out = Path(out)
    replace = _check_output(store, out, overwrite)
    ids = _check_episode_ids(store, episode_ids)
    target = out.resolve()
    created = next((p for p in reversed((target, *target.parents)) if not p.exists()), None)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        info = _write_export(store, staging, ids, config)
        _write_marker(staging, store, ids)
        if replace:
            old = target.parent / f".{target.name}.old-{os.getpid()}"
            os.rename(target, old)
            os.rename(staging, target)
            shutil.rmtree(old)
        else:
            if target.is_dir():
                target.rmdir()  # empty
            os.rename(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created is not None and created != target and created.exists():
            shutil.rmtree(created, ignore_errors=True)  # directories this call created for the output
        raise
    return info


def _write_marker(out: Path, store: DatasetStore, ids: list[int]) -> None:
    from dexsim import __version__

    marker = {"exporter": "dexsim", "dexsim_version": __version__, "source_dataset": str(store.root.resolve()),
              "episode_ids": ids, "created": datetime.now(UTC).isoformat(timespec="seconds")}
    (out / EXPORT_MARKER).write_text(json.dumps(marker, indent=1))


def _write_export(store: DatasetStore, out: Path, ids: list[int], config: LeRobotExportConfig) -> dict[str, Any]:
    """Write the LeRobot layout of episodes ``ids`` into the new directory ``out``; returns ``info.json``."""
    (out / "meta").mkdir(parents=True, exist_ok=True)
    fps = store.schema.control_hz
    image_keys = store.schema.image_keys
    videos = {key: _VideoWriter(out, LEROBOT_KEYS[key], fps, store.schema.image_size, config) for key in image_keys}
    tasks: dict[str, int] = {}
    episode_rows: list[dict[str, Any]] = []
    data_tables: list[pa.Table] = []
    data_counter, data_bytes, total = 0, 0, 0
    low_dim_keys = (OBS_JOINT_POSITIONS, OBS_JOINT_EFFORTS, KEY_ACTION, KEY_JOINT_TARGET)
    all_low_dim: dict[str, list[NDArray[Any]]] = {key: [] for key in low_dim_keys}
    image_samples: dict[str, list[NDArray[Any]]] = {key: [] for key in image_keys}

    def flush_data() -> None:
        nonlocal data_tables, data_bytes, data_counter
        if data_tables:
            chunk, file = _chunk_file(data_counter)
            path = out / DATA_PATH.format(chunk_index=chunk, file_index=file)
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.concat_tables(data_tables), path)
            data_tables, data_bytes, data_counter = [], 0, data_counter + 1

    try:
        for episode_index, episode_id in enumerate(ids):
            episode = store.episode(episode_id)
            task = episode.metadata.task
            task_index = tasks.setdefault(task, len(tasks))
            arrays = {key: episode.read(key) for key in low_dim_keys}
            table = _frame_table(episode, episode_index, total, arrays, task_index)
            if data_tables and data_bytes + table.nbytes > config.data_file_mb * 1e6:
                flush_data()
            chunk, file = _chunk_file(data_counter)
            row: dict[str, Any] = {
                "episode_index": episode_index,
                "tasks": [task],
                "length": episode.length,
                "data/chunk_index": chunk,
                "data/file_index": file,
                "dataset_from_index": total,
                "dataset_to_index": total + episode.length,
            }
            data_tables.append(table)
            data_bytes += table.nbytes
            for key in image_keys:
                images = episode.read(key)
                v_chunk, v_file, start, stop = videos[key].append(images)
                name = LEROBOT_KEYS[key]
                row.update({f"videos/{name}/chunk_index": v_chunk, f"videos/{name}/file_index": v_file,
                            f"videos/{name}/from_timestamp": start, f"videos/{name}/to_timestamp": stop})
                sample = images[sample_frames(episode.length, 32)]
                image_samples[key].append(sample)
                _add_stats(row, name, image_stats_of(sample))
            for key in low_dim_keys:
                all_low_dim[key].append(arrays[key])
                _add_stats(row, LEROBOT_KEYS[key], stats_of(arrays[key]))
            row.update({"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0,
                        "dexsim/episode_id": episode_id, "dexsim/success": episode.metadata.success,
                        "dexsim/defect": episode.metadata.defect or "", "dexsim/source": episode.metadata.source,
                        "dexsim/operator": episode.metadata.operator})
            episode_rows.append(row)
            total += episode.length
        flush_data()
    finally:
        for writer in videos.values():
            writer.close()

    episodes_path = out / EPISODES_PATH.format(chunk_index=0, file_index=0)
    episodes_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(episode_rows), episodes_path)
    _write_tasks(out / "meta" / "tasks.parquet", list(tasks))

    stats: dict[str, Any] = {LEROBOT_KEYS[k]: stats_of(np.concatenate(v)).to_json() for k, v in all_low_dim.items()}
    for key, samples in image_samples.items():
        stats[LEROBOT_KEYS[key]] = image_stats_of(np.concatenate(samples)).to_json()
    (out / "meta" / "stats.json").write_text(json.dumps(stats, indent=1))

    info = {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": config.robot_type,
        "total_episodes": len(ids),
        "total_frames": total,
        "total_tasks": len(tasks),
        "chunks_size": CHUNKS_SIZE,
        "data_files_size_in_mb": config.data_file_mb,
        "video_files_size_in_mb": config.video_file_mb,
        "fps": _json_number(fps),
        "splits": {"train": f"0:{len(ids)}"},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if image_keys else None,
        "features": _features(store, config),
    }
    (out / "meta" / "info.json").write_text(json.dumps(info, indent=4))
    return info


def _add_stats(row: dict[str, Any], feature: str, stats: FeatureStats) -> None:
    for name, value in stats.to_json().items():
        row[f"stats/{feature}/{name}"] = value
