"""The dataset store: one zarr v3 group per finalized episode, plus journals for episodes being recorded.

Layout of a dataset directory (see ``docs/dataset.md``)::

    <root>/
      dataset.json                 format marker, version and the frame schema (rate, image size, cameras)
      index.json                   cache of per-episode summaries (rebuilt from episodes/ whenever stale)
      episodes/episode_000000.zarr one zarr v3 group per finalized episode (the source of truth)
      incoming/<uuid>/             journal of an episode being recorded (see :mod:`dexsim.data.journal`)

An episode becomes part of the dataset only by an atomic ``rename`` of a complete, fsynced zarr group from
``incoming/`` into ``episodes/``; nothing a crash leaves in ``incoming/`` is ever read as training data.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import itertools
import json
import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import zarr
from numpy.typing import NDArray
from zarr.codecs import ZstdCodec
from zarr.core.sync import sync as zarr_sync

from dexsim.data.journal import JOURNAL_FILE, JournalContents, JournalWriter, fsync_path, read_journal
from dexsim.data.schema import FORMAT_NAME, FORMAT_VERSION, EpisodeMetadata, FrameSchema

__all__ = [
    "DatasetError",
    "DatasetStore",
    "Episode",
    "EpisodeSummary",
    "IncompleteEpisode",
    "DATASET_FILE",
    "INDEX_FILE",
    "EPISODES_DIR",
    "INCOMING_DIR",
    "IMAGE_SHARD_FRAMES",
    "CLEAN_LABEL",
    "RECOVERED_LABEL",
    "read_concatenated",
    "episode_name",
]

DATASET_FILE: Final = "dataset.json"
INDEX_FILE: Final = "index.json"
EPISODES_DIR: Final = "episodes"
INCOMING_DIR: Final = "incoming"
IMAGE_SHARD_FRAMES: Final = 100
"""Frames per image shard file; each frame is its own compressed chunk inside the shard (random access)."""
_ZSTD_LEVEL: Final = 3
_EPISODE_NAME = re.compile(r"episode_(\d{6})\.zarr\Z")
_ATTRS_KEY: Final = "dexsim"
_BUILD_NAME: Final = "episode.zarr"
CLEAN_LABEL: Final = "clean"
"""The scripted expert's label of a demonstration without defect."""
RECOVERED_LABEL: Final = "recovered"
"""Label (``defect``) of an episode rebuilt from an interrupted recording that had no defect label."""
_EVERY_CHUNK_STORED: Final = "every_chunk_stored"
"""Episode attribute: every chunk file was written (even all-zero ones), so a missing file means lost data.
Episodes written before it may lack the files of all-zero chunks (zarr reads them back as zeros)."""


class DatasetError(ValueError):
    """A dataset, episode or file is missing, foreign, truncated or corrupted; the message names it."""


def episode_name(episode_id: int) -> str:
    """Directory name of an episode id."""
    return f"episode_{episode_id:06d}.zarr"


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def _write_json_atomic(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=1))
    fsync_path(tmp)
    os.replace(tmp, path)
    fsync_path(path.parent)


def _fsync_tree(root: Path) -> None:
    for directory, _, files in os.walk(root):
        for name in files:
            fsync_path(Path(directory) / name)
        fsync_path(Path(directory))


async def _wait_for_other_tasks(timeout_s: float) -> None:
    current = asyncio.current_task()
    pending = [task for task in asyncio.all_tasks() if task is not current]
    if pending:
        await asyncio.wait(pending, timeout=timeout_s)


def _settle_pending_reads(timeout_s: float = 30.0) -> None:
    """Let the chunk reads that zarr's I/O loop still runs after one of them failed finish.

    A failed read leaves its sibling chunk reads pending; at interpreter exit they would be destroyed and log pages
    of asyncio ``Task was destroyed`` / ``Event loop is closed`` tracebacks after the real error.
    """
    try:
        zarr_sync(_wait_for_other_tasks(timeout_s))
    except Exception:  # best effort: the read error is what matters
        pass


