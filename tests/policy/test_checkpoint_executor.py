"""Policy files (save -> load), clear errors for missing or incompatible files, and the executor's timing."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from dexsim.data import DatasetStore, compute_stats
from dexsim.hand import home_pose
from dexsim.interface import OBS_JOINT_EFFORTS, OBS_JOINT_POSITIONS, OBS_WRIST_IMAGE, Controller
from dexsim.policy import load
from dexsim.policy.checkpoint import CONFIG_FILE, MODEL_FILE, STATS_FILE, policy_metadata, write_policy
from dexsim.policy.configuration import PolicyConfig
from dexsim.policy.executor import DiffusionPolicyExecutor
from dexsim.policy.modeling import DiffusionPolicy
from dexsim.policy.normalize import Normalizer

from .conftest import IMAGE_SIZE, tiny_config

FACTS = {"control_hz": 20.0, "image_size": IMAGE_SIZE, "cameras": ["wrist"], "max_joint_delta": 0.8}


def _save(store: DatasetStore, directory: Path, config: PolicyConfig) -> DiffusionPolicy:
    keys = (*config.inputs.low_dim, config.inputs.action)
    normalizer = Normalizer.from_stats(compute_stats(store, keys), dict.fromkeys(keys, 0.05))
    torch.manual_seed(1)
    policy = DiffusionPolicy(config, normalizer).eval()
    write_policy(directory, policy_metadata(config, FACTS, {}), normalizer, policy.state_dict())
    return policy


def _obs(q: np.ndarray | None = None) -> dict[str, np.ndarray]:
    return {OBS_JOINT_POSITIONS: (home_pose() if q is None else q).astype(np.float32),
            OBS_JOINT_EFFORTS: np.zeros(16, np.float32),
            OBS_WRIST_IMAGE: np.full((IMAGE_SIZE, IMAGE_SIZE, 3), 90, np.uint8)}


@pytest.fixture
def saved(smooth_dataset: DatasetStore, tmp_path: Path) -> tuple[Path, DiffusionPolicy]:
    return tmp_path / "policy", _save(smooth_dataset, tmp_path / "policy", tiny_config(("wrist",)))


def test_save_load_gives_identical_samples(saved: tuple[Path, DiffusionPolicy]) -> None:
    path, policy = saved
    executor = load(path)
    obs = {k: torch.from_numpy(np.stack([v, v])[None]) for k, v in _obs().items()}
    first = policy.sample(obs, generator=torch.Generator().manual_seed(7))
    again = executor.policy.sample(obs, generator=torch.Generator().manual_seed(7))
    assert torch.equal(first, again)
    assert not torch.equal(first, executor.policy.sample(obs, generator=torch.Generator().manual_seed(8)))
    assert load(path / MODEL_FILE).policy.config == policy.config  # a weights file beside its JSON loads too


def test_missing_and_incompatible_files_are_named(saved: tuple[Path, DiffusionPolicy], smooth_dataset: DatasetStore,
                                                  tmp_path: Path) -> None:
    path, _ = saved
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load(tmp_path / "nowhere")
    other = tmp_path / "other"
    _save(smooth_dataset, other, tiny_config(("wrist",), model={"down_dims": [16, 32]}))
    shutil.copy(path / MODEL_FILE, other / MODEL_FILE)  # weights of another configuration
    with pytest.raises(ValueError, match=r"model\.safetensors does not fit the configuration in .*config\.json"):
        load(other)
    (other / MODEL_FILE).write_bytes(b"not safetensors")
    with pytest.raises(ValueError, match="unreadable safetensors"):
        load(other)
    (other / CONFIG_FILE).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ValueError, match=r"config\.json: not a dexsim diffusion-policy config"):
        load(other)
    (path / STATS_FILE).unlink()
    with pytest.raises(FileNotFoundError, match=r"stats\.json"):
        load(path)


def test_targets_are_anchored_and_converted_at_execution_time(saved: tuple[Path, DiffusionPolicy]) -> None:
    path, _ = saved
    executor = load(path)
    assert isinstance(executor, DiffusionPolicyExecutor) and isinstance(executor, Controller)
    assert executor.env_kwargs() == {"cameras": ("wrist",), "image_size": IMAGE_SIZE, "control_hz": 20.0,
                                     "max_joint_delta": 0.8}
    executor.reset(seed=0)
    q = home_pose()
    executor.act(_obs(q))
    plan_start, plan = executor._plans[-1]
    for tick in range(1, 4):  # inside the chunk the measured joints move; the target does not
        q = q + 0.01
        action = executor.act(_obs(q))
        expected = np.clip(plan[tick - plan_start] - q, -0.8, 0.8)
        np.testing.assert_allclose(action, expected, atol=1e-6)
    assert len(executor.stats.chunk_latency_s) == 1
    executor.act(_obs(q))  # n_action_steps = 4: re-plan
    assert len(executor.stats.chunk_latency_s) == 2 and len(executor.stats.boundary_jump_rad) == 1
    assert executor.stats.idle_s == [executor.stats.chunk_latency_s[1]]  # synchronous: the robot waits


def test_bad_observations_are_named(saved: tuple[Path, DiffusionPolicy]) -> None:
    executor = load(saved[0])
    obs = _obs()
    del obs[OBS_WRIST_IMAGE]
    with pytest.raises(ValueError, match="lacks 'wrist_image'"):
        executor.act(obs)
    obs[OBS_WRIST_IMAGE] = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(ValueError, match=r"\(64, 64, 3\), the policy was trained on \(32, 32, 3\)"):
        executor.act(obs)


def test_temporal_ensembling_averages_overlapping_chunks(saved: tuple[Path, DiffusionPolicy]) -> None:
    executor = load(saved[0], temporal_ensemble=0.5)
    calls = []

    def constant_plan(obs: dict[str, torch.Tensor]) -> np.ndarray:
        calls.append(len(calls))
        return np.tile(home_pose() + 0.05 * len(calls), (7, 1))  # horizon 8 - n_obs 2 + 1 ticks

    executor._sample = constant_plan  # type: ignore[method-assign]
    executor.reset(seed=0)
    actions = [executor.act(_obs(home_pose())) for _ in range(8)]
    assert len(calls) == 2
    w = np.exp(-0.5 * np.arange(2))
    # tick 4: chunk 1 (ticks 0-6, offset 0.05) and chunk 2 (ticks 4-10, offset 0.10), the older weighted more
    np.testing.assert_allclose(actions[4], w @ np.array([0.05, 0.10]) / w.sum(), atol=1e-6)
    np.testing.assert_allclose(actions[3], 0.05, atol=1e-6)
    np.testing.assert_allclose(actions[7], 0.10, atol=1e-6)  # chunk 1 has run out


def test_asynchronous_inference_has_no_idle_ticks_in_a_real_time_loop(saved: tuple[Path, DiffusionPolicy]) -> None:
    executor = load(saved[0], asynchronous=True)

    def slow_sample(obs: dict[str, torch.Tensor]) -> np.ndarray:
        time.sleep(0.05)  # a tick at 20 Hz; the model itself is left out so machine load cannot decide the test
        return np.tile(obs[OBS_JOINT_POSITIONS][0, -1].numpy().astype(np.float64), (7, 1))

    executor._sample = slow_sample  # type: ignore[method-assign]
    executor.reset(seed=0)
    period, next_tick = 1.0 / 20.0, time.perf_counter()
    for _ in range(30):
        executor.act(_obs())
        next_tick += period
        time.sleep(max(0.0, next_tick - time.perf_counter()))
    executor.close()
    stats = executor.stats
    assert 7 <= len(stats.chunk_latency_s) <= 9  # a chunk every n_action_steps = 4 ticks
    assert stats.idle_ticks == 0, stats.summary()
    assert len(stats.chunk_latency_s) - 2 <= len(stats.boundary_jump_rad) <= len(stats.chunk_latency_s) - 1
    assert max(stats.idle_s) < 0.01

    sync = load(saved[0])
    sync._sample = slow_sample  # type: ignore[method-assign]
    sync.reset(seed=0)
    for _ in range(9):
        sync.act(_obs())
    assert len(sync.stats.idle_s) == 2 and min(sync.stats.idle_s) >= 0.05
