"""LeRobotDataset v3.0 export: the documented layout, read back with pyarrow and PyAV."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pyarrow.parquet as pq
import pytest
from synthetic_episodes import record_synthetic

from dexsim.data import DatasetStore, Recorder
from dexsim.data.lerobot import LeRobotExportConfig, export_lerobot, is_lerobot_export
from dexsim.hand import JOINT_NAMES

AUTOMATIC = {"timestamp", "frame_index", "episode_index", "index", "task_index"}


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])


@pytest.mark.parametrize("vcodec", ["libsvtav1", "libx264"])
def test_export_structure_and_content(store: DatasetStore, recorder: Recorder, tmp_path: Path, vcodec: str,
                                      capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SVT_LOG", raising=False)
    lengths = (12, 9, 15)
    for seed, length in enumerate(lengths):
        record_synthetic(recorder, length, seed, task="unscrew the bottle lid" if seed != 1 else "open the bottle")
    out = tmp_path / "lerobot"
    export_lerobot(store, out, episode_ids=[0, 2, 1], config=LeRobotExportConfig(vcodec=vcodec, crf=10))
    assert "Svt[" not in capfd.readouterr().err  # SVT-AV1's ~20 info lines per file are silenced

    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [
        "data/chunk-000/file-000.parquet",
        "meta/dexsim_export.json",
        "meta/episodes/chunk-000/file-000.parquet",
        "meta/info.json",
        "meta/stats.json",
        "meta/tasks.parquet",
        "videos/observation.images.top/chunk-000/file-000.mp4",
        "videos/observation.images.wrist/chunk-000/file-000.mp4",
    ]
    info = json.loads((out / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == 20 and isinstance(info["fps"], int)
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (3, 36, 2)
    assert info["chunks_size"] == 1000 and info["splits"] == {"train": "0:3"}
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    features = info["features"]
    assert AUTOMATIC | {"observation.state", "observation.effort", "action", "observation.images.top",
                        "observation.images.wrist"} <= set(features)
    assert features["observation.state"] == {"dtype": "float32", "shape": [16], "names": list(JOINT_NAMES)}
    top = features["observation.images.top"]
    assert top["dtype"] == "video" and top["shape"] == [32, 32, 3]
    assert top["info"]["video.codec"] == {"libsvtav1": "av1", "libx264": "h264"}[vcodec]

    data = pq.read_table(out / "data/chunk-000/file-000.parquet")
    assert {k for k, f in features.items() if f["dtype"] != "video"} == set(data.column_names)
    assert data.num_rows == 36
    np.testing.assert_array_equal(data["index"].to_numpy(), np.arange(36))
    episode_index = data["episode_index"].to_numpy()
    np.testing.assert_array_equal(episode_index, np.repeat([0, 1, 2], [12, 15, 9]))
    state = np.stack(data["observation.state"].to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(state[12:27], store.episode(2).read("joint_positions"))  # bit-exact
    action = np.stack(data["action"].to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(action[:12], store.episode(0).read("action"))
    np.testing.assert_allclose(data["timestamp"].to_numpy()[12:15], [0.0, 0.05, 0.1], atol=1e-7)
    assert data["next.done"].to_numpy(zero_copy_only=False)[[11, 26, 35]].all()

    episodes = pq.read_table(out / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [e["episode_index"] for e in episodes] == [0, 1, 2]
    assert [e["dexsim/episode_id"] for e in episodes] == [0, 2, 1]
    assert [(e["dataset_from_index"], e["dataset_to_index"]) for e in episodes] == [(0, 12), (12, 27), (27, 36)]
    assert episodes[2]["tasks"] == ["open the bottle"]
    for e in episodes:
        assert e["length"] == e["dataset_to_index"] - e["dataset_from_index"]
        assert e["videos/observation.images.top/to_timestamp"] == pytest.approx(
            e["videos/observation.images.top/from_timestamp"] + e["length"] / 20.0)
        assert len(e["stats/observation.effort/mean"]) == 16
    tasks = pq.read_table(out / "meta/tasks.parquet")
    assert tasks.to_pydict() == {"task_index": [0, 1], "task": ["unscrew the bottle lid", "open the bottle"]}
    assert json.loads(tasks.schema.metadata[b"pandas"])["index_columns"] == ["task"]
    task_index = data["task_index"].to_numpy()
    assert set(task_index[27:]) == {1} and set(task_index[:27]) == {0}

    stats = json.loads((out / "meta/stats.json").read_text())
    assert set(stats["action"]) == {"min", "max", "mean", "std", "count", "q01", "q10", "q50", "q90", "q99"}
    assert np.asarray(stats["observation.images.wrist"]["mean"]).shape == (3, 1, 1)
    assert stats["observation.state"]["count"] == [36]

    for camera, key in (("top", "top_image"), ("wrist", "wrist_image")):
        frames = _decode(out / f"videos/observation.images.{camera}/chunk-000/file-000.mp4")
        assert frames.shape == (36, 32, 32, 3)
        original = np.concatenate([store.episode(i).read(key) for i in (0, 2, 1)]).astype(np.int16)
        error = np.abs(frames.astype(np.int16) - original).mean()
        assert error < 12.0, f"{camera}: mean abs error {error:.1f} beyond lossy-codec tolerance"
        # episode 2 starts where the episodes table says: its frames match its own recording best
        start = round(episodes[1][f"videos/observation.images.{camera}/from_timestamp"] * 20)
        mine = np.abs(frames[start].astype(np.int16) - original[12]).mean()
        other = np.abs(frames[start].astype(np.int16) - original[0]).mean()
        assert mine < other


def test_export_refuses_non_empty_output(store: DatasetStore, recorder: Recorder, tmp_path: Path) -> None:
    record_synthetic(recorder, 3, 0)
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "keep.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        export_lerobot(store, tmp_path / "x")
    with pytest.raises(ValueError, match="vcodec"):
        LeRobotExportConfig(vcodec="gif")


def _tree(path: Path) -> dict[str, bytes]:
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def test_overwrite_only_ever_replaces_an_earlier_export(store: DatasetStore, recorder: Recorder,
                                                        tmp_path: Path) -> None:
    """``overwrite`` must not delete the dataset, its parent, or any folder that is not an earlier export."""
    for seed in range(2):
        record_synthetic(recorder, 6, seed)
    config = LeRobotExportConfig(vcodec="libx264")
    dataset_files = _tree(store.root)
    parent_files = _tree(store.root.parent)
    for out in (store.root, store.root.parent, store.root / "episodes", store.root / "export"):
        with pytest.raises(ValueError, match="is, contains or sits inside the dataset"):
            export_lerobot(store, out, config=config, overwrite=True)
    assert _tree(store.root.parent) == parent_files and _tree(store.root) == dataset_files

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="not an earlier dexsim LeRobot export.*nothing was deleted"):
        export_lerobot(store, mine, config=config, overwrite=True)
    assert (mine / "notes.txt").read_text() == "keep me"

    out = tmp_path / "nested" / "lerobot"
    assert export_lerobot(store, out, [0], config)["total_episodes"] == 1
    assert is_lerobot_export(out) and not is_lerobot_export(mine) and not is_lerobot_export(store.root)
    marker = json.loads((out / "meta/dexsim_export.json").read_text())
    assert marker["episode_ids"] == [0] and marker["source_dataset"] == str(store.root.resolve())
    with pytest.raises(FileExistsError, match="earlier export.*--overwrite"):
        export_lerobot(store, out, config=config)
    assert export_lerobot(store, out, config=config, overwrite=True)["total_episodes"] == 2
    (out / "data" / "extra.txt").write_text("a user's file inside")  # still an export: overwrite replaces it
    (out / "README.md").write_text("a user's file at the top")  # no longer only an export: refused
    with pytest.raises(FileExistsError, match="not an earlier"):
        export_lerobot(store, out, config=config, overwrite=True)
    assert sorted(p.name for p in out.parent.iterdir()) == ["lerobot"]  # no staging left over


def test_a_failed_export_leaves_nothing_behind(store: DatasetStore, recorder: Recorder, tmp_path: Path) -> None:
    for seed in range(2):
        record_synthetic(recorder, 6, seed)
    config = LeRobotExportConfig(vcodec="libx264")
    out = tmp_path / "new" / "lerobot"
    for ids, message in (([0, 99], r"has no episodes \[99\]"), ([-1], r"has no episodes \[-1\]"),
                         ([0, 0], r"episodes \[0\] are listed more than once")):
        with pytest.raises(ValueError, match=message):
            export_lerobot(store, out, ids, config)
        assert not (tmp_path / "new").exists()
    # a corrupted shard is found only while encoding: the half-written export is removed
    shard = store.episodes_dir / "episode_000001.zarr" / "top_image" / "c" / "0" / "0" / "0" / "0"
    shard.write_bytes(shard.read_bytes()[:-50])
    with pytest.raises(ValueError, match="episode_000001.zarr: array 'top_image'.*truncated or corrupted"):
        export_lerobot(store, out, config=config)
    assert not (tmp_path / "new").exists()
    # ... and a failed overwrite keeps the earlier export intact
    export_lerobot(store, out, [0], config)
    before = _tree(out)
    with pytest.raises(ValueError, match="truncated or corrupted"):
        export_lerobot(store, out, config=config, overwrite=True)
    assert _tree(out) == before and sorted(p.name for p in out.parent.iterdir()) == ["lerobot"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        export_lerobot(store, tmp_path / "file", config=config)
    with pytest.raises(ValueError, match="is a file"):
        export_lerobot(store, tmp_path / "file" / "sub", config=config)
