"""``check_dataset``: clean datasets pass; corrupted files and foreign entries are named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic_episodes import record_synthetic

from dexsim.cli import main
from dexsim.data import DatasetStore, Recorder, check_dataset
from dexsim.data.store import DatasetError


def test_clean_dataset(store: DatasetStore, recorder: Recorder) -> None:
    for seed in range(2):
        record_synthetic(recorder, 8, seed)
    report = check_dataset(store.root)
    assert report.clean and report.episodes_checked == 2 and report.frames_checked == 16


def test_problems_are_found_and_named(store: DatasetStore, recorder: Recorder, tmp_path: Path) -> None:
    for seed in range(3):
        record_synthetic(recorder, 8, seed)
    shard = store.episodes_dir / "episode_000001.zarr" / "top_image" / "c" / "0" / "0" / "0" / "0"
    shard.write_bytes(shard.read_bytes()[:-100])
    (store.episodes_dir / "episode_000002.zarr" / "zarr.json").write_text("{not json")
    report = check_dataset(store.root)
    assert not report.ok and report.episodes_checked == 2  # episode 2 could not even be opened
    messages = [str(p) for p in report.problems]
    assert any("episode_000001.zarr" in m and "top_image" in m and "truncated or corrupted" in m for m in messages)
    assert any("episode_000002.zarr" in m and "zarr.json" in m for m in messages)


def test_non_finite_values_and_foreign_entries(store: DatasetStore, recorder: Recorder) -> None:
    record_synthetic(recorder, 8, 0)
    import zarr

    array = zarr.open_array(store.episodes_dir / "episode_000000.zarr" / "joint_efforts", mode="r+")
    values = array[:]
    values[3, 2] = np.nan
    array[:] = values
    (store.episodes_dir / "stray").mkdir()
    report = check_dataset(store.root)
    messages = [str(p) for p in report.problems]
    assert any("'joint_efforts' has non-finite values at frames [3]" in m for m in messages)
    assert any(m.startswith("error: ") and m.endswith("stray: not an episode (foreign entry in episodes/)")
               for m in messages)


def test_deleted_chunk_files_are_errors_not_zeros(store: DatasetStore, recorder: Recorder, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """A deleted chunk or shard file reads back as zeros in zarr: check, read and export must name it instead."""
    for seed in range(3):
        record_synthetic(recorder, 8, seed)
    action = store.episodes_dir / "episode_000001.zarr" / "action" / "c" / "0" / "0"
    shard = store.episodes_dir / "episode_000002.zarr" / "wrist_image" / "c" / "0" / "0" / "0" / "0"
    action.unlink()
    shard.unlink()
    with pytest.raises(DatasetError, match=f"episode_000001.zarr: array 'action' .*missing file {action}"):
        store.episode(1).read("action")
    report = check_dataset(store.root)
    assert not report.ok and report.episodes_checked == 3
    messages = [str(p) for p in report.problems]
    assert any("episode_000001.zarr" in m and str(action) in m for m in messages)
    assert any("episode_000002.zarr" in m and str(shard) in m for m in messages)

    assert main(["dataset", "check", str(store.root)]) == 1
    out = capsys.readouterr().out
    assert str(action) in out and "FAILED" in out
    export = tmp_path / "lerobot"
    assert main(["dataset", "export-lerobot", str(store.root), str(export), "--vcodec", "libx264"]) == 2
    err = capsys.readouterr().err
    assert str(action) in err and len(err.strip().splitlines()) == 1
    assert not export.exists()


def test_episodes_of_older_versions_warn_about_missing_chunk_files(store: DatasetStore, recorder: Recorder) -> None:
    """Older episodes did not store all-zero chunks: a missing file there is a warning, not an error."""
    record_synthetic(recorder, 8, 0)
    episode_dir = store.episodes_dir / "episode_000000.zarr"
    header = json.loads((episode_dir / "zarr.json").read_text())
    del header["attributes"]["dexsim"]["every_chunk_stored"]
    (episode_dir / "zarr.json").write_text(json.dumps(header))
    (episode_dir / "action" / "c" / "0" / "0").unlink()
    report = check_dataset(store.root)
    assert report.ok and not report.clean
    assert any("no file" in str(p) and "'action'" in str(p) and p.severity == "warning" for p in report.problems)
