"""The zarr episode store: bit-exact round trip, atomic ids, clear errors on foreign/truncated/corrupted data."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from synthetic_episodes import SMALL_CONFIG, record_synthetic, synthetic_observation

from dexsim.data import DatasetError, DatasetStore, FrameSchema, Recorder
from dexsim.data.schema import KEY_ACTION, KEY_JOINT_TARGET, KEY_LID_ANGLE, KEY_TIME, KEY_WALL_TIME
from dexsim.data.store import IMAGE_SHARD_FRAMES, read_concatenated
from dexsim.interface import CAMERA_OBS_KEYS, OBS_JOINT_EFFORTS, OBS_JOINT_POSITIONS, ControlConfig, action_to_target


def test_round_trip_is_bit_exact_for_every_key(store: DatasetStore, recorder: Recorder) -> None:
    episode_id, observations, actions = record_synthetic(recorder, 130, seed=4, defect="jitter")
    episode = store.episode(episode_id)
    assert episode.length == 130
    data = episode.read_all()
    for key in (OBS_JOINT_POSITIONS, OBS_JOINT_EFFORTS, *CAMERA_OBS_KEYS.values()):
        expected = np.stack([o[key] for o in observations])
        assert data[key].dtype == expected.dtype
        np.testing.assert_array_equal(data[key], expected)  # images are stored losslessly
    np.testing.assert_array_equal(data[KEY_ACTION], np.stack(actions))
    targets = [action_to_target(a, o[OBS_JOINT_POSITIONS], SMALL_CONFIG.max_joint_delta)
               for a, o in zip(actions, observations, strict=True)]
    np.testing.assert_array_equal(data[KEY_JOINT_TARGET], np.stack(targets).astype(np.float32))
    np.testing.assert_array_equal(data[KEY_TIME], np.arange(130) / 20.0)
    np.testing.assert_array_equal(data[KEY_LID_ANGLE], (0.01 * np.arange(130)).astype(np.float32))
    assert np.all(np.diff(data[KEY_WALL_TIME]) >= 0)
    meta = episode.metadata
    assert (meta.seed, meta.defect, meta.success, meta.operator) == (4, "jitter", True, "test")
    assert meta.env_config["image_size"] == 32 and "dexsim" in meta.software
    # images are split into shards of IMAGE_SHARD_FRAMES frames
    shard_dir = episode.path / "top_image" / "c"
    assert len(list(shard_dir.iterdir())) == -(-130 // IMAGE_SHARD_FRAMES)


def test_episode_ids_are_sequential_and_survive_reopen(store: DatasetStore, recorder: Recorder) -> None:
    ids = [record_synthetic(recorder, 5 + i, seed=i)[0] for i in range(3)]
    assert ids == [0, 1, 2]
    reopened = DatasetStore.open(store.root)
    assert reopened.episode_ids() == [0, 1, 2]
    assert [s.length for s in reopened.index()] == [5, 6, 7]
    arrays, ends = read_concatenated(reopened, (KEY_ACTION,), [2, 0])
    assert ends.tolist() == [7, 12] and arrays[KEY_ACTION].shape == (12, 16)


def test_publish_skips_a_name_taken_by_another_writer(
    store: DatasetStore, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_synthetic(recorder, 4, seed=0)
    # another process finalizes episode 1 after this store listed the episodes but before its rename
    record_synthetic(Recorder(DatasetStore.open(store.root), SMALL_CONFIG), 4, seed=1)
    monkeypatch.setattr(store, "episode_ids", lambda: [0])
    assert record_synthetic(recorder, 4, seed=2)[0] == 2
    monkeypatch.undo()
    assert store.episode_ids() == [0, 1, 2]
    assert [store.episode(i).metadata.seed for i in range(3)] == [0, 1, 2]


def test_foreign_and_mismatched_directories_give_clear_errors(tmp_path: Path, store: DatasetStore) -> None:
    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(DatasetError, match="not a dexsim dataset.*dataset.json"):
        DatasetStore.open(foreign)
    with pytest.raises(DatasetError, match="non-empty directory that is not a dexsim dataset"):
        DatasetStore.create(foreign, store.schema)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        DatasetStore.open(tmp_path / "missing")
    with pytest.raises(DatasetError, match="records .* the env produces"):
        DatasetStore.create(store.root, FrameSchema.from_config(ControlConfig(image_size=64)))
    (store.root / "dataset.json").write_text('{"format": "something-else", "version": 1, "schema": {}}')
    with pytest.raises(DatasetError, match="dataset.json: format is 'something-else'"):
        DatasetStore.open(store.root)
    (store.root / "dataset.json").write_text("{truncated")
    with pytest.raises(DatasetError, match="dataset.json: unreadable dataset header"):
        DatasetStore.open(store.root)


def test_foreign_entry_in_episodes_is_named(store: DatasetStore, recorder: Recorder) -> None:
    record_synthetic(recorder, 3, seed=0)
    (store.episodes_dir / "notes.txt").write_text("hello")
    with pytest.raises(DatasetError, match=r"not episodes: \['notes.txt'\]"):
        store.episode_ids()
    (store.episodes_dir / "notes.txt").unlink()
    (store.episodes_dir / ".DS_Store").write_text("")  # hidden files are ignored
    assert store.episode_ids() == [0]


def test_truncated_shard_names_episode_and_file(store: DatasetStore, recorder: Recorder) -> None:
    record_synthetic(recorder, 120, seed=0)
    shard = store.episodes_dir / "episode_000000.zarr" / "wrist_image" / "c" / "1" / "0" / "0" / "0"
    assert shard.is_file()
    with open(shard, "r+b") as f:
        f.truncate(shard.stat().st_size // 2)
    episode = store.episode(0)
    np.testing.assert_array_equal(episode.read("wrist_image", 0, 10).shape, (10, 32, 32, 3))  # other shard fine
    message = r"episode_000000.zarr: array 'wrist_image' frames 100:120 .*wrist_image/c/1/0/0/0"
    with pytest.raises(DatasetError, match=message):
        episode.read("wrist_image", 100, 120)


def test_corrupted_bytes_are_detected_by_checksums(store: DatasetStore, recorder: Recorder) -> None:
    record_synthetic(recorder, 20, seed=0)
    chunk = store.episodes_dir / "episode_000000.zarr" / "joint_positions" / "c" / "0" / "0"
    raw = bytearray(chunk.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    chunk.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="episode_000000.zarr: array 'joint_positions'.*joint_positions/c/0"):
        store.episode(0).read("joint_positions")


def test_missing_or_broken_episode_metadata(store: DatasetStore, recorder: Recorder) -> None:
    record_synthetic(recorder, 5, seed=0)
    record_synthetic(recorder, 5, seed=1)
    (store.episodes_dir / "episode_000000.zarr" / "zarr.json").unlink()
    with pytest.raises(DatasetError, match="episode episode_000000.zarr: missing .*zarr.json"):
        store.episode(0)
    shutil.rmtree(store.episodes_dir / "episode_000001.zarr" / "action")
    with pytest.raises(DatasetError, match="episode episode_000001.zarr: missing array 'action'"):
        store.episode(1).read("action")


def test_index_is_a_rebuildable_cache(store: DatasetStore, recorder: Recorder) -> None:
    for seed in range(2):
        record_synthetic(recorder, 4, seed=seed)
    assert store.index_is_current()
    (store.root / "index.json").write_text(json.dumps({"episodes": []}))
    assert not store.index_is_current()
    assert [s.episode_id for s in store.index()] == [0, 1]  # falls back to the episodes themselves
    (store.root / "index.json").write_text("garbage")
    assert [s.length for s in store.index()] == [4, 4]
    store.write_index()
    assert store.index_is_current()
    assert not list(store.root.glob(".index.json.*.tmp"))


def test_finalize_is_atomic_nothing_half_written_in_episodes(store: DatasetStore, recorder: Recorder) -> None:
    recorder.start()
    rng = np.random.default_rng(0)
    for frame in range(3):
        recorder.add(synthetic_observation(rng, SMALL_CONFIG, frame), np.zeros(16))
    journal_dir = recorder._journal.directory  # noqa: SLF001 - white-box: where frames are before finalize
    assert journal_dir.parent == store.incoming_dir
    assert (journal_dir / "frames.bin").stat().st_size == 3 * store.schema.record_dtype().itemsize
    assert store.episode_ids() == []
    assert recorder.stop(success=True) == 0
    assert not journal_dir.exists()
    assert os.listdir(store.incoming_dir) == []
