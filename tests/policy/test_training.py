"""dexsim train: learning, logs, exact resume after a kill, data-parallel equivalence, and clear errors."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file

from dexsim.cli import main
from dexsim.data import DatasetStore
from dexsim.data.subsets import save_subset
from dexsim.policy import load
from dexsim.policy.checkpoint import CHECKPOINTS_DIR, MODEL_FILE, list_checkpoints
from dexsim.policy.training import LOG_FILE, learning_rate, split_episodes, train_policy

from .conftest import record_smooth_dataset, tiny_config

HERE = Path(__file__).parent
REPO = HERE.parents[1]


def _losses(run_dir: Path) -> list[tuple[int, str]]:
    with (run_dir / LOG_FILE).open(newline="") as handle:
        return [(int(r["step"]), r["loss"]) for r in csv.DictReader(handle) if r["loss"]]


def test_tiny_policy_overfits_and_replays_its_demonstrations(smooth_dataset: DatasetStore, tmp_path: Path) -> None:
    config = tiny_config((), data={"val_fraction": 0.0}, diffusion={"prediction_type": "sample"},
                         train={"max_steps": 200, "lr": 3e-3, "batch_size": 32, "warmup_steps": 20,
                                "log_every": 20, "checkpoint_every": 1000})
    result = train_policy(config, smooth_dataset.root, tmp_path / "run", progress=False)
    assert result.steps == 200 and result.stopped == "max_steps"
    losses = [float(loss) for _, loss in _losses(tmp_path / "run")]
    assert losses[-1] < losses[0] / 10, losses

    executor = load(tmp_path / "run")
    episode = smooth_dataset.episode(1).read_all()
    executor.reset(seed=0)
    errors, holding = [], []
    for t in range(len(episode["joint_positions"])):
        obs = {key: episode[key][t] for key in executor.policy.obs_keys}
        action = executor.act(obs)
        executed_target = episode["joint_positions"][t] + action  # the env's target for this delta
        errors.append(np.abs(executed_target - episode["joint_target"][t]).max())
        holding.append(np.abs(episode["joint_positions"][t] - episode["joint_target"][t]).max())
    # the demonstrated targets lead the measured joints by 3 frames; the replay must be far closer than holding
    assert np.median(errors) < 0.15 * np.median(holding) and np.median(errors) < 0.06, (errors, holding)
    assert executor.stats.summary()["chunks"] == pytest.approx(np.ceil(40 / 4))


def test_log_checkpoints_and_final_files(smooth_dataset: DatasetStore, tmp_path: Path) -> None:
    config = tiny_config(("wrist",), train={"max_steps": 20, "checkpoint_every": 5, "keep_checkpoints": 2})
    result = train_policy(config, smooth_dataset.root, tmp_path / "run", progress=False)
    run = tmp_path / "run"
    assert {"model.safetensors", "config.json", "stats.json", LOG_FILE} <= {p.name for p in run.iterdir()}
    assert [p.name for p in list_checkpoints(run)] == ["step_00000015", "step_00000020"]
    rows = list(csv.DictReader((run / LOG_FILE).open()))
    assert any(r["val_loss"] for r in rows) and np.isfinite(result.best_val_loss)
    weights = load_file(str(run / MODEL_FILE))
    assert any(k.startswith("encoder.cameras.wrist_image") for k in weights)
    # re-running a finished run does nothing
    again = train_policy(config, smooth_dataset.root, run, progress=False)
    assert again.stopped == "finished" and again.steps == 20


def test_kill_and_resume_reproduces_the_uninterrupted_loss_curve(smooth_dataset: DatasetStore, tmp_path: Path
                                                                 ) -> None:
    overrides = ["train.max_steps=30", "train.checkpoint_every=10", "train.log_every=2", "train.threads=1"]
    config = tiny_config(("top",)).with_overrides(overrides)
    train_policy(config, smooth_dataset.root, tmp_path / "straight", progress=False)

    killed = subprocess.run([sys.executable, str(HERE / "_killed_training.py"), str(smooth_dataset.root),
                             str(tmp_path / "resumed"), "25", *overrides],
                            env={**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{HERE.parent}"},
                            capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert not (tmp_path / "resumed" / MODEL_FILE).exists()
    assert [p.name for p in list_checkpoints(tmp_path / "resumed")][-1] == "step_00000020"
    assert max(step for step, _ in _losses(tmp_path / "resumed")) == 24  # rows after the checkpoint exist ...

    result = train_policy(config, smooth_dataset.root, tmp_path / "resumed", progress=False)
    assert result.steps == 30
    assert _losses(tmp_path / "resumed") == _losses(tmp_path / "straight")  # ... and are replaced on resume
    straight = load_file(str(tmp_path / "straight" / MODEL_FILE))
    resumed = load_file(str(tmp_path / "resumed" / MODEL_FILE))
    assert all(np.array_equal(straight[k].numpy(), resumed[k].numpy()) for k in straight)


def test_resume_with_another_configuration_is_refused(smooth_dataset: DatasetStore, tmp_path: Path) -> None:
    config = tiny_config((), train={"max_steps": 12, "checkpoint_every": 5})
    (tmp_path / "run" / CHECKPOINTS_DIR).mkdir(parents=True)
    train_policy(config.with_overrides(["train.max_steps=5"]), smooth_dataset.root, tmp_path / "run",
                 progress=False)
    os.remove(tmp_path / "run" / MODEL_FILE)  # as if killed after its checkpoint
    with pytest.raises(ValueError, match=r"another configuration.*train\.max_steps"):
        train_policy(config.with_overrides(["model.keypoints=8"]), smooth_dataset.root, tmp_path / "run",
                     progress=False)


@pytest.mark.skipif(sys.platform != "linux", reason="torchrun with gloo on loopback")
def test_two_process_ddp_matches_one_process(smooth_dataset: DatasetStore, tmp_path: Path) -> None:
    steps = len(split_episodes(smooth_dataset.episode_ids(), 0.1, 0)[0]) * 33 // 16  # one epoch of windows
    args = [str(REPO / "policies" / "state_only.toml"), "--data", str(smooth_dataset.root), "--no-progress",
            "--set", "horizon.horizon=8", "--set", "horizon.n_action_steps=4", "--set", "model.down_dims=[16,32]",
            "--set", "model.step_embed_dim=16", "--set", "train.batch_size=16", "--set", "train.threads=1",
            "--set", f"train.max_steps={steps}", "--set", "train.max_epochs=1", "--set", "train.log_every=1"]
    environment = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                "-m", "dexsim.cli", "train"]
    # its own session, so that a hung run is killed with its worker processes
    two = subprocess.Popen([*torchrun, *args, "--out", str(tmp_path / "two")], env=environment,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = two.communicate(timeout=240)
    finally:
        if two.poll() is None:
            os.killpg(two.pid, signal.SIGKILL)
            two.wait()
    assert two.returncode == 0, stderr[-3000:]
    assert main(["train", *args, "--out", str(tmp_path / "one")]) == 0
    one_losses = [float(v) for _, v in _losses(tmp_path / "one")]
    two_losses = [float(v) for _, v in _losses(tmp_path / "two")]
    assert len(one_losses) == len(two_losses) >= 1
    np.testing.assert_allclose(two_losses, one_losses, rtol=1e-4)
    one, two_weights = load_file(str(tmp_path / "one" / MODEL_FILE)), load_file(str(tmp_path / "two" / MODEL_FILE))
    for key in one:
        np.testing.assert_allclose(two_weights[key].numpy(), one[key].numpy(), atol=1e-5, err_msg=key)


def test_dataset_lacking_a_camera_is_a_clear_error(tmp_path: Path) -> None:
    store = record_smooth_dataset(tmp_path / "wrist_only", episodes=2, length=12, cameras=("wrist",))
    with pytest.raises(ValueError, match=r"lacks cameras \['top'\]"):
        train_policy(tiny_config(("top", "wrist")), store.root, tmp_path / "run", progress=False)
    with pytest.raises(ValueError, match="records 32 px images but"):
        train_policy(tiny_config(("wrist",), model={"image_size": 64}), store.root, tmp_path / "run",
                     progress=False)
    assert not (tmp_path / "run").exists()


def test_subsets_select_the_training_episodes(smooth_dataset: DatasetStore, tmp_path: Path) -> None:
    root = tmp_path / "ds"
    store = record_smooth_dataset(root, episodes=3, length=20, cameras=())
    save_subset(root, "outliers-removed-25", [0, 2])
    config = tiny_config((), data={"subset": "outliers-removed-25", "val_fraction": 0.0},
                         train={"max_steps": 2, "batch_size": 4})
    train_policy(config, store.root, tmp_path / "run", progress=False)
    executor = load(tmp_path / "run")
    assert executor.metadata["dataset"]["train_episodes"] == [0, 2]
    with pytest.raises(ValueError, match="outliers-removed-10.json does not exist"):
        train_policy(config.with_overrides(['data.subset="outliers-removed-10"']), store.root, tmp_path / "r2",
                     progress=False)


def test_cli_errors_exit_2_naming_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", str(tmp_path / "nope.toml"), "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    assert "nope.toml does not exist" in capsys.readouterr().err
    bad = tmp_path / "bad.toml"
    bad.write_text('[inputs]\nlow_dim = ["joint_velocities"]\n')
    assert main(["train", str(bad), "--data", str(tmp_path), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "joint_velocities" in err and "Traceback" not in err


def test_learning_rate_warms_up_then_decays() -> None:
    assert learning_rate(0, 1e-3, 10, 100) == pytest.approx(1e-4)
    assert learning_rate(9, 1e-3, 10, 100) == pytest.approx(1e-3)
    assert learning_rate(55, 1e-3, 10, 100) == pytest.approx(5e-4)
    assert learning_rate(100, 1e-3, 10, 100) == pytest.approx(0.0)


def test_validation_split_is_by_episode() -> None:
    train, val = split_episodes(list(range(20)), 0.1, seed=3)
    assert len(val) == 2 and not set(train) & set(val) and sorted(train + val) == list(range(20))
    assert split_episodes(list(range(20)), 0.1, seed=3) == (train, val)
    assert split_episodes([4], 0.1, seed=0) == ([4], [])
