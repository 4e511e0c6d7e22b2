"""Diffusion-policy speed, measured side by side in one run (ratios printed):

1. chunk latency of one checkpoint: DDPM with all training steps vs DDIM with k steps (batch 1);
2. training throughput (forward + backward + AdamW, samples/s) of both encoders at 64 and 96 px;
3. ``torchrun`` data parallelism: 2 processes vs 1 on the same global batch (CPU: gloo);
4. the executor in a real-time loop on AllegroUnscrew-sim: synchronous vs asynchronous inference
   (idle time per chunk, idle ticks, joint-target jump at chunk boundaries vs the step change inside chunks).

    python benchmarks/bench_policy.py [--policy policies/pretrained/all_inputs_cpu] [--device cuda]
        [--skip-torchrun] [--skip-executor] [--threads 2] [--json OUT]

Parts 1-3 need only torch (+ diffusers); part 4 needs MuJoCo.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch._dynamo  # noqa: F401  (before MuJoCo/EGL, see facts.md)

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from dexsim.data.stats import stats_of  # noqa: E402
from dexsim.policy.configuration import PolicyConfig, load_policy_config  # noqa: E402
from dexsim.policy.modeling import DiffusionPolicy, make_scheduler, parameter_count  # noqa: E402
from dexsim.policy.normalize import Normalizer  # noqa: E402

DEFAULT_POLICY = REPO / "policies" / "pretrained" / "all_inputs_cpu"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _median_time(fn: Any, repeats: int, device: torch.device, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def _obs_batch(config: PolicyConfig, batch: int, device: torch.device, with_action: bool = False
               ) -> dict[str, torch.Tensor]:
    n, size = config.horizon.n_obs_steps, config.model.image_size
    data = {k: torch.randn(batch, n, 16, device=device) * 0.1 for k in config.inputs.low_dim}
    data.update({k: torch.randint(0, 256, (batch, n, size, size, 3), dtype=torch.uint8, device=device)
                 for k in config.inputs.image_keys})
    if with_action:
        data["action"] = torch.randn(batch, config.horizon.horizon, 16, device=device) * 0.1
    return data


def _synthetic_normalizer() -> Normalizer:
    rng = np.random.default_rng(0)
    keys = ("joint_positions", "joint_efforts", "joint_target", "action")
    return Normalizer.from_stats({k: stats_of(rng.normal(size=(64, 16))) for k in keys}, dict.fromkeys(keys, 0.05))


def bench_latency(policy_path: Path, device: torch.device, steps: list[int], repeats: int, unet: str
                  ) -> list[dict[str, Any]]:
    """Chunk latency of the checkpoint (or of an untrained all_inputs model, conv 64 px, if it does not exist)."""
    if policy_path.exists():
        from dexsim.policy.checkpoint import load_policy

        policy, _ = load_policy(policy_path, device)
        name = str(policy_path.relative_to(REPO) if policy_path.is_relative_to(REPO) else policy_path)
    else:
        config = load_policy_config(REPO / "policies" / "all_inputs.toml",
                                    ['model.encoder="conv"', "model.image_size=64", f"model.down_dims=[{unet}]"])
        policy = DiffusionPolicy(config, _synthetic_normalizer()).to(device).eval()
        name = f"untrained all_inputs (conv, 64 px, UNet {unet})"
    obs = _obs_batch(policy.config, 1, device)
    train_steps = policy.config.diffusion.train_steps
    samplers: list[tuple[str, Any, int]] = [(f"DDPM-{train_steps}", make_scheduler(policy.config.diffusion, "ddpm"),
                                             train_steps)]
    for kind in ("ddim", "dpmsolver"):
        samplers += [(f"{kind.upper()}-{k}", make_scheduler(policy.config.diffusion, kind), k) for k in steps]
    times: dict[str, list[float]] = {label: [] for label, _, _ in samplers}
    for _, scheduler, k in samplers:  # warm-up
        policy.sample(obs, scheduler=scheduler, steps=k)
    for _ in range(repeats):  # interleaved, so that a change of machine load hits every sampler alike
        for label, scheduler, k in samplers:
            _sync(device)
            start = time.perf_counter()
            policy.sample(obs, scheduler=scheduler, steps=k)
            _sync(device)
            times[label].append(time.perf_counter() - start)
    base = float(np.median(times[samplers[0][0]]))
    return [{"policy": name, "sampler": label, "latency_ms": 1e3 * float(np.median(t)),
             "p90_ms": 1e3 * float(np.percentile(t, 90)), "speed-up": base / float(np.median(t)),
             "parameters": parameter_count(policy)} for label, t in times.items()]


def bench_training(device: torch.device, batch: int, repeats: int, unet: str) -> list[dict[str, Any]]:
    """Training samples/s of the all-inputs model per encoder and image size (same UNet)."""
    rows = []
    for encoder in ("conv", "resnet18"):
        for size in (64, 96):
            config = load_policy_config(REPO / "policies" / "all_inputs.toml",
                                        [f'model.encoder="{encoder}"', f"model.image_size={size}",
                                         f"model.down_dims=[{unet}]"])
            torch.manual_seed(0)
            policy = DiffusionPolicy(config, _synthetic_normalizer()).to(device)
            optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-4)
            data = _obs_batch(config, batch, device, with_action=True)
            room = size - config.model.crop_size + 1

            def step(policy: DiffusionPolicy = policy, data: dict = data, optimizer: Any = optimizer,
                     room: int = room, config: PolicyConfig = config) -> None:
                crops = {k: torch.randint(0, room, (batch, 2)) for k in config.inputs.image_keys}
                loss = policy(data, torch.randn(batch, 16, 16, device=device),
                              torch.randint(0, 100, (batch,), device=device), crops)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

            t = _median_time(step, repeats, device)
            rows.append({"encoder": encoder, "image_px": size, "unet": unet, "batch": batch, "step_s": t,
                         "samples_per_s": batch / t, "encoder_parameters": parameter_count(policy.encoder)})
    base = rows[0]["samples_per_s"]
    for row in rows:
        row["vs conv 64 px"] = row["samples_per_s"] / base
    return rows


def bench_torchrun(steps: int) -> list[dict[str, Any]]:
    """``dexsim train`` on a small recorded dataset with 1 and 2 processes (gloo), same global batch."""
    sys.path.insert(0, str(REPO / "tests"))
    from policy.conftest import record_smooth_dataset

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        store = record_smooth_dataset(Path(tmp) / "ds", episodes=6, length=120, cameras=("wrist",), image_size=64)
        args = [str(REPO / "policies" / "no_top_camera.toml"), "--data", str(store.root), "--no-progress",
                "--set", 'model.encoder="conv"', "--set", "model.image_size=64", "--set",
                "model.down_dims=[64,128,256]", "--set", "train.batch_size=64", "--set", f"train.max_steps={steps}",
                "--set", "train.log_every=5", "--set", "train.checkpoint_every=100000"]
        environment = {**os.environ, "PYTHONPATH": str(REPO)}
        cores = os.cpu_count() or 2
        for processes, threads in ((1, 1), (1, cores), (2, max(1, cores // 2))):
            out = Path(tmp) / f"run{processes}x{threads}"
            command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node",
                       str(processes), "-m", "dexsim.cli", "train", *args, "--out", str(out), "--set",
                       f"train.threads={threads}"]
            done = subprocess.run(command, env=environment, capture_output=True, text=True)
            if done.returncode:
                raise RuntimeError(done.stderr[-2000:])
            with (out / "train_log.csv").open() as handle:
                rates = [float(r["samples_per_s"]) for r in csv.DictReader(handle) if r["samples_per_s"]]
            rows.append({"processes": processes, "threads_each": threads,
                         "samples_per_s": float(np.median(rates[1:] or rates))})
    for row in rows:
        row["vs 1 process, 1 thread"] = row["samples_per_s"] / rows[0]["samples_per_s"]
    return rows


def bench_executor(policy_path: Path, seconds: float, device: str) -> list[dict[str, Any]]:
    """Sync vs async in a loop paced at the control rate on the twin (as on the real hand)."""
    import gymnasium as gym

    import dexsim  # noqa: F401
    from dexsim.policy import load

    rows = []
    for asynchronous in (False, True):
        executor = load(policy_path, device=device, asynchronous=asynchronous)
        env = gym.make("AllegroUnscrew-sim", **executor.env_kwargs())
        period = 1.0 / executor.control_hz
        obs, info = env.reset(seed=1_000_000)
        executor.reset(1_000_000)
        next_tick = time.perf_counter()
        for _ in range(int(seconds * executor.control_hz)):
            obs, _, terminated, truncated, info = env.step(executor.act(obs, info))
            if terminated or truncated:
                break
            next_tick += period
            time.sleep(max(0.0, next_tick - time.perf_counter()))
        executor.close()
        env.close()
        s = executor.stats.summary()
        rows.append({"inference": "asynchronous" if asynchronous else "synchronous",
                     "chunks": int(s["chunks"]), "latency_median_ms": 1e3 * s["latency_median_s"],
                     "idle_per_chunk_ms": 1e3 * s["idle_per_chunk_s"], "idle_ticks": int(s["idle_ticks"]),
                     "boundary_jump_median_rad": s["boundary_jump_median_rad"],
                     "boundary_jump_max_rad": s["boundary_jump_max_rad"],
                     "step_change_median_rad": s["step_change_median_rad"]})
    return rows


def _table(title: str, rows: list[dict[str, Any]]) -> str:
    if not rows:
        return ""
    keys = list(dict.fromkeys(k for row in rows for k in row))

    def fmt(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
        return str(value)

    lines = [f"\n### {title}\n", "| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(row.get(k, "")) for k in keys) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--policy", type=Path, default=DEFAULT_POLICY)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (CPU)")
    parser.add_argument("--ddim-steps", default="10,8,5", help="DDIM / DPM-Solver step counts")
    parser.add_argument("--batch", type=int, default=64, help="training batch for the throughput part")
    parser.add_argument("--unet", default="64,128,256", help="UNet widths (throughput; latency without a checkpoint)")
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--torchrun-steps", type=int, default=30)
    parser.add_argument("--executor-seconds", type=float, default=8.0)
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--skip-torchrun", action="store_true")
    parser.add_argument("--skip-executor", action="store_true")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU, {args.threads} threads"
    print(f"# bench_policy on {name}, torch {torch.__version__}")
    results: dict[str, Any] = {"device": name}
    results["latency"] = bench_latency(args.policy, device, [int(k) for k in args.ddim_steps.split(",")],
                                       args.repeats, args.unet)
    print(_table("Chunk latency (batch 1)", results["latency"]), flush=True)
    if not args.skip_training:
        results["training"] = bench_training(device, args.batch, max(2, args.repeats // 2), args.unet)
        print(_table(f"Training throughput (all inputs, UNet {args.unet})", results["training"]), flush=True)
    if not args.skip_torchrun and device.type == "cpu":
        results["torchrun"] = bench_torchrun(args.torchrun_steps)
        print(_table("torchrun data parallelism (CPU, gloo)", results["torchrun"]), flush=True)
    if not args.skip_executor and args.policy.exists():
        results["executor"] = bench_executor(args.policy, args.executor_seconds, args.device)
        print(_table("Executor in a real-time loop on AllegroUnscrew-sim", results["executor"]), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
