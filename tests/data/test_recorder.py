"""Recorder API, crash safety under SIGKILL, and recording the real twin."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from synthetic_episodes import SMALL_CONFIG, record_synthetic, synthetic_observation

from dexsim.data import DatasetError, DatasetStore, EpisodeMetadata, Recorder, check_dataset, record_episode
from dexsim.data.schema import KEY_ACTION, KEY_JOINT_TARGET, KEY_TIME
from dexsim.interface import OBS_JOINT_POSITIONS, OBS_TOP_IMAGE, ControlConfig

HERE = Path(__file__).parent


def test_start_add_stop_discard(store: DatasetStore, recorder: Recorder) -> None:
    rng = np.random.default_rng(0)
    obs = synthetic_observation(rng, SMALL_CONFIG, 0)
    with pytest.raises(RuntimeError, match="call start"):
        recorder.add(obs, np.zeros(16))
    with pytest.raises(RuntimeError, match="nothing to stop"):
        recorder.stop()
    recorder.start(EpisodeMetadata(operator="bea"))
    with pytest.raises(RuntimeError, match="already recording"):
        recorder.start()
    recorder.add(obs, np.zeros(16))
    recorder.discard()  # a bad take: nothing reaches the dataset
    assert not recorder.recording and store.episode_ids() == [] and os.listdir(store.incoming_dir) == []
    recorder.start()
    with pytest.raises(DatasetError, match="no complete frame"):
        recorder.stop()
    assert len(store.incomplete()) == 1  # the empty journal is kept for inspection, never as an episode
    store.discard_incomplete(store.incomplete()[0])


def test_bad_frames_are_rejected_with_the_key_named(recorder: Recorder) -> None:
    rng = np.random.default_rng(0)
    recorder.start()
    obs = synthetic_observation(rng, SMALL_CONFIG, 0)
    with pytest.raises(ValueError, match="non-finite"):
        recorder.add(obs, np.full(16, np.nan))
    with pytest.raises(ValueError, match=r"lacks keys \['wrist_image'\]"):
        recorder.add({k: v for k, v in obs.items() if k != "wrist_image"}, np.zeros(16))
    with pytest.raises(ValueError, match="'top_image' must be uint8"):
        recorder.add({**obs, OBS_TOP_IMAGE: obs[OBS_TOP_IMAGE].astype(np.float32)}, np.zeros(16))
    with pytest.raises(ValueError, match=r"'joint_positions' must have shape \(16,\)"):
        recorder.add({**obs, OBS_JOINT_POSITIONS: np.zeros(15, np.float32)}, np.zeros(16))
    recorder.discard()
    with pytest.raises(ValueError, match="env gives"):
        Recorder(recorder.store, ControlConfig(image_size=48))


def test_sigkill_mid_episode_keeps_finished_episodes_and_recovers_the_rest(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([sys.executable, str(HERE / "_crash_recorder.py"), str(root), "2", "25"],
                            stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "READY"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    store = DatasetStore.open(root)
    assert store.episode_ids() == [0, 1]
    assert [store.episode(i).read(KEY_ACTION).shape[0] for i in (0, 1)] == [30, 30]
    report = check_dataset(root)
    assert report.ok and report.episodes_checked == 2 and report.frames_checked == 60
    assert [(i.num_frames, i.already_finalized) for i in report.incomplete] == [(25, False)]
    assert "interrupted recording with 25 complete frames" in str(report.problems[0])

    new_id = store.recover(report.incomplete[0])
    assert new_id == 2
    recovered = store.episode(2)
    assert recovered.length == 25 and recovered.metadata.recovered and not recovered.metadata.success
    assert recovered.metadata.operator == "crash" and recovered.metadata.termination_reason == "interrupted"
    np.testing.assert_array_equal(recovered.read(KEY_ACTION)[:, 0], (np.arange(25) * 1e-3).astype(np.float32))
    assert check_dataset(root).clean


def test_leftover_journal_of_a_finalized_episode_is_not_added_twice(store: DatasetStore, recorder: Recorder) -> None:
    rng = np.random.default_rng(0)
    recorder.start()
    for frame in range(3):
        recorder.add(synthetic_observation(rng, SMALL_CONFIG, frame), np.zeros(16))
    journal = recorder._journal.directory  # noqa: SLF001 - simulate a crash between rename and clean-up
    copy = journal.with_name(journal.name + "-copy")
    import shutil

    shutil.copytree(journal, copy)
    recorder.stop()
    (leftover,) = store.incomplete()
    assert leftover.path == copy and leftover.already_finalized
    assert store.recover(leftover) is None
    assert store.episode_ids() == [0] and not copy.exists()


def test_records_the_real_twin(tmp_path: Path) -> None:
    import gymnasium as gym

    import dexsim  # noqa: F401 - registers the envs
    from dexsim.sim.config import SimConfig

    env = gym.make("AllegroUnscrew-sim", config=SimConfig(image_size=64))
    try:
        recorder = Recorder.for_env(env, tmp_path / "sim")
        rng = np.random.default_rng(0)

        def policy(obs: dict, info: dict) -> np.ndarray:
            return rng.uniform(-0.05, 0.05, 16).astype(np.float32)

        episode_id, info = record_episode(env, policy, recorder, seed=7, max_steps=20,
                                          metadata=EpisodeMetadata(operator="random"))
    finally:
        env.close()
    episode = recorder.store.episode(episode_id)
    assert episode.length == 20
    meta = episode.metadata
    assert meta.seed == 7 and meta.scene and meta.env_config["image_size"] == 64
    assert meta.termination_reason == "max_steps" and "mujoco" in meta.software
    data = episode.read_all()
    assert data["top_image"].shape == (20, 64, 64, 3) and data["top_image"].std() > 1.0  # a real render
    np.testing.assert_allclose(data[KEY_TIME], np.arange(20) * 0.05, atol=1e-9)
    # the recorded target is the env's: measured position + clipped delta, within the joint limits
    from dexsim.interface import action_to_target

    bound = SimConfig().max_joint_delta
    expected = [action_to_target(a, q, bound) for a, q in zip(data[KEY_ACTION], data[OBS_JOINT_POSITIONS], strict=True)]
    np.testing.assert_allclose(data[KEY_JOINT_TARGET], np.stack(expected), atol=1e-5)
    assert check_dataset(tmp_path / "sim").clean


def test_synthetic_helper_metadata(recorder: Recorder) -> None:
    episode_id, _, _ = record_synthetic(recorder, 3, seed=1)
    assert recorder.store.episode(episode_id).metadata.termination_reason == "time_limit"


def test_crash_during_finalize_build_is_recovered(store: DatasetStore, recorder: Recorder) -> None:
    rng = np.random.default_rng(0)
    recorder.start(EpisodeMetadata(operator="eve"))
    for frame in range(7):
        recorder.add(synthetic_observation(rng, SMALL_CONFIG, frame), np.zeros(16))
    journal = recorder._journal  # noqa: SLF001 - the process dies while building the zarr group
    journal.close()
    half_built = journal.directory / "episode.zarr"
    (half_built / "top_image").mkdir(parents=True)
    (half_built / "zarr.json").write_text("{")
    assert store.episode_ids() == []  # nothing half-written is visible
    (item,) = store.incomplete()
    assert item.num_frames == 7 and not item.already_finalized
    assert store.recover(item) == 0
    assert store.episode(0).metadata.operator == "eve" and store.episode(0).length == 7
    assert check_dataset(store.root).clean