@dataclass(frozen=True)
class EpisodeSummary:
    """One line of the index: what ``dataset info`` and episode selection need without opening arrays."""

    episode_id: int
    uuid: str
    length: int
    success: bool
    defect: str | None
    source: str
    operator: str
    seed: int | None
    recovered: bool

    @classmethod
    def from_metadata(cls, episode_id: int, uuid: str, length: int, meta: EpisodeMetadata) -> EpisodeSummary:
        """Summarise an episode's metadata."""
        return cls(episode_id, uuid, length, meta.success, meta.defect, meta.source, meta.operator, meta.seed,
                   meta.recovered)


@dataclass(frozen=True)
class IncompleteEpisode:
    """A journal left in ``incoming/`` by a recording that never finalized (crash, kill, power loss)."""

    path: Path
    uuid: str
    num_frames: int
    torn_tail: bool
    already_finalized: bool
    """True if the episode reached ``episodes/`` and only the journal's clean-up was interrupted."""
    foreign: str = ""
    """Why this entry is not a recording (e.g. no ``journal.json``); ``""`` for a journal. Foreign entries are
    reported and left alone; only :meth:`DatasetStore.discard_incomplete` deletes them."""


class Episode:
    """Read access to one finalized episode (a zarr v3 group).

    Raises :class:`DatasetError` naming the episode and file for anything missing, truncated or corrupted.

    Attributes:
        every_chunk_stored: The episode was written with every chunk file (all-zero ones too), so a missing file
            is lost data; ``False`` for episodes of older dexsim versions.
    """

    def __init__(self, path: Path, episode_id: int, schema: FrameSchema) -> None:
        self.path = Path(path)
        self.episode_id = episode_id
        self.schema = schema
        self.name = self.path.name
        if not (self.path / "zarr.json").is_file():
            raise DatasetError(f"episode {self.name}: missing {self.path / 'zarr.json'} (not a zarr group)")
        try:
            self._group = zarr.open_group(self.path, mode="r", zarr_format=3)
            attrs: Any = dict(self._group.attrs)[_ATTRS_KEY]
        except KeyError:
            raise DatasetError(
                f"episode {self.name}: {self.path / 'zarr.json'} has no '{_ATTRS_KEY}' attributes"
            ) from None
        except Exception as exc:  # zarr raises many types for bad metadata
            raise DatasetError(f"episode {self.name}: unreadable {self.path / 'zarr.json'}: {exc!r}") from None
        try:
            self.uuid = str(attrs["uuid"])
            self.length = int(attrs["num_frames"])
            self.every_chunk_stored = bool(attrs.get(_EVERY_CHUNK_STORED, False))
            self.metadata = EpisodeMetadata.from_json(attrs["metadata"], f"episode {self.name}")
        except (KeyError, TypeError) as exc:
            raise DatasetError(f"episode {self.name}: incomplete attributes in zarr.json: missing {exc}") from None
        self._arrays: dict[str, zarr.Array] = {}

    def summary(self) -> EpisodeSummary:
        """This episode's index entry."""
        return EpisodeSummary.from_metadata(self.episode_id, self.uuid, self.length, self.metadata)

    def array(self, key: str) -> zarr.Array:
        """The zarr array of ``key``, checked against the dataset schema."""
        if key in self._arrays:
            return self._arrays[key]
        fields = self.schema.fields()
        if key not in fields:
            raise KeyError(f"unknown key {key!r}; this dataset has {sorted(fields)}")
        where = self.path / key
        if not (where / "zarr.json").is_file():
            raise DatasetError(f"episode {self.name}: missing array {key!r} ({where / 'zarr.json'})")
        try:
            array = self._group[key]
        except Exception as exc:
            raise DatasetError(
                f"episode {self.name}: unreadable array metadata {where / 'zarr.json'}: {exc!r}"
            ) from None
        dtype, shape = fields[key]
        if not isinstance(array, zarr.Array) or array.dtype != dtype or tuple(array.shape) != (self.length, *shape):
            raise DatasetError(
                f"episode {self.name}: array {key!r} is {getattr(array, 'dtype', '?')} "
                f"{getattr(array, 'shape', '?')}, expected {dtype} {(self.length, *shape)}"
            )
        self._arrays[key] = array
        return array

    def chunk_files(self, key: str, start: int = 0, stop: int | None = None) -> list[Path]:
        """The chunk (or shard) files that hold frames ``start:stop`` of ``key``; each must exist."""
        array = self.array(key)
        stop = self.length if stop is None else stop
        if stop <= start:
            return []
        grid = array.shards or array.chunks
        encoding = array.metadata.chunk_key_encoding
        per_dim = [range(start // grid[0], (stop - 1) // grid[0] + 1)]
        per_dim += [range(-(-size // step)) for size, step in zip(array.shape[1:], grid[1:], strict=True)]
        return [self.path / key / encoding.encode_chunk_key(coords) for coords in itertools.product(*per_dim)]

    def missing_files(self, key: str, start: int = 0, stop: int | None = None) -> list[Path]:
        """Chunk files of frames ``start:stop`` of ``key`` that do not exist (see :attr:`every_chunk_stored`)."""
        return [path for path in self.chunk_files(key, start, stop) if not path.is_file()]

    def read(self, key: str, start: int = 0, stop: int | None = None) -> NDArray[Any]:
        """Frames ``start:stop`` of ``key`` as a numpy array (decompressed, checksums verified).

        Raises:
            DatasetError: a chunk file is missing (zarr would read it back as zeros; checked for episodes with
                :attr:`every_chunk_stored`), truncated or corrupted.
        """
        array = self.array(key)
        stop = self.length if stop is None else stop
        files = self.chunk_files(key, start, stop)
        missing = self.missing_files(key, start, stop)
        if missing and self.every_chunk_stored:
            raise DatasetError(
                f"episode {self.name}: array {key!r} frames {start}:{stop}: missing file "
                f"{', '.join(map(str, missing))} (deleted or never written)"
            )
        try:
            return np.asarray(array[start:stop])
        except Exception as exc:
            _settle_pending_reads()
            bad = self._unreadable_files(key, start, stop) or files
            raise DatasetError(
                f"episode {self.name}: array {key!r} frames {start}:{stop} cannot be read "
                f"(file {', '.join(map(str, bad))} truncated or corrupted): {exc!r}"
            ) from None

    def _unreadable_files(self, key: str, start: int, stop: int) -> list[Path]:
        """Which chunk files of ``start:stop`` fail to decode (read one time-chunk at a time)."""
        array = self.array(key)
        step = (array.shards or array.chunks)[0]
        bad = []
        for first in range(start - start % step, stop, step):
            try:
                array[max(first, start):min(first + step, stop)]
            except Exception:
                _settle_pending_reads()
                bad += self.chunk_files(key, max(first, start), min(first + step, stop))
        return bad

    def read_all(self) -> dict[str, NDArray[Any]]:
        """Every key, fully read."""
        return {key: self.read(key) for key in self.schema.fields()}


class DatasetStore:
    """A directory of episodes; create it with :meth:`create` or open an existing one with :meth:`open`."""

    def __init__(self, root: Path, schema: FrameSchema) -> None:
        self.root = Path(root)
        self.schema = schema
        self.episodes_dir = self.root / EPISODES_DIR
        self.incoming_dir = self.root / INCOMING_DIR

    # ----------------------------------------------------------------------------------------- opening
    @classmethod
    def create(cls, root: str | os.PathLike[str], schema: FrameSchema) -> DatasetStore:
        """Create a dataset at ``root`` or open it if it exists with the same schema.

        Raises:
            DatasetError: ``root`` is a file, a non-empty foreign directory, or a dataset with another schema.
        """
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise DatasetError(f"dataset directory {root} is a file")
        if (root / DATASET_FILE).exists():
            store = cls.open(root)
            if store.schema != schema:
                raise DatasetError(
                    f"dataset {root} records {store.schema.to_json()}, the env produces {schema.to_json()}: "
                    "use another directory for this configuration"
                )
            return store
        if root.exists() and any(root.iterdir()):
            raise DatasetError(f"{root} is a non-empty directory that is not a dexsim dataset (no {DATASET_FILE})")
        (root / EPISODES_DIR).mkdir(parents=True, exist_ok=True)
        (root / INCOMING_DIR).mkdir(exist_ok=True)
        _write_json_atomic(
            root / DATASET_FILE,
            {"format": FORMAT_NAME, "version": FORMAT_VERSION, "created": _now(), "schema": schema.to_json()},
        )
        return cls(root, schema)

    @classmethod
    def open(cls, root: str | os.PathLike[str]) -> DatasetStore:
        """Open an existing dataset.

        Raises:
            FileNotFoundError: ``root`` does not exist.
            DatasetError: ``root`` is a file, not a dexsim dataset, or its ``dataset.json`` is unreadable.
        """
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise DatasetError(f"dataset directory {root} is a file")
        if not root.is_dir():
            raise FileNotFoundError(f"dataset directory {root} does not exist")
        marker = root / DATASET_FILE
        if not marker.is_file():
            raise DatasetError(f"{root} is not a dexsim dataset: {DATASET_FILE} is missing")
        try:
            header = json.loads(marker.read_text())
            fmt, version = header["format"], int(header["version"])
            schema_json = header["schema"]
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{marker}: unreadable dataset header: {exc!r}") from None
        if fmt != FORMAT_NAME:
            raise DatasetError(f"{marker}: format is {fmt!r}, not {FORMAT_NAME!r}")
        if version > FORMAT_VERSION:
            raise DatasetError(f"{marker}: format version {version} is newer than this dexsim ({FORMAT_VERSION})")
        store = cls(root, FrameSchema.from_json(schema_json, str(marker)))
        if not store.episodes_dir.is_dir():
            raise DatasetError(f"dataset {root}: directory {EPISODES_DIR}/ is missing")
        store.incoming_dir.mkdir(exist_ok=True)
        return store

    # ----------------------------------------------------------------------------------------- listing
    def foreign_entries(self) -> list[Path]:
        """Entries of ``episodes/`` that are not episode groups (hidden files excepted)."""
        return sorted(
            p for p in self.episodes_dir.iterdir()
            if not p.name.startswith(".") and not (_EPISODE_NAME.match(p.name) and p.is_dir())
        )

    def episode_ids(self) -> list[int]:
        """Ids of the finalized episodes, ascending.

        Raises:
            DatasetError: ``episodes/`` holds something that is not an episode (names it).
        """
        foreign = self.foreign_entries()
        if foreign:
            raise DatasetError(
                f"dataset {self.root}: {EPISODES_DIR}/ holds entries that are not episodes: "
                f"{[p.name for p in foreign]} (move them elsewhere)"
            )
        return sorted(int(m.group(1)) for p in self.episodes_dir.iterdir() if (m := _EPISODE_NAME.match(p.name)))

    def __len__(self) -> int:
        return len(self.episode_ids())

    def episode(self, episode_id: int) -> Episode:
        """Open one finalized episode."""
        path = self.episodes_dir / episode_name(episode_id)
        if not path.is_dir():
            raise KeyError(f"dataset {self.root} has no episode {episode_id} ({path.name})")
        return Episode(path, episode_id, self.schema)

    def episodes(self, episode_ids: list[int] | None = None) -> Iterator[Episode]:
        """Open the given episodes (all by default), in order."""
        for episode_id in self.episode_ids() if episode_ids is None else episode_ids:
            yield self.episode(episode_id)

    # ----------------------------------------------------------------------------------------- index
    def index(self) -> list[EpisodeSummary]:
        """Summaries of every finalized episode; uses ``index.json`` where it is current, else the episodes."""
        cached: dict[int, dict[str, Any]] = {}
        try:
            for entry in json.loads((self.root / INDEX_FILE).read_text())["episodes"]:
                cached[int(entry["episode_id"])] = entry
        except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError, ValueError):
            cached = {}
        summaries = []
        for episode_id in self.episode_ids():
            entry = cached.get(episode_id)
            if entry is not None:
                try:
                    summaries.append(EpisodeSummary(**entry))
                    continue
                except TypeError:
                    pass
            summaries.append(self.episode(episode_id).summary())
        return summaries

    def index_is_current(self) -> bool:
        """True if ``index.json`` lists exactly the finalized episodes."""
        try:
            entries = json.loads((self.root / INDEX_FILE).read_text())["episodes"]
            listed = sorted((int(e["episode_id"]), str(e["uuid"])) for e in entries)
        except (FileNotFoundError, json.JSONDecodeError, KeyError, TypeError, ValueError):
            return False
        return listed == sorted((e.episode_id, e.uuid) for e in (self.episode(i) for i in self.episode_ids()))

    def write_index(self) -> list[EpisodeSummary]:
        """Rewrite ``index.json`` (atomically) from the episodes; returns the summaries."""
        summaries = [self.episode(i).summary() for i in self.episode_ids()]
        _write_json_atomic(
            self.root / INDEX_FILE,
            {"updated": _now(), "episodes": [s.__dict__ for s in summaries]},
        )
        return summaries

    def _add_to_index(self, summary: EpisodeSummary) -> None:
        summaries = {s.episode_id: s for s in self.index()}
        summaries[summary.episode_id] = summary
        _write_json_atomic(
            self.root / INDEX_FILE,
            {"updated": _now(), "episodes": [summaries[k].__dict__ for k in sorted(summaries)]},
        )

    # ----------------------------------------------------------------------------------------- writing
    def begin_episode(self, metadata: EpisodeMetadata, *, fsync_every_frame: bool = False) -> JournalWriter:
        """Start the journal of a new episode in ``incoming/``."""
        self.incoming_dir.mkdir(exist_ok=True)
        stamp = _dt.datetime.now(_dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        return JournalWriter(
            self.incoming_dir / f"{stamp}-{os.getpid()}", self.schema, metadata, fsync_every_frame=fsync_every_frame
        )

    def finalize(self, journal: JournalWriter, metadata: EpisodeMetadata) -> int:
        """Close ``journal``, convert it to a compressed episode and add it to the dataset; returns its id.

        Raises:
            DatasetError: The journal holds no frames (discard it instead).
        """
        journal.close()
        contents = read_journal(journal.directory)
        return self._commit(journal.directory, contents, metadata)

    def discard(self, journal: JournalWriter) -> None:
        """Close ``journal`` and delete it; the dataset is unchanged."""
        journal.close()
        shutil.rmtree(journal.directory, ignore_errors=True)

    def _commit(self, journal_dir: Path, contents: JournalContents, metadata: EpisodeMetadata) -> int:
        if contents.num_frames == 0:
            raise DatasetError(f"journal {journal_dir} holds no complete frame: nothing to add (discard it)")
        if contents.schema != self.schema:
            raise DatasetError(f"journal {journal_dir}: schema {contents.schema.to_json()} differs from the dataset's")
        build = journal_dir / _BUILD_NAME
        shutil.rmtree(build, ignore_errors=True)
        self._write_episode_group(build, contents, metadata)
        _fsync_tree(build)
        episode_id = self._publish(build)
        shutil.rmtree(journal_dir, ignore_errors=True)
        fsync_path(self.incoming_dir)
        summary = EpisodeSummary.from_metadata(episode_id, contents.episode_uuid, contents.num_frames, metadata)
        self._add_to_index(summary)
        return episode_id

    def _write_episode_group(self, path: Path, contents: JournalContents, metadata: EpisodeMetadata) -> None:
        frames = contents.frames
        group = zarr.open_group(path, mode="w-", zarr_format=3)
        codec = ZstdCodec(level=_ZSTD_LEVEL, checksum=True)
        for key, (dtype, shape) in self.schema.fields().items():
            data = np.ascontiguousarray(frames[key])
            if key in self.schema.image_keys:
                chunks = (1, *shape)
                shards: tuple[int, ...] | None = (min(IMAGE_SHARD_FRAMES, len(data)), *shape)
            else:
                chunks, shards = (len(data), *shape), None
            array = group.create_array(key, shape=data.shape, dtype=dtype, chunks=chunks, shards=shards,
                                       compressors=codec, config={"write_empty_chunks": True})
            array[...] = data
        group.attrs[_ATTRS_KEY] = {
            "format": FORMAT_NAME,
            "version": FORMAT_VERSION,
            "uuid": contents.episode_uuid,
            _EVERY_CHUNK_STORED: True,
            "num_frames": contents.num_frames,
            "finalized": _now(),
            "schema": self.schema.to_json(),
            "metadata": metadata.to_json(),
        }

    def _publish(self, build: Path) -> int:
        """Atomically rename ``build`` to the next free episode name; returns the id it got."""
        ids = self.episode_ids()
        episode_id = ids[-1] + 1 if ids else 0
        while True:
            target = self.episodes_dir / episode_name(episode_id)
            if target.exists():
                episode_id += 1
                continue
            try:
                os.rename(build, target)  # fails if another writer took this name (non-empty dir)
            except OSError:
                if not target.exists():
                    raise
                episode_id += 1
                continue
            fsync_path(self.episodes_dir)
            return episode_id

    # ----------------------------------------------------------------------------------------- recovery
    def incomplete(self) -> list[IncompleteEpisode]:
        """Journals left in ``incoming/`` by recordings that never finalized."""
        if not self.incoming_dir.is_dir():
            return []
        finalized = {s.uuid for s in self.index()}
        found = []
        for path in sorted(self.incoming_dir.iterdir()):
            if path.name.startswith("."):
                continue
            if not path.is_dir() or not (path / JOURNAL_FILE).is_file():
                what = "a file" if not path.is_dir() else f"a directory without {JOURNAL_FILE}"
                found.append(IncompleteEpisode(path, "", 0, False, False, f"not a recording ({what})"))
                continue
            try:
                contents = read_journal(path)
            except ValueError as exc:
                found.append(IncompleteEpisode(path, "", 0, False, False, f"unreadable recording journal ({exc})"))
                continue
            found.append(IncompleteEpisode(path, contents.episode_uuid, contents.num_frames, contents.torn_tail,
                                           contents.episode_uuid in finalized))
        return found

    def recover(self, incomplete: IncompleteEpisode) -> int | None:
        """Turn an interrupted recording into an episode (``recovered=True``, ``success=False``, label
        ``"recovered"`` unless it already had a defect label) or clean it up.

        Returns the new episode id, or ``None`` when nothing was added (no complete frame, or the episode had
        already been finalized; the journal is removed) or the entry is :attr:`~IncompleteEpisode.foreign`
        (left untouched).
        """
        if incomplete.foreign:
            return None
        episode_id = None
        if incomplete.uuid and not incomplete.already_finalized and incomplete.num_frames > 0:
            contents = read_journal(incomplete.path)
            meta = contents.metadata
            meta.recovered = True
            meta.success = False
            if meta.defect in (None, CLEAN_LABEL):
                meta.defect = RECOVERED_LABEL
            meta.termination_reason = meta.termination_reason or "interrupted"
            episode_id = self._commit(incomplete.path, contents, meta)
        shutil.rmtree(incomplete.path, ignore_errors=True)
        return episode_id

    def discard_incomplete(self, incomplete: IncompleteEpisode) -> None:
        """Delete an interrupted recording's journal (or a foreign entry of ``incoming/``)."""
        if incomplete.path.is_dir():
            shutil.rmtree(incomplete.path, ignore_errors=True)
        else:
            incomplete.path.unlink(missing_ok=True)


def read_concatenated(
    store: DatasetStore, keys: tuple[str, ...], episode_ids: list[int] | None = None
) -> tuple[dict[str, NDArray[Any]], NDArray[np.int64]]:
    """Frames of ``keys`` over the episodes, concatenated in time (diffusion_policy's replay-buffer layout).

    Returns:
        (key -> array of shape (total frames, ...), ``episode_ends``: cumulative frame counts, one per episode).
    """
    parts: dict[str, list[NDArray[Any]]] = {key: [] for key in keys}
    lengths = []
    for episode in store.episodes(episode_ids):
        for key in keys:
            parts[key].append(episode.read(key))
        lengths.append(episode.length)
    fields = store.schema.fields()
    arrays = {
        key: np.concatenate(chunks) if chunks else np.zeros((0, *fields[key][1]), fields[key][0])
        for key, chunks in parts.items()
    }
    return arrays, np.cumsum(np.asarray(lengths, dtype=np.int64))
